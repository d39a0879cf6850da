"""Settings > Integrations > QuickBooks, section "QuickBooks errors": the tabs, Submit, progress,
the customer search, CSV export, bulk actions and their approval, the company refresh.

Every GET is one URL that answers with the page, or with its fragment to htmx (`Vary: HX-Request`).
"""
from __future__ import annotations

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from qbo.accounts.models import User
from qbo.accounts.permissions import ACT_ON_ERRORS, APPROVE_BULK, MANAGE_SETTINGS, VIEW_ERRORS
from qbo.core.db import db
from qbo.desk import actions
from qbo.desk import tabs as desk
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks import record_status
from qbo.quickbooks.api.errors import QboError
from qbo.quickbooks.problems.counts import CATEGORIES, TAB_COUNT_CAP, capped_label
from qbo.quickbooks.problems.counts import error_counts_capped as error_counts
from views._context import require
from views._input import page_arg
from views._htmx import hx_trigger, is_htmx, vary_on_htmx
from views.quickbooks import bp

CHANGED = "qbo-errors-changed"  # the HX-Trigger event the banner, tabs and panels refresh on
QBO_STATUS_LABELS = record_status.STATUS_LABELS


def language() -> str:
    """The request's language ("en" or "ro"), for texts that come from qbo.catalogue."""
    locale = get_locale()
    return desk.language_of(current_user, locale.language if locale is not None else None)


def _translated(labels: dict) -> dict[str, str]:
    """Lazy labels in the request's language, translated once instead of at each of a page's rows."""
    return {key: str(label) for key, label in labels.items()}


def words() -> dict:
    """Labels every desk template may show: record types, job kinds and job states in words."""
    return dict(type_labels=_translated(desk.RECORD_TYPE_LABELS), job_label=desk.job_label,
                job_status_labels=_translated(desk.JOB_STATUS_LABELS))


def errors_context(args) -> dict:
    """What templates/desk/_errors.html needs: the tab, its page of rows, counts, bulk actions."""
    firm_id = current_user.firm_id
    counts = error_counts(firm_id, TAB_COUNT_CAP)
    tab = args.get("tab")
    if tab not in CATEGORIES:
        tab = next((c for c in CATEGORIES if counts[c]), CATEGORIES[0])
    case = args.get("case") or None
    severity = args.get("severity") if args.get("severity") in desk.SEVERITY_FILTERS else None
    page = page_arg(source=args)
    lang = language()
    cases = desk.cases_in(firm_id, tab, severity)
    rows, pagination, groups = desk.tab_page(current_user, tab, case=case, page=page, language=lang, cases=cases,
                                             severity=severity)
    return dict(tab=tab, case=case, severity=severity, counts=counts,
                severity_labels=_translated(desk.SEVERITY_FILTER_LABELS),
                warnings=desk.open_warnings(firm_id, tab), count_cap=TAB_COUNT_CAP, rows=rows, pagination=pagination,
                sections=_sections(rows, groups), groups=groups,
                cases=cases, bulk=desk.bulk_choices(firm_id, tab, lang, cases),
                bulk_requests=desk.pending_bulk_requests(firm_id),
                users=users_of(firm_id), labels=_translated(desk.CATEGORY_LABELS),
                action_labels=_translated(desk.ACTION_LABELS), bulk_labels=_translated(desk.BULK_LABELS),
                group_actions=lambda g: desk.group_actions(current_user, g),
                bulk_needs_owner=lambda action, n: desk.bulk_needs_owner(firm_id, action, n), problems={}, **words())


@bp.app_template_filter("capped_at")
def capped_at(n: int, cap: int) -> str:
    """`{{ n|capped_at(99) }}`: a count read up to cap + 1 rows says "99+" past its cap."""
    return capped_label(n, cap)


def _sections(rows, groups):
    """Rows in page order, a group's rows gathered under their root at the first one's place."""
    sections, placed = [], {}
    for row in rows:
        if row.group is None:
            sections.append((None, [row]))
        elif row.group in placed:
            placed[row.group][1].append(row)
        else:
            placed[row.group] = (groups[row.group], [row])
            sections.append(placed[row.group])
    return sections


def users_of(firm_id: int) -> dict[int, User]:
    return {u.id: u for u in db.session.scalars(select(User).where(User.firm_id == firm_id))}


def progress_fragment(runs, status=200, message=None):
    final = all(r.status in ("finished", "failed") for r in runs)
    response = vary_on_htmx(make_response(render_template(
        "desk/_progress.html", runs=runs, final=final, ids=",".join(r.id for r in runs), message=message,
        **words()), status))
    if final:
        hx_trigger(response, CHANGED)
    return response


# --- the errors section ----------------------------------------------------------------------------


@bp.post("/errors/apply")
@require(ACT_ON_ERRORS)
def apply():
    """One Submit: the chosen action of every row (and group) of the tab, one job per row."""
    tab = request.form.get("tab")
    try:
        runs = desk.submit(current_user, request.form)
    except desk.SubmitRefused as refused:
        db.session.rollback()
        if is_htmx():
            return render_template("desk/_refused.html", problems=refused.problems,
                                   names=_row_names(refused.problems))
        flash(_("Nothing was applied: %(reasons)s", reasons=str(refused)), "error")
        return redirect(url_for("quickbooks.show", tab=tab) + "#quickbooks-errors")
    if not runs:
        if is_htmx():
            return render_template("desk/_refused.html", problems={0: _("Choose an action on at least one row.")})
        flash(_("Choose an action on at least one row."), "error")
        return redirect(url_for("quickbooks.show", tab=tab) + "#quickbooks-errors")
    if is_htmx():
        return progress_fragment(runs, 202)
    return redirect(url_for("quickbooks.show", tab=tab, jobs=",".join(r.id for r in runs))
                    + "#quickbooks-errors")


