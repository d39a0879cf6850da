"""The firm's QuickBooks sync settings: the fallback item for lines without a service (issue 12),
and the next free invoice number QuickBooks leaves (issue 18)."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import cdc
from qbo.quickbooks.models import SyncError
from tests.factories import make_invoice, make_user, sign_in

URL = "/settings/integrations/quickbooks/sync-settings"


def test_it_shows_and_saves_the_fallback_item(client, app):
    user = make_user(role="owner")
    sign_in(client, user)
    assert 'name="fallback_item_name" value="Services"' in client.get("/settings/integrations/quickbooks/sync-settings").get_data(as_text=True)
    ok = client.post(URL, data={"default_income_account": "Services", "next_invoice_number": "1",
                                "fallback_item_name": "Sundry fees"})
    assert ok.status_code == 302
    db.session.refresh(user.firm)
    assert user.firm.fallback_item_name == "Sundry fees"


def test_it_refuses_a_fallback_item_quickbooks_would_refuse(client, app):
    user = make_user(role="owner")
    sign_in(client, user)
    bad = client.post(URL, data={"default_income_account": "Services", "next_invoice_number": "1",
                                 "fallback_item_name": "Fees: misc"})
    assert bad.status_code == 422 and "must not contain a colon" in bad.get_data(as_text=True)
    db.session.refresh(user.firm)
    assert user.firm.fallback_item_name == "Services"


def _hint(client) -> str:
    page = client.get(URL).get_data(as_text=True)
    return page.split('id="numbers-hint">', 1)[1].split("</p>", 1)[0]


def _read_company(firm_id, drain):
    company_cache.forget_lock(firm_id)
    quickbooks_jobs.request_company_refresh(firm_id)
    drain()


def _enter_in_quickbooks(qbo_emulator, number):
    """A person types an invoice with this number in QuickBooks."""
    customer = qbo_emulator.control("GET", f"/companies/{qbo_emulator.realm_id}/Customer").json()[0]
    qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Invoice", json={
        "CustomerRef": {"value": customer["Id"]}, "DocNumber": number,
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 10}}]}).raise_for_status()


def test_it_hints_the_next_free_number_once_a_person_takes_it_in_quickbooks(client, connected, qbo_emulator, drain):
    sign_in(client, connected)
    make_invoice(connected.firm, number="INV-0060")
    drain(connected.firm_id)
    _read_company(connected.firm_id, drain)
    assert "next free number is <strong>61</strong>" in _hint(client)
    _enter_in_quickbooks(qbo_emulator, "INV-0061")
    cdc.poll_changes(connected.firm_id)
    assert "next free number is <strong>62</strong>" in _hint(client)


def test_it_hints_the_next_free_number_once_the_sync_takes_it(client, connected, drain):
    sign_in(client, connected)
    make_invoice(connected.firm, number="INV-0060")
    drain(connected.firm_id)
    _read_company(connected.firm_id, drain)
    make_invoice(connected.firm, number="INV-0061")
    drain(connected.firm_id)
    assert "next free number is <strong>62</strong>" in _hint(client)


def test_it_hints_the_next_free_number_once_quickbooks_refuses_it_as_used(client, connected, qbo_emulator, drain):
    sign_in(client, connected)
    make_invoice(connected.firm, number="INV-0060")
    drain(connected.firm_id)
    _read_company(connected.firm_id, drain)
    _enter_in_quickbooks(qbo_emulator, "INV-0061")  # no poll has seen it yet
    make_invoice(connected.firm, number="INV-0061")
    drain(connected.firm_id)
    assert db.session.scalars(select(SyncError.case).where(SyncError.status == "open")).all() == ["duplicate-doc-number"]
    assert "next free number is <strong>62</strong>" in _hint(client)
