"""Settings > Integrations > QuickBooks: the QuickBooks errors come first (the page firm staff open
every day), the connection and the sync settings are sub-pages of their own. One URL per page: the
errors page answers with its errors fragment for a tab to htmx."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qbo.accounts.permissions import MANAGE_CONNECTION, MANAGE_SETTINGS, VIEW_ERRORS, can
from qbo.core.db import db
from qbo.desk import tabs as desk
from qbo.ledger.records import PAYMENT_METHODS, ValidationFailed
from qbo.quickbooks import company as company_snapshot
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.api.meter import BUILDER_MONTHLY_READS
from qbo.quickbooks.connection import reads_this_month
from qbo.quickbooks.models import QboConnection
from qbo.quickbooks.problems.counts import connection_pause
from qbo.quickbooks.settings import BOOLEAN_SETTINGS, update_settings
from views._context import require
from views._htmx import is_htmx, vary_on_htmx
from views.ledger import CHOICE_LABELS
from views.quickbooks import bp
from views.quickbooks.errors import errors_context


def _connection():
    return db.session.scalar(select(QboConnection).where(QboConnection.firm_id == current_user.firm_id))


def _company(connection):
    """The company's cached facts; when missing, a job reads them (the request never calls QBO)."""
    company = company_cache.get(current_user.firm_id)
    if company is None and connection is not None and connection.state == "connected" \
            and can(current_user, MANAGE_SETTINGS):
        quickbooks_jobs.request_company_refresh(current_user.firm_id, current_user.id)
    return company


def _connection_card(connection) -> dict:
    """What the connection card shows beside the company: metered reads and any pause."""
    return dict(connection=connection, reads_this_month=reads_this_month(connection),
                read_allowance=BUILDER_MONTHLY_READS, connection_pause=connection_pause(connection),
                snapshot=company_snapshot.get(connection.firm_id) if connection is not None else None)


@bp.get("")
@require(VIEW_ERRORS)
def show():
    """The QuickBooks errors: the tabs, their rows and Submit, with the connection's state above."""
    if is_htmx():
        return vary_on_htmx(render_template("desk/_errors.html", **errors_context(request.args)))
    connection = _connection()
    _company(connection)
    progress_runs = desk.job_runs(current_user.firm_id, (request.args.get("jobs") or "").split(","))
    return vary_on_htmx(render_template(
        "settings/quickbooks.html", firm=current_user.firm, **_connection_card(connection), section="errors",
        progress_runs=progress_runs, **errors_context(request.args)))


@bp.get("/connection")
@require(VIEW_ERRORS)
def show_connection():
    """The connection card: which company, since when, connect or disconnect."""
    return render_template("settings/connection.html", firm=current_user.firm, **_connection_card(_connection()),
                           section="connection")


def _render_sync_settings(errors=None, values=None, status=200):
    firm = current_user.firm
    connection = _connection()
    company = _company(connection)
    return render_template(
        "settings/sync_settings.html", firm=firm, connection=connection, errors=errors or {}, values=values, company=company,
        account_choices={s: company_cache.accounts_of_type(company, s) for s in company_cache.ACCOUNT_TYPES},
        numbers_used=company_cache.used_numbers(company, firm.invoice_number_prefix),
        payment_methods=PAYMENT_METHODS, method_labels=CHOICE_LABELS, section="sync-settings"), status


@bp.get("/sync-settings")
@require(VIEW_ERRORS)
def show_sync_settings():
    return _render_sync_settings()


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
        return _render_sync_settings(failed.errors, values, 422)
    db.session.commit()
    flash(_("QuickBooks sync settings saved."))
    return redirect(url_for("quickbooks.show_sync_settings"))
