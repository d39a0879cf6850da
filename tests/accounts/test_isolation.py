"""A user or API key of firm A gets 404 for firm B's records, by page and by API."""
import pytest

from tests.factories import (
    make,
    make_account,
    make_api_key,
    make_firm,
    make_invoice,
    make_payment,
    make_service,
    make_user,
    sign_in,
)


@pytest.fixture
def other_firms_records(app):
    firm_b = make_firm(name="Firm B")
    invoice = make_invoice(firm_b)
    payment = make_payment(firm_b, invoice)
    credit = make("credit-notes", firm_b, account_id=invoice.account_id, date="2026-11-02",
                  lines=[{"description": "Credit", "quantity": "1", "rate": "10"}])
    refund = make("refunds", firm_b, payment_id=payment.id, date="2026-11-12", amount="5.00")
    return {"accounts": invoice.account, "services": make_service(firm_b), "invoices": invoice,
            "credit-notes": credit, "payments": payment, "refunds": refund}


@pytest.mark.parametrize("slug", ["accounts", "services", "invoices", "credit-notes", "payments", "refunds"])
def test_it_hides_another_firms_record_from_pages(client, other_firms_records, slug):
    sign_in(client, make_user(make_firm(name="Firm A"), "owner"))
    record = other_firms_records[slug]
    assert client.get(f"/{slug}/{record.id}").status_code == 404
    assert client.get(f"/{slug}/{record.id}/edit").status_code == 404
    assert client.post(f"/{slug}/{record.id}/delete").status_code == 404
    assert record.label not in client.get(f"/{slug}/").get_data(as_text=True)


@pytest.mark.parametrize("slug", ["accounts", "services", "invoices", "credit-notes", "payments", "refunds"])
def test_it_hides_another_firms_record_from_the_api(client, other_firms_records, slug):
    headers = make_api_key(make_user(make_firm(name="Firm A"), "owner"))
    record = other_firms_records[slug]
    assert client.get(f"/api/v1/{slug}/{record.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/{slug}/{record.id}", json={}, headers=headers).status_code in (404, 405)
    assert client.delete(f"/api/v1/{slug}/{record.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/{slug}", headers=headers).get_json()["total"] == 0


def test_it_refuses_to_reference_another_firms_account(client, other_firms_records):
    headers = make_api_key(make_user(make_firm(name="Firm A"), "owner"))
    response = client.post("/api/v1/invoices", headers=headers, json={
        "account_id": other_firms_records["accounts"].id, "date": "2026-11-01",
        "lines": [{"description": "x", "quantity": 1, "rate": "1"}]})
    assert response.status_code == 422
    assert response.get_json()["errors"]["account_id"] == ["does not exist"]


def test_it_hides_another_firms_job(client, app):
    from qbo.core import queue
    from qbo.ledger import jobs as ledger_jobs

    firm_b = make_firm(name="Firm B")
    run = queue.enqueue("recalculate-balances", ledger_jobs.recalculate_balances, firm_b.id)
    headers = make_api_key(make_user(make_firm(name="Firm A"), "owner"))
    assert client.get(f"/api/v1/jobs/{run.id}", headers=headers).status_code == 404
