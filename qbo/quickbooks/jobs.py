"""RQ entry points of the QuickBooks side, and the helpers that enqueue them (ids in, safe to run
twice): the continuous sync of a firm, a push a person asked for, the change poll and its
schedule, and the refresh of a company's cached lists."""
from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import JobRun, utcnow
from qbo.core.queue import enqueue, enqueue_once, enqueue_once_or_follow_up, tracked
from qbo.core.redis import get_redis
from qbo.quickbooks import company_cache
from qbo.quickbooks.api.errors import RateLimited, ReconnectNeeded, TransientError
from qbo.quickbooks.changes.cdc import POLL_TIMEOUT, poll_changes
from qbo.quickbooks.changes.report import DriftReport
from qbo.quickbooks.connection import get_connection
from qbo.quickbooks.models import QboConnection
from qbo.quickbooks.sync.engine import sync_firm
from qbo.quickbooks.sync.marking import mark_all

log = logging.getLogger("qbo.jobs")


# --- the continuous sync ---------------------------------------------------------------------------


def enqueue_sync(firm_id: int, *, delay_seconds: int | None = None) -> None:
    """Make sure a sync of the firm runs soon. One queued job per firm is enough: the job drains
    everything pending; a change arriving while it runs gets one follow-up job."""
    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        return  # paused: pending links wait for the reconnect
    enqueue_once_or_follow_up(f"sync-firm-{firm_id}", sync_firm_job, firm_id, job_timeout=3600,
                              delay_seconds=delay_seconds)


def sync_firm_job(firm_id: int) -> dict:
    """RQ entry: push everything pending for the firm; on a throttle, come back after a minute."""
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


def enqueue_push(firm_id: int, user_id: int | None = None) -> JobRun:
    """A person (or the API) asks to push everything pending now: a JobRun the page can follow."""
    return enqueue("sync", run_sync, firm_id, user_id=user_id)


# --- change detection ------------------------------------------------------------------------------


def poll_job_id(firm_id: int) -> str:
    return f"drift-poll-firm-{firm_id}"


def enqueue_poll(firm_id: int) -> bool:
    """Queue a poll of the firm unless one is queued already (a burst of webhooks makes one poll;
    one arriving while a poll runs makes one follow-up, as that poll may have read too early)."""
    return enqueue_once_or_follow_up(poll_job_id(firm_id), poll_changes_job, firm_id,
                                     job_timeout=POLL_TIMEOUT)


def poll_changes_job(firm_id: int) -> dict:
    """RQ entry: poll the firm's QBO changes. Safe to run twice (a re-read window changes nothing);
    a throttle or an outage leaves cdc_checked_at alone for the next scheduled poll."""
    started = time.perf_counter()
    # A follow-up poll may start on another worker while the first still runs: take turns, so
    # that one firm's links are never compared twice at once.
    lock = get_redis().lock(f"qbo:drift-poll:{firm_id}", timeout=POLL_TIMEOUT, blocking_timeout=POLL_TIMEOUT)
    if not lock.acquire():
        return {"paused": "another poll of this firm is still running"}
    try:
        report = poll_changes(firm_id)
    except (RateLimited, TransientError, ReconnectNeeded) as exc:
        db.session.rollback()
        report = DriftReport(paused=f"{type(exc).__name__}: the next poll reads the window again")
    finally:
        try:
            lock.release()
        except Exception:  # expired while polling: nothing to give back
            pass
    log.info("job firm=%s user=- kind=drift-poll ms=%.1f outcome=%s", firm_id,
             (time.perf_counter() - started) * 1000, report.paused or "finished")
    return report.as_dict()


def due_firms(now: dt.datetime | None = None) -> list[int]:
    """Connected firms whose last poll is older than their interval (or that never polled)."""
    now = now or utcnow()
    rows = db.session.execute(select(QboConnection.firm_id, QboConnection.cdc_checked_at,
                                     Firm.cdc_interval_seconds)
                              .join(Firm, Firm.id == QboConnection.firm_id)
                              .where(QboConnection.state == "connected")).all()
    return [firm_id for firm_id, checked, interval in rows
            if checked is None or checked <= now - dt.timedelta(seconds=interval or 60)]


def schedule_polls() -> int:
    """RQ entry (run by worker.py's schedule): queue a poll for every firm that is due."""
    return sum(1 for firm_id in due_firms() if enqueue_poll(firm_id))


def enqueue_schedule() -> None:
    """Queue `schedule_polls` once (several workers ticking together make one job). Redis only,
    no database: worker.py calls it from its parent process, which must not query before forking."""
    enqueue_once("drift-schedule", schedule_polls, job_timeout=300)


# --- the company's cached lists --------------------------------------------------------------------


def request_company_refresh(firm_id: int, user_id: int | None = None) -> JobRun | None:
    """Queue a refresh of the company's accounts, payment methods and numbers (one at a time)."""
    if not company_cache.take_refresh_lock(firm_id):
        return None
    return enqueue("company-cache", refresh_company, firm_id, user_id=user_id)


@tracked
def refresh_company(run: JobRun) -> dict:
    """Read the company's lists from QuickBooks into the cache the settings page shows."""
    return company_cache.refresh(run.firm_id)


# --- tie-out ---------------------------------------------------------------------------------------


def running_tieout(firm_id: int) -> JobRun | None:
    """The firm's tie-out still queued or running, if any."""
    return db.session.scalar(select(JobRun).where(
        JobRun.firm_id == firm_id, JobRun.kind == "tieout", JobRun.status.in_(("queued", "started")))
        .order_by(JobRun.created_at.desc()).limit(1))


def last_tieout(firm_id: int, *, finished: bool = False) -> JobRun | None:
    """The firm's latest tie-out (only finished ones with `finished`)."""
    stmt = select(JobRun).where(JobRun.firm_id == firm_id, JobRun.kind == "tieout")
    if finished:
        stmt = stmt.where(JobRun.status == "finished")
    return db.session.scalar(stmt.order_by(JobRun.created_at.desc(), JobRun.id.desc()).limit(1))


def request_tieout(firm_id: int, user_id: int | None = None) -> JobRun:
    """Queue a tie-out of the firm, or return the one already queued or running (it reads only, so
    a second one at once would tell nothing new)."""
    return running_tieout(firm_id) or enqueue("tieout", run_tieout, firm_id, user_id=user_id)


@tracked
def run_tieout(run: JobRun) -> dict:
    """Compare the ledger with QuickBooks (qbo.quickbooks.tieout); the JobRun shows each step."""
    from qbo.quickbooks.tieout import tie_out

    def progress(done: int, total: int) -> None:
        run.done, run.total = done, total
        db.session.commit()

    return tie_out(run.firm_id, progress=progress)
