"""Amounts computed the way QuickBooks computes them (issue 12): a line is quantity x rate rounded
half-up to the cent, a document's total is the sum of its rounded lines, and what the sync sends
is exactly that, so QuickBooks (here the emulator) keeps the same figures and never answers 6070."""
from decimal import Decimal

import pytest

from qbo.core.db import db
from qbo.ledger.models import line_amount
from qbo.quickbooks.models import QboLink
from tests.factories import make, make_account, make_api_key, make_firm, make_service, make_user

# (quantity, rate, amount): x.xx5 exactly (where half-even would go down), many decimals, large.
AWKWARD = [
    ("0.5", "10.05", "5.03"),
    ("0.5", "0.05", "0.03"),
    ("0.9", "0.05", "0.05"),
    ("0.1", "0.25", "0.03"),
    ("2.5", "0.01", "0.03"),
    ("0.0005", "10.00", "0.01"),
    ("7.005", "1.00", "7.01"),
    ("0.3333", "0.15", "0.05"),
    ("1.2345", "6.78", "8.37"),
    ("1.0005", "0.01", "0.01"),
    ("1234567.8901", "12.34", "15234567.76"),
    ("9999999", "99.99", "999899900.01"),
]


@pytest.mark.parametrize("quantity, rate, amount", AWKWARD)
def test_it_rounds_a_line_half_up_to_the_cent(quantity, rate, amount):
    assert line_amount(Decimal(quantity), Decimal(rate)) == Decimal(amount)


def test_it_totals_the_rounded_lines(app):
    firm = make_firm()
    account = make_account(firm)
    invoice = make("invoices", firm, account_id=account.id, date="2026-11-01",
                   lines=[{"description": "Stamp", "quantity": "0.5", "rate": "0.05"}] * 3)
    assert [line.amount for line in invoice.lines] == [Decimal("0.03")] * 3
    assert invoice.total == Decimal("0.09")  # not round(0.075) = 0.08


def test_it_shows_the_rounded_amounts_through_the_api(client, app):
    owner = make_user()
    account = make_account(owner.firm)
    response = client.post("/api/v1/invoices", headers=make_api_key(owner), json={
        "account_id": account.id, "date": "2026-11-01",
        "lines": [{"description": "Half hour", "quantity": "0.5", "rate": "10.05"}]})
    body = response.get_json()
    assert response.status_code == 201
    assert (body["lines"][0]["amount"], body["total"], body["balance"]) == ("5.03", "5.03", "5.03")


@pytest.mark.parametrize("slug, entity", [("invoices", "Invoice"), ("credit-notes", "CreditMemo")])
def test_it_agrees_with_quickbooks_on_every_awkward_line(connected, drain, qbo_records, slug, entity):
    firm = connected.firm
    service = make_service(firm)
    document = make(slug, firm, account_id=make_account(firm).id, date="2026-11-01",
                    lines=[{"service_id": service.id, "quantity": q, "rate": r} for q, r, _ in AWKWARD])
    drain(connected.firm_id)
    link = db.session.query(QboLink).filter_by(record_type=document.record_type).one()
    assert link.status == "synced", link.reason
    [pushed] = qbo_records(entity)
    sales = [line for line in pushed["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert [Decimal(str(line["Amount"])) for line in sales] == [Decimal(a) for _, _, a in AWKWARD]
    assert [line.amount for line in document.lines] == [Decimal(a) for _, _, a in AWKWARD]
    assert Decimal(str(pushed["TotalAmt"])) == document.total == sum(Decimal(a) for _, _, a in AWKWARD)
