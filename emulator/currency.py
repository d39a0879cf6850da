"""Currencies (qbo-2025-2026 §2.3; issue 16 (3)).

Multicurrency is off in a new company; a person turns it on in QBO's settings (the control API
here: Preferences.CurrencyPrefs is read-only to the Accounting API, qbTypesDump) and it can never
be turned off. Then foreign currencies are added to the CompanyCurrency list; a customer or vendor
gets one currency when created (read-only after, §2.3); a transaction is in its customer's (or
vendor's) currency, carries ExchangeRate (home units per foreign unit; 1 when the API sends none,
WordCamp PR #1325) and HomeTotalAmt, and may involve one foreign currency only.
"""

from decimal import ROUND_HALF_UP, Decimal

from . import faults as F
from .profiles import CURRENCY_NAMES, exchange_rate

CENT = Decimal("0.01")


def prefs(company_or_ctx, store=None):
    if store is None:
        store, company = company_or_ctx.store, company_or_ctx.company
    else:
        company = company_or_ctx
    return store.get(company, "Preferences", "1")["data"]["CurrencyPrefs"]


def home(ctx):
    return prefs(ctx)["HomeCurrency"]["value"]


def multicurrency(ctx):
    return bool(prefs(ctx).get("MultiCurrencyEnabled"))


def company_currency(ctx, code):
    for wrapper in ctx.store.records(ctx.company, "CompanyCurrency").values():
        if wrapper["data"].get("Code") == code and not wrapper["deleted"]:
            return wrapper
    return None


def currency_known(ctx, code):
    if code == home(ctx):
        return True
    found = company_currency(ctx, code) if multicurrency(ctx) else None
    return found is not None and found["data"].get("Active", True)


def ref(code):
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _not_enabled(code, element="CurrencyRef"):
    # The code is 6000 (Zuper, Connex: currency faults are business validation, M); the text is ours.
    return F.business(f"Multicurrency is turned off, or {code} isn't one of your currencies. "
                      "Turn on multicurrency and add the currency first.", element)


def check_choice(ctx, code, element="CurrencyRef"):
    """A currency chosen for a record must be the home one or an enabled, active one."""
    if code == home(ctx):
        return
    if multicurrency(ctx) and code not in CURRENCY_NAMES:
        raise F.invalid_reference(element)  # no such currency at all
    if not multicurrency(ctx) or company_currency(ctx, code) is None:
        raise _not_enabled(code, element)
    if not currency_known(ctx, code):
        raise F.inactive_reference(element)


def party_currency(ctx, data, existing, kind):
    """CurrencyRef of a customer or vendor: chosen on create, never changed after (§2.3)."""
    sent = (data.get("CurrencyRef") or {}).get("value")
    if existing is not None:
        old = (existing["data"].get("CurrencyRef") or {}).get("value") or home(ctx)
        if sent and sent != old and ctx.strict:
            # §2.3: "one currency, read-only after creation" (Connex, OfficeRnD, Autotask).
            raise F.business(f"You can't change the currency of this {kind.lower()}: it is {old}.",
                             "CurrencyRef")
        data["CurrencyRef"] = ref(old if ctx.strict or not sent else sent)
        return
    code = sent or home(ctx)
    if ctx.strict:
        check_choice(ctx, code)
    data["CurrencyRef"] = ref(code)


def account_currency(wrapper):
    return ((wrapper or {}).get("data", {}).get("CurrencyRef") or {}).get("value")


def apply_txn(ctx, data, party=None, accounts=(), person=False):
    """Set a transaction's CurrencyRef, ExchangeRate and HomeTotalAmt (call after TotalAmt).
    `party`: the customer or vendor wrapper; `accounts`: [(wrapper, element)] whose currency must
    be the home one or the transaction's."""
    home_code = home(ctx)
    party_code = account_currency(party) if party is not None else None
    sent = (data.get("CurrencyRef") or {}).get("value")
    code = sent or party_code or home_code
    if ctx.strict:
        if code != home_code:
            check_choice(ctx, code)
        foreign = {c for c in [code, party_code] + [account_currency(w) for w, _ in accounts]
                   if c and c != home_code}
        if len(foreign) > 1:
            # §2.3: "You can only use one foreign currency per transaction" (Expensify#53932).
            raise F.business("You can only use one foreign currency per transaction.", "CurrencyRef")
        if party_code and code != party_code:
            raise F.business(f"The transaction must be in the currency of its customer or vendor "
                             f"({party_code}).", "CurrencyRef")
        for wrapper, element in accounts:
            if account_currency(wrapper) not in (None, home_code, code):
                # §2.3 (Connex, Webgility).
                raise F.business("The currency of the account must be either in home currency or "
                                 "the transaction currency", element)
    data["CurrencyRef"] = ref(code)
    if not multicurrency(ctx):
        data.pop("ExchangeRate", None)
        data.pop("HomeTotalAmt", None)
        return
    if code == home_code:
        rate = Decimal(1)
    elif data.get("ExchangeRate") not in (None, ""):
        from .rules import dec
        rate = dec(data["ExchangeRate"], "ExchangeRate")
        if rate <= 0 and ctx.strict:
            raise F.business("The exchange rate must be greater than 0.", "ExchangeRate")
    elif person:
        # A person in QBO's screens gets the day's rate filled in.
        rate = rate_on(ctx, code, data.get("TxnDate")) or Decimal(1)
    else:
        rate = Decimal(1)  # the API stores 1 when none is sent (§2.3, WordCamp PR #1325, M)
    data["ExchangeRate"] = float(rate)
    total = Decimal(str(data.get("TotalAmt", 0)))
    data["HomeTotalAmt"] = float((total * rate).quantize(CENT, rounding=ROUND_HALF_UP))


def rate_on(ctx, code, as_of=None):
    """The company's rate for `code` on a date: the latest one set on or before it, else the
    built-in table (profiles.USD_PER)."""
    home_code = home(ctx)
    if code == home_code:
        return Decimal(1)
    known = ctx.company.setdefault("exchange_rates", {}).get(code, {})
    dates = sorted(d for d in known if as_of is None or d <= as_of)
    if dates:
        return Decimal(str(known[dates[-1]]))
    return exchange_rate(code, home_code)
