"""Settings > Integrations > QuickBooks. The connection card arrives with the connection issue;
today the page shows the sync settings and who may change them."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from qbo.db import db
from qbo.firm_settings import update_settings
from qbo.ledger import ValidationFailed
from qbo.models import QboConnection
from qbo.permissions import MANAGE_CONNECTION, MANAGE_SETTINGS, VIEW_ERRORS, can
from views._context import require

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _render(errors=None, values=None, status=200):
    firm = current_user.firm
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm.id))
    return render_template("settings/quickbooks.html", firm=firm, connection=connection,
                           errors=errors or {}, values=values), status


@bp.get("/integrations/quickbooks")
@require(VIEW_ERRORS)
def quickbooks():
    return _render()


@bp.post("/integrations/quickbooks/sync-settings")
@require(MANAGE_SETTINGS)
def update_sync_settings():
    try:
        update_settings(current_user.firm, request.form, user_id=current_user.id,
                        may_change_connection_rights=can(current_user, MANAGE_CONNECTION)
                        and current_user.role == "owner")
    except ValidationFailed as failed:
        db.session.rollback()
        return _render(failed.errors, request.form, 422)
    db.session.commit()
    flash("QuickBooks sync settings saved.")
    return redirect(url_for("settings.quickbooks"))
