"""What a sync run does with each kind of QuickBooks fault (issue 14): a record-level fault marks
that record, a connection-level one pauses the run and says why, a delete of something already
gone is done, a batch refused as a whole goes again item by item, and no fault leaves the job."""
import json

from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.connection import client_for_firm
from qbo.quickbooks.models import QboConnection, QboLink, SyncError
from qbo.quickbooks.problems.counts import banner_state, sync_status
from qbo.quickbooks.sync.engine import sync_firm
from tests.factories import make_account, make_invoice, make_service
from tests.quickbooks.api.test_fault_contract import ROWS


def _row(name):
    row = next(r for r in ROWS if r[0] == name)
    body = row[2] if isinstance(row[2], str) else json.dumps(row[2])
    return {"status": row[1], "body": body, "content_type": row[3]}


def _inject(emu, match, name, times=1):
    emu.control("POST", "/faults", json={"match": match, "times": times, "response": _row(name)}).raise_for_status()


def _sync(firm_id):
    return sync_firm(firm_id, client=client_for_firm(firm_id, max_retries=0))


def test_it_marks_the_record_and_goes_on_when_a_lookup_faults(connected, qbo_emulator):
    account = make_account(connected.firm, name="Lookup Fault Ltd")
    service = make_service(connected.firm, name="Lookup Fault Service")
    _inject(qbo_emulator, {"operation": "query"}, "4001-json-400")  # the first type's name lookup
    report = _sync(connected.firm_id)
    links = {l.record_type: l for l in db.session.scalars(select(QboLink))}
    assert sorted(l.status for l in links.values()) == ["error", "synced"], report
    failed = next(l for l in links.values() if l.status == "error")
    error = db.session.scalar(select(SyncError).where(SyncError.record_type == failed.record_type))
    assert (error.qbo_code, error.message) == ("4001", "Invalid query") and "1500" in error.detail
    assert all(l.claimed_until is None for l in links.values()) and {account.id, service.id}


def test_it_pauses_for_a_reconnect_instead_of_blaming_the_record(connected, qbo_emulator):
    make_account(connected.firm, name="Gateway 403 Ltd")
    _inject(qbo_emulator, {"method": "POST"}, "3100-gateway-403", times=5)
    report = _sync(connected.firm_id)
    connection = db.session.scalar(select(QboConnection))
    assert report.paused and connection.state == "needs_reconnect"
    assert "ApplicationAuthorizationFailed" in connection.state_reason
    assert db.session.scalars(select(SyncError)).all() == []
    link = db.session.scalar(select(QboLink))
    assert (link.status, link.claimed_until) == ("pending", None)
    assert banner_state(connected.firm_id).needs_reconnect


def test_it_pauses_on_an_inactive_subscription_and_says_so(connected, qbo_emulator):
    make_account(connected.firm, name="Subscription Ltd")
    _inject(qbo_emulator, {"method": "POST"}, "6190-json-200", times=5)
    _sync(connected.firm_id)
    assert db.session.scalar(select(QboConnection.state)) == "subscription_ended"
    assert banner_state(connected.firm_id).paused == "subscription_ended"
    assert db.session.scalars(select(SyncError)).all() == []


