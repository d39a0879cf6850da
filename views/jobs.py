"""A background job's status fragment; it polls itself until the job reaches a final state."""
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from qbo.accounts.permissions import EDIT_LEDGER, VIEW_LEDGER
from qbo.core import queue
from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.ledger import jobs as ledger_jobs
from views._context import require
from views._htmx import is_htmx

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/<job_id>")
@require(VIEW_LEDGER)
def show(job_id):
    run = db.session.scalar(select(JobRun).where(JobRun.id == job_id,
                                                 JobRun.firm_id == current_user.firm_id))
    if run is None:
        abort(404)
    return render_template("jobs/_status.html", run=run)


@bp.post("/recalculate-balances")
@require(EDIT_LEDGER)
def recalculate_balances():
    """Start the receivables recalculation; the page shows the job's status fragment."""
    run = queue.enqueue("recalculate-balances", ledger_jobs.recalculate_balances, current_user.firm_id,
                       user_id=current_user.id)
    if is_htmx():
        return render_template("jobs/_status.html", run=run), 202
    return redirect(url_for("ledger.index", slug="invoices"))
