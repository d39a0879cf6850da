"""What any page links to about QuickBooks (`/quickbooks`): the banner partial, a record's "Sync to
QuickBooks" panel, and the History and Jobs pages. Each GET answers with the page, or with its
fragment to htmx (`Vary: HX-Request`)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qbo.accounts.permissions import ACT_ON_ERRORS, MANAGE_SETTINGS, VIEW_ERRORS, VIEW_LEDGER
from qbo.core.db import db
from qbo.core.models import AuditEvent, JobRun
from qbo.desk import jobs as desk_jobs
from qbo.desk import record_panel
from qbo.desk import tabs as desk
from qbo.quickbooks.sync import BY_RECORD_TYPE
from views._context import require
from views._htmx import is_htmx, vary_on_htmx
from views._input import int_arg, page_arg
from views.quickbooks.errors import QBO_STATUS_LABELS, progress_fragment, users_of, words

bp = Blueprint("activity", __name__, url_prefix="/quickbooks")


# --- on every page: the banner ---------------------------------------------------------------------


@bp.get("/banner")
def banner():
    """The banner partial. Signed out (an expired session while a page polls), it answers empty,
    so the poll stops instead of swapping the sign-in page into the banner."""
    if not current_user.is_authenticated:
        return vary_on_htmx(make_response(""))
    return vary_on_htmx(render_template("_banner.html"))


# --- a record's "Sync to QuickBooks" panel -----------------------------------------------------------


def _record_or_404(record_type: str, record_id: int):
    module = BY_RECORD_TYPE.get(record_type)
    record = db.session.get(module.MODEL, record_id) if module else None
    if record is None or record.firm_id != current_user.firm_id:
        abort(404)
    return record


@bp.get("/records/<record_type>/<int:record_id>")
@require(VIEW_LEDGER)
def record(record_type, record_id):
    record = _record_or_404(record_type, record_id)
    entries = record_panel.record_panel(current_user.firm_id, record_type, record_id)
    notes = record_panel.record_notes(current_user.firm_id, record_type, record_id)
    context = dict(record=record, record_type=record_type, entries=entries, notes=notes, labels=QBO_STATUS_LABELS,
                   slug=desk.RECORD_SLUGS[record_type], jobs=request.args.get("jobs"), **words())
    template = "desk/_record_panel.html" if is_htmx() else "desk/record.html"
    return vary_on_htmx(render_template(template, **context))


@bp.post("/records/<record_type>/<int:record_id>/resync")
@require(ACT_ON_ERRORS)
def resync_record(record_type, record_id):
    _record_or_404(record_type, record_id)
    runs = desk_jobs.request_record_resync(current_user, record_type, record_id)
    if is_htmx():
        return progress_fragment(runs, 202)
    return redirect(url_for("activity.record", record_type=record_type, record_id=record_id,
                            jobs=",".join(r.id for r in runs)))


# --- history and jobs --------------------------------------------------------------------------------


@bp.get("/history")
@require(VIEW_ERRORS)
def history():
    firm_id = current_user.firm_id
    stmt = select(AuditEvent).where(AuditEvent.firm_id == firm_id)
    action = request.args.get("action") or None
    user_id = int_arg("user", minimum=1)
    record_type = request.args.get("record_type") or None
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if user_id:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if record_type:
        stmt = stmt.where(AuditEvent.record_type == record_type)
    page = db.paginate(stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), page=page_arg(),
                       per_page=50, error_out=False)
    actions_seen = db.session.scalars(select(AuditEvent.action).where(AuditEvent.firm_id == firm_id)
                                      .distinct().order_by(AuditEvent.action)).all()
    context = dict(page=page, users=users_of(firm_id), actions_seen=actions_seen, names=_record_names(page.items),
                   filters={"action": action or "", "user": user_id or "", "record_type": record_type or ""},
                   slugs=desk.RECORD_SLUGS, **words())
    template = "desk/_history_table.html" if is_htmx() else "desk/history.html"
    return vary_on_htmx(render_template(template, **context))


def _record_names(events) -> dict[tuple[str, int], str]:
    """The records a page of History names, by their number or name ("INV-0062"), one query per
    record type; a record since deleted keeps no name (History then says its type and id)."""
    wanted: dict[str, set[int]] = {}
    for ev in events:
        detail = ev.detail or {}
        record_type, record_id = ev.record_type or detail.get("record_type"), ev.record_id or detail.get("record_id")
        if record_type in BY_RECORD_TYPE and isinstance(record_id, int):
            wanted.setdefault(record_type, set()).add(record_id)
    names = {}
    for record_type, ids in wanted.items():
        model = BY_RECORD_TYPE[record_type].MODEL
        for record in db.session.scalars(select(model).where(model.id.in_(ids), model.firm_id == current_user.firm_id)):
            names[(record_type, record.id)] = record.label
    return names


@bp.get("/jobs")
@require(MANAGE_SETTINGS)
def jobs_index():
    status = request.args.get("status") or "active"
    stmt = select(JobRun).where(JobRun.firm_id == current_user.firm_id)
    if status == "active":
        stmt = stmt.where(JobRun.status.in_(("queued", "started", "failed")))
    elif status in ("queued", "started", "failed", "finished"):
        stmt = stmt.where(JobRun.status == status)
    page = db.paginate(stmt.order_by(JobRun.created_at.desc()), page=page_arg(), per_page=50, error_out=False)
    context = dict(page=page, status=status, users=users_of(current_user.firm_id), **words())
    template = "desk/_jobs_table.html" if is_htmx() else "desk/jobs.html"
    return vary_on_htmx(render_template(template, **context))


@bp.post("/jobs/<job_id>/retry")
@require(MANAGE_SETTINGS)
def retry_job(job_id):
    run = db.session.scalar(select(JobRun).where(JobRun.id == job_id, JobRun.firm_id == current_user.firm_id))
    if run is None:
        abort(404)
    if not desk_jobs.retry_job(run, current_user.id):
        flash(_("This job can no longer be retried (its record in the queue has expired). "
                "Start it again from its page."), "error")
    else:
        flash(_("The job is queued again."))
    return redirect(url_for("activity.jobs_index"))
