from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    return redirect(url_for("ledger.index", slug="invoices"))
