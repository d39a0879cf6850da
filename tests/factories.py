"""Small builders for test data; every one takes overrides (cf. redash ModelFactory)."""
from __future__ import annotations

import datetime as dt
import itertools

from qbo.accounts.auth import create_api_key
from qbo.accounts.models import Firm, User
from qbo.core.db import db
from qbo.ledger import records as ledger

PASSWORD = "correct horse battery"
_n = itertools.count(1)


def make_firm(**overrides) -> Firm:
    firm = Firm(name=overrides.pop("name", f"Firm {next(_n)}"), **overrides)
    db.session.add(firm)
    db.session.commit()
    return firm


def make_user(firm: Firm | None = None, role: str = "owner", **overrides) -> User:
    firm = firm or make_firm()
    user = User(firm_id=firm.id, email=overrides.pop("email", f"{role}{next(_n)}@example.test"),
                role=role, **overrides)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def make_api_key(user: User) -> dict:
    key = create_api_key(user)
    db.session.commit()
    return {"Authorization": f"Bearer {key}"}


def sign_in(client, user: User):
    return client.post("/sign-in", data={"email": user.email, "password": PASSWORD})


def make(slug: str, firm: Firm, **data):
    record = ledger.save(ledger.KINDS[slug], firm, data)
    db.session.commit()
    return record


def make_account(firm: Firm, **data):
    return make("accounts", firm, **{"name": f"Client {next(_n)}", **data})


def make_service(firm: Firm, **data):
    return make("services", firm, **{"name": f"Service {next(_n)}", "rate": "100.00", **data})


def make_invoice(firm: Firm, account=None, **data):
    account = account or make_account(firm)
    service = make_service(firm)
    return make("invoices", firm, **{
        "account_id": account.id, "date": dt.date(2026, 11, 1).isoformat(),
        "lines": [{"service_id": service.id, "quantity": "2", "rate": "150.00"}], **data})


def make_payment(firm: Firm, invoice=None, **data):
    invoice = invoice or make_invoice(firm)
    return make("payments", firm, **{
        "account_id": invoice.account_id, "date": "2026-11-10", "amount": "300.00", "method": "card",
        "processor": "stripe", "processor_fee": "9.00",
        "allocations": [{"invoice_id": invoice.id, "amount": "300.00"}], **data})
