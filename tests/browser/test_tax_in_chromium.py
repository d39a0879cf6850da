"""The Tax screen in Chromium (issue 17): an admin maps a held-back rate to a QuickBooks tax code and
the invoices it held back sync."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make, make_account, make_service

pytestmark = pytest.mark.browser


def test_it_maps_a_tax_code_and_resyncs_the_blocked_invoices(page, live_server, sign_in, connect_company, drain,
                                                             qbo_records):
    owner = connect_company("uk-vat")
    rate = ledger_tax.save_rate(owner.firm, {"name": "Zero-rated", "percent": "0"})
    service = make_service(owner.firm, tax_rate_id=rate.id)
    for day in ("2026-11-02", "2026-11-03"):
        make("invoices", owner.firm, account_id=make_account(owner.firm).id, date=day,
             lines=[{"service_id": service.id, "quantity": "1", "rate": "80.00"}])
    drain(owner.firm_id)
    assert len(db.session.scalars(select(SyncError).where(SyncError.case == "tax-code-missing")).all()) == 2
    sign_in(page, owner, "/settings/integrations/quickbooks/tax")
    row = page.locator(f"#tax-row-rate-{rate.id}")
    expect(row).to_contain_text("None: invoices with this rate are held back")
    page.get_by_label("QuickBooks tax code for Zero-rated (0%)").select_option(label="0.0% Z (0%)")
    page.get_by_role("button", name="Save and resync held-back invoices").click()
    expect(page.get_by_text("2 held-back documents are being synced again.")).to_be_visible()
    expect(row).to_contain_text("0.0% Z")
    drain()
    links = db.session.scalars(select(QboLink).where(QboLink.record_type == "invoice")).all()
    assert [l.status for l in links] == ["synced", "synced"]
    assert len(qbo_records("Invoice", owner.realm_id)) == 2
