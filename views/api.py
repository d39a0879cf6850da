"""JSON API /api/v1 (../shared/docs/api.md section 1): bearer API keys acting with the key owner's
role and firm; 401 without a valid key, 403 without the right, 404 for another firm's record,
422 with every field's reasons and nothing stored."""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh as refresh_locale
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from qbo.accounts.auth import user_for_api_key
from qbo.accounts.permissions import ACT_ON_ERRORS, EDIT_LEDGER, VIEW_LEDGER, can
from qbo.accounts.scoping import NotFound, get_scoped, scoped
from qbo.core import queue
from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.desk import actions
from qbo.desk import jobs as desk_jobs
from qbo.ledger import records as ledger
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks import record_status
from views._context import role_label
from views._input import int_arg, page_arg

bp = Blueprint("api", __name__, url_prefix="/api/v1")
SLUGS = "any(" + ",".join(f'"{s}"' for s in ledger.KINDS) + "):slug"



def _record_json(kind, record) -> dict:
    """A ledger record's JSON with its `quickbooks` block (status, QBO id, open errors)."""
    return {**kind.to_json(record), "quickbooks": record_status.quickbooks_state(record)}


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    user = user_for_api_key(token)
    if user is None:
        response = jsonify(error="unauthorized",
                           message=_("A valid API key is required (Authorization: Bearer <key>)."))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    db.session.commit()  # last_used_at
    g.api_user = user
    refresh_locale()  # from here on, human texts follow the key owner's language
    needed = VIEW_LEDGER if request.method in ("GET", "HEAD") else EDIT_LEDGER
    if not can(user, needed):
        message = _("Your role (%(role)s) may not do this.", role=role_label(user.role))
        return jsonify(error="forbidden", message=message), 403


def _kind(slug):
    return ledger.KINDS[slug]


def _record_or_404(kind, record_id):
    try:
        return get_scoped(kind.model, record_id, g.api_user.firm_id)
    except NotFound:
        abort(404)


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        abort(400, description=_("The body must be JSON (Content-Type: application/json)."))
    if not isinstance(data, dict):
        raise ledger.ValidationFailed({"body": [_("must be a JSON object")]})
    return data


def _unknown_fields(kind, data) -> dict:
    known = set(_FIELDS[kind.slug])
    return {k: [_("is not a known field")] for k in data if k not in known}


_FIELDS = {
    "accounts": ("name", "kind", "first_name", "last_name", "company_name", "email", "phone", "external_id",
                 "currency"),
    "services": ("name", "description", "rate", "income_account", "taxable", "tax_rate_id"),
    "invoices": ("number", "account_id", "date", "due_date", "description", "lines", "exchange_rate"),
    "credit-notes": ("number", "account_id", "date", "description", "lines", "exchange_rate"),
    "payments": ("account_id", "date", "amount", "method", "processor", "processor_fee", "reference",
                 "allocations", "credit_allocations", "exchange_rate"),
    "refunds": ("payment_id", "date", "amount", "reason"),
}


def _save(kind, record=None):
    try:
        data = _body()
        unknown = _unknown_fields(kind, data)
        if unknown:
            raise ledger.ValidationFailed(unknown)
        # As on the service form: an income account the connected company lacks is refused (when its
        # accounts are known), with the other fields' reasons, rather than failing at sync.
        refused = company_cache.service_problems(g.api_user.firm_id, data) if kind.slug == "services" else {}
        saved = ledger.committed(lambda: ledger.save(kind, g.api_user.firm, data, record=record,
                                                     user_id=g.api_user.id, refused=refused))
    except ledger.ValidationFailed as failed:
        db.session.rollback()
        return jsonify(errors=failed.errors), 422
    except ledger.Busy:
        return _busy()
    quickbooks_jobs.after_ledger_change(g.api_user.firm_id)
    return saved


@bp.errorhandler(OperationalError)
def _lost_race(error):
    """A lost race for a lock outside a ledger write's own retries (the API key's last use is
    written on every request): 409, nothing stored. Any other database failure stays a 500."""
    db.session.rollback()
    if not ledger.lost_race(error):
        raise error
    return _busy()


def _busy():
    """409: other writers held the same records through every retry; nothing was stored."""
    return jsonify(error="conflict", message=_(
        "Other changes to the same records were being saved; nothing was stored. Send it again.")), 409


