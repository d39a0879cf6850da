"""Settings > Integrations > QuickBooks > Tax (issue 17): which QuickBooks tax code each of the
firm's tax rates becomes, the firm's tax rates themselves, and, for a US company with automated
sales tax, who calculates the tax. Saving a mapping resyncs the documents it held back."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from qbo.accounts.permissions import MANAGE_SETTINGS, VIEW_ERRORS, can
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.quickbooks import company as company_snapshot
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks import tax
from qbo.quickbooks.connection import get_connection
from views._context import require
from views.quickbooks import bp


def _render(errors=None, values=None, status=200):
    firm = current_user.firm
    snapshot = company_snapshot.get(firm.id)
    return render_template(
        "quickbooks/tax.html", firm=firm, snapshot=snapshot, connection=get_connection(firm.id),
        rows=tax.screen(firm.id, snapshot), codes=tax.sales_codes(snapshot), errors=errors or {},
        values=values or {}, may_edit=can(current_user, MANAGE_SETTINGS)), status


@bp.get("/tax")
@require(VIEW_ERRORS)
def tax_show():
    return _render()


@bp.post("/tax")
@require(MANAGE_SETTINGS)
def tax_update():
    firm = current_user.firm
    try:
        if "us_sales_tax" in request.form:
            tax.set_us_mode(firm, request.form["us_sales_tax"], user_id=current_user.id)
        resynced = tax.save_mappings(firm, request.form, company_snapshot.get(firm.id), user_id=current_user.id)
    except tax.MappingInvalid as invalid:
        db.session.rollback()
        return _render(invalid.errors, request.form, 422)
    db.session.commit()
    quickbooks_jobs.after_ledger_change(firm.id)
    flash(_("Tax settings saved.") + (" " + ngettext("%(num)s held-back document is being synced again.",
                                                     "%(num)s held-back documents are being synced again.",
                                                     resynced) if resynced else ""))
    return redirect(url_for("quickbooks.tax_show"))


@bp.post("/tax/rates")
@require(MANAGE_SETTINGS)
def tax_rate_create():
    try:
        ledger_tax.save_rate(current_user.firm, request.form, user_id=current_user.id)
    except ledger_tax.TaxRateInvalid as invalid:
        db.session.rollback()
        return _render({f"rate-{k}": v for k, v in invalid.errors.items()}, request.form, 422)
    db.session.commit()
    flash(_("Tax rate added."))
    return redirect(url_for("quickbooks.tax_show"))


@bp.post("/tax/tracking")
@require(MANAGE_SETTINGS)
def tax_tracking_update():
    firm = current_user.firm
    errors = company_snapshot.set_tracking(firm, company_snapshot.get(firm.id), request.form.get("qbo_class_id"),
                                           request.form.get("qbo_location_id"))
    if errors:
        db.session.rollback()
        return _render(errors, request.form, 422)
    audit(firm.id, current_user.id, "quickbooks.tracking_saved", None, class_id=firm.qbo_class_id,
          location_id=firm.qbo_location_id)
    db.session.commit()
    flash(_("Class and location saved; documents sent from now on carry them."))
    return redirect(url_for("quickbooks.tax_show"))


@bp.post("/tax/refresh")
@require(MANAGE_SETTINGS)
def tax_refresh():
    quickbooks_jobs.request_snapshot_refresh(current_user.firm_id, current_user.id)
    flash(_("Reading the company's settings and tax codes from QuickBooks; reload in a moment."))
    return redirect(url_for("quickbooks.tax_show"))
