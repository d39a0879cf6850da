"""Ledger pages for every record type: one blueprint, the record kind taken from the URL.

Each kind's rules live in qbo/ledger.py; this module only loads, checks permission, calls it and
renders. Lists include their table fragment, which HTMX fetches alone when paging.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qbo.accounts.permissions import EDIT_LEDGER, VIEW_LEDGER
from qbo.accounts.scoping import NotFound, get_scoped, scoped
from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger import tax as ledger_tax
from qbo.ledger.models import Account, CreditNote, Invoice, Payment, Service
from qbo.desk import record_panel
from qbo.quickbooks import company_cache
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks import record_status
from views._context import date, money, require
from views._htmx import is_htmx, vary_on_htmx
from views._input import int_arg, page_arg

bp = Blueprint("ledger", __name__)
SLUGS = "any(" + ",".join(f'"{s}"' for s in ledger.KINDS) + "):slug"
PER_PAGE = 50

CHOICE_LABELS = {
    "card": _l("Card"), "ach": "ACH", "cash": _l("Cash"), "check": _l("Check"), "other": _l("Other"),
    "company": _l("Company"), "individual": _l("Individual"),
}

QBO_STATUS_LABELS = record_status.STATUS_LABELS  # one list of statuses (qbo/quickbooks/record_status.py)

COLUMNS = {
    "accounts": [(_l("Name"), lambda r: r.name), (_l("Kind"), lambda r: CHOICE_LABELS.get(r.kind, r.kind)),
                 (_l("Email"), lambda r: r.email or "")],
    "services": [(_l("Name"), lambda r: r.name), (_l("Rate"), lambda r: money(r.rate)),
                 (_l("Income account"), lambda r: r.income_account or "")],
    "invoices": [(_l("Number"), lambda r: r.number), (_l("Account"), lambda r: r.account.name),
                 (_l("Date"), lambda r: date(r.date)), (_l("Total"), lambda r: money(r.total)),
                 (_l("Balance"), lambda r: money(r.balance))],
    "credit-notes": [(_l("Number"), lambda r: r.number), (_l("Account"), lambda r: r.account.name),
                     (_l("Date"), lambda r: date(r.date)), (_l("Total"), lambda r: money(r.total))],
    "payments": [(_l("Date"), lambda r: date(r.date)), (_l("Account"), lambda r: r.account.name),
                 (_l("Amount"), lambda r: money(r.amount)),
                 (_l("Method"), lambda r: CHOICE_LABELS.get(r.method, r.method)),
                 (_l("Processor fee"), lambda r: money(r.processor_fee))],
    "refunds": [(_l("Date"), lambda r: date(r.date)), (_l("Account"), lambda r: r.account.name),
                (_l("Amount"), lambda r: money(r.amount)), (_l("Reason"), lambda r: r.reason or "")],
}

ORDER = {"accounts": Account.name, "services": Service.name}


def _kind(slug: str) -> ledger.RecordKind:
    return ledger.KINDS[slug]


def _get_record_or_404(kind: ledger.RecordKind, record_id: int):
    try:
        return get_scoped(kind.model, record_id, current_user.firm_id)
    except NotFound:
        abort(404)


def _statuses(kind, records) -> dict[int, record_status.Status]:
    """Each record's QuickBooks status, derived from its link, errors and dependencies."""
    return record_status.statuses(current_user.firm_id, kind.model.record_type, records)


def _choices() -> dict:
    firm_id = current_user.firm_id
    accounts = db.session.scalars(scoped(Account, firm_id).order_by(Account.name)).all()
    payments = db.session.scalars(scoped(Payment, firm_id).order_by(Payment.date.desc())).all()
    return {
        "accounts": accounts,
        "account_options": [(a.id, a.name) for a in accounts],
        "payment_options": [(p.id, f"{date(p.date)} · {p.account.name} · {money(p.amount)}")
                            for p in payments],
        "services": db.session.scalars(scoped(Service, firm_id).order_by(Service.name)).all(),
        "invoices": db.session.scalars(scoped(Invoice, firm_id).order_by(Invoice.number)).all(),
        "credit_notes": db.session.scalars(scoped(CreditNote, firm_id).order_by(CreditNote.number)).all(),
        "methods": ledger.PAYMENT_METHODS,
        "account_kinds": ledger.ACCOUNT_KINDS,
        "tax_rate_options": [(r.id, r.label) for r in ledger_tax.rates(firm_id)],
        # A service's income account: a choice among the company's Income accounts once they are known.
        "income_accounts": company_cache.income_accounts(_company(firm_id)),
        "default_income_account": current_user.firm.default_income_account,
    }


def _company(firm_id: int) -> dict | None:
    """The QuickBooks company's facts as last read, or None (not read yet, or the cache is down)."""
    try:
        return company_cache.get(firm_id)
    except Exception:  # noqa: BLE001 - a form must open without the cache: free text then
        return None


