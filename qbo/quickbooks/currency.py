"""Currencies on the way to QuickBooks (qbo-2025-2026 §2.3).

A client account billed in another currency than the company's home one becomes a customer in
that currency (`CurrencyRef`, fixed once created), which needs multicurrency on in QuickBooks and
the currency in its list. Its documents and payments carry `CurrencyRef` and `ExchangeRate` (home
units per foreign unit): the ledger's rate, else QuickBooks' rate for the document's date, which is
then stored on the ledger record (the API stores 1 when none is sent). Each way this can go wrong
is stopped before sending, with its case: `multicurrency-off`, `currency-not-enabled`,
`customer-currency-differs`, `payment-currency-mismatch`.
"""
from __future__ import annotations

from decimal import Decimal

from qbo.quickbooks.sync.context import Blocked


def home(ctx) -> str:
    snapshot = ctx.company
    return (snapshot.home_currency if snapshot is not None else ctx.firm.currency or "USD").upper()


def foreign_currency(account, ctx) -> str | None:
    """The account's currency when it is not the company's home one."""
    code = (account.currency or "").upper() if account is not None else ""
    return code if code and code != home(ctx) else None


def _enabled(ctx) -> set[str]:
    cached = getattr(ctx, "currencies_enabled", None)
    if cached is None:
        cached = {str(c.get("Code", "")).upper() for c in ctx.client.query_all("CompanyCurrency")
                  if c.get("Active", True) is not False}
        ctx.currencies_enabled = cached
    return cached


def check_customer(account, ctx) -> str | None:
    """The currency a customer must be created in (None: home), or Blocked with the case."""
    code = foreign_currency(account, ctx)
    if code is None:
        return None
    snapshot = ctx.company
    if snapshot is None or not snapshot.multicurrency:
        raise Blocked("multicurrency-off",
                      f"The account is billed in {code}, but multicurrency is off in the QuickBooks company "
                      f"(home currency {home(ctx)}). Turn it on in QuickBooks (Settings > Account and settings > "
                      "Advanced > Currency > Multicurrency), then resync. Once on, it can't be turned off and "
                      "the home currency can't change.",
                      field="currency", value=code, kind="multicurrency-off", currency=code, home=home(ctx))
    if code not in _enabled(ctx):
        raise Blocked("currency-not-enabled",
                      f"{code} is not in the QuickBooks company's currency list. Add it in QuickBooks "
                      "(Settings > Currencies > Add currency), then resync.", field="currency", value=code,
                      kind="currency-not-enabled", currency=code)
    return code


def check_existing_customer(account, found: dict | None, ctx) -> None:
    """A same-named customer in another currency can't be used (a customer's currency is fixed)."""
    if found is None:
        return
    wanted = foreign_currency(account, ctx) or home(ctx)
    theirs = ((found.get("CurrencyRef") or {}).get("value") or home(ctx)).upper()
    if theirs != wanted:
        raise Blocked("customer-currency-differs",
                      f"The QuickBooks customer \"{found.get('DisplayName')}\" is in {theirs}, the account bills in "
                      f"{wanted}, and a customer's currency can't change. Rename the account, for example "
                      f"\"{account.name} ({wanted})\", so a new customer is created in {wanted}, then resync.",
                      field="currency", value=wanted, suggested_name=f"{account.name} ({wanted})",
                      kind="customer-currency-differs", customer=found.get("DisplayName"), theirs=theirs,
                      wanted=wanted)


def rate_for(record, ctx) -> Decimal:
    """The record's exchange rate: its own, else QuickBooks' for its date (stored on the record)."""
    if record.exchange_rate is not None:
        return record.exchange_rate
    code = foreign_currency(record.account, ctx)
    cache = ctx.__dict__.setdefault("exchange_rates", {})
    key = (code, record.date.isoformat())
    if key not in cache:
        answer = ctx.client.exchange_rate(code, record.date.isoformat())
        cache[key] = Decimal(str(answer.get("Rate"))).quantize(Decimal("0.00000001"))
    record.exchange_rate = cache[key]  # the ledger keeps the rate the document was booked at
    return record.exchange_rate


def apply_to_payload(payload: dict, record, ctx) -> None:
    """CurrencyRef and ExchangeRate on a document or payment of a foreign-currency account."""
    code = foreign_currency(record.account, ctx)
    if code is None:
        return
    check_customer(record.account, ctx)
    payload["CurrencyRef"] = {"value": code}
    payload["ExchangeRate"] = float(rate_for(record, ctx))


def check_deposit_account(payload: dict, ctx) -> None:
    """A payment may use one foreign currency: its deposit account must be in the home currency
    or the payment's (QBO 6000 "You can only use one foreign currency per transaction")."""
    code = (payload.get("CurrencyRef") or {}).get("value")
    account_id = (payload.get("DepositToAccountRef") or {}).get("value")
    if not code or not account_id:
        return
    account = ctx.accounts_by_id.get(str(account_id)) or {}
    theirs = ((account.get("CurrencyRef") or {}).get("value") or home(ctx)).upper()
    if theirs not in (home(ctx), code):
        raise Blocked("payment-currency-mismatch",
                      f"The payment is in {code} but its deposit account \"{account.get('Name')}\" is in {theirs}: "
                      "QuickBooks allows one foreign currency per transaction. Choose a deposit account in "
                      f"{home(ctx)} or {code} in the QuickBooks settings, then resync.", field="deposit_account",
                      kind="payment-currency-mismatch", currency=code, account=account.get("Name"), theirs=theirs,
                      home=home(ctx))
