"""RQ entry points. Jobs take ids, reload what they need, and are safe to run twice.

Every job a person asks for has a JobRun row, committed before the job is enqueued, so the page
that polls it never races the worker (the microblog enqueue-before-commit race).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from qbo.db import db
from qbo.models import Invoice, JobRun, Payment, utcnow
from qbo.redis_conn import get_redis

QUEUES = ("default",)
log = logging.getLogger("qbo.jobs")
# A finished job's `result` keeps machine-readable keys (the API returns them); a page shows these.
RESULT_LABELS = {
    "invoices": _l("invoices"), "billed": _l("billed"), "paid": _l("paid"),
    "outstanding": _l("outstanding"), "open_invoices": _l("open invoices"),
    "payments_received": _l("payments received"), "outcome": _l("outcome"),
    "processed": _l("processed"), "outcomes": _l("outcomes"), "still_open": _l("still open"),
    "error_status": _l("error status"), "error": _l("error"), "accounts": _l("accounts"),
    "payment_methods": _l("payment methods"), "numbers_used": _l("numbers used"),
    "count": _l("count"), "highest": _l("highest"), "next_free": _l("next free"),
    "recreated": _l("recreated"), "errors_closed": _l("errors closed"),
}


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis(decode=False), serializer=JSONSerializer)


def enqueue(kind: str, func, firm_id: int, *, user_id: int | None = None, args: tuple = ()) -> JobRun:
    """Record a JobRun, commit it, then enqueue `func(job_run_id, *args)` under the same id."""
    run = JobRun(id=f"{kind}-{uuid.uuid4().hex}", firm_id=firm_id, kind=kind,
                 requested_by_id=user_id, status="queued")
    db.session.add(run)
    db.session.commit()
    get_queue().enqueue(f"{func.__module__}.{func.__name__}", run.id, *args, job_id=run.id,
                        result_ttl=3600, failure_ttl=7 * 24 * 3600, job_timeout=1800)
    return run


def tracked(func):
    """Mark the JobRun started/finished/failed and write one log line per job."""

    @functools.wraps(func)
    def wrapper(job_run_id: str, *args):
        run = db.session.get(JobRun, job_run_id)
        if run is None or run.status == "finished":
            return None  # already done: running twice changes nothing
        run.status, run.started_at = "started", utcnow()
        db.session.commit()
        started = time.perf_counter()
        outcome = "finished"
        try:
            result = func(run, *args)
            run.result, run.status = result, "finished"
            return result
        except Exception as exc:
            db.session.rollback()
            run = db.session.get(JobRun, job_run_id)
            run.status, outcome = "failed", "failed"
            run.result = {"error": type(exc).__name__}
            raise
        finally:
            run.finished_at = utcnow()
            db.session.commit()
            log.info("job firm=%s user=%s kind=%s id=%s ms=%.1f outcome=%s", run.firm_id,
                     run.requested_by_id or "-", run.kind, run.id,
                     (time.perf_counter() - started) * 1000, outcome)

    return wrapper


@tracked
def recalculate_balances(run: JobRun) -> dict:
    """Recompute the firm's receivables: invoice totals, amounts paid and open balances."""
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.firm_id == run.firm_id, Invoice.deleted_at.is_(None))
    ).all()
    run.total = len(invoices)
    billed = paid = Decimal("0.00")
    open_count = 0
    for i, invoice in enumerate(invoices, 1):
        billed += invoice.total
        paid += invoice.amount_paid
        open_count += invoice.balance > 0
        run.done = i
    received = sum((p.amount for p in db.session.scalars(
        select(Payment).where(Payment.firm_id == run.firm_id, Payment.deleted_at.is_(None)))),
        Decimal("0.00"))
    return {"invoices": len(invoices), "billed": str(billed), "paid": str(paid),
            "outstanding": str(billed - paid), "open_invoices": open_count,
            "payments_received": str(received)}


# --- the continuous sync ---------------------------------------------------------------------------


def enqueue_once(job_id: str, func, *args, job_timeout: int, delay_seconds: int | None = None) -> str:
    """Enqueue under a fixed id unless that job is waiting ("waiting") or running ("running");
    "queued" when this call enqueued it. Finished and failed jobs keep their id, so they are
    deleted to make room."""
    from rq.exceptions import DuplicateJobError
    from rq.job import Job, JobStatus

    queue = get_queue()
    if Job.exists(job_id, connection=queue.connection):
        existing = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
        status = existing.get_status(refresh=True)
        if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            return "waiting"
        if status == JobStatus.STARTED:
            return "running"
        existing.delete()
    kwargs = dict(job_id=job_id, result_ttl=0, failure_ttl=24 * 3600, job_timeout=job_timeout)
    try:
        if delay_seconds:
            queue.enqueue_in(dt.timedelta(seconds=delay_seconds), func, *args, **kwargs)
        else:
            queue.enqueue(func, *args, unique=True, **kwargs)
    except DuplicateJobError:
        return "waiting"
    return "queued"


def enqueue_once_or_follow_up(job_id: str, func, *args, job_timeout: int,
                              delay_seconds: int | None = None) -> bool:
    """One queued job per id is enough; while it runs, one follow-up job (the running one may have
    read too early). True when this call enqueued something."""
    for attempt in (job_id, job_id + "-followup"):
        outcome = enqueue_once(attempt, func, *args, job_timeout=job_timeout, delay_seconds=delay_seconds)
        if outcome != "running":
            return outcome == "queued"
    return False


def enqueue_sync(firm_id: int, *, delay_seconds: int | None = None) -> None:
    """Make sure a sync of the firm runs soon. One queued job per firm is enough: the job drains
    everything pending; a change arriving while it runs gets one follow-up job."""
    from qbo.connection import get_connection

    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        return  # paused: pending links wait for the reconnect
    enqueue_once_or_follow_up(f"sync-firm-{firm_id}", sync_firm_job, firm_id, job_timeout=3600,
                              delay_seconds=delay_seconds)


def sync_firm_job(firm_id: int) -> dict:
    """RQ entry: push everything pending for the firm; on a throttle, come back after a minute."""
    from qbo.engine import sync_firm

    started = time.perf_counter()
    report = sync_firm(firm_id)
    log.info("job firm=%s user=- kind=sync ms=%.1f outcome=%s", firm_id,
             (time.perf_counter() - started) * 1000, report.paused or "finished")
    if report.paused and "busy" in report.paused:
        enqueue_sync(firm_id, delay_seconds=60)  # ref §3: wait 60 s after a 429
    return report.as_dict()


@tracked
def run_sync(run: JobRun) -> dict:
    """A person (or the API) asked to push everything pending now."""
    from qbo.engine import mark_all, sync_firm

    mark_all(run.firm_id)
    db.session.commit()
    return sync_firm(run.firm_id).as_dict()


def after_ledger_change(firm_id: int) -> None:
    """Called after a ledger change is committed. The change is already marked pending in the
    database, so if Redis is briefly unreachable nothing is lost: the next scheduled poll syncs it."""
    try:
        enqueue_sync(firm_id)
    except Exception as exc:
        log.warning("firm=%s could not enqueue sync: %s", firm_id, type(exc).__name__)
