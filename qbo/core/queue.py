"""The job queue every package enqueues on: a JobRun row per job a person asked for, and jobs
that run once per id. Each package keeps its own RQ entry points in its `jobs.py`; jobs take ids,
reload what they need, and are safe to run twice.

Every job a person asks for has a JobRun row, committed before the job is enqueued, so the page
that polls it never races the worker (the microblog enqueue-before-commit race).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid

from rq import Queue
from rq.serializers import JSONSerializer

from qbo.core.db import db
from qbo.core.models import JobRun, utcnow
from qbo.core.redis import get_redis

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


def enqueue_once(job_id: str, func, *args, job_timeout: int, delay_seconds: int | None = None) -> str:
    """Enqueue under a fixed id unless that job is waiting ("waiting") or running ("running");
    "queued" when this call enqueued it. Finished and failed jobs keep their id, so they are
    deleted to make room."""
    from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
    from rq.job import Job, JobStatus

    queue = get_queue()
    # The job may finish and vanish (result_ttl=0) between any two of these calls, e.g. while a
    # webhook asks for a poll that is just ending: gone is as good as finished.
    try:
        existing = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
        status = existing.get_status(refresh=True)
    except (NoSuchJobError, InvalidJobOperation):
        existing, status = None, None
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return "waiting"
    if status == JobStatus.STARTED:
        return "running"
    if existing is not None:
        try:
            existing.delete()
        except NoSuchJobError:
            pass
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
