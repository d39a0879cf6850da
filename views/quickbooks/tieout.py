"""Settings > Integrations > QuickBooks > Tie-out: does QuickBooks hold what the ledger holds? One
URL: the page, or (to htmx) its fragment, which polls itself while a tie-out runs. Starting one is
a job (qbo.quickbooks.jobs.run_tieout); the request never calls QuickBooks."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user

from qbo.accounts.permissions import ACT_ON_ERRORS, VIEW_ERRORS
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.connection import get_connection
from qbo.quickbooks.problems.catalogue import CASES, localised
from qbo.quickbooks.tieout import item_label, reason_text, type_label
from views._context import money, require
from views._htmx import is_htmx, vary_on_htmx
from views.quickbooks import bp


def desk_url(desk: dict | None) -> str | None:
    """The desk row of an open QuickBooks error: its tab and case, scrolled to the row."""
    if not desk:
        return None
    return url_for("quickbooks.show", tab=desk["category"], case=desk["case"]) + f"#sync-error-{desk['error_id']}"


def desk_message(desk: dict, record_type: str | None) -> str:
    """What the desk row says, for the link's words: its stored message (English, as the sync wrote
    it) for an English reader, else the case's title in the reader's language."""
    language = str(get_locale() or "en")
    if language == "en" or desk.get("case") not in CASES:
        return desk.get("message") or ""
    return localised(desk["case"], language, record_type).title


def present(result: dict | None) -> dict | None:
    """A tie-out result for a reader: each difference's reason in words and its desk row's URL."""
    if result is None or "months" not in result:
        return result

    def item(entry):
        facts = dict(entry.get("facts") or {})
        if facts.get("delta") is not None:
            facts["delta"] = money(facts["delta"])  # in the firm's currency, as the reader writes it
        entry = dict(entry, reason_text=reason_text(entry["reason"], facts),
                     label_text=item_label(entry) if "record_type" in entry else entry.get("label"))
        if entry.get("desk"):
            entry["desk"] = dict(entry["desk"], url=desk_url(entry["desk"]),
                                 message=desk_message(entry["desk"], entry.get("record_type")))
        if "records" in entry:
            entry["records"] = [item(r) for r in entry["records"]]
        return entry

    return dict(result, months=[dict(m, type_text=type_label(m["record_type"]),
                                     records=[item(r) for r in m["records"]]) for m in result["months"]],
                balances=[item(b) for b in result["balances"]])


def _context() -> dict:
    firm_id = current_user.firm_id
    latest = quickbooks_jobs.last_tieout(firm_id)
    finished = latest if latest is not None and latest.status == "finished" else \
        quickbooks_jobs.last_tieout(firm_id, finished=True)
    connection = get_connection(firm_id)
    return dict(run=latest, finished=finished, result=present(finished.result) if finished else None,
                connected=connection is not None and connection.state == "connected")


@bp.get("/tieout")
@require(VIEW_ERRORS)
def tieout():
    if is_htmx():
        return vary_on_htmx(render_template("quickbooks/_tieout.html", **_context()))
    return vary_on_htmx(render_template("quickbooks/tieout.html", **_context()))


@bp.post("/tieout")
@require(ACT_ON_ERRORS)
def start_tieout():
    connection = get_connection(current_user.firm_id)
    if connection is None or connection.state != "connected":
        message = _("QuickBooks is not connected: connect it before a tie-out.")
        if is_htmx():
            return render_template("quickbooks/_tieout.html", **_context(), message=message), 409
        flash(message, "error")
        return redirect(url_for("quickbooks.tieout"))
    quickbooks_jobs.request_tieout(current_user.firm_id, current_user.id)
    if is_htmx():
        return vary_on_htmx(render_template("quickbooks/_tieout.html", **_context())), 202
    return redirect(url_for("quickbooks.tieout"))
