import pytest
from sqlalchemy import func, select

from qbo.core.db import db
from qbo.ledger.models import Invoice, Payment
from tests.factories import make_account, make_api_key, make_invoice, make_service, make_user


@pytest.fixture
def owner(app):
    return make_user(role="owner")


@pytest.fixture
def headers(owner):
    return make_api_key(owner)


def test_it_requires_an_api_key(client, app):
    assert client.get("/api/v1/accounts").status_code == 401
    assert client.get("/api/v1/accounts", headers={"Authorization": "Bearer qsk_nope_nope"}).status_code == 401


def test_it_refuses_a_viewer_writing(client, app):
    headers = make_api_key(make_user(role="viewer"))
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    assert client.post("/api/v1/accounts", json={"name": "X"}, headers=headers).status_code == 403


def test_it_creates_an_account_with_location(client, headers):
    response = client.post("/api/v1/accounts", json={"name": "Acme", "kind": "company", "email": "a@acme.test"},
                           headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/accounts/{body['id']}"
    assert body["quickbooks"] == {"status": "not_synced", "status_text": "Not in QuickBooks yet.",
                                  "link_status": "not_synced", "qbo_id": None, "errors": []}


def test_it_returns_every_field_error_and_stores_nothing(client, headers, owner):
    response = client.post("/api/v1/invoices", headers=headers, json={
        "account_id": 999, "date": "2026-13-01", "due_date": "yesterday",
        "lines": [{"quantity": "-1"}, {"service_id": "x", "quantity": 1, "rate": "1.234"}]})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["account_id"] == ["does not exist"]
    assert errors["date"] == ["must be a date (YYYY-MM-DD)"]
    assert errors["due_date"] == ["must be a date (YYYY-MM-DD)"]
    assert errors["lines[0].quantity"] == ["must be greater than zero"]
    assert "lines[0].description" in errors
    assert errors["lines[1].service_id"] == ["must be a record id"]
    assert errors["lines[1].rate"] == ["must have at most 2 decimal places"]
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_it_rejects_unknown_fields_and_non_objects(client, headers):
    response = client.post("/api/v1/accounts", json={"name": "A", "nmae": "typo"}, headers=headers)
    assert response.get_json()["errors"] == {"nmae": ["is not a known field"]}
    assert client.post("/api/v1/accounts", json=[1, 2], headers=headers).status_code == 422
    assert client.post("/api/v1/accounts", data="{not json", headers={**headers, "Content-Type": "application/json"}).status_code == 400


def test_it_numbers_invoices_in_sequence(client, headers, owner):
    account = make_account(owner.firm)
    body = {"account_id": account.id, "date": "2026-11-01", "lines": [{"description": "Work", "quantity": 1, "rate": "10"}]}
    first = client.post("/api/v1/invoices", json=body, headers=headers).get_json()
    client.post("/api/v1/invoices", json={**body, "number": "INV-0002"}, headers=headers)
    third = client.post("/api/v1/invoices", json=body, headers=headers).get_json()
    assert (first["number"], third["number"]) == ("INV-0001", "INV-0003")
    dup = client.post("/api/v1/invoices", json={**body, "number": "INV-0001"}, headers=headers)
    assert dup.get_json()["errors"]["number"] == ["is already used by another invoice"]


def test_it_takes_the_line_rate_from_the_service(client, headers, owner):
    account, service = make_account(owner.firm), make_service(owner.firm, rate="80.00")
    body = client.post("/api/v1/invoices", headers=headers, json={
        "account_id": account.id, "date": "2026-11-01", "lines": [{"service_id": service.id, "quantity": "1.5"}]}).get_json()
    assert body["lines"][0]["rate"] == "80.00" and body["total"] == "120.00"


def test_it_patches_only_the_fields_sent(client, headers, owner):
    account = make_account(owner.firm, email="old@x.test", phone="123")
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"email": "new@x.test"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["email"] == "new@x.test" and response.get_json()["phone"] == "123"


def test_it_creates_a_payment_with_allocation_and_stripe_fee(client, headers, owner):
    invoice = make_invoice(owner.firm)
    response = client.post("/api/v1/payments", headers=headers, json={
        "account_id": invoice.account_id, "date": "2026-11-05", "amount": "300.00", "method": "card",
        "processor": "stripe", "processor_fee": "9.00", "allocations": [{"invoice_id": invoice.id, "amount": "300.00"}]})
    assert response.status_code == 201, response.get_json()
    assert client.get(f"/api/v1/invoices/{invoice.id}", headers=headers).get_json()["balance"] == "0.00"


def test_it_refuses_allocating_more_than_the_invoice_balance(client, headers, owner):
    invoice = make_invoice(owner.firm)
    response = client.post("/api/v1/payments", headers=headers, json={
        "account_id": invoice.account_id, "date": "2026-11-05", "amount": "500.00", "method": "ach",
        "allocations": [{"invoice_id": invoice.id, "amount": "500.00"}]})
    assert response.status_code == 422
    assert "still open" in response.get_json()["errors"]["allocations[0].amount"][0]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_it_refuses_a_refund_larger_than_the_payment(client, headers, owner):
    from tests.factories import make_payment

    payment = make_payment(owner.firm)
    response = client.post("/api/v1/refunds", headers=headers, json={
        "payment_id": payment.id, "date": "2026-11-12", "amount": "301.00"})
    assert response.status_code == 422 and "not yet refunded" in response.get_json()["errors"]["amount"][0]
    ok = client.post("/api/v1/refunds", headers=headers, json={"payment_id": payment.id, "date": "2026-11-12", "amount": "50"})
    assert ok.status_code == 201 and ok.get_json()["account_id"] == payment.account_id
    assert client.patch(f"/api/v1/refunds/{ok.get_json()['id']}", json={}, headers=headers).status_code == 405


def test_it_deletes_a_record_and_refuses_while_others_depend_on_it(client, headers, owner):
    invoice = make_invoice(owner.firm)
    response = client.delete(f"/api/v1/accounts/{invoice.account_id}", headers=headers)
    assert response.status_code == 409
    assert client.delete(f"/api/v1/invoices/{invoice.id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/invoices/{invoice.id}", headers=headers).status_code == 404


def test_it_lists_records_with_pagination(client, headers, owner):
    for i in range(3):
        make_account(owner.firm, name=f"Client {i}")
    body = client.get("/api/v1/accounts?per_page=2&page=2", headers=headers).get_json()
    assert body["total"] == 3 and len(body["data"]) == 1 and body["page"] == 2


def test_it_refuses_an_income_account_the_connected_company_lacks_with_the_other_reasons(client, connected):
    from qbo.ledger.models import Service
    from qbo.quickbooks import company_cache

    company_cache.refresh(connected.firm_id)  # the chart of accounts, read from QuickBooks and kept
    headers = make_api_key(connected)
    response = client.post("/api/v1/services", json={"name": "Payroll", "income_account": "Servcies", "rate": "-1"},
                           headers=headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["income_account"] == ["is not an Income account of the QuickBooks company; choose one from the list"]
    assert set(errors) == {"income_account", "rate"}
    assert db.session.scalar(select(func.count()).select_from(Service)) == 0
    created = client.post("/api/v1/services", json={"name": "Payroll", "income_account": "services"}, headers=headers)
    assert created.status_code == 201
    patched = client.patch(f"/api/v1/services/{created.get_json()['id']}", json={"income_account": "Checking"},
                           headers=headers)  # a Bank account: not an Income one
    assert patched.status_code == 422 and list(patched.get_json()["errors"]) == ["income_account"]


def test_it_accepts_any_income_account_while_the_company_is_unknown(client, headers, owner):
    from qbo.quickbooks import company_cache

    company_cache.store(owner.firm_id, {"accounts": [{"id": "1", "name": "Services", "type": "Income"}]})
    response = client.post("/api/v1/services", json={"name": "Payroll", "income_account": "Servcies"}, headers=headers)
    assert response.status_code == 201  # not connected: the list says nothing of the next company
    assert response.get_json()["income_account"] == "Servcies"
