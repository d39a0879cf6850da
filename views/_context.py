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
from flask_babel import ngettext
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


# A finished job's `result` keeps machine-readable keys (the API returns them); a page writes it as
# sentences. Keys of results not written below fall back to "label: value".
RESULT_LABELS = {
    "invoices": _l("invoices"), "billed": _l("billed"), "paid": _l("paid"),
    "outstanding": _l("outstanding"), "open_invoices": _l("open invoices"),
    "payments_received": _l("payments received"), "outcome": _l("outcome"),
    "processed": _l("processed"), "outcomes": _l("outcomes"), "still_open": _l("still open"),
    "error_status": _l("error status"), "error": _l("error"), "accounts": _l("accounts"),
    "payment_methods": _l("payment methods"), "numbers_used": _l("numbers used"),
    "count": _l("count"), "highest": _l("highest"), "next_free": _l("next free"),
    "recreated": _l("recreated"), "errors_closed": _l("errors closed"), "paused": _l("paused"),
}
# What a desk action did (qbo.desk.actions returns these English words), as the reader says it.
OUTCOME_LABELS = {
    "skipped": _l("skipped"), "resynced": _l("resynced"), "customer created": _l("customer created"),
    "linked": _l("linked"), "nothing to do: the error is already closed": _l("nothing to do: the error was already closed"),
    "reactivated and linked": _l("customer made active again in QuickBooks and linked"),
    "renamed and resynced": _l("account renamed and resynced"),
    "renamed and customer created": _l("account renamed and customer created"),
    "that QuickBooks customer is inactive (deleted); choose an active one":
        _l("that QuickBooks customer is inactive (deleted); choose an active one"),
}
_OUTCOME_PREFIXES = (
    ("paused: ", _l("paused: %(reason)s")),
    ("refused by QuickBooks (", _l("refused by QuickBooks (%(reason)s")),
    ("no QuickBooks customer with id ", _l("no QuickBooks customer with id %(reason)s")),
)


def outcome(text) -> str:
    """An action's outcome (`skipped`, `paused: ...`) in the reader's language."""
    text = str(text)
    if text in OUTCOME_LABELS:
        return str(OUTCOME_LABELS[text])
    for prefix, label in _OUTCOME_PREFIXES:
        if text.startswith(prefix):
            return str(label) % {"reason": text[len(prefix):]}
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else ""


