"""What a sync run knows about the firm and its QuickBooks company, loaded lazily and once."""
from __future__ import annotations

import re
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.quickbooks import company_cache
from qbo.quickbooks.models import QboLink

MARKER_PREFIX = "Sync desk ref"


class Blocked(Exception):
    """The record cannot be sent as it is; the case id and message say why (recorded as an error).
    The message is English (API, logs); `facts` (no words: `kind`, `field`, `value`...) are stored on
    the row, and the catalogue words them for each reader (catalogue._FOUND_BEFORE_SENDING)."""

    def __init__(self, case: str, message: str, **facts):
        super().__init__(message)
        self.case, self.message, self.facts = case, message, facts


class Waiting(Exception):
    """A dependency is not in QuickBooks yet; the record stays pending with this reason.

    `dependency` is the (record type, id) waited for and `state` why it is not there: None while it
    is merely pending (it goes first in the same run), else one of catalogue.WAITING_STATES, a state
    that will not pass by itself, so the engine puts a desk row up for it."""

    def __init__(self, reason: str, dependency: tuple[str, int] | None = None, state: str | None = None,
                 what: str | None = None):
        super().__init__(reason)
        self.reason, self.dependency, self.state, self.what = reason, dependency, state, what


def marker(record_type: str, record_id: int) -> str:
    """Written into PrivateNote so a record whose create outcome was unknown can be found again."""
    return f"{MARKER_PREFIX} {record_type}-{record_id}"


def quote(value: str) -> str:
    """A QBO query string literal: single quotes, apostrophes escaped with a backslash (ref §5)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def find_marked(entity: str, record_type: str, record_id: int, payload: dict, ctx,
                party: str = "CustomerRef", where: str | None = None) -> dict | None:
    """The record a create whose outcome was unknown may have made: the `entity` matching `where`
    (by default, of the payload's date and `party`: CustomerRef, or a Purchase's EntityRef) whose
    PrivateNote carries our marker."""
    prefetched = getattr(ctx, "marked", {})
    if (record_type, record_id) in prefetched:
        return prefetched.pop((record_type, record_id))  # looked up with its round (prefetch_marked)
    where = where or f"TxnDate = {quote(payload['TxnDate'])} AND {party} = {quote(payload[party]['value'])}"
    found = ctx.client.query_all(entity, where)  # every page: a busy day has more than one
    return next((f for f in found if carries_marker(f, record_type, record_id)), None)


def prefetch_marked(entity: str, record_type: str, wanted: dict[int, tuple], ctx) -> None:
    """Look up a round's creates whose outcome was unknown together: {record_id: ("DocNumber",
    number) or ("TxnDate", date, customer qbo id)} in one query per kind (`IN (...)`, ref §5)
    instead of one per record; find_marked then answers each from `ctx.marked`, None where nothing
    carries the record's marker. Lists of values go in chunks, so a query stays a short URL."""
    by_number = {key[1]: rid for rid, key in wanted.items() if key[0] == "DocNumber"}
    by_day = {rid: key for rid, key in wanted.items() if key[0] == "TxnDate"}
    found: list[dict] = []
    numbers = sorted(by_number)
    for start in range(0, len(numbers), MARKED_CHUNK):
        chunk = ", ".join(quote(n) for n in numbers[start:start + MARKED_CHUNK])
        found += ctx.client.query_all(entity, f"DocNumber IN ({chunk})")
    pairs = sorted({(key[1], key[2]) for key in by_day.values()})
    for start in range(0, len(pairs), MARKED_CHUNK):
        chunk = pairs[start:start + MARKED_CHUNK]
        days = ", ".join(quote(d) for d in sorted({d for d, _ in chunk}))
        customers = ", ".join(quote(c) for c in sorted({c for _, c in chunk}))
        found += ctx.client.query_all(entity, f"TxnDate IN ({days}) AND CustomerRef IN ({customers})")
    marked = ctx.__dict__.setdefault("marked", {})
    for record_id in wanted:
        marked[(record_type, record_id)] = next((f for f in found if carries_marker(f, record_type, record_id)), None)


