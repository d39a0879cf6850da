"""The ledger's money invariants hold when ten writers race (issue 12).

Every writer is a real JSON API request from its own thread, so each has its own app context,
session and database connection; a barrier releases them together. Run on both databases:
`--db=postgres` takes the row-lock path, SQLite the write-lock path.
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger.models import Account, CreditNote, Invoice, Payment, Refund, Service
from tests.factories import make, make_account, make_api_key, make_invoice, make_payment, make_user, sign_in

N = 10


@pytest.fixture
def owner(app):
    return make_user(role="owner")


@pytest.fixture
def headers(owner):
    return make_api_key(owner)


def _race(app, headers, calls):
    """Send every (method, url, body) at once, one thread each; [(status, json)] in call order."""
    db.session.commit()  # the test's own session holds nothing while the writers run
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def send(i, method, url, body):
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.open(url, method=method, json=body, headers=headers)
        results[i] = (response.status_code, response.get_json(silent=True))

    threads = [threading.Thread(target=send, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    db.session.expire_all()
    return results


def _invoice(firm, rate, account=None):
    return make_invoice(firm, account, lines=[{"description": "Work", "quantity": "1", "rate": rate}])


def _statuses(results):
    return sorted(status for status, _ in results)


def test_it_never_refunds_more_than_the_payment(app, owner, headers):
    payment = make_payment(owner.firm, _invoice(owner.firm, "100.00"), amount="100.00",
                           processor_fee=None, processor=None,
                           allocations=[])
    body = {"payment_id": payment.id, "date": "2026-11-12", "amount": "100.00"}
    results = _race(app, headers, [("POST", "/api/v1/refunds", body)] * N)
    assert _statuses(results) == [201] + [422] * (N - 1), results
    assert all("amount" in json["errors"] for status, json in results if status == 422)
    refunded = db.session.scalar(select(func.sum(Refund.amount)).where(Refund.deleted_at.is_(None)))
    assert refunded == Decimal("100.00")


def test_it_never_allocates_more_than_an_invoice_has_open(app, owner, headers):
    invoice = _invoice(owner.firm, "10.00")
    body = {"account_id": invoice.account_id, "date": "2026-11-10", "amount": "10.00", "method": "cash",
            "allocations": [{"invoice_id": invoice.id, "amount": "10.00"}]}
    results = _race(app, headers, [("POST", "/api/v1/payments", body)] * N)
    assert _statuses(results) == [201] + [422] * (N - 1), results
    assert all("allocations[0].amount" in json["errors"] for status, json in results if status == 422)
    assert db.session.get(Invoice, invoice.id).balance == Decimal("0.00")


def test_it_never_applies_more_credit_than_a_credit_note_has(app, owner, headers):
    account = make_account(owner.firm)
    credit = make("credit-notes", owner.firm, account_id=account.id, date="2026-11-03",
                  lines=[{"description": "Goodwill", "quantity": "1", "rate": "10.00"}])
    calls = []
    for _ in range(N):
        invoice = _invoice(owner.firm, "11.00", account)
        calls.append(("POST", "/api/v1/payments", {
            "account_id": account.id, "date": "2026-11-10", "amount": "1.00", "method": "cash",
            "allocations": [{"invoice_id": invoice.id, "amount": "11.00"}],
            "credit_allocations": [{"credit_note_id": credit.id, "amount": "10.00"}]}))
    results = _race(app, headers, calls)
    assert _statuses(results) == [201] + [422] * (N - 1), results
    assert all("credit_allocations[0].amount" in json["errors"] for status, json in results if status == 422)
    assert db.session.get(CreditNote, credit.id).remaining == Decimal("0.00")


def test_it_refuses_to_edit_a_paid_invoice_below_what_was_paid(client, owner, headers):
    invoice = make_invoice(owner.firm)
    make_payment(owner.firm, invoice)
    response = client.patch(f"/api/v1/invoices/{invoice.id}", headers=headers,
                            json={"lines": [{"description": "Less", "quantity": "1", "rate": "10.00"}]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "lines": ["make a total of 10.00, less than the 300.00 already paid"]}
    assert db.session.get(Invoice, invoice.id).total == Decimal("300.00")


def test_it_says_on_the_edit_page_why_a_paid_invoice_cannot_go_lower(client, owner):
    invoice = make_invoice(owner.firm)
    make_payment(owner.firm, invoice)
    sign_in(client, owner)
    response = client.post(f"/invoices/{invoice.id}/edit", data={
        "number": invoice.number, "account_id": invoice.account_id, "date": "2026-11-01",
        "lines-0-description": "Less", "lines-0-quantity": "1", "lines-0-rate": "10.00"})
    assert response.status_code == 422
    assert "make a total of 10.00, less than the 300.00 already paid" in response.get_data(as_text=True)


def test_it_refuses_to_edit_a_credit_note_below_what_was_applied(client, owner, headers):
    invoice = _invoice(owner.firm, "50.00")
    credit = make("credit-notes", owner.firm, account_id=invoice.account_id, date="2026-11-03",
                  lines=[{"description": "Goodwill", "quantity": "1", "rate": "20.00"}])
    make_payment(owner.firm, invoice, amount="30.00", processor=None, processor_fee=None,
                 allocations=[{"invoice_id": invoice.id, "amount": "50.00"}],
                 credit_allocations=[{"credit_note_id": credit.id, "amount": "20.00"}])
    response = client.patch(f"/api/v1/credit-notes/{credit.id}", headers=headers,
                            json={"lines": [{"description": "Less", "quantity": "1", "rate": "5.00"}]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "lines": ["make a total of 5.00, less than the 20.00 already applied"]}


def test_it_keeps_an_invoice_at_least_what_is_paid_while_payments_and_an_edit_race(app, owner, headers):
    invoice = _invoice(owner.firm, "100.00")
    pay = {"account_id": invoice.account_id, "date": "2026-11-10", "amount": "10.00", "method": "cash",
           "allocations": [{"invoice_id": invoice.id, "amount": "10.00"}]}
    shrink = {"lines": [{"description": "Work", "quantity": "1", "rate": "50.00"}]}
    calls = [("POST", "/api/v1/payments", pay)] * (N - 1) + [("PATCH", f"/api/v1/invoices/{invoice.id}", shrink)]
    results = _race(app, headers, calls)
    assert set(_statuses(results)) <= {200, 201, 422}, results
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.amount_paid <= invoice.total and invoice.balance >= 0
    paid = sum(1 for status, _ in results[:-1] if status == 201)
    assert invoice.amount_paid == Decimal("10.00") * paid


def test_it_numbers_parallel_invoices_without_collisions(app, owner, headers):
    account = make_account(owner.firm)
    body = {"account_id": account.id, "date": "2026-11-01",
            "lines": [{"description": "Work", "quantity": "1", "rate": "10.00"}]}
    results = _race(app, headers, [("POST", "/api/v1/invoices", body)] * N)
    assert _statuses(results) == [201] * N, results
    numbers = {json["number"] for _, json in results}
    assert len(numbers) == N
    assert set(db.session.scalars(select(Invoice.number))) == numbers


def test_it_numbers_parallel_credit_notes_without_collisions(app, owner, headers):
    account = make_account(owner.firm)
    body = {"account_id": account.id, "date": "2026-11-01",
            "lines": [{"description": "Goodwill", "quantity": "1", "rate": "10.00"}]}
    results = _race(app, headers, [("POST", "/api/v1/credit-notes", body)] * N)
    assert _statuses(results) == [201] * N, results
    assert len({json["number"] for _, json in results}) == N


@pytest.mark.parametrize("slug, model", [("accounts", Account), ("services", Service)])
def test_it_stores_one_of_parallel_records_named_alike(app, owner, headers, slug, model):
    names = ["Harbor View Cafe", "HARBOR VIEW CAFE", "harbor view cafe", " Harbor View Cafe "]
    calls = [("POST", f"/api/v1/{slug}", {"name": names[i % len(names)]}) for i in range(N)]
    results = _race(app, headers, calls)
    assert _statuses(results) == [201] + [422] * (N - 1), results
    assert all(json["errors"] == {"name": ["is already used by another record"]}
               for status, json in results if status == 422)
    assert db.session.scalar(select(func.count()).select_from(model)) == 1


def test_it_turns_the_unique_index_refusal_into_the_checks_422(app, owner):
    make_account(owner.firm, name="Acme")
    with pytest.raises(ledger.ValidationFailed) as failed:  # past the check, as a racing writer is
        ledger.committed(lambda: db.session.add(Account(firm_id=owner.firm_id, name="ACME")))
    assert failed.value.errors == {"name": ["is already used by another record"]}
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1


def test_it_frees_a_name_when_its_record_is_deleted(client, owner, headers):
    first = client.post("/api/v1/accounts", json={"name": "Acme"}, headers=headers).get_json()
    assert client.delete(f"/api/v1/accounts/{first['id']}", headers=headers).status_code == 204
    assert client.post("/api/v1/accounts", json={"name": "ACME"}, headers=headers).status_code == 201


def test_it_never_deletes_a_payment_a_racing_refund_is_made_against(app, owner, headers):
    payment = make_payment(owner.firm, _invoice(owner.firm, "100.00"), amount="100.00",
                           processor=None, processor_fee=None, allocations=[])
    refund = {"payment_id": payment.id, "date": "2026-11-12", "amount": "10.00"}
    calls = [("POST", "/api/v1/refunds", refund)] * (N - 1) + [("DELETE", f"/api/v1/payments/{payment.id}", None)]
    results = _race(app, headers, calls)
    assert set(_statuses(results)) <= {201, 204, 409, 422}, results
    payment = db.session.get(Payment, payment.id)
    live_refunds = [r for r in payment.refunds if r.deleted_at is None]
    assert payment.deleted_at is None or live_refunds == []


def test_it_keeps_a_payment_at_least_what_is_refunded_while_refunds_and_an_edit_race(app, owner, headers):
    payment = make_payment(owner.firm, _invoice(owner.firm, "100.00"), amount="100.00",
                           processor=None, processor_fee=None, allocations=[])
    refund = {"payment_id": payment.id, "date": "2026-11-12", "amount": "10.00"}
    calls = [("POST", "/api/v1/refunds", refund)] * (N - 1) + [
        ("PATCH", f"/api/v1/payments/{payment.id}", {"amount": "50.00"})]
    results = _race(app, headers, calls)
    assert set(_statuses(results)) <= {200, 201, 422}, results
    payment = db.session.get(Payment, payment.id)
    assert payment.refunded <= payment.amount
    assert payment.refunded == Decimal("10.00") * sum(1 for status, _ in results[:-1] if status == 201)


def test_it_never_leaves_an_invoice_on_an_account_deleted_at_the_same_time(app, owner, headers):
    account = make_account(owner.firm)
    body = {"account_id": account.id, "date": "2026-11-01",
            "lines": [{"description": "Work", "quantity": "1", "rate": "10.00"}]}
    calls = [("POST", "/api/v1/invoices", body)] * (N - 1) + [("DELETE", f"/api/v1/accounts/{account.id}", None)]
    results = _race(app, headers, calls)
    assert set(_statuses(results)) <= {201, 204, 409, 422}, results
    live_invoices = db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.account_id == account.id, Invoice.deleted_at.is_(None)))
    assert db.session.get(Account, account.id).deleted_at is None or live_invoices == 0
