"""Template helpers shared by every page, and the permission guard for views."""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal

from flask import abort
from flask_babel import format_currency, format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from qbo.accounts import permissions
from qbo.accounts.permissions import WHO_CAN, can


def require(permission: str):
    """login_required, then 403 unless the user's role grants `permission`."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# Babel writes a currency without a symbol of its own glued to the figure in English ("RON1,234.50").
_GLUED_CODE = re.compile(r"^(-?)([A-Z]{3})(?=\d)")
# Romanian accountants write 03.11.2026; in English the month's name avoids 3/11 vs 11/3.
_DATE_FORMATS = {"ro": "dd.MM.yyyy"}


ROLE_LABELS = {"owner": _l("owner"), "admin": _l("admin"), "staff": _l("staff"), "viewer": _l("viewer")}

# Flask-WTF refuses a form in English only; say why in the reader's language.
_CSRF_REASONS = {
    "The CSRF token is missing.": _l("The CSRF token is missing."),
    "The CSRF session token is missing.": _l("The CSRF session token is missing."),
    "The CSRF token has expired.": _l("The CSRF token has expired."),
    "The CSRF token is invalid.": _l("The CSRF token is invalid."),
    "The CSRF tokens do not match.": _l("The CSRF tokens do not match."),
    "The referrer header is missing.": _l("The referrer header is missing."),
    "The referrer does not match the host.": _l("The referrer does not match the host."),
}


def _firm_currency() -> str | None:
    if current_user and current_user.is_authenticated:
        return current_user.firm.currency
    return None


def money(value, currency: str | None = None) -> str:
    """An amount in the firm's currency (or `currency`), written the way the reader's locale
    writes it: $1,234.50 / RON 1,234.50 in English, 1.234,50 USD / 1.234,50 RON in Romanian."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    currency = currency or _firm_currency()
    if not currency:
        return format_decimal(amount, format="#,##0.00")
    return _GLUED_CODE.sub("\\1\\2\u00a0", format_currency(amount, currency))


def number(value) -> str:
    """An amount without its currency, two decimals, in the reader's locale."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(value), format="#,##0.00")


def decimal(value) -> str:
    """A quantity in the reader's locale (1.5 / 1,5), no more decimals than it has."""
    return "" if value is None else format_decimal(value)


def date(value) -> str:
    """A date (or ISO date string) in the reader's locale: Nov 3, 2026 / 03.11.2026."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, _DATE_FORMATS.get(str(get_locale()), "medium"))


# A finished job's `result` keeps machine-readable keys (the API returns them); a page shows these.
RESULT_LABELS = {
    "invoices": _l("invoices"), "billed": _l("billed"), "paid": _l("paid"),
    "outstanding": _l("outstanding"), "open_invoices": _l("open invoices"),
    "payments_received": _l("payments received"), "outcome": _l("outcome"),
    "processed": _l("processed"), "outcomes": _l("outcomes"), "still_open": _l("still open"),
    "error_status": _l("error status"), "error": _l("error"), "accounts": _l("accounts"),
    "payment_methods": _l("payment methods"), "numbers_used": _l("numbers used"),
    "count": _l("count"), "highest": _l("highest"), "next_free": _l("next free"),
    "recreated": _l("recreated"), "errors_closed": _l("errors closed"),
}


def job_result(result: dict | None) -> str:
    """A finished job's result, its keys in words and its amounts in the reader's locale."""
    parts = []
    for key, value in (result or {}).items():
        label = RESULT_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{2}", value):
            value = number(value)
        parts.append(f"{label}: {value}")
    return ", ".join(parts)


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def case_title(case_id: str) -> str:
    from qbo.quickbooks.problems.catalogue import CASES, localised

    return localised(case_id, str(get_locale())).title if case_id in CASES else case_id


def explain_sync_error(error_id: int) -> str:
    """A stored SyncError explained in the reader's language (qbo.catalogue.explain_error)."""
    from qbo.core.db import db
    from qbo.quickbooks.models import SyncError
    from qbo.quickbooks.problems.catalogue import explain_error

    error = db.session.get(SyncError, error_id)
    return explain_error(error, str(get_locale())) if error is not None else ""


def register_context(app) -> None:
    app.jinja_env.filters["money"] = money
    # Counts on pages stop at 999 ("999+"): counting further would read every open error.
    app.jinja_env.filters["capped"] = lambda n: f"{n}" if n <= 999 else "999+"
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.filters["job_result"] = job_result
    app.jinja_env.filters["case_title"] = case_title
    app.jinja_env.filters["role"] = role_label
    app.jinja_env.globals["explain_sync_error"] = explain_sync_error
    app.jinja_env.globals["get_locale"] = get_locale
    _localise_login_message(app)

    @app.context_processor
    def _banner():
        if not current_user or not current_user.is_authenticated:
            return {"banner": None}
        from qbo.quickbooks.problems.counts import banner_state_capped

        return {"banner": banner_state_capped(current_user.firm_id)}

    @app.context_processor
    def _helpers():
        return {
            "can": lambda permission: can(current_user, permission),
            "P": permissions,
            "who_can": lambda permission: ", ".join(role_label(r) for r in WHO_CAN.get(permission, ())),
        }

    @app.errorhandler(403)
    def _forbidden(error):
        from flask import render_template

        return render_template("errors/403.html"), 403

    @app.errorhandler(404)
    def _not_found(error):
        from flask import render_template, request

        if request.path.startswith("/api/"):
            return {"error": "not_found"}, 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def _method_not_allowed(error):
        from flask import request

        if request.path.startswith("/api/"):
            return {"error": "method_not_allowed"}, 405
        return error

    @app.errorhandler(400)
    def _bad_request(error):
        from flask import render_template, request

        reason = getattr(error, "description", "")
        reason = _CSRF_REASONS.get(reason, reason)
        if request.path.startswith("/api/"):
            return {"error": "bad_request", "message": reason}, 400
        return render_template("errors/400.html", reason=reason), 400


def _localise_login_message(app) -> None:
    """Flask-Login flashes `login_message` through `localize_callback`: say it in the reader's
    language (app.py sets the English text, marked here for extraction)."""
    _l("Please sign in to continue.")
    app.login_manager.localize_callback = _
