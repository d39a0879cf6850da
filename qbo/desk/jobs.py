"""RQ entry points of the desk, and the helpers that check and enqueue them: a person's action on
one error, a bulk action, a record's Resync from its panel. A JobRun row is committed before the
job is enqueued; jobs take ids and are safe to run twice."""
from __future__ import annotations

from rq.job import Job

from qbo.accounts.models import User
from qbo.accounts.permissions import ACT_ON_ERRORS, can
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.core.queue import enqueue, get_queue, tracked
from qbo.desk import actions, record_panel
from qbo.quickbooks.models import SyncError


def request_action(user: User, error: SyncError, action: str, qbo_id: str | None = None) -> JobRun:
    """Check and enqueue one row action; raises ActionRefused (422) or PermissionError (403)."""
    qbo_id = actions.check_action(user, error, action, qbo_id)
    return enqueue(f"action-{action}", run_action, user.firm_id, user_id=user.id, args=(error.id, action, qbo_id))


def request_bulk(user: User, action: str, case: str | None = None) -> JobRun:
    """Check and enqueue a bulk action run by someone with the approval right."""
    actions.check_bulk(user, action, case)
    return enqueue(f"bulk-{action}", run_bulk, user.firm_id, user_id=user.id, args=(action, case))


def request_record_resync(user: User, record_type: str, record_id: int) -> list[JobRun]:
    """The panel's Resync: one job that re-creates what was deleted in QuickBooks and resends the record."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError("act_on_errors")
    return [enqueue(f"resync-{record_type}", run_record_resync, user.firm_id, user_id=user.id,
                    args=(record_type, record_id))]


@tracked
def run_action(run: JobRun, error_id: int, action: str, qbo_id: str | None) -> dict:
    return actions.perform_action(run, error_id, action, qbo_id)


@tracked
def run_bulk(run: JobRun, action: str, case: str | None) -> dict:
    return actions.perform_bulk(run, action, case)


@tracked
def run_record_resync(run: JobRun, record_type: str, record_id: int) -> dict:
    return record_panel.resync_record(run, record_type, record_id)


def retry_job(run: JobRun, user_id: int | None = None) -> bool:
    """Put a failed job back on the queue under the same id; False when RQ no longer has it."""
    if run.status != "failed":
        return False
    queue = get_queue()
    try:
        job = Job.fetch(run.id, connection=queue.connection, serializer=queue.serializer)
        job.requeue()
    except Exception:  # expired (failure_ttl), or no longer in the failed registry
        return False
    run.status, run.finished_at = "queued", None
    audit(run.firm_id, user_id, "job.retried", None, job_id=run.id, kind=run.kind)
    db.session.commit()
    return True