@bp.get(f"/<{SLUGS}>")
def index(slug):
    kind = _kind(slug)
    page = page_arg()
    per_page = min(max(int_arg("per_page", 100), 1), 500)
    stmt = scoped(kind.model, g.api_user.firm_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(kind.model.id).limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify(data=[_record_json(kind, r) for r in rows], page=page, per_page=per_page, total=total)


@bp.post(f"/<{SLUGS}>")
def create(slug):
    kind = _kind(slug)
    result = _save(kind)
    if isinstance(result, tuple):
        return result
    response = jsonify(_record_json(kind, result))
    response.status_code = 201
    response.headers["Location"] = url_for("api.show", slug=slug, record_id=result.id)
    return response


@bp.get(f"/<{SLUGS}>/<int:record_id>")
def show(slug, record_id):
    kind = _kind(slug)
    return jsonify(_record_json(kind, _record_or_404(kind, record_id)))


@bp.patch(f"/<{SLUGS}>/<int:record_id>")
def update(slug, record_id):
    kind = _kind(slug)
    if not kind.updatable:
        abort(405)
    result = _save(kind, _record_or_404(kind, record_id))
    return result if isinstance(result, tuple) else jsonify(_record_json(kind, result))


@bp.delete(f"/<{SLUGS}>/<int:record_id>")
def destroy(slug, record_id):
    kind = _kind(slug)
    record = _record_or_404(kind, record_id)
    try:
        blockers = ledger.committed(
            lambda: ledger.delete(kind, g.api_user.firm, record, user_id=g.api_user.id))
    except ledger.Busy:
        return _busy()
    if blockers:
        return jsonify(errors={"record": blockers}), 409
    quickbooks_jobs.after_ledger_change(g.api_user.firm_id)
    return "", 204


@bp.get("/jobs/<job_id>")
def job(job_id):
    run = db.session.scalar(select(JobRun).where(JobRun.id == job_id, JobRun.firm_id == g.api_user.firm_id))
    if run is None:
        abort(404)
    return jsonify(status=run.status, done=run.done, total=run.total, result=run.result)


# --- sync ----------------------------------------------------------------------------------------


@bp.get("/sync/status")
def sync_status():
    from qbo.quickbooks.problems.counts import sync_status as status

    return jsonify(status(g.api_user.firm_id))


@bp.get("/sync/errors")
def sync_errors():
    from qbo.quickbooks.problems import catalogue
    from qbo.quickbooks.problems.counts import error_json, errors_query, load_records

    category, case = request.args.get("category"), request.args.get("case")
    status = request.args.get("status", "open")
    problems = {}
    if category and category not in catalogue.CATEGORIES:
        problems["category"] = [_("must be one of: %(choices)s", choices=", ".join(catalogue.CATEGORIES))]
    if case and case not in catalogue.CASES:
        problems["case"] = [_("is not a known case id")]
    if status not in ("open", "resolved", "skipped", ""):
        problems["status"] = [_("must be open, resolved or skipped")]
    if problems:
        return jsonify(errors=problems), 422
    page = page_arg()
    per_page = min(max(int_arg("per_page", 50), 1), 200)
    stmt = errors_query(g.api_user.firm_id, category=category, case=case, status=status or None)
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    records = load_records(rows)
    return jsonify(data=[error_json(e, records.get((e.record_type, e.record_id)),
                                    actions.allowed_actions(g.api_user, e)) for e in rows],
                   page=page, per_page=per_page)


@bp.post("/sync/errors/<int:error_id>/actions")
def sync_error_action(error_id):


    error = actions.get_error(g.api_user.firm_id, error_id)
    if error is None:
        abort(404)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return jsonify(errors={"action": [_("is required")]}), 422
    try:
        run = desk_jobs.request_action(g.api_user, error, body["action"], body.get("qbo_id"))
    except PermissionError:
        return jsonify(error="forbidden", message=_("Your role may not act on QuickBooks errors.")), 403
    except actions.ActionRefused as refused:
        return jsonify(errors={"action": [str(refused)]}), refused.status
    return jsonify(job_id=run.id), 202


@bp.post("/sync/bulk")
def sync_bulk():


    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return jsonify(errors={"action": [_("is required")]}), 422
    if body.get("case") is not None and not isinstance(body["case"], str):
        return jsonify(errors={"case": [_("must be text")]}), 422
    try:
        run = desk_jobs.request_bulk(g.api_user, body["action"], body.get("case"))
    except PermissionError:
        return jsonify(error="forbidden", message=_("This bulk action needs the owner: creating customers in bulk "
                                                    "always does, any other action on more records than the "
                                                    "firm's approval threshold does.")), 403
    except actions.ActionRefused as refused:
        return jsonify(errors={"action": [str(refused)]}), refused.status
    return jsonify(job_id=run.id), 202


@bp.post("/sync/run")
def sync_run():
    from qbo.quickbooks.connection import get_connection

    connection = get_connection(g.api_user.firm_id)
    if connection is None or connection.state != "connected":
        return jsonify(errors={"connection": [_("QuickBooks is not connected")]}), 409
    run = queue.enqueue("sync", quickbooks_jobs.run_sync, g.api_user.firm_id, user_id=g.api_user.id)
    return jsonify(job_id=run.id), 202


@bp.post("/sync/tieout")
def start_tieout():
    """Start a tie-out of the ledger against QuickBooks (staff and up): 202 with its job id; the
    one already queued or running is returned instead of a second."""
    from qbo.accounts.permissions import ACT_ON_ERRORS
    from qbo.quickbooks.connection import get_connection

    if not can(g.api_user, ACT_ON_ERRORS):
        return jsonify(error="forbidden", message=_("Your role (%(role)s) may not do this.",
                                                    role=role_label(g.api_user.role))), 403
    connection = get_connection(g.api_user.firm_id)
    if connection is None or connection.state != "connected":
        return jsonify(errors={"connection": [_("QuickBooks is not connected")]}), 409
    run = quickbooks_jobs.request_tieout(g.api_user.firm_id, g.api_user.id)
    response = jsonify(job_id=run.id, status=run.status)
    response.status_code = 202
    response.headers["Location"] = url_for("api.tieout")
    return response


@bp.get("/sync/tieout")
def tieout():
    """The firm's tie-out: 200 with the result of the latest finished one; 202 with the job id (and
    the previous result) while one is queued or running; 404 when none has run."""
    from views.quickbooks.tieout import present

    firm_id = g.api_user.firm_id
    latest = quickbooks_jobs.last_tieout(firm_id)
    if latest is None:
        return jsonify(error="not_found", message=_("No tie-out has run yet (POST /api/v1/sync/tieout starts one).")), 404
    finished = latest if latest.status == "finished" else quickbooks_jobs.last_tieout(firm_id, finished=True)
    body = {"job_id": latest.id, "status": latest.status, "done": latest.done, "total": latest.total,
            "result": present(finished.result) if finished is not None else None,
            "result_job_id": finished.id if finished is not None else None}
    return jsonify(body), 202 if latest.status in ("queued", "started") else 200


@bp.get("/sync/customers")
def sync_customers():
    """QBO customers whose name contains `q`, to pick one for Link to an existing customer."""
    from qbo.quickbooks.api.errors import QboError

    if not can(g.api_user, ACT_ON_ERRORS):  # as the desk's picker: staff and up, never a viewer
        return jsonify(error="forbidden", message=_("Your role (%(role)s) may not do this.",
                                                    role=role_label(g.api_user.role))), 403
    from qbo.quickbooks.connection import get_connection

    connection = get_connection(g.api_user.firm_id)
    if connection is None or connection.state != "connected":
        return jsonify(errors={"connection": [_("QuickBooks is not connected")]}), 409
    try:
        found = actions.search_customers(g.api_user.firm_id, request.args.get("q", ""))
    except QboError:
        return jsonify(error="quickbooks_unavailable",
                       message=_("QuickBooks did not answer; try again.")), 503
    return jsonify(data=found)


@bp.put(f"/<{SLUGS}>/<int:record_id>/quickbooks")
def quickbooks_exclusion(slug, record_id):
    """`{"do_not_sync": true|false}`: keep a record out of QuickBooks, or send it again."""


    kind = _kind(slug)
    record = _record_or_404(kind, record_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("do_not_sync"), bool):
        return jsonify(errors={"do_not_sync": ["must be true or false"]}), 422
    try:
        actions.set_do_not_sync(g.api_user, record, body["do_not_sync"])
    except PermissionError:
        return jsonify(error="forbidden", message="Your role may not change what is synced."), 403
    db.session.commit()
    quickbooks_jobs.after_ledger_change(g.api_user.firm_id)
    return jsonify(_record_json(kind, record))


from views import api_tax  # noqa: E402,F401  (issue 17: /tax-rates on this blueprint)
