from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from qbo.accounts.auth import SignInThrottled, authenticate, known_device_token, safe_next
from qbo.core.db import db

bp = Blueprint("auth", __name__)
DEVICE_COOKIE = "known_device"


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    next_url = safe_next(request.values.get("next"), url_for("home.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    error, status, retry_after = None, 200, None
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = authenticate(email, request.form.get("password", ""), request.remote_addr or "-",
                                device=request.cookies.get(DEVICE_COOKIE))
        except SignInThrottled as throttled:
            retry_after = throttled.retry_after
            minutes = (retry_after + 59) // 60
            error, status = (ngettext("Too many failed sign-ins. Try again in %(num)s second.",
                                      "Too many failed sign-ins. Try again in %(num)s seconds.", retry_after)
                             if retry_after < 120 else
                             ngettext("Too many failed sign-ins. Try again in %(num)s minute.",
                                      "Too many failed sign-ins. Try again in %(num)s minutes.", minutes)), 429
        else:
            if user is None:
                error, status = _("That email and password don't match an active user."), 401
            else:
                db.session.commit()
                login_user(user)
                response = redirect(next_url)
                # This browser signed in to this account: later failures by others never slow it.
                response.set_cookie(DEVICE_COOKIE, known_device_token(user.email),
                                    max_age=current_app.config["KNOWN_DEVICE_DAYS"] * 86400,
                                    httponly=True, samesite="Lax",
                                    secure=current_app.config["SESSION_COOKIE_SECURE"])
                return response
    response = make_response(render_template("auth/sign_in.html", error=error, email=email, next=next_url),
                             status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/sign-out")
def sign_out():
    message = _("You are signed out.")  # in the person's language, before they become anonymous
    if current_user.is_authenticated:
        current_user.end_sessions()  # every copy of this session cookie stops working too
        db.session.commit()
    logout_user()
    flash(message)
    return redirect(url_for("auth.sign_in"))
