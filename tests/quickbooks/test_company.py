"""The snapshot of what the connected QuickBooks company is (qbo/quickbooks/company.py)."""
import pytest

from qbo.quickbooks import company


@pytest.mark.parametrize("profile, region, tax_mode, currency", [
    ("us-ast", "US", "ast", "USD"), ("us-manual-tax", "US", "manual", "USD"),
    ("uk-vat", "GB", "non_us", "GBP"), ("ca-gst-hst", "CA", "non_us", "CAD"),
    ("au-gst", "AU", "non_us", "AUD"),
])
def test_it_reads_the_company_at_connect(connect_company, profile, region, tax_mode, currency):
    owner = connect_company(profile)
    snapshot = company.get(owner.firm_id)
    assert (snapshot.region, snapshot.tax_mode, snapshot.home_currency) == (region, tax_mode, currency)
    assert snapshot.realm_id == owner.realm_id and snapshot.multicurrency is False
    assert owner.firm.tax_rounding == ("document" if region == "US" else "line")


def test_it_keeps_the_company_sales_tax_codes_with_their_rates(connect_company):
    owner = connect_company("uk-vat")
    codes = {c["name"]: c for c in company.get(owner.firm_id).tax_codes}
    assert codes["20.0% S"]["percent"] == "20" and codes["20.0% S"]["active"]
    assert codes["17.5% S"]["active"] is False
    assert codes["20.0% RC"]["sales"] is False  # purchases only


def test_it_notices_multicurrency_turned_on_through_cdc(connect_company, qbo_emulator):
    from qbo.core.db import db
    from qbo.quickbooks.changes.cdc import poll_changes

    owner = connect_company("uk-vat")
    qbo_emulator.control("PATCH", f"/companies/{owner.realm_id}/preferences", json={"multicurrency": True})
    poll_changes(owner.firm_id)
    db.session.expire_all()
    snapshot = company.get(owner.firm_id)
    assert snapshot.multicurrency is True and snapshot.region == "GB"
    assert [(c["setting"], c["before"], c["after"]) for c in snapshot.changes] == [("multicurrency", False, True)]


def test_it_reads_nothing_more_when_preferences_did_not_change(connect_company, qbo_emulator):
    from qbo.quickbooks.changes.cdc import poll_changes

    owner = connect_company("au-gst")
    before = max(r["seq"] for r in qbo_emulator.control("GET", "/requests").json())
    poll_changes(owner.firm_id)
    sent = qbo_emulator.control("GET", f"/requests?since={before}").json()
    assert [r["path"].rsplit("/", 1)[-1] for r in sent] == ["cdc"]


def test_it_sends_a_foreign_client_again_once_multicurrency_is_turned_on(connect_company, qbo_emulator, drain,
                                                                          qbo_records):
    from sqlalchemy import select

    from qbo.core.db import db
    from qbo.quickbooks.changes.cdc import poll_changes
    from qbo.quickbooks.models import QboLink
    from tests.factories import make_account

    owner = connect_company("uk-vat")
    account = make_account(owner.firm, name="Lyon Textiles SARL", currency="EUR")
    drain(owner.firm_id)
    qbo_emulator.control("PATCH", f"/companies/{owner.realm_id}/preferences", json={"multicurrency": True})
    qbo_emulator.control("POST", f"/companies/{owner.realm_id}/CompanyCurrency", json={"Code": "EUR"})
    poll_changes(owner.firm_id)
    drain(owner.firm_id)
    link = db.session.scalar(select(QboLink).where(QboLink.record_id == account.id, QboLink.record_type == "account"))
    assert link.status == "synced" and qbo_records("Customer", owner.realm_id)[0]["CurrencyRef"]["value"] == "EUR"


def test_it_warns_waiting_invoices_when_quickbooks_stops_numbering_them(connect_company, qbo_emulator):
    from sqlalchemy import select

    from qbo.core.db import db
    from qbo.quickbooks.changes.cdc import poll_changes
    from qbo.quickbooks.models import SyncError
    from tests.factories import make_invoice

    owner = connect_company("au-gst")
    owner.firm.sync_invoice_numbers = False
    db.session.commit()
    invoice = make_invoice(owner.firm)  # pending, not yet sent
    qbo_emulator.control("PATCH", f"/companies/{owner.realm_id}/preferences", json={"custom_txn_numbers": True})
    poll_changes(owner.firm_id)
    error = db.session.scalar(select(SyncError).where(SyncError.record_id == invoice.id))
    assert error.case == "company-settings-changed" and error.severity == "warning"
    assert "Sync invoice number with QuickBooks Online" in error.message


def test_it_tags_invoices_with_the_firms_class_and_location(connect_company, qbo_emulator, drain, qbo_records):
    from qbo.core.db import db
    from qbo.quickbooks.jobs import refresh_snapshot, request_snapshot_refresh
    from tests.factories import make_invoice

    owner = connect_company("uk-vat")
    realm = owner.realm_id
    prefs = qbo_records("Preferences", realm)[0]["AccountingInfoPrefs"]
    qbo_emulator.control("PATCH", f"/companies/{realm}/Preferences/1", json={"AccountingInfoPrefs": {
        **prefs, "ClassTrackingPerTxn": True, "TrackDepartments": True}}).raise_for_status()
    retail = qbo_emulator.control("POST", f"/companies/{realm}/Class", json={"Name": "Retail"}).json()
    london = qbo_emulator.control("POST", f"/companies/{realm}/Department", json={"Name": "London"}).json()
    refresh_snapshot(request_snapshot_refresh(owner.firm_id, owner.id).id)
    snapshot = company.get(owner.firm_id)
    assert snapshot.class_tracking and [c["name"] for c in snapshot.classes] == ["Retail"]
    assert company.set_tracking(owner.firm, snapshot, retail["Id"], london["Id"]) == {}
    db.session.commit()
    make_invoice(owner.firm, lines=[{"description": "Advice", "quantity": "1", "rate": "10.00"}])
    drain(owner.firm_id)
    [invoice] = qbo_records("Invoice", realm)
    assert invoice["ClassRef"]["value"] == retail["Id"] and invoice["DepartmentRef"]["value"] == london["Id"]
