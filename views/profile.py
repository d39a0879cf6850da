"""The signed-in person's profile: the language the product speaks to them (issue 8)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh as refresh_locale
from flask_login import current_user, login_required

from app import LANGUAGES
from qbo.core.db import db

bp = Blueprint("profile", __name__, url_prefix="/profile")
# Each language is named in itself, so a person can find theirs whatever the page speaks.
LANGUAGE_NAMES = {"en": "English", "ro": "Română"}


def _browser_language() -> str:
    return request.accept_languages.best_match(LANGUAGES) or "en"


@bp.get("/")
@login_required
def show():
    return _render()


def _render(error=None, status=200):
    return render_template("profile/show.html", languages=LANGUAGE_NAMES, chosen=current_user.language or "",
                           browser=LANGUAGE_NAMES[_browser_language()], error=error), status


@bp.post("/")
@login_required
def update():
    choice = request.form.get("language", "")
    if choice and choice not in LANGUAGES:
        return _render(_("Choose one of the languages listed."), 422)
    current_user.language = choice or None
    db.session.commit()
    refresh_locale()  # the confirmation already speaks the new language
    flash(_("Your language is saved."))
    return redirect(url_for("profile.show"))
