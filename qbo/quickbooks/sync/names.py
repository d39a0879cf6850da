"""Who holds a client account's name in QuickBooks, and a name free beside it (issue 18).

QuickBooks refuses a customer's name already used by a customer, vendor or employee, inactive ones
too (fault 6240, ref §4 Customer), and its Detail names none of them (ref §1 table row 6240). Only
on that fault the product looks the name up in the three lists (ref §5: a name list answers active
records only unless the query names `Active`), and, when a vendor or an employee holds it, finds
the first "<name> (client)" free both in the ledger's accounts and in QuickBooks' names. The result
is stored with the row as facts (SyncError.facts), in no language but the proposed name's suffix.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from qbo.accounts.models import User
from qbo.core.db import db
from qbo.ledger.models import Account
from qbo.quickbooks.sync.context import quote

# One list of names across these entities (ref §4 Customer); the order is the lookup's: a
# customer first (most often the same client, made inactive), then a vendor, then an employee.
PEOPLE = ("Customer", "Vendor", "Employee")
NAME_LIMIT = 500  # DisplayName (ref §4) and the ledger's account name alike
TRIES = 20  # "(client)", "(client 2)" ... "(client 20)"


def _key(name) -> str:
    # QuickBooks compares names ignoring case (emulator/lookups.norm_name: the stricter choice).
    return " ".join(str(name or "").split()).casefold()


def holder(client, name: str, *, own_id: str | None = None) -> dict | None:
    """The customer (active or not), vendor or employee called `name` in QuickBooks, as facts
    {"holder", "holder_active", "holder_id", "name"}; None when none is found. `own_id` is the
    account's own customer (an update's), which does not count. One query per list, at most three."""
    for entity in PEOPLE:
        found = client.query(f"SELECT * FROM {entity} WHERE Active IN (true, false) "
                             f"AND DisplayName = {quote(name)}")
        for record in found:
            if entity == "Customer" and own_id and str(record.get("Id")) == str(own_id):
                continue
            if _key(record.get("DisplayName")) == _key(name):
                return {"holder": entity.lower(), "holder_active": record.get("Active") is not False,
                        "holder_id": str(record["Id"]), "name": record.get("DisplayName") or name}
    return None


def firm_language(firm_id: int) -> str:
    """The language a firm's own data is written in: its owner's choice, else English."""
    from qbo.quickbooks.problems.catalogue import LANGUAGES

    language = db.session.scalar(select(User.language).where(User.firm_id == firm_id, User.role == "owner")
                                 .order_by(User.id).limit(1))
    return language if language in LANGUAGES else "en"


def free_client_name(client, firm_id: int, name: str, *, language: str = "en") -> str | None:
    """The first "<name> (client)", "<name> (client 2)"... that no live account of the firm and no
    QuickBooks customer, vendor or employee (inactive ones included) uses; None past TRIES. Three
    queries to QuickBooks (one per list, by prefix) and one to the ledger."""
    from qbo.quickbooks.problems.catalogue import client_name

    longest = len(client_name("", language, TRIES))
    base = name.strip()[:NAME_LIMIT - longest].rstrip()
    candidates = [client_name(base, language, n) for n in range(1, TRIES + 1)]
    taken = set()
    for entity in PEOPLE:
        # LIKE's only wildcard is % (ref §5): a % inside the name widens the match, never narrows it.
        found = client.query(f"SELECT * FROM {entity} WHERE Active IN (true, false) "
                             f"AND DisplayName LIKE {quote(base + ' (%')} MAXRESULTS 1000")
        taken |= {_key(r.get("DisplayName")) for r in found}
    # The ledger's own rule: names unique per firm among live accounts, compared with lower() as the
    # unique index ux_accounts_live_name does.
    taken |= {n.casefold() for n in db.session.scalars(select(Account.name).where(
        Account.firm_id == firm_id, Account.deleted_at.is_(None),
        or_(*[func.lower(Account.name) == func.lower(c) for c in candidates])))}
    return next((c for c in candidates if c.casefold() not in taken), None)


def holder_facts(client, firm_id: int, name: str, *, own_id: str | None = None) -> dict:
    """What a `duplicate-name` row on a client account stores: who holds the name and, for a vendor
    or an employee, the name to rename the account to (`proposed_name`). Raises QboError when
    QuickBooks does not answer (the caller keeps the row generic)."""
    found = holder(client, name, own_id=own_id)
    if found is None:
        return {}
    if found["holder"] in ("vendor", "employee"):
        proposed = free_client_name(client, firm_id, name, language=firm_language(firm_id))
        if proposed:
            found["proposed_name"] = proposed
    return found
