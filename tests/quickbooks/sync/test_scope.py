"""What is pushed: the sync start date, which accounts, and a record's "Do not sync"."""
import datetime as dt

from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make_account, make_api_key, make_invoice, make_user


def test_it_keeps_records_dated_before_the_start_date_out(connected, drain, qbo_records):
    connected.firm.sync_start_date = dt.date(2026, 11, 15)
    invoice = make_invoice(connected.firm)  # dated 2026-11-01
    drain(connected.firm_id)
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice"))
    assert link.status == "not_synced" and "before the sync start date" in link.reason
    assert qbo_records("Invoice") == [] and invoice.number


def test_it_pushes_only_accounts_with_activity_when_asked(connected, drain, qbo_records):
    connected.firm.sync_accounts_scope = "with_activity"
    make_account(connected.firm, name="Dormant Client")
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    assert [c["DisplayName"] for c in qbo_records("Customer")] == [invoice.account.name]


def test_it_keeps_a_record_marked_do_not_sync_out_and_silences_its_errors(client, connected, drain, qbo_records):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Xeno Robotics")
    drain(connected.firm_id)
    assert db.session.scalar(select(SyncError.status)) == "open"
    headers = make_api_key(connected)
    response = client.put(f"/api/v1/accounts/{account.id}/quickbooks", json={"do_not_sync": True}, headers=headers)
    assert response.status_code == 200 and response.get_json()["quickbooks"]["status"] == "not_synced"
    assert db.session.scalar(select(SyncError.status)) == "resolved"
    connected.firm.create_customers_automatically = True
    db.session.commit()
    drain(connected.firm_id)
    assert qbo_records("Customer") == []
    client.put(f"/api/v1/accounts/{account.id}/quickbooks", json={"do_not_sync": False}, headers=headers)
    drain()
    assert [c["DisplayName"] for c in qbo_records("Customer")] == ["Xeno Robotics"]
    viewer = make_api_key(make_user(connected.firm, "viewer"))
    assert client.put(f"/api/v1/accounts/{account.id}/quickbooks", json={"do_not_sync": True}, headers=viewer).status_code == 403