MARKED_CHUNK = 50


def carries_marker(entity: dict, record_type: str, record_id: int) -> bool:
    """Whether a QBO entity's PrivateNote carries this record's marker as a whole word: the marker
    of payment 4 is inside payment 42's, and linking 4 to 42's QBO record would lose one of them."""
    pattern = re.escape(marker(record_type, record_id)) + r"(?![0-9A-Za-z_-])"
    return re.search(pattern, entity.get("PrivateNote") or "") is not None


# A dependency's state that keeps it out of QuickBooks until a person acts (catalogue.WAITING_STATES).
_STATE_WORDS = {"error": "has a QuickBooks error", "unsynced": "was deleted in QuickBooks",
                "skipped": "was skipped", "excluded": "is set to \"Do not sync\"",
                "not_synced": "is dated before the sync start date"}


class LinkRef(NamedTuple):
    """What a sync run needs of a dependency's link: plain values, so a commit can't expire them."""

    qbo_id: str | None
    status: str
    excluded: bool = False


class SyncContext:
    def __init__(self, firm: Firm, client):
        self.firm = firm
        self.client = client
        self.warnings: dict[tuple[str, int], list[tuple[str, dict]]] = {}
        self._links: dict[tuple[str, int], LinkRef] | None = None
        self._open_errors: dict[str, set[int]] = {}
        self._names: dict[tuple[str, str], dict | None] = {}
        self._vendors: dict[str, dict] = {}
        self._refund_item: dict | None = None
        self._fallback_item: dict | None = None
        self._accounts_fresh = False
        self.quota_noted = False  # the read-quota 429 was written on the connection this run

    # --- links -----------------------------------------------------------------------------------

    def link(self, record_type: str, record_id: int) -> LinkRef | None:
        if self._links is None:
            rows = db.session.execute(select(QboLink.record_type, QboLink.record_id, QboLink.qbo_id,
                                             QboLink.status, QboLink.excluded)
                                      .where(QboLink.firm_id == self.firm.id))
            self._links = {(t, i): LinkRef(q, s, bool(x)) for t, i, q, s, x in rows}
        return self._links.get((record_type, record_id))

    def forget_links(self) -> None:
        """Read the links again on next use (the engine calls it between record types)."""
        self._links = None

    # --- what the engine looks up once per round instead of once per record ---------------------

    def load_open_errors(self, record_type: str, record_ids: list[int]) -> None:
        """Remember which of these records have open errors: the others need no resolving."""
        from qbo.quickbooks.models import SyncError

        found: set[int] = set()
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start:start + 500]
            found |= set(db.session.scalars(select(SyncError.record_id).where(
                SyncError.firm_id == self.firm.id, SyncError.record_type == record_type,
                SyncError.record_id.in_(chunk), SyncError.status == "open")))
        self._open_errors[record_type] = found

    def has_open_errors(self, record_type: str, record_id: int) -> bool:
        known = self._open_errors.get(record_type)
        return True if known is None else record_id in known

    def prefetch_names(self, entity: str, field: str, names: list[str], chunk: int = 100) -> None:
        """Look up many name-list records by exact name (QBO compares names ignoring case) with
        one query per `chunk` names instead of one per record; `named` then answers from memory."""
        todo = list(dict.fromkeys(n for n in names if n and (entity, n.casefold()) not in self._names))
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            for name in part:
                self._names[(entity, name.casefold())] = None
            where = f"{field} IN ({', '.join(quote(n) for n in part)})"
            for found in self.client.query_all(entity, where):
                key = (entity, str(found.get(field, "")).casefold())
                if key in self._names and self._names[key] is None:
                    self._names[key] = found

    def named(self, entity: str, field: str, name: str) -> dict | None:
        """The record called `name` (from prefetch_names, else one query)."""
        key = (entity, (name or "").casefold())
        if key not in self._names:
            found = self.client.query(f"SELECT * FROM {entity} WHERE {field} = {quote(name)}")
            return found[0] if found else None
        return self._names.pop(key)  # used once: a record created from it must be looked up afresh

    def ref(self, record_type: str, record_id: int) -> dict | None:
        link = self.link(record_type, record_id)
        if link is None or not link.qbo_id or link.status in ("unsynced",):
            return None
        return {"value": link.qbo_id}

    def require(self, record_type: str, record_id: int, what: str) -> dict:
        """The QBO reference of a dependency, or Waiting when it is not linked yet."""
        ref = self.ref(record_type, record_id)
        if ref is None:
            state = self._blocked_state(self.link(record_type, record_id))
            words = _STATE_WORDS.get(state, "is not in QuickBooks yet")
            raise Waiting(f"Waiting for its {what}, which {words}", (record_type, record_id), state, what)
        return ref

    @staticmethod
    def _blocked_state(link: LinkRef | None) -> str | None:
        """Why a dependency without a QBO reference will not arrive by itself (None: it will)."""
        if link is None:
            return None
        if link.excluded:
            return "excluded"
        return link.status if link.status in _STATE_WORDS else None

    def warn(self, record, case: str, **facts) -> None:
        self.warnings.setdefault((record.record_type, record.id), []).append((case, facts))

    # --- the company's lists -----------------------------------------------------------------------

    @cached_property
    def company(self):
        """What the QuickBooks company is (qbo/quickbooks/company.py); read once if a connection
        made before the snapshot existed has none."""
        from qbo.quickbooks import company

        snapshot = company.get(self.firm.id)
        if snapshot is None and getattr(self.client, "realm_id", None):
            snapshot = company.refresh(self.firm.id, self.client, realm_id=self.client.realm_id)
        return snapshot

    @cached_property
    def accounts(self) -> list[dict]:
        # Kept between runs (company_cache: invalidated by CDC), since every read is metered. The
        # firm's chosen accounts must all be in it, else it is older than they are: read afresh.
        accounts = company_cache.cached_list(self.firm.id, "accounts", self.client.accounts)
        ids = {a.get("Id") for a in accounts}
        chosen = {getattr(self.firm, f, None) for f in company_cache.ACCOUNT_TYPES} - {None, ""}
        if not chosen <= ids:
            accounts = self._reload_accounts()
        return accounts

    def _reload_accounts(self) -> list[dict]:
        self._accounts_fresh = True
        accounts = company_cache.cached_list(self.firm.id, "accounts", self.client.accounts, fresh=True)
        self.__dict__["accounts"] = accounts
        self.__dict__.pop("accounts_by_id", None)
        return accounts

    @cached_property
    def accounts_by_id(self) -> dict[str, dict]:
        return {a["Id"]: a for a in self.accounts}

    def account_named(self, name: str | None) -> dict | None:
        if not name:
            return None
        found = next((a for a in self.accounts if a.get("Name", "").lower() == name.lower()), None)
        if found is None and not self._accounts_fresh:
            found = next((a for a in self._reload_accounts() if a.get("Name", "").lower() == name.lower()), None)
        return found

    def first_account(self, *types: str, prefer: tuple[str, ...] = ()) -> dict | None:
        candidates = [a for a in self.accounts if a.get("AccountType") in types]
        for name in prefer:
            for a in candidates:
                if a.get("Name") == name:
                    return a
        return candidates[0] if candidates else None

    @cached_property
    def payment_methods(self) -> list[dict]:
        return company_cache.cached_list(self.firm.id, "payment_methods", self.client.payment_methods)

    def payment_method_for(self, method: str) -> dict | None:
        mapping = self.firm.payment_method_map or {}
        wanted = mapping.get(method)
        methods = self.payment_methods
        if wanted:
            return next((m for m in methods if m["Id"] == str(wanted) or m.get("Name") == wanted), None)
        defaults = {"cash": ("Cash",), "check": ("Check",), "ach": ("ACH", "EFT", "Bank transfer")}
        for name in defaults.get(method, ()):
            found = next((m for m in methods if m.get("Name", "").lower() == name.lower()), None)
            if found:
                return found
        if method == "card":
            return next((m for m in methods if m.get("Type") == "CREDIT_CARD"), None)
        return None

    # --- records the engine keeps in QBO for its own use ------------------------------------------

    def vendor_for(self, processor: str) -> dict:
        """The QBO vendor a processor's fees are paid to (found by name, created when missing)."""
        name = (processor or "Card processor").strip().title()[:100]
        if name not in self._vendors:
            found = self.client.query(f"SELECT * FROM Vendor WHERE DisplayName = {quote(name)}")
            if found:
                self._vendors[name] = found[0]
            else:
                from qbo.quickbooks.api.client import request_id_for

                self._vendors[name] = self.client.create(
                    "Vendor", {"DisplayName": name}, request_id=request_id_for("vendor", self.firm.id, name))
        return {"value": self._vendors[name]["Id"], "name": name}

    def refund_item(self) -> dict:
        """The Service item refund receipts are booked against (found by name, created when missing)."""
        if self._refund_item is None:
            name = "Refund"
            found = self.client.query(f"SELECT * FROM Item WHERE Name = {quote(name)}")
            if found:
                self._refund_item = found[0]
            else:
                from qbo.quickbooks.api.client import request_id_for

                account = self.first_account("Income", prefer=("Refunds-Allowances",)) or {}
                self._refund_item = self.client.create("Item", {
                    "Name": name, "Type": "Service", "IncomeAccountRef": {"value": account.get("Id")}},
                    request_id=request_id_for("refund-item", self.firm.id))
        return {"value": self._refund_item["Id"], "name": self._refund_item.get("Name")}

    def fallback_item(self) -> dict:
        """The item a line without a service is booked on, so its amount reaches QuickBooks: the
        firm's setting (default QuickBooks' own "Services" item), found by name once per sync and
        created (a Service on the default income account) when the company has none."""
        if self._fallback_item is None:
            name = (self.firm.fallback_item_name or "Services").strip()
            found = self.client.query(f"SELECT * FROM Item WHERE Active IN (true, false) AND Name = {quote(name)}")
            item = found[0] if found else None
            if item is not None and item.get("Active") is False:
                raise Blocked("qbo-fault", f"The item \"{name}\" that lines without a service are booked on is "
                              "inactive in QuickBooks. Make it active there, or choose another item in "
                              "Settings > Integrations > QuickBooks, then resync.", field="fallback_item_name", value=name,
                              kind="fallback-item-inactive")
            if item is not None and item.get("Type") == "Category":
                raise Blocked("qbo-fault", f"\"{name}\" is a category in QuickBooks, and a line can't be booked "
                              "on a category. Choose a service item in Settings > Integrations > QuickBooks, "
                              "then resync.", field="fallback_item_name", value=name,
                              kind="fallback-item-category")
            if item is None:
                from qbo.quickbooks.api.client import request_id_for

                account = self.account_named(self.firm.default_income_account) or self.first_account("Income")
                if account is None:
                    raise Blocked("qbo-fault", "QuickBooks has no Income account to book lines without a "
                                  "service on. Add one in QuickBooks, then resync.", field="fallback_item_name",
                                  kind="no-income-account")
                item = self.client.create("Item", {
                    "Name": name, "Type": "Service", "Active": True,
                    "IncomeAccountRef": {"value": account["Id"], "name": account.get("Name")}},
                    request_id=request_id_for("fallback-item", self.firm.id, name))
            self._fallback_item = item
        return {"value": self._fallback_item["Id"], "name": self._fallback_item.get("Name")}
