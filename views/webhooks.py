"""QBO webhooks: Intuit POSTs change notifications to /webhooks/intuit (ref §8).

The body is checked against `intuit-signature` before anything else; a good one queues a poll per
firm and is answered at once (Intuit wants a 200 within 3 s). No QuickBooks call happens here.
"""
from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import webhooks
from views._input import raw_json_too_deep

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
MAX_BODY = 1024 * 1024  # notifications carry ids only; anything this large is not Intuit's


@bp.post("/intuit")
def intuit():
    # Enforced while the body streams in (a chunked body has no Content-Length to check first):
    # reading stops after MAX_BODY + 1 bytes, nothing larger is ever buffered. (Werkzeug's limited
    # stream returns a chunked body cut at the limit without an error, hence the extra byte.)
    request.max_content_length = MAX_BODY + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > MAX_BODY:
        return jsonify(error="body too large"), 413
    if raw_json_too_deep(raw):
        return jsonify(error="body is not a webhook notification"), 400
    try:
        queued = webhooks.handle_webhook(raw, request.headers.get("intuit-signature"),
                                      current_app.config.get("QBO_WEBHOOK_VERIFIER"))
    except webhooks.InvalidSignature:
        return jsonify(error="invalid signature"), 401
    except ValueError:
        return jsonify(error="body is not a webhook notification"), 400
    return jsonify(queued=queued)


@bp.get("/intuit/disconnect")
def intuit_disconnect():
    """Intuit's Disconnect URL (qbo-2025-2026.md §1.2): opened in the browser of someone who
    disconnected the app inside QuickBooks, with `realmId`. It carries no signature, so nothing
    changes here: a job asks Intuit whether the realm's tokens are refused now, and only then marks
    the connection disconnected."""
    if quickbooks_jobs.enqueue_disconnect_check(request.args.get("realmId", "")):
        flash(_("QuickBooks says the app was disconnected there. Syncing stops once Intuit confirms it; "
                "reconnect here to resume."))
    return redirect(url_for("quickbooks.show"))
