"""Template helpers shared by every page, and the permission guard for views."""
from __future__ import annotations

import functools
from decimal import Decimal

from flask import abort
from flask_login import current_user, login_required

from qbo import permissions
from qbo.permissions import WHO_CAN, can


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


def money(value) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f}"


def register_context(app) -> None:
    app.jinja_env.filters["money"] = money

    @app.context_processor
    def _banner():
        if not current_user or not current_user.is_authenticated:
            return {"banner": None}
        from qbo.status import banner_state

        return {"banner": banner_state(current_user.firm_id)}

    @app.context_processor
    def _helpers():
        return {
            "can": lambda permission: can(current_user, permission),
            "P": permissions,
            "who_can": lambda permission: ", ".join(WHO_CAN.get(permission, ())),
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

        if request.path.startswith("/api/"):
            return {"error": "bad_request", "message": getattr(error, "description", "")}, 400
        return render_template("errors/400.html", reason=getattr(error, "description", "")), 400
