"""What the settings page needs to know about the firm's QuickBooks company (its accounts, payment
methods and the document numbers already used), kept in Redis and refreshed by a job, since a
request never calls QuickBooks (style.md)."""
from __future__ import annotations

import json

from flask_babel import gettext as _

from qbo.core.models import utcnow
from qbo.core.redis import get_redis
from qbo.quickbooks.api.errors import QboError, ReconnectNeeded, kind_of
from qbo.quickbooks.connection import client_for_firm, get_connection, note_fault

TTL_SECONDS = 7 * 24 * 3600
REFRESH_LOCK_SECONDS = 120
DOC_ENTITIES = ("Invoice", "CreditMemo")

# The account types each setting accepts (QBO AccountType values).
ACCOUNT_TYPES = {
    "deposit_account_qbo_id": ("Bank", "Other Current Asset"),
    "card_account_qbo_id": ("Credit Card",),
    "fee_expense_account_qbo_id": ("Expense", "Other Expense", "Cost of Goods Sold"),
}


def _key(firm_id: int) -> str:
    return f"qbo:company:{firm_id}"


# --- the lists a sync run reads, kept between runs ---------------------------------------------------
# Intuit meters every read (qbo-2025-2026.md §1.1) and advises caching what rarely changes: the chart
# of accounts and the payment methods are read once and kept until a CDC poll sees one of them
# change (`forget_lists`), a person refreshes the company, or a day passes (a safety net).
LIST_TTL_SECONDS = 24 * 3600
#: QBO entity -> the cached list it invalidates (cdc.py asks CDC for these too).
LIST_ENTITIES = {"Account": "accounts", "PaymentMethod": "payment_methods"}


def _list_key(firm_id: int, name: str) -> str:
    return f"{_key(firm_id)}:list:{name}"


def cached_list(firm_id: int, name: str, load, *, fresh: bool = False) -> list[dict]:
    """The company's `name` list as QuickBooks answers it, from the cache or `load()` (then kept)."""
    redis = get_redis()
    if not fresh:
        raw = redis.get(_list_key(firm_id, name))
        if raw:
            return json.loads(raw)
    value = load()
    redis.set(_list_key(firm_id, name), json.dumps(value), ex=LIST_TTL_SECONDS)
    return value


def forget_lists(firm_id: int, entities=None) -> None:
    """Drop the cached lists of these QBO entities (all of them by default)."""
    names = LIST_ENTITIES.values() if entities is None else [LIST_ENTITIES[e] for e in entities if e in LIST_ENTITIES]
    keys = [_list_key(firm_id, n) for n in names]
    if keys:
        get_redis().delete(*keys)


def get(firm_id: int) -> dict | None:
    """The cached company facts, or None when they were never loaded; `doc_numbers` includes the
    numbers seen in QuickBooks since the last full read (`note_doc_numbers`)."""
    redis = get_redis()
    raw = redis.get(_key(firm_id))
    if not raw:
        return None
    facts = json.loads(raw)
    seen = redis.smembers(_numbers_key(firm_id))
    if seen:
        facts["doc_numbers"] = sorted(set(facts.get("doc_numbers") or ()) | seen)
    return facts


def doc_number_used(firm_id: int, number: str) -> bool:
    """Is `number` a DocNumber QuickBooks holds, as far as the cache knows (last read, or seen since)?"""
    redis = get_redis()
    if redis.sismember(_numbers_key(firm_id), number):
        return True
    raw = redis.get(_key(firm_id))
    return bool(raw) and number in json.loads(raw).get("doc_numbers", ())


def _numbers_key(firm_id: int) -> str:
    return f"{_key(firm_id)}:doc-numbers-seen"


def note_doc_numbers(firm_id: int, numbers) -> None:
    """DocNumbers QuickBooks holds now that the last full read did not: our own invoices and credit
    memos as QuickBooks answered them, ones a person entered there (a change poll), a number
    QuickBooks refused as a duplicate. Without them the settings page's "next free number" and the
    ledger's numbering offered a number QuickBooks had taken since the read (issue 18)."""
    numbers = sorted({str(n) for n in numbers if n})
    if not numbers:
        return
    pipe = get_redis().pipeline(transaction=False)
    pipe.sadd(_numbers_key(firm_id), *numbers)
    pipe.expire(_numbers_key(firm_id), TTL_SECONDS)
    pipe.execute()


def store(firm_id: int, facts: dict) -> None:
    get_redis().set(_key(firm_id), json.dumps(facts), ex=TTL_SECONDS)


def forget(firm_id: int) -> None:
    get_redis().delete(_key(firm_id), _numbers_key(firm_id))
    forget_lists(firm_id)