def test_it_counts_a_delete_of_what_quickbooks_already_deleted_as_done(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    ledger.delete(ledger.KINDS["invoices"], connected.firm, invoice)
    db.session.commit()
    _inject(qbo_emulator, {"operation": "delete"}, "610-json-400", times=3)
    report = _sync(connected.firm_id)
    assert report.deleted == 1
    assert db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice")) is None
    assert db.session.scalars(select(SyncError)).all() == []


def test_it_sends_the_items_singly_when_the_batch_is_refused_as_a_whole(connected, qbo_emulator, qbo_records):
    for i in range(3):
        make_account(connected.firm, name=f"Batch Refused {i}")
    _inject(qbo_emulator, {"operation": "batch"}, "6000-xml-malformed")
    report = _sync(connected.firm_id)
    assert report.created == 3 and len(qbo_records("Customer")) == 3
    requests_log = qbo_emulator.control("GET", "/requests").json()
    assert sum(1 for r in requests_log if r["path"].endswith("/batch")) == 1


def test_it_survives_a_fault_with_a_200_in_the_change_poll(connected, drain, qbo_emulator):
    make_account(connected.firm)
    drain(connected.firm_id)
    _inject(qbo_emulator, {"operation": "cdc"}, "6190-json-200")
    result = quickbooks_jobs.poll_changes_job(connected.firm_id)
    connection = db.session.scalar(select(QboConnection))
    assert "SubscriptionEnded" in result["paused"] and connection.cdc_checked_at is None
    assert connection.state == "subscription_ended"


def test_it_survives_a_validation_fault_in_the_change_poll(connected, drain, qbo_emulator):
    drain(connected.firm_id)
    _inject(qbo_emulator, {"operation": "cdc"}, "4001-json-400")
    result = quickbooks_jobs.poll_changes_job(connected.firm_id)
    assert "ValidationError" in result["paused"]
    assert db.session.scalar(select(QboConnection.state)) == "connected"


def test_it_waits_for_the_read_quota_and_keeps_polling_off(connected, qbo_emulator):
    make_account(connected.firm, name="Quota Ltd")
    _inject(qbo_emulator, {"operation": "query"}, "quota-429")
    report = _sync(connected.firm_id)
    link = db.session.scalar(select(QboLink))
    connection = db.session.scalar(select(QboConnection))
    assert (link.status, report.waiting) == ("pending", 1) and "read allowance" in link.reason
    assert connection.reads_blocked_until is not None and connection.state == "connected"
    assert sync_status(connected.firm_id)["connection"]["paused"] == "read_quota"
    seen = len(qbo_emulator.control("GET", "/requests").json())
    assert "read allowance" in quickbooks_jobs.poll_changes_job(connected.firm_id)["paused"]
    assert len(qbo_emulator.control("GET", "/requests").json()) == seen  # no CDC read was sent


def test_it_counts_this_months_reads_in_the_status(connected, drain, qbo_emulator):
    make_account(connected.firm, name="Counted Ltd")
    drain(connected.firm_id)
    requests_log = qbo_emulator.control("GET", "/requests").json()
    reads = sum(1 for r in requests_log if r["method"] == "GET" or r["path"].endswith("/query"))
    status = sync_status(connected.firm_id)["connection"]
    assert reads > 0 and status["reads_this_month"] >= reads and status["read_allowance"] == 500000


def test_it_says_on_the_banner_and_the_card_why_reads_are_paused(client, connected, qbo_emulator):
    from tests.factories import sign_in

    make_account(connected.firm, name="Banner Quota Ltd")
    _inject(qbo_emulator, {"operation": "query"}, "quota-429")
    _sync(connected.firm_id)
    sign_in(client, connected)
    page = client.get("/accounts/").get_data(as_text=True)
    assert "QuickBooks read quota exhausted" in page
    card = client.get("/settings/integrations/quickbooks/connection").get_data(as_text=True)
    assert 'id="reads-this-month"' in card and "Read quota exhausted" in card


def test_it_pauses_on_a_gateway_fault_inside_a_batch_item_and_keeps_the_others(connected, qbo_emulator):
    from qbo.quickbooks.sync.marking import mark_all

    first, second = make_account(connected.firm, name="Item Ok Ltd"), make_account(connected.firm, name="Item 3200 Ltd")
    mark_all(connected.firm_id)
    db.session.commit()
    links = {l.record_id: l.id for l in db.session.scalars(select(QboLink))}
    fault = json.loads(_row("3200-gateway-401")["body"])["fault"]
    answer = {"BatchItemResponse": [
        {"bId": str(links[first.id]), "Customer": {"Id": "901", "SyncToken": "0", "DisplayName": first.name}},
        {"bId": str(links[second.id]), "Fault": fault}], "time": "2026-11-26T01:00:00.000-08:00"}
    qbo_emulator.control("POST", "/faults", json={"match": {"operation": "batch"}, "times": 1, "response": {
        "status": 200, "body": json.dumps(answer), "content_type": "application/json"}}).raise_for_status()
    report = _sync(connected.firm_id)
    by_record = {l.record_id: l for l in db.session.scalars(select(QboLink))}
    assert report.paused and db.session.scalar(select(QboConnection.state)) == "needs_reconnect"
    assert (by_record[first.id].status, by_record[first.id].qbo_id) == ("synced", "901")
    assert by_record[second.id].status == "pending" and db.session.scalars(select(SyncError)).all() == []


def test_it_files_a_system_fault_only_when_the_retries_run_out_and_keeps_the_record_pending(connected, qbo_emulator):
    make_account(connected.firm, name="System Fault Ltd")
    _inject(qbo_emulator, {"method": "POST", "operation": "create"}, "10000-systemfault-400", times=1)
    _sync(connected.firm_id)  # no retries left in this client: the first answer is the last
    link = db.session.scalar(select(QboLink))
    error = db.session.scalar(select(SyncError))
    assert link.status == "pending" and (error.qbo_code, error.status) == ("10000", "open")
    _sync(connected.firm_id)
    db.session.refresh(error)
    assert db.session.scalar(select(QboLink)).status == "synced" and error.status == "resolved"
