"""Settings > Integrations > QuickBooks: the connection card, the sync settings and the QuickBooks
errors section. One URL: the page, or (to htmx) the errors section's fragment for a tab."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qbo.accounts.permissions import MANAGE_CONNECTION, MANAGE_SETTINGS, VIEW_ERRORS, can
from qbo.core.db import db
from qbo.desk import tabs as desk
from qbo.ledger.records import PAYMENT_METHODS, ValidationFailed
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboConnection
from qbo.quickbooks.settings import BOOLEAN_SETTINGS, update_settings
from views._context import require
from views._htmx import is_htmx, vary_on_htmx
from views.quickbooks import bp
from views.ledger import CHOICE_LABELS
from views.quickbooks.errors import errors_context


def _render(errors=None, values=None, status=200):
    firm = current_user.firm
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm.id))
    company = company_cache.get(firm.id)
    if company is None and connection is not None and connection.state == "connected" \
            and can(current_user, MANAGE_SETTINGS):
        quickbooks_jobs.request_company_refresh(firm.id, current_user.id)  # a job: the request never calls QBO
    context = errors_context(request.args)
    progress_runs = desk.job_runs(firm.id, (request.args.get("jobs") or "").split(","))
    return render_template(
        "settings/quickbooks.html", firm=firm, connection=connection, errors=errors or {},
        values=values, company=company, account_choices={
            s: company_cache.accounts_of_type(company, s) for s in company_cache.ACCOUNT_TYPES},
        numbers_used=company_cache.used_numbers(company, firm.invoice_number_prefix),
        payment_methods=PAYMENT_METHODS, method_labels=CHOICE_LABELS, progress_runs=progress_runs,
        **context), status


@bp.get("")
@require(VIEW_ERRORS)
def show():
    if is_htmx():
        return vary_on_htmx(render_template("desk/_errors.html", **errors_context(request.args)))
    return vary_on_htmx(_render())


@bp.post("/sync-settings")
@require(MANAGE_SETTINGS)
def update_sync_settings():
    try:
        update_settings(current_user.firm, request.form, user_id=current_user.id,
                        may_change_connection_rights=can(current_user, MANAGE_CONNECTION)
                        and current_user.role == "owner",
                        company=company_cache.get(current_user.firm_id))
    except ValidationFailed as failed:
        db.session.rollback()
        values = request.form.to_dict()
        for name in BOOLEAN_SETTINGS:  # a hidden "off" comes first; ticked adds "on"
            values[name] = "on" if "on" in request.form.getlist(name) else ""
        return _render(failed.errors, values, 422)
    db.session.commit()
    flash(_("QuickBooks sync settings saved."))
    return redirect(url_for("quickbooks.show"))
