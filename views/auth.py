from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from qbo.accounts.auth import SignInLocked, authenticate, safe_next
from qbo.core.db import db

bp = Blueprint("auth", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    next_url = safe_next(request.values.get("next"), url_for("home.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    error, status = None, 200
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = authenticate(email, request.form.get("password", ""), request.remote_addr or "-")
        except SignInLocked:
            error, status = _("Too many failed sign-ins. Wait 15 minutes and try again."), 429
        else:
            if user is None:
                error, status = _("That email and password don't match an active user."), 401
            else:
                db.session.commit()
                login_user(user)
                return redirect(next_url)
    return render_template("auth/sign_in.html", error=error, email=email, next=next_url), status


@bp.post("/sign-out")
def sign_out():
    message = _("You are signed out.")  # in the person's language, before they become anonymous
    logout_user()
    flash(message)
    return redirect(url_for("auth.sign_in"))
