"""RQ entry points. Jobs take ids, reload what they need, and are safe to run twice.

Every job a person asks for has a JobRun row, committed before the job is enqueued, so the page
that polls it never races the worker (the microblog enqueue-before-commit race).
"""
from __future__ import annotations

import functools
import logging
import time
import uuid
from decimal import Decimal

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from qbo.db import db
from qbo.models import Invoice, JobRun, Payment, utcnow
from qbo.redis_conn import get_redis

QUEUES = ("default",)
log = logging.getLogger("qbo.jobs")


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