def accounts_of_type(facts: dict | None, setting: str) -> list[dict]:
    """The company's active accounts a setting may point at, by name."""
    wanted = ACCOUNT_TYPES[setting]
    return sorted((a for a in (facts or {}).get("accounts", []) if a.get("type") in wanted),
                  key=lambda a: a["name"].lower())


# A service's income account (Service.income_account holds the account's name).
INCOME_ACCOUNT_TYPES = ("Income", "Other Income")


def income_accounts(facts: dict | None) -> list[dict]:
    """The company's Income accounts (what a service's income account may be), by name."""
    return sorted((a for a in (facts or {}).get("accounts", []) if a.get("type") in INCOME_ACCOUNT_TYPES),
                  key=lambda a: (a.get("name") or "").lower())


def refuses_income_account(firm_id: int, name) -> bool:
    """Whether a service's income account `name` is not one of the company's Income accounts, when
    the firm is connected and those are known (cached); False when nothing is known (not connected,
    never read, the cache down): the sync then reports a name QuickBooks lacks (income-account-missing)."""
    name = name.strip().lower() if isinstance(name, str) else ""
    if not name:
        return False
    connection = get_connection(firm_id)
    if connection is None or connection.state == "disconnected":
        return False  # the accounts of a company the firm left say nothing of its next one
    try:
        known = income_accounts(get(firm_id))
    except Exception:  # noqa: BLE001 - a save must go on without the cache: nothing known then
        return False
    return bool(known) and name not in {(a.get("name") or "").lower() for a in known}


def service_problems(firm_id: int, data: dict) -> dict:
    """What the QuickBooks company refuses in a service's input, per field (ledger.save's
    `refused`): an income account that is not one of its Income accounts. {} when fine or unknown."""
    if "income_account" in data and refuses_income_account(firm_id, data["income_account"]):
        return {"income_account": [_("is not an Income account of the QuickBooks company; choose one from the list")]}
    return {}


def used_numbers(facts: dict | None, prefix: str) -> dict:
    """The highest number used in QuickBooks after `prefix`, and the next one free."""
    highest = 0
    count = 0
    for number in (facts or {}).get("doc_numbers", []):
        if prefix and not number.startswith(prefix):
            continue
        tail = number[len(prefix):] if prefix else number
        if tail.isdigit():
            highest = max(highest, int(tail))
            count += 1
    return {"count": count, "highest": highest, "next_free": highest + 1}


def take_refresh_lock(firm_id: int) -> bool:
    """True unless a refresh was asked for in the last two minutes."""
    return bool(get_redis().set(f"{_key(firm_id)}:refreshing", "1", nx=True, ex=REFRESH_LOCK_SECONDS))


def refresh(firm_id: int) -> dict:
    """Read the chart of accounts, payment methods and used DocNumbers from QuickBooks; a fault
    QuickBooks answers ends the refresh with its words (and, if it is about the connection, says so
    on it)."""
    try:
        return _refresh(firm_id)
    except ReconnectNeeded:
        raise  # not connected: the job fails visibly, and the Jobs page offers it again after a reconnect
    except QboError as exc:
        get_redis().delete(f"{_key(firm_id)}:refreshing")
        if kind_of(exc) == "connection" or exc.status == 429:
            note_fault(firm_id, exc)
        return {"error": (exc.message or str(exc))[:300], "code": exc.code}


def _refresh(firm_id: int) -> dict:
    client = client_for_firm(firm_id)
    raw_accounts = cached_list(firm_id, "accounts", client.accounts, fresh=True)
    raw_methods = cached_list(firm_id, "payment_methods", client.payment_methods, fresh=True)
    accounts = [{"id": a["Id"], "name": a.get("FullyQualifiedName") or a.get("Name"),
                 "type": a.get("AccountType"), "subtype": a.get("AccountSubType")}
                for a in raw_accounts]
    methods = [{"id": m["Id"], "name": m.get("Name"), "type": m.get("Type")}
               for m in raw_methods]
    # Before the read: a number noted while it runs may be missing from its answer, so it is kept.
    get_redis().delete(_numbers_key(firm_id))
    numbers = sorted({d["DocNumber"] for entity in DOC_ENTITIES
                      for d in client.query_all(entity) if d.get("DocNumber")})
    store(firm_id, {"accounts": accounts, "payment_methods": methods, "doc_numbers": numbers,
                    "refreshed_at": utcnow().isoformat() + "Z"})
    get_redis().delete(f"{_key(firm_id)}:refreshing")
    return {"accounts": len(accounts), "payment_methods": len(methods), "numbers_used": len(numbers)}


def forget_lock(firm_id: int) -> None:
    """A person's explicit refresh is not held back by the automatic one's lock."""
    get_redis().delete(f"{_key(firm_id)}:refreshing")