def _row_names(problems: dict) -> dict[int, str]:
    """The record each refused row is about ("INV-0062"), for the refusal to name it."""
    from qbo.desk.actions import get_error
    from qbo.quickbooks.problems.counts import load_records, record_label

    errors = [e for e in (get_error(current_user.firm_id, i) for i in problems if i) if e is not None]
    records = load_records(errors)
    return {e.id: record_label(e.record_type, records.get((e.record_type, e.record_id))) for e in errors}


@bp.get("/errors/progress")
@require(VIEW_ERRORS)
def progress():
    runs = desk.job_runs(current_user.firm_id, request.args.get("jobs", "").split(","))
    if not runs:
        abort(404)
    return progress_fragment(runs)


@bp.get("/customers")
@require(ACT_ON_ERRORS)
def customers():
    """Type-ahead: QuickBooks customers whose name contains `q` (the person's explicit search)."""
    field = request.args.get("field", "")
    if not desk.valid_picker_field(field):
        abort(400)
    text = (request.args.get("q") or "").strip()
    found, failed = [], False
    if len(text) >= 2:
        try:
            found = actions.search_customers(current_user.firm_id, text)
        except QboError:
            failed = True
    return render_template("desk/_customer_matches.html", found=found, failed=failed, text=text, field=field)


@bp.get("/errors.csv")
@require(VIEW_ERRORS)
def export():
    tab = request.args.get("tab")
    if tab not in CATEGORIES:
        abort(404)
    severity = request.args.get("severity") if request.args.get("severity") in desk.SEVERITY_FILTERS else None
    body = desk.export_csv(current_user, tab, request.args.get("case") or None, severity)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="quickbooks-errors-{tab}.csv"'})


@bp.post("/errors/acknowledge-warnings")
@require(ACT_ON_ERRORS)
def acknowledge_warnings():
    """Close every open warning of the tab as acknowledged, at once (errors and notes stay)."""
    tab = request.form.get("tab")
    if tab not in CATEGORIES:
        abort(422, _("Choose the tab whose warnings to acknowledge."))
    closed = desk.acknowledge_warnings(current_user, tab)
    message = ngettext("%(num)s warning acknowledged.", "%(num)s warnings acknowledged.", closed)
    if is_htmx():
        return hx_trigger(vary_on_htmx(render_template("desk/_message.html", message=message)), CHANGED)
    flash(message)
    return redirect(url_for("quickbooks.show", tab=tab) + "#quickbooks-errors")


@bp.post("/bulk")
@require(ACT_ON_ERRORS)
def bulk():
    """A bulk action of the tab: the owner's runs now, anyone else's waits for the owner."""
    tab = request.form.get("tab")
    try:
        waiting, run = desk.request_bulk(current_user, request.form.get("action", ""),
                                         request.form.get("case") or None)
    except actions.ActionRefused as refused:
        abort(422, str(refused))
    if run is not None:
        if is_htmx():
            return progress_fragment([run], 202)
        return redirect(url_for("quickbooks.show", tab=tab, jobs=run.id) + "#quickbooks-errors")
    message = _("Asked the owner to approve it. It runs once the owner approves.")
    if is_htmx():
        return hx_trigger(vary_on_htmx(render_template("desk/_message.html", message=message)), CHANGED)
    flash(message)
    return redirect(url_for("quickbooks.show", tab=tab) + "#quickbooks-errors")


def _bulk_request_or_404(request_id):
    found = desk.get_bulk_request(current_user.firm_id, request_id)
    if found is None:
        abort(404)
    return found


@bp.post("/bulk/<int:request_id>/approve")
@require(APPROVE_BULK)
def approve_bulk(request_id):
    bulk_request = _bulk_request_or_404(request_id)
    try:
        run = desk.run_approved_bulk(current_user, bulk_request)
    except actions.ActionRefused as refused:
        abort(409, str(refused))
    if is_htmx():
        return progress_fragment([run], 202)
    return redirect(url_for("quickbooks.show", jobs=run.id) + "#quickbooks-errors")


@bp.post("/bulk/<int:request_id>/decline")
@require(APPROVE_BULK)
def decline_bulk(request_id):
    bulk_request = _bulk_request_or_404(request_id)
    try:
        desk.decline_bulk(current_user, bulk_request)
    except actions.ActionRefused as refused:
        abort(409, str(refused))
    if is_htmx():
        return hx_trigger(vary_on_htmx(render_template("desk/_message.html", message=_("Request declined."))), CHANGED)
    flash(_("Request declined."))
    return redirect(url_for("quickbooks.show") + "#quickbooks-errors")


@bp.post("/company/refresh")
@require(MANAGE_SETTINGS)
def refresh_company():
    """Reload the company's accounts, payment methods and used numbers from QuickBooks (a job)."""
    company_cache.forget_lock(current_user.firm_id)
    run = quickbooks_jobs.request_company_refresh(current_user.firm_id, current_user.id)
    if is_htmx() and run is not None:
        return render_template("jobs/_status.html", run=run), 202
    flash(_("Reading the company's accounts from QuickBooks; reload in a moment."))
    return redirect(url_for("quickbooks.show_sync_settings"))
