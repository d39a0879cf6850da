"""Connect, reconnect and disconnect QuickBooks Online (the connection card on the settings page)."""
from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qbo.accounts.permissions import MANAGE_CONNECTION
from qbo.quickbooks import connection as qbo_connection
from qbo.quickbooks import onboarding
from qbo.quickbooks.api.errors import QboError
from views._context import require
from views.quickbooks import bp


@bp.post("/connect")
@require(MANAGE_CONNECTION)
def connect():
    confirm = request.form.get("confirm_realm_change") == "on" and current_user.role == "owner"
    try:
        url, state = qbo_connection.start_connect(current_user.firm_id, current_user.id,
                                                  confirm_realm_change=confirm)
    except QboError:
        flash(_("QuickBooks' sign-in service cannot be reached right now. Try again in a minute."),
              "error")
        return redirect(url_for("quickbooks.show"))
    session["qbo_oauth_state"] = state  # binds the callback to this browser as well as to the user
    return redirect(url)


@bp.get("/callback")
@require(MANAGE_CONNECTION)
def callback():
    state = request.args.get("state")
    if not state or session.pop("qbo_oauth_state", None) != state:
        flash(_("This QuickBooks sign-in was not started in this browser. Start again with Connect."),
              "error")
        return redirect(url_for("quickbooks.show"))
    try:
        connection = onboarding.finish_connect(
            current_user.firm_id, current_user.id, state=state, code=request.args.get("code"),
            realm_id=request.args.get("realmId"), error=request.args.get("error"))
    except qbo_connection.ConnectError as exc:
        flash(str(exc), "error")
    except QboError:
        flash(_("QuickBooks did not answer while connecting. Nothing was changed; try Connect again."),
              "error")
    else:
        flash(_("Connected to QuickBooks company %(name)s.", name=connection.company_name))
    return redirect(url_for("quickbooks.show"))


@bp.post("/disconnect")
@require(MANAGE_CONNECTION)
def disconnect():
    qbo_connection.disconnect(current_user.firm_id, current_user.id)
    flash(_("Disconnected from QuickBooks. Links and history are kept; "
            "reconnect the same company to resume."))
    return redirect(url_for("quickbooks.show"))
