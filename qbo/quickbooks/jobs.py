"""RQ entry points of the QuickBooks side, and the helpers that enqueue them (ids in, safe to run
twice): the continuous sync of a firm and its follow-ups, a push a person asked for, the sweep that
re-queues stranded records, the change poll and its schedule, and the refresh of a company's
cached lists."""
from __future__ import annotations

import datetime as dt
import logging
import time

from flask import current_app
from sqlalchemy import and_, exists, select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import JobRun, utcnow
from qbo.core.queue import enqueue, enqueue_once, enqueue_once_or_follow_up, get_queue, tracked
from qbo.core.redis import get_redis
from qbo.quickbooks import company_cache
from qbo.quickbooks.api.errors import QboError, kind_of
from qbo.quickbooks.changes.cdc import POLL_TIMEOUT, poll_changes
from qbo.quickbooks.changes.report import DriftReport
from qbo.quickbooks.connection import disconnected_in_quickbooks, get_connection, note_fault, persist_reads
from qbo.quickbooks.models import QboConnection, QboLink, SyncError
from qbo.quickbooks.problems import rows as problems
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


# A sync that left records pending on timeouts or transient faults comes back after 30 s, 60 s,
# 2 min ... up to 15 min; a run that leaves nothing behind resets the count.
FOLLOW_UP_FIRST, FOLLOW_UP_MAX = 30, 900


def sync_firm_job(firm_id: int) -> dict:
    """RQ entry: push everything pending for the firm; on a throttle, come back after a minute;
    on timeouts or transient faults, come back later (with backoff)."""
    started = time.perf_counter()
    report = sync_firm(firm_id)
    _persist_reads_quietly(firm_id)
    delay = schedule_follow_up(firm_id, report)
    log.info("job firm=%s user=- kind=sync ms=%.1f outcome=%s deferred=%s follow_up=%s", firm_id,
             (time.perf_counter() - started) * 1000, report.paused or "finished", report.deferred,
             delay if delay is not None else "-")
    return report.as_dict()


def schedule_follow_up(firm_id: int, report) -> int | None:
    """Queue the sync again when this one ended on a throttle (60 s, ref §3) or left records pending
    on timeouts or transient faults (backoff); the delay in seconds, or None when nothing is left."""
    key = f"qbo:sync-follow-up:{firm_id}"
    redis = get_redis()
    if report.paused and "busy" in report.paused:
        delay = 60  # ref §3: wait 60 s after a 429 (or an outage)
    elif report.deferred:
        tries = redis.incr(key)
        redis.expire(key, 6 * 3600)
        delay = min(FOLLOW_UP_FIRST * 2 ** (tries - 1), FOLLOW_UP_MAX)
    else:
        redis.delete(key)
        return None
    enqueue_sync(firm_id, delay_seconds=delay)
    return delay


@tracked
def run_sync(run: JobRun) -> dict:
    """A person (or the API) asked to push everything pending now."""
    mark_all(run.firm_id)
    db.session.commit()
    report = sync_firm(run.firm_id)
    schedule_follow_up(run.firm_id, report)
    return report.as_dict()


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
    except QboError as exc:
        # Whatever QuickBooks answered (a fault with a 200, a service or validation fault, the
        # throttle, the read quota): the poll stops here, cdc_checked_at stays, and the next
        # poll reads the window again. A fault about the connection is said on the banner.
        db.session.rollback()
        why = note_fault(firm_id, exc) if kind_of(exc) == "connection" or exc.status == 429 else None
        report = DriftReport(paused=f"{type(exc).__name__}: {why or 'the next poll reads the window again'}")
        log.warning("firm=%s drift poll stopped: %s", firm_id, exc)
    finally:
        try:
            lock.release()
        except Exception:  # expired while polling: nothing to give back
            pass
    _persist_reads_quietly(firm_id)
    log.info("job firm=%s user=- kind=drift-poll ms=%.1f outcome=%s", firm_id,
             (time.perf_counter() - started) * 1000, report.paused or "finished")
    return report.as_dict()


def _persist_reads_quietly(firm_id: int) -> None:
    """Keep this month's read count in the database too (at most once a day per firm)."""
    try:
        if get_redis().set(f"qbo:reads-persisted:{firm_id}:{utcnow():%Y-%m-%d}", "1", nx=True, ex=2 * 86400):
            persist_reads(firm_id)
    except Exception as exc:  # counting must never fail the job it rides on
        db.session.rollback()
        log.warning("firm=%s could not persist read counts: %s", firm_id, type(exc).__name__)


# The change poll's interval. Every poll is a metered read (qbo-2025-2026.md "Which calls are
# billed"): every 60 s it is 43,200 reads a month per firm, so about 11 idle firms use up the
# Builder tier's 500,000 by themselves. With webhooks on, Intuit pushes each change ("Use webhooks
# and CDC instead of polling", same file) and each webhook queues a poll at once; the scheduled
# poll is only the catch-up for a webhook Intuit holds back or retries for hours (ref §8: retries
# at 10 s ... 2 h, 4 h, 6 h), so once every 15 minutes is enough: 4 reads an idle hour, 2,880 a
# month per firm.
POLL_SECONDS = 60
WEBHOOK_POLL_SECONDS = 15 * 60