def job_result(result: dict | None) -> str:
    """A finished job's result as sentences in the reader's language, amounts in its locale:
    "Skipped; the error is closed." rather than `outcome: skipped, error_status: skipped`."""
    result = dict(result or {})
    sentences = []
    if "outcome" in result:
        said = outcome(result.pop("outcome"))
        status = result.pop("error_status", None)
        if status == "open":
            said = _("%(outcome)s; the error is still open", outcome=said)
        elif status in ("resolved", "skipped"):
            said = _("%(outcome)s; the error is closed", outcome=said)
        sentences.append(_sentence(said))
    if "processed" in result:
        processed = result.pop("processed")
        done = ", ".join(_("%(num)s %(outcome)s", num=n, outcome=outcome(o))
                         for o, n in (result.pop("outcomes", None) or {}).items())
        said = ngettext("%(num)s error handled", "%(num)s errors handled", processed)
        sentences.append(_sentence(f"{said}: {done}" if done else said))
        if "still_open" in result:
            still = result.pop("still_open")
            sentences.append(ngettext("%(num)s error of this case is still open.",
                                      "%(num)s errors of this case are still open.", still)
                             if still else _("None of this case is still open."))
    if "recreated" in result:
        recreated = result.pop("recreated")
        if recreated and recreated != "nothing":
            sentences.append(_("Created again in QuickBooks: %(records)s.", records=recreated))
    if "errors_closed" in result:
        sentences.append(ngettext("%(num)s error closed.", "%(num)s errors closed.", result.pop("errors_closed")))
    if {"accounts", "payment_methods", "numbers_used"} <= result.keys():
        sentences.append(_("Read from QuickBooks: accounts %(accounts)s, payment methods %(methods)s, invoice "
                           "numbers %(numbers)s.", accounts=result.pop("accounts"),
                           methods=result.pop("payment_methods"), numbers=result.pop("numbers_used")))
    if "paused" in result:
        sentences.append(_sentence(_("paused: %(reason)s", reason=result.pop("paused"))))
    if {"checked_at", "differences", "months"} <= result.keys():
        sentences += _tieout_sentences(result)
    if {"requeued", "stuck"} <= result.keys():  # the sweep
        requeued = result.pop("requeued")
        requeued = len(requeued) if isinstance(requeued, list) else int(requeued or 0)
        sentences.append(ngettext("The sync of %(num)s firm with stranded records was queued again.",
                                  "The sync of %(num)s firms with stranded records was queued again.", requeued)
                         if requeued else _("No stranded records: nothing was queued again."))
        sentences.append(ngettext("%(num)s record newly reported as stuck.", "%(num)s records newly reported as stuck.",
                                  result.pop("stuck")))
    if "tax_codes" in result:  # the company snapshot
        sentences.append(ngettext("Read the company's settings from QuickBooks, with %(num)s tax code.",
                                  "Read the company's settings from QuickBooks, with %(num)s tax codes.",
                                  result.pop("tax_codes")))
    if "skipped" in result and isinstance(result["skipped"], str):
        sentences.append(_("Nothing was done: %(reason)s.", reason=result.pop("skipped").rstrip(".")))
    parts = []
    for key, value in result.items():
        label = RESULT_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{2}", value):
            value = number(value)
        parts.append(f"{label}: {value}")
    if parts:  # a result of its own shape (a report job's figures): its figures, labelled
        sentences.append(", ".join(parts))
    return " ".join(sentences)


def _tieout_sentences(result: dict) -> list[str]:
    """A tie-out's result (qbo.quickbooks.tieout.tie_out) in sentences; its lists of months and
    balances are on the tie-out page, not repeated here."""
    differences = result.pop("differences") or 0
    months = result.pop("months") or []
    result.pop("balances", None)
    result.pop("pages", None)
    checked = str(result.pop("checked_at") or "").replace("T", " ").rstrip("Z")
    out = [_("Tie-out with QuickBooks, checked at %(when)s UTC.", when=checked[:16])]
    if differences:
        out.append(ngettext("%(num)s record differs between the ledger and QuickBooks (%(checked)s months and "
                            "record types checked).",
                            "%(num)s records differ between the ledger and QuickBooks (%(checked)s months and "
                            "record types checked).", differences, checked=len(months)))
    else:
        out.append(_("Every record agrees with QuickBooks (%(checked)s months and record types checked).",
                     checked=len(months)))
    if "balance_differences" in result:
        balances = result.pop("balance_differences") or 0
        clients = result.pop("clients_checked", None)
        if clients is not None:
            out.append(ngettext("%(differ)s of %(num)s client balance differs.",
                                "%(differ)s of %(num)s client balances differ.", clients, differ=balances))
    requests = result.pop("requests", None)
    if requests is not None:
        out.append(ngettext("It took %(num)s request to QuickBooks.", "It took %(num)s requests to QuickBooks.",
                            requests))
    return out


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


# The people a role names, inside a sentence ("only the owner, admins and staff can").
PEOPLE_LABELS = {"owner": _l("the owner"), "admin": _l("admins"), "staff": _l("staff members"), "viewer": _l("viewers")}


def people(roles) -> str:
    """Roles as the people they name, a list in words: "the owner, admins and staff"."""
    names = [str(PEOPLE_LABELS.get(r, r)) for r in roles]
    if len(names) <= 1:
        return "".join(names)
    return _("%(first)s and %(last)s", first=", ".join(names[:-1]), last=names[-1])


