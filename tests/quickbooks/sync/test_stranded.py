"""Nothing stranded (issue 12, part 4): the sweep re-queues records whose claim expired or that no
job is working on, and a sync that ends on transient faults schedules its own follow-up."""
import datetime as dt

import pytest

from rq.job import Job
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.core.queue import get_queue
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make_account


def _strand(firm_id, claimed_until):
    """What a SIGKILLed worker leaves: its job gone from the queue, its claim on the link."""
    get_queue().empty()
    link = db.session.scalar(select(QboLink).where(QboLink.firm_id == firm_id))
    link.claim_token, link.claimed_until = "killed-worker", claimed_until
    db.session.commit()
    return link


def _run_scheduled():
    """Run the jobs waiting in RQ's schedule now, as the worker's scheduler would once they are due."""
    queue = get_queue()
    registry = queue.scheduled_job_registry
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer))
    return ids


def test_it_requeues_an_expired_claim_and_syncs_without_a_ledger_change(connected, drain, qbo_records):
    make_account(connected.firm, name="Killed Worker Ltd")
    _strand(connected.firm_id, utcnow() - dt.timedelta(seconds=1))
    drain()
    assert qbo_records("Customer") == []
    assert quickbooks_jobs.sweep_stranded()["requeued"] == [connected.firm_id]
    drain()
    assert db.session.scalar(select(QboLink)).status == "synced"
    assert [c["DisplayName"] for c in qbo_records("Customer")] == ["Killed Worker Ltd"]


def test_it_leaves_a_record_a_live_worker_holds(connected, qbo_records):
    make_account(connected.firm, name="Busy Worker Ltd")
    _strand(connected.firm_id, utcnow() + dt.timedelta(minutes=5))
    assert quickbooks_jobs.sweep_stranded()["requeued"] == []


def test_it_requeues_a_firm_that_stays_stranded_only_after_its_backoff(connected, drain):
    make_account(connected.firm, name="Backoff Ltd")
    _strand(connected.firm_id, utcnow() - dt.timedelta(seconds=1))
    assert quickbooks_jobs.sweep_stranded()["requeued"] == [connected.firm_id]
    get_queue().empty()  # the re-queued job is lost too: the claim is still expired
    assert quickbooks_jobs.sweep_stranded()["requeued"] == []


def test_it_follows_up_a_sync_that_hit_a_transient_fault(connected, drain, qbo_emulator, qbo_records):
    for name in ("Stalled One Ltd", "Stalled Two Ltd"):
        make_account(connected.firm, name=name)
    get_queue().empty()
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "customer", "operation": "create"},
                                                  "times": 2, "code": "10000"}).raise_for_status()
    drain(connected.firm_id)
    assert {l.status for l in db.session.scalars(select(QboLink))} == {"pending"}
    assert _run_scheduled() == [f"sync-firm-{connected.firm_id}-followup"]
    drain()
    assert {l.status for l in db.session.scalars(select(QboLink))} == {"synced"}
    assert len(qbo_records("Customer")) == 2


def test_it_puts_a_stuck_row_up_and_takes_it_down_when_the_record_syncs(connected, drain):
    make_account(connected.firm, name="Slow Lane Ltd")
    link = _strand(connected.firm_id, None)
    link.pending_since = utcnow() - dt.timedelta(minutes=16)
    db.session.commit()
    quickbooks_jobs.sweep_stranded()
    [row] = db.session.scalars(select(SyncError).where(SyncError.status == "open")).all()
    assert (row.case, row.category, row.record_id) == ("stuck-pending", "accounts", link.record_id)
    drain()
    assert db.session.get(SyncError, row.id).status == "resolved"


def test_it_follows_up_a_sync_that_stalled_and_links_what_landed_late(connected, drain, qbo_emulator, qbo_records):
    import time

    from qbo.quickbooks.connection import client_for_firm
    from qbo.quickbooks.sync.engine import sync_firm

    for name in ("Late One Ltd", "Late Two Ltd"):
        make_account(connected.firm, name=name)
    get_queue().empty()
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "batch"}, "times": 1, "delay_ms": 1500})
    report = sync_firm(connected.firm_id, client=client_for_firm(connected.firm_id, timeout=(2, 0.5), max_retries=0))
    assert report.deferred == 2 and quickbooks_jobs.schedule_follow_up(connected.firm_id, report) == 30
    time.sleep(1.5)  # the stalled write lands after the client gave up
    assert _run_scheduled() == [f"sync-firm-{connected.firm_id}"]
    drain()
    assert {l.status for l in db.session.scalars(select(QboLink))} == {"synced"} and len(qbo_records("Customer")) == 2


def test_it_sends_an_update_again_under_a_new_requestid_after_a_fault_inside_a_batch(connected, qbo_emulator,
                                                                                    qbo_records):
    """ref §1: QBO replays a repeated batch requestid's stored answer, faults inside it included."""
    from qbo.ledger import records as ledger
    from qbo.quickbooks.connection import client_for_firm
    from qbo.quickbooks.sync.engine import sync_firm

    accounts = [make_account(connected.firm, name=f"Batch Fault {n} Ltd") for n in (1, 2)]
    sync_firm(connected.firm_id)
    for account in accounts:
        ledger.save(ledger.KINDS["accounts"], connected.firm, {"name": f"{account.name} (renamed)"}, record=account)
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "customer", "operation": "update"},
                                                  "times": 2, "code": "10000"}).raise_for_status()
    assert sync_firm(connected.firm_id, client=client_for_firm(connected.firm_id, max_retries=0)).deferred == 2
    assert sync_firm(connected.firm_id).updated == 2  # the fault has cleared: a follow-up writes them
    customers = sorted((c["DisplayName"], c["SyncToken"]) for c in qbo_records("Customer"))
    assert customers == [("Batch Fault 1 Ltd (renamed)", "1"), ("Batch Fault 2 Ltd (renamed)", "1")]
    assert {l.status for l in db.session.scalars(select(QboLink))} == {"synced"}


@pytest.mark.parametrize("numbers", [True, False])  # by DocNumber, or by date and customer
def test_it_looks_up_a_rounds_unknown_outcomes_in_one_query(connected, qbo_emulator, qbo_records, numbers):
    """Each create's answer lost after QuickBooks wrote it: the next run finds all of them with one
    query (`IN (...)`, ref §5) instead of one per record, and links them without a duplicate."""
    from qbo.quickbooks.connection import client_for_firm
    from qbo.quickbooks.sync.engine import sync_firm
    from tests.factories import make, make_service

    connected.firm.sync_invoice_numbers = numbers
    account, service = make_account(connected.firm, name="Lost Answers Ltd"), make_service(connected.firm)
    sync_firm(connected.firm_id)
    for day in ("2026-11-02", "2026-11-02", "2026-11-03"):
        make("invoices", connected.firm, account_id=account.id, date=day,
             lines=[{"service_id": service.id, "quantity": "1", "rate": "10.00"}])
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "batch"}, "times": 1,
                                                  "drop_after_commit": True}).raise_for_status()
    sync_firm(connected.firm_id, client=client_for_firm(connected.firm_id, max_retries=0))
    before = max(r["seq"] for r in qbo_emulator.control("GET", "/requests").json())
    assert sync_firm(connected.firm_id).linked == 3
    sent = qbo_emulator.control("GET", f"/requests?since={before}").json()
    assert [r["path"].rsplit("/", 1)[-1] for r in sent] == ["query"] and len(qbo_records("Invoice")) == 3
