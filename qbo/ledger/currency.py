"""Currencies in the ledger: the currency a client account is billed in (None: the firm's home
currency) and the exchange rate a document or payment was booked at (home-currency units per unit
of the account's currency, as QuickBooks states `ExchangeRate`, qbo-2025-2026 §2.3). A rate left
empty is filled by the sync with QuickBooks' rate for the document's date; it can be edited."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext as _

from qbo.ledger import validation as v

CODE_RE = re.compile(r"^[A-Z]{3}$")


def account_currency(data: dict, errors: v.Errors, home: str | None) -> str | None:
    """An ISO 4217 code; blank or the home currency is stored as None (billed at home)."""
    value = v.text(data, "currency", errors, max_length=3)
    if value is None:
        return None
    value = value.upper()
    if not CODE_RE.match(value):
        errors.add("currency", _("must be a three-letter currency code such as EUR"))
        return None
    return None if home and value == home.upper() else value


def exchange_rate(data: dict, errors: v.Errors) -> Decimal | None:
    return v.decimal(data, "exchange_rate", errors, places=8, positive=True, maximum=Decimal("1000000"))


def currency_of(account, home: str) -> str:
    return (account.currency if account is not None and account.currency else home).upper()
