"""Issue 14 done-when: the emulator's monthly read quota (qbo-2025-2026.md §1.1) runs out during a
sync: reads pause, free writes go on, the banner says so, and the sync resumes by itself once the
month has turned (for the emulator and for the product)."""
import datetime as dt

from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboConnection, QboLink
from qbo.quickbooks.problems.counts import banner_state
from tests.factories import make, make_account, make_service


def _reads_used(emu):
    return sum(emu.control("GET", "/read-quota").json()["used"].get(emu.realm_id, {}).values())


def _next_month(monkeypatch, qbo_emulator, days=32):
    """Turn both clocks a month on: the emulator's (POST /clock) and the product's (`utcnow` where
    the quota pause is read, and the read meter's `utcnow`)."""
    from qbo.quickbooks import connection
    from qbo.quickbooks.api import meter
    from qbo.quickbooks.problems import counts
    from qbo.quickbooks.sync import engine

    qbo_emulator.control("POST", "/clock", json={"advance_seconds": days * 86400}).raise_for_status()
    shift = dt.timedelta(days=days)
    for module in (connection, counts, engine, quickbooks_jobs):
        monkeypatch.setattr(module, "utcnow", lambda: utcnow() + shift)

    monkeypatch.setattr(meter, "utcnow", lambda: dt.datetime.now(dt.timezone.utc) + shift)


def test_it_pauses_reads_keeps_free_writes_and_resumes_next_month(client, connected, drain, qbo_emulator,
                                                                  qbo_records, monkeypatch):
    from tests.factories import sign_in

    account, service = make_account(connected.firm, name="Linked Ltd"), make_service(connected.firm, name="Linked work")
    drain(connected.firm_id)
    qbo_emulator.control("PUT", "/read-quota", json={"per_month": _reads_used(qbo_emulator)}).raise_for_status()
    newcomer = make_account(connected.firm, name="Needs A Lookup Ltd")  # a name lookup first: a read
    make("invoices", connected.firm, account_id=account.id, date="2026-11-02",
         lines=[{"service_id": service.id, "quantity": "1", "rate": "90.00"}])  # both linked: no read
    drain(connected.firm_id)
    connection = db.session.scalar(select(QboConnection))
    waiting = db.session.scalar(select(QboLink).where(QboLink.record_id == newcomer.id, QboLink.record_type == "account"))
    assert connection.reads_blocked_until is not None and banner_state(connected.firm_id).paused == "read_quota"
    assert [i["TotalAmt"] for i in qbo_records("Invoice")] == [90] and waiting.status == "pending"
    assert 429 in [r["status"] for r in qbo_emulator.control("GET", "/requests").json()]
    sign_in(client, connected)
    assert "QuickBooks read quota exhausted" in client.get("/accounts/").get_data(as_text=True)

    _next_month(monkeypatch, qbo_emulator)
    assert banner_state(connected.firm_id).paused is None
    assert "QuickBooks read quota exhausted" not in client.get("/accounts/").get_data(as_text=True)
    assert connected.firm_id in quickbooks_jobs.sweep_stranded()["requeued"]  # the scheduled sweep
    drain()
    assert db.session.get(QboLink, waiting.id).status == "synced"
    assert "Needs A Lookup Ltd" in [c["DisplayName"] for c in qbo_records("Customer")]