def who_can(permission: str) -> str:
    """Who may do what `permission` allows, in words (the firm may let admins manage the connection)."""
    roles = list(WHO_CAN.get(permission, ()))
    firm = current_user.firm if current_user and current_user.is_authenticated else None
    if permission == permissions.MANAGE_CONNECTION and firm is not None and firm.admins_manage_connection:
        roles.append("admin")
    return people(roles)


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


# What an audit event's action (`quickbooks.skip`, `settings.updated`) did, as History says it.
AUDIT_ACTIONS = {
    "quickbooks.connected": _l("Connected QuickBooks"), "quickbooks.disconnected": _l("Disconnected QuickBooks"),
    "quickbooks.company_changed": _l("Changed the QuickBooks company"),
    "settings.updated": _l("Changed the sync settings"),
    "quickbooks.skip": _l("Skipped an error"), "quickbooks.resync": _l("Resynced"),
    "quickbooks.create_customer": _l("Created the customer in QuickBooks"),
    "quickbooks.link_customer": _l("Linked to a QuickBooks customer"),
    "quickbooks.recreate": _l("Recreated in QuickBooks"),
    "quickbooks.resync_record": _l("Resynced the record and what it depends on"),
    "quickbooks.bulk.create_missing_customers": _l("Created every missing customer (bulk)"),
    "quickbooks.bulk.resync_case": _l("Resynced every record of a case (bulk)"),
    "quickbooks.bulk.requested": _l("Asked for a bulk action"),
    "quickbooks.bulk.approved": _l("Approved a bulk action"),
    "quickbooks.bulk.declined": _l("Declined a bulk action"),
    "quickbooks.do_not_sync": _l("Stopped syncing the record"),
    "quickbooks.sync_again": _l("Resumed syncing the record"),
    "job.retried": _l("Retried a job"),
}
_RECORD_VERBS = {"created": _l("Created a record"), "updated": _l("Changed a record"), "deleted": _l("Deleted a record")}
# The sync settings by the names their form gives them.
SETTING_LABELS = {
    "sync_invoice_numbers": _l("Sync invoice number with QuickBooks Online"),
    "create_customers_automatically": _l("Create customers in QuickBooks automatically"),
    "admins_manage_connection": _l("Admins may connect and disconnect QuickBooks"),
    "sync_start_date": _l("Sync records dated from (empty: all)"),
    "default_income_account": _l("Default income account for services"),
    "invoice_number_prefix": _l("Invoice number prefix"), "next_invoice_number": _l("Next invoice number"),
    "deposit_account_qbo_id": _l("Deposit account for payments (Bank or Other Current Asset)"),
    "card_account_qbo_id": _l("Card clearing account for processor fees (Credit Card)"),
    "fee_expense_account_qbo_id": _l("Processing-fee expense account (Expense)"),
    "payment_method_map": _l("Payment methods in QuickBooks"),
}
# Detail keys that are plumbing (ids), not something a reader of History needs.
_AUDIT_PLUMBING = {"record_type", "record_id", "error_id", "request_id", "requested_by", "job_id"}


def audit_action(action: str) -> str:
    """An audit event's action in words: "Skipped an error", "Created" (an invoice)."""
    if action in AUDIT_ACTIONS:
        return str(AUDIT_ACTIONS[action])
    from qbo.ledger.record_types import RECORD_TYPES

    slug, _dot, verb = action.rpartition(".")
    plural = next((t.plural for t in RECORD_TYPES.values() if t.slug == slug), None)
    if verb in _RECORD_VERBS and plural is not None:
        return _("%(verb)s (%(records)s)", verb=_RECORD_VERBS[verb], records=str(plural).lower())
    return action