@bp.get(f"/<{SLUGS}>/")
@require(VIEW_LEDGER)
def index(slug):
    kind = _kind(slug)
    order = ORDER.get(slug, kind.model.id.desc())
    page = db.paginate(scoped(kind.model, current_user.firm_id).order_by(order),
                       page=page_arg(), per_page=PER_PAGE, error_out=False)
    context = dict(kind=kind, page=page, columns=COLUMNS[slug],
                   statuses=_statuses(kind, page.items), labels=QBO_STATUS_LABELS)
    template = "ledger/_table.html" if is_htmx() else "ledger/index.html"
    return vary_on_htmx(render_template(template, **context))


@bp.get(f"/<{SLUGS}>/<int:record_id>")
@require(VIEW_LEDGER)
def show(slug, record_id):
    kind = _kind(slug)
    record = _get_record_or_404(kind, record_id)
    state = record_status.quickbooks_state(record)
    return render_template("ledger/show.html", kind=kind, record=record, data=kind.to_json(record),
                           qbo_label=QBO_STATUS_LABELS[state["status"]], qbo=state)


@bp.route(f"/<{SLUGS}>/new", methods=["GET", "POST"])
@require(EDIT_LEDGER)
def new(slug):
    return _form(_kind(slug), None)


@bp.route(f"/<{SLUGS}>/<int:record_id>/edit", methods=["GET", "POST"])
@require(EDIT_LEDGER)
def edit(slug, record_id):
    kind = _kind(slug)
    if not kind.updatable:
        abort(404)
    return _form(kind, _get_record_or_404(kind, record_id))


def _form(kind: ledger.RecordKind, record):
    errors: dict = {}
    if request.method == "POST":
        data = ledger.form_to_input(kind, request.form)
        status = 422
        # A service's income account is one of the company's Income accounts once those are known:
        # a typo is refused here, not reported after a sync attempt.
        refused = company_cache.service_problems(current_user.firm_id, data) if kind.slug == "services" else {}
        try:
            saved = ledger.committed(lambda: ledger.save(kind, current_user.firm, data, record=record,
                                                         user_id=current_user.id, refused=refused))
        except ledger.ValidationFailed as failed:
            errors = failed.errors
            for reason in errors.get("record", ()):
                flash(reason, "error")
        except ledger.Busy:
            flash(_("Other changes to the same records were being saved; nothing was stored. Send it again."),
                  "error")
            status = 409
        else:
            record = saved
            quickbooks_jobs.after_ledger_change(current_user.firm_id)
            flash(_("%(what)s saved.", what=kind.label))
            return redirect(url_for("ledger.show", slug=kind.slug, record_id=record.id))
        values = data
    else:
        values = kind.to_input(record) if record is not None else _defaults(kind)
        status = 200
    # Notes of the sync (severity "info", such as the description sent as the memo) belong here and
    # on the record's page, not on the errors desk.
    notes = record_panel.record_notes(current_user.firm_id, record.record_type, record.id) if record is not None else []
    return render_template("ledger/form.html", kind=kind, record=record, values=values, sync_notes=notes,
                           errors=errors, **_choices()), status


def _defaults(kind):
    today = ledger.today().isoformat()
    defaults = {"date": today}
    if kind.slug in ("invoices", "credit-notes"):
        defaults["lines"] = [{"quantity": "1"}]
    if kind.slug == "payments":
        defaults.update(allocations=[{}], credit_allocations=[{}], method="card")
    if kind.slug == "refunds" and request.args.get("payment_id"):
        defaults["payment_id"] = request.args["payment_id"]
    return defaults


@bp.get(f"/<{SLUGS}>/line-row")
@require(EDIT_LEDGER)
def line_row(slug):
    """One more empty line (or allocation) row for the form, fetched by HTMX."""
    group = request.args.get("group", "lines")
    if group not in ("lines", "allocations", "credit_allocations"):
        abort(404)
    index = int_arg("index", 0, minimum=0, maximum=499)
    template = "ledger/_line_row.html" if group == "lines" else "ledger/_allocation_row.html"
    return render_template(template, kind=_kind(slug), group=group, i=index, row={}, errors={},
                           **_choices())


@bp.post(f"/<{SLUGS}>/<int:record_id>/delete")
@require(EDIT_LEDGER)
def delete(slug, record_id):
    kind = _kind(slug)
    record = _get_record_or_404(kind, record_id)
    try:
        blockers = ledger.committed(
            lambda: ledger.delete(kind, current_user.firm, record, user_id=current_user.id))
    except ledger.Busy:
        flash(_("Other changes to the same records were being saved; nothing was stored. Send it again."),
              "error")
        return redirect(url_for("ledger.show", slug=slug, record_id=record_id))
    if blockers:
        flash(_("%(what)s not deleted: %(why)s.", what=kind.label, why="; ".join(blockers)), "error")
        return redirect(url_for("ledger.show", slug=slug, record_id=record_id))
    quickbooks_jobs.after_ledger_change(current_user.firm_id)
    flash(_("%(what)s deleted.", what=kind.label))
    return redirect(url_for("ledger.index", slug=slug))