def webhooks_on() -> bool:
    """Whether Intuit's webhooks reach this deployment (its verifier token is configured)."""
    return bool(current_app.config.get("QBO_WEBHOOK_VERIFIER"))


def poll_interval(firm_interval: int | None, webhooks: bool | None = None) -> int:
    """Seconds between a firm's scheduled change polls: its own interval (Firm.cdc_interval_seconds),
    where that is the default 60 s and webhooks are on, the 15-minute safety poll."""
    interval = firm_interval or POLL_SECONDS
    webhooks = webhooks_on() if webhooks is None else webhooks
    return WEBHOOK_POLL_SECONDS if webhooks and interval == POLL_SECONDS else interval


def due_firms(now: dt.datetime | None = None) -> list[int]:
    """Connected firms whose last poll is older than their interval (or that never polled)."""
    now = now or utcnow()
    webhooks = webhooks_on()
    rows = db.session.execute(select(QboConnection.firm_id, QboConnection.cdc_checked_at,
                                     Firm.cdc_interval_seconds)
                              .join(Firm, Firm.id == QboConnection.firm_id)
                              .where(QboConnection.state == "connected")).all()
    return [firm_id for firm_id, checked, interval in rows
            if checked is None or checked <= now - dt.timedelta(seconds=poll_interval(interval, webhooks))]


def schedule_polls() -> int:
    """RQ entry (run by worker.py's schedule): queue a poll for every firm that is due."""
    return sum(1 for firm_id in due_firms() if enqueue_poll(firm_id))


def enqueue_schedule() -> None:
    """Queue `schedule_polls` and `sweep_stranded` once each (several workers ticking together make
    one job of each). Redis only, no database: worker.py calls it from its parent process, which
    must not query before forking."""
    enqueue_once("drift-schedule", schedule_polls, job_timeout=300)
    enqueue_once("sync-sweep", sweep_stranded, job_timeout=300)


# --- the sweep: nothing stranded ------------------------------------------------------------------

# A firm found stranded again is re-queued after 1, 2, 4 ... up to 30 minutes, so a QuickBooks that
# keeps failing is not hammered; a sweep that finds the firm clear resets it.
SWEEP_FIRST, SWEEP_MAX = 60, 1800
# A started sync job whose worker gave no heartbeat for this long is dead (killed worker).
DEAD_AFTER = dt.timedelta(minutes=2)


def sweep_stranded(now: dt.datetime | None = None) -> dict:
    """RQ entry (worker.py's schedule, every DRIFT_SCHEDULE_SECONDS): for every connected firm, put
    up (and take down) the desk's stuck rows, close waiting rows whose record arrived, and re-queue
    the sync, with backoff, when pending records are stranded: their claim expired (the worker that
    held them died) or no sync job is queued or running for them."""
    now = now or utcnow()
    out = {"requeued": [], "stuck": 0}
    # Only firms with something to look at: pending records, or stuck and waiting rows to settle.
    busy = select(QboLink.firm_id).where(QboLink.status == "pending", QboLink.excluded.is_(False)).union(
        select(SyncError.firm_id).where(SyncError.status == "open",
                                        SyncError.case.in_((problems.STUCK, problems.WAITING)))).subquery()
    firm_ids = db.session.scalars(select(QboConnection.firm_id).where(
        QboConnection.state == "connected", QboConnection.firm_id.in_(select(busy.c.firm_id)))
        .order_by(QboConnection.firm_id)).all()
    for firm_id in firm_ids:
        try:
            _sweep_firm(firm_id, now, out)
        except Exception as exc:  # one firm's trouble (Redis blip, a bad job record) spares the others
            db.session.rollback()
            log.warning("sweep firm=%s failed: %s", firm_id, type(exc).__name__)
    return out


def _sweep_firm(firm_id: int, now: dt.datetime, out: dict) -> None:
    out["stuck"] += mark_stuck(firm_id, now)
    problems.settle_waiting(firm_id)
    db.session.commit()
    if not stranded(firm_id, now):
        get_redis().delete(_sweep_key(firm_id))
        return
    if _backoff_allows(firm_id):
        enqueue_sync(firm_id)
        out["requeued"].append(firm_id)
        log.info("sweep firm=%s re-queued its stranded records", firm_id)


def _sweep_key(firm_id: int) -> str:
    return f"qbo:sweep:{firm_id}"