def audit_result(action: str, detail: dict | None) -> str:
    """An audit event's detail as a sentence: what changed, what came of it."""
    from qbo.desk import tabs as desk

    d = dict(detail or {})
    said = []
    if "outcome" in d:
        said.append(_sentence(outcome(d.pop("outcome"))))
    if action == "settings.updated":
        fields = d.pop("fields", None) or []
        said.append(_("Changed: %(fields)s.", fields=", ".join(str(SETTING_LABELS.get(f, f)) for f in fields))
                    if fields else _("Nothing changed."))
    if "bulk_action" in d:
        bulk = d.pop("bulk_action")
        said.append(_sentence(str(desk.BULK_LABELS.get(bulk, bulk))))
    if d.get("case"):
        said.append(_("Case: %(case)s.", case=case_title(d.pop("case"))))
    d.pop("case", None)
    if "count" in d:
        said.append(ngettext("%(num)s error.", "%(num)s errors.", d.pop("count")))
    if action == "quickbooks.company_changed":
        said.append(_("From company %(old)s to company %(new)s.", old=d.pop("old_realm", "—"),
                      new=d.pop("new_realm", "—")))
    if "realm_id" in d:
        said.append(_("Company %(realm)s.", realm=d.pop("realm_id")))
    if d.get("recreated"):
        said.append(_("Created again in QuickBooks: %(records)s.", records=", ".join(d.pop("recreated"))))
    d.pop("recreated", None)
    if "kind" in d:
        said.append(_sentence(desk.job_label(d.pop("kind"))))
    rest = [f"{RESULT_LABELS.get(k, k.replace('_', ' '))}: {v}" for k, v in d.items() if k not in _AUDIT_PLUMBING]
    if rest:
        said.append(_sentence(", ".join(rest)))
    return " ".join(said)


def named(label: str, type_label) -> str:
    """A record as a sentence names it: "invoice INV-0062", but "Payment #6" (its label says it)."""
    type_label = str(type_label)
    if str(label).lower().startswith(type_label.lower()):
        return str(label)
    return f"{type_label.lower()} {label}"


def _banner_of(user):
    """What the banner says: the open errors, whether syncing is stopped (and who can reconnect),
    and, to those who approve them, the bulk actions waiting."""
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from qbo.core.db import db
    from qbo.quickbooks.models import BulkRequest, QboConnection
    from qbo.quickbooks.problems.counts import banner_state_capped

    state = banner_state_capped(user.firm_id)
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == user.firm_id))
    # Stopped: it was connected once (or errors wait) and is not now; never connected is no alarm.
    stopped = connection is not None and connection.state == "disconnected" and bool(connection.realm_id) \
        or (connection is None or connection.state == "disconnected") and state.open_errors > 0
    approvals = 0
    if can(user, permissions.APPROVE_BULK):
        approvals = db.session.scalar(select(func.count()).select_from(BulkRequest).where(
            BulkRequest.firm_id == user.firm_id, BulkRequest.status == "pending")) or 0
    return SimpleNamespace(show=state.show or stopped or approvals > 0, needs_reconnect=state.needs_reconnect,
                           stopped=stopped, open_errors=state.open_errors, approvals=approvals,
                           paused=state.paused, paused_until=state.paused_until,
                           may_connect=can(user, permissions.MANAGE_CONNECTION),
                           admins_connect=bool(user.firm.admins_manage_connection))


def register_context(app) -> None:
    app.jinja_env.filters["money"] = money
    # Counts on pages stop at 999 ("999+"): counting further would read every open error.
    app.jinja_env.filters["capped"] = lambda n: f"{n}" if n <= 999 else "999+"
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.filters["job_result"] = job_result
    app.jinja_env.filters["outcome"] = outcome
    app.jinja_env.filters["audit_action"] = audit_action
    app.jinja_env.globals["audit_result"] = audit_result
    app.jinja_env.globals["named"] = named
    app.jinja_env.filters["case_title"] = case_title
    app.jinja_env.filters["role"] = role_label
    app.jinja_env.globals["explain_sync_error"] = explain_sync_error
    app.jinja_env.globals["get_locale"] = get_locale
    _localise_login_message(app)

    @app.context_processor
    def _banner():
        if not current_user or not current_user.is_authenticated:
            return {"banner": None}
        return {"banner": _banner_of(current_user)}

    @app.context_processor
    def _helpers():
        return {
            "can": lambda permission: can(current_user, permission),
            "P": permissions,
            "who_can": who_can,
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
