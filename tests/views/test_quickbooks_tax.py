"""Settings > Integrations > QuickBooks > Tax: the mapping screen (issue 17)."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.quickbooks.models import QboLink, QboTaxMapping, SyncError
from tests.factories import make, make_account, make_service, make_user, sign_in

TAX = "/settings/integrations/quickbooks/tax"


def _code_id(qbo_records, realm, name):
    return next(c["Id"] for c in qbo_records("TaxCode", realm) if c["Name"] == name)


def _held_back_invoice(owner, drain):
    rate = ledger_tax.save_rate(owner.firm, {"name": "Zero-rated", "percent": "0"})
    service = make_service(owner.firm, tax_rate_id=rate.id)
    invoice = make("invoices", owner.firm, account_id=make_account(owner.firm).id, date="2026-11-02",
                   lines=[{"service_id": service.id, "quantity": "1", "rate": "80.00"}])
    drain(owner.firm_id)
    return rate, invoice


def test_it_shows_each_rate_with_its_automatic_code(client, connect_company):
    owner = connect_company("uk-vat")
    ledger_tax.save_rate(owner.firm, {"name": "VAT standard", "percent": "20"})
    db.session.commit()
    sign_in(client, owner)
    page = client.get(TAX).get_data(as_text=True)
    assert "VAT standard (20%)" in page and "Automatic: 20.0% S (20%)" in page
    assert "Lines without a tax rate" in page and "Automatic: Exempt (0%)" in page


def test_it_maps_a_code_and_resyncs_the_held_back_invoices(client, connect_company, drain, qbo_records):
    owner = connect_company("uk-vat")
    rate, invoice = _held_back_invoice(owner, drain)
    assert db.session.scalar(select(SyncError.case).where(SyncError.status == "open")) == "tax-code-missing"
    sign_in(client, owner)
    answer = client.post(TAX, data={f"map-rate:{rate.id}": _code_id(qbo_records, owner.realm_id, "0.0% Z")})
    assert answer.status_code == 302
    drain(owner.firm_id)
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice"))
    assert link.status == "synced" and len(qbo_records("Invoice", owner.realm_id)) == 1
    assert db.session.scalar(select(SyncError.status).where(SyncError.case == "tax-code-missing")) == "resolved"


def test_it_refuses_a_code_of_another_percent(client, connect_company, drain, qbo_records):
    owner = connect_company("uk-vat")
    rate, _ = _held_back_invoice(owner, drain)
    sign_in(client, owner)
    answer = client.post(TAX, data={f"map-rate:{rate.id}": _code_id(qbo_records, owner.realm_id, "20.0% S")})
    assert answer.status_code == 422 and "QuickBooks would charge another tax" in answer.get_data(as_text=True)
    assert db.session.scalar(select(QboTaxMapping)) is None


def test_it_refuses_a_mapping_from_a_role_without_settings(client, connect_company, qbo_records):
    owner = connect_company("uk-vat")
    rate = ledger_tax.save_rate(owner.firm, {"name": "VAT standard", "percent": "20"})
    db.session.commit()
    sign_in(client, make_user(owner.firm, role="staff"))
    answer = client.post(TAX, data={f"map-rate:{rate.id}": _code_id(qbo_records, owner.realm_id, "20.0% S")})
    assert answer.status_code == 403 and db.session.scalar(select(QboTaxMapping)) is None


def test_it_adds_a_tax_rate_and_names_a_bad_percent(client, connect_company):
    owner = connect_company("au-gst")
    sign_in(client, owner)
    assert client.post(f"{TAX}/rates", data={"name": "GST", "percent": "10"}).status_code == 302
    answer = client.post(f"{TAX}/rates", data={"name": "Odd", "percent": "120"})
    assert answer.status_code == 422 and "must be at most 100" in answer.get_data(as_text=True)
    assert [r.name for r in ledger_tax.rates(owner.firm_id)] == ["GST"]


def test_it_shows_the_company_on_the_connection_card(client, connect_company):
    owner = connect_company("ca-gst-hst")
    sign_in(client, owner)
    page = client.get("/settings/integrations/quickbooks/connection").get_data(as_text=True)
    assert 'id="company-snapshot"' in page and "CAD" in page and "Tax code on every line" in page


def test_it_shows_the_tax_screen_in_romanian(client, connect_company):
    owner = connect_company("uk-vat")
    owner.language = "ro"
    db.session.commit()
    sign_in(client, owner)
    page = client.get(TAX).get_data(as_text=True)
    assert "Coduri de taxă" in page and "Linii fără cotă de taxă" in page and "Tax codes" not in page


def test_it_shows_a_foreign_invoice_in_its_currency_with_net_tax_and_gross(client, app):
    owner = make_user(role="owner")
    rate = ledger_tax.save_rate(owner.firm, {"name": "VAT", "percent": "20"})
    invoice = make("invoices", owner.firm, account_id=make_account(owner.firm, currency="EUR").id, date="2026-11-02",
                   lines=[{"service_id": make_service(owner.firm, tax_rate_id=rate.id).id, "quantity": "1",
                           "rate": "100.00"}])
    sign_in(client, owner)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "€20.00" in page and "€120.00" in page and "Gross" in page and "VAT (20%)" in page


def test_it_refuses_a_class_the_company_does_not_have(client, connect_company):
    owner = connect_company("uk-vat")
    sign_in(client, owner)
    answer = client.post(f"{TAX}/tracking", data={"qbo_class_id": "999"})
    assert answer.status_code == 422 and owner.firm.qbo_class_id is None