def _backoff_allows(firm_id: int) -> bool:
    """True (and the next try is pushed back) when the firm's backoff has run out."""
    redis = get_redis()
    key = _sweep_key(firm_id)
    state = redis.hgetall(key)
    now = time.time()
    if state and now < float(state.get("next_at", 0)):
        return False
    tries = int(state.get("tries", 0)) + 1 if state else 1
    redis.hset(key, mapping={"tries": tries, "next_at": now + min(SWEEP_FIRST * 2 ** (tries - 1), SWEEP_MAX)})
    redis.expire(key, 24 * 3600)
    return True


def _pending(firm_id: int):
    """The firm's pending links that a sync would send: not excluded, not waiting for a record a
    person must fix first (those have their desk row and go when it does)."""
    waits = exists().where(SyncError.firm_id == firm_id, SyncError.status == "open",
                           SyncError.case == problems.WAITING, SyncError.record_type == QboLink.record_type,
                           SyncError.record_id == QboLink.record_id)
    return select(QboLink.id).where(QboLink.firm_id == firm_id, QboLink.status == "pending",
                                    QboLink.excluded.is_(False), ~waits)


def stranded(firm_id: int, now: dt.datetime | None = None) -> bool:
    """Whether pending records of the firm would stay so: a claim expired, or none is claimed and
    no sync job is queued, scheduled or running."""
    now = now or utcnow()
    expired = and_(QboLink.claimed_until.is_not(None), QboLink.claimed_until < now)
    if db.session.scalar(_pending(firm_id).where(expired).limit(1)) is not None:
        return True
    free = db.session.scalar(_pending(firm_id).where(QboLink.claimed_until.is_(None)).limit(1))
    return free is not None and not sync_job_active(firm_id)


def sync_job_active(firm_id: int) -> bool:
    """Is a sync of the firm queued, scheduled or running (on a live worker)?"""
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    connection = get_queue().connection
    for job_id in (f"sync-firm-{firm_id}", f"sync-firm-{firm_id}-followup"):
        if not Job.exists(job_id, connection=connection):
            continue
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        status = job.get_status(refresh=False)
        if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            return True
        if status == JobStatus.STARTED:
            beat = job.last_heartbeat
            if beat is not None and beat.tzinfo is not None:
                beat = beat.astimezone(dt.timezone.utc).replace(tzinfo=None)
            if beat is not None and beat > utcnow() - DEAD_AFTER:
                return True
    return False


def mark_stuck(firm_id: int, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Put a `stuck-pending` desk row on each record pending longer than the firm's limit (and with
    no other open problem saying why); take it down from those no longer pending. How many rows
    were put up or bumped."""
    now = now or utcnow()
    problems.settle_stuck(firm_id)
    minutes = db.session.scalar(select(Firm.stuck_after_minutes).where(Firm.id == firm_id)) or 15
    # A record with an open problem (a stuck row already, or one that says why) gets no new row.
    other = exists().where(SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.severity == "error",
                           SyncError.record_type == QboLink.record_type, SyncError.record_id == QboLink.record_id)
    links = db.session.scalars(select(QboLink).where(
        QboLink.firm_id == firm_id, QboLink.status == "pending", QboLink.excluded.is_(False),
        QboLink.pending_since < now - dt.timedelta(minutes=minutes), ~other).order_by(QboLink.id).limit(limit)).all()
    for link in links:
        problems.record_stuck(link, minutes)
    return len(links)


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


# --- what the company is (issue 17) ----------------------------------------------------------------


def request_snapshot_refresh(firm_id: int, user_id: int | None = None) -> JobRun:
    """Queue a fresh read of the company's settings and tax codes (a person asked for it)."""
    return enqueue("company-snapshot", refresh_snapshot, firm_id, user_id=user_id)


@tracked
def refresh_snapshot(run: JobRun) -> dict:
    """Read CompanyInfo, Preferences and the tax codes again into the company snapshot."""
    from qbo.quickbooks import company
    from qbo.quickbooks.connection import client_for_firm

    connection = get_connection(run.firm_id)
    if connection is None or connection.state != "connected":
        return {"skipped": "QuickBooks is not connected"}
    snapshot = company.refresh(run.firm_id, client_for_firm(run.firm_id), realm_id=connection.realm_id)
    db.session.commit()
    return {"tax_codes": len(snapshot.tax_codes or [])}


# --- Intuit's Disconnect URL -----------------------------------------------------------------------


def enqueue_disconnect_check(realm_id: str) -> bool:
    """Intuit opened our Disconnect URL for a realm: check with Intuit in a job (a request never
    calls QuickBooks), once per realm however often the URL is opened."""
    realm_id = str(realm_id or "")
    if not realm_id.isdigit() or len(realm_id) > 40:
        return False
    enqueue_once(f"disconnect-check-{realm_id}", check_disconnected_job, realm_id, job_timeout=120)
    return True


def check_disconnected_job(realm_id: str) -> dict:
    """RQ entry: mark the realm's connection disconnected if Intuit now refuses its tokens."""
    return {"disconnected": disconnected_in_quickbooks(realm_id)}


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
