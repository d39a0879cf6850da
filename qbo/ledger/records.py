"""The firm's ledger: validation, create/update/delete and the JSON shape of each record type.

Pages, the JSON API and the demo seed all write through here, so a rule lives in one place and a
write is validated completely before anything is stored.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, TypeVar

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from qbo.accounts.models import Firm
from qbo.accounts.scoping import NotFound, get_scoped, scoped
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.ledger import currency, tax
from qbo.ledger import validation as v
from qbo.ledger.models import (
    Account,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentCreditAllocation,
    Refund,
    Service,
    line_amount,
)
from qbo.ledger.record_types import RECORD_TYPES
from qbo.ledger.signals import record_changed

ACCOUNT_KINDS = ("individual", "company")
PAYMENT_METHODS = ("card", "ach", "cash", "check", "other")
ZERO = Decimal("0.00")


class ValidationFailed(Exception):
    def __init__(self, errors: dict):
        super().__init__("validation failed")
        self.errors = errors


class Busy(Exception):
    """Other writers kept the records this write needs locked, retries included; nothing was
    stored and the same request may simply be sent again."""


@dataclass(frozen=True)
class RecordKind:
    """How the ledger edits one record type (its words, page and tab come from RECORD_TYPES)."""

    record_type: str
    to_input: Callable
    validate: Callable
    apply: Callable
    to_json: Callable
    updatable: bool = True

    @property
    def _type(self):
        return RECORD_TYPES[self.record_type]

    slug = property(lambda self: self._type.slug)
    model = property(lambda self: self._type.model)
    label = property(lambda self: self._type.label)
    label_plural = property(lambda self: self._type.plural)
    category = property(lambda self: self._type.category)


# --- helpers ------------------------------------------------------------------------------------


def _merged(record, data: dict, to_input) -> dict:
    """PATCH semantics: the record's current values overlaid with what was sent."""
    base = to_input(record) if record is not None else {}
    base.update({k: val for k, val in data.items()})
    return base


def _ref(model, data, field, firm: Firm, errors: v.Errors, *, required=True):
    record_id = v.integer_id(data, field, errors, required=required)
    if record_id is None:
        return None
    try:
        return get_scoped(model, record_id, firm.id)
    except NotFound:
        errors.add(field, _("does not exist"))
        return None


def _unique(model, firm: Firm, column, value, record, field, errors: v.Errors, what: str):
    if value is None:
        return
    # The database's lower() on both sides, as the unique index compares (SQLite's lowers ASCII only).
    stmt = scoped(model, firm.id).where(func.lower(column) == func.lower(value))
    if record is not None:
        stmt = stmt.where(model.id != record.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        errors.add(field, _("is already used by another record"))


def _iso(value):
    return value.isoformat() if value is not None else None


def _money(value):
    return None if value is None else str(value)


# --- accounts -----------------------------------------------------------------------------------


def _account_input(a: Account) -> dict:
    return {f: getattr(a, f) for f in
            ("name", "kind", "first_name", "last_name", "company_name", "email", "phone", "external_id",
             "currency")}


def _validate_account(firm: Firm, data: dict, record=None):
    errors = v.Errors()
    clean = {
        "name": v.text(data, "name", errors, required=True, max_length=500),
        "kind": v.choice(data, "kind", errors, ACCOUNT_KINDS, default="company"),
        "first_name": v.text(data, "first_name", errors, max_length=100),
        "last_name": v.text(data, "last_name", errors, max_length=100),
        "company_name": v.text(data, "company_name", errors, max_length=100),
        "email": v.email(data, "email", errors),
        "phone": v.text(data, "phone", errors, max_length=30),
        "external_id": v.text(data, "external_id", errors, max_length=100),
        "currency": currency.account_currency(data, errors, firm.currency),
    }
    _unique(Account, firm, Account.name, clean["name"], record, "name", errors, "account")
    return clean, errors


def _apply_plain(model):
    def apply(firm: Firm, clean: dict, record=None):
        if record is None:
            record = model(firm_id=firm.id)
            db.session.add(record)
        for field, value in clean.items():
            setattr(record, field, value)
        return record

    return apply


def _account_json(a: Account) -> dict:
    return {"id": a.id, **_account_input(a), "currency": currency.currency_of(a, _home(a)),
            "created_at": _iso(a.created_at)}


def _home(record) -> str:
    firm = db.session.get(Firm, record.firm_id)
    return firm.currency if firm is not None else "USD"


def _rate(value):
    return None if value is None else f"{value.normalize():f}"


def _currency_json(doc) -> dict:
    return {"currency": currency.currency_of(doc.account, _home(doc)), "exchange_rate": _rate(doc.exchange_rate)}


# --- services -----------------------------------------------------------------------------------


def _service_input(s: Service) -> dict:
    return {"name": s.name, "description": s.description, "rate": s.rate,
            "income_account": s.income_account, "taxable": s.taxable, "tax_rate_id": s.tax_rate_id}


def _validate_service(firm: Firm, data: dict, record=None):
    errors = v.Errors()
    clean = {
        "name": v.text(data, "name", errors, required=True, max_length=100),
        "description": v.text(data, "description", errors, max_length=4000),
        "rate": v.decimal(data, "rate", errors, minimum=ZERO),
        "income_account": v.text(data, "income_account", errors, max_length=100),
        **tax.service_treatment(firm, data, errors),
    }
    _unique(Service, firm, Service.name, clean["name"], record, "name", errors, "service")
    if clean["income_account"] is None and not errors:
        clean["income_account"] = firm.default_income_account
    return clean, errors


def _service_json(s: Service) -> dict:
    return {"id": s.id, "name": s.name, "description": s.description, "rate": _money(s.rate),
            "income_account": s.income_account, "taxable": s.taxable, "tax_rate_id": s.tax_rate_id}


# --- invoices and credit notes ------------------------------------------------------------------


def _lines_input(doc) -> list[dict]:
    return [{"service_id": line.service_id, "description": line.description,
             "quantity": line.quantity, "rate": line.rate, "tax_rate_id": line.tax_rate_id} for line in doc.lines]


def _validate_lines(firm: Firm, data: dict, errors: v.Errors) -> list[dict] | None:
    raw = v.items(data, "lines", errors)
    if raw is None:
        if "lines" not in errors:
            errors.add("lines", _("needs at least one line"))
        return None
    if not raw:
        errors.add("lines", _("needs at least one line"))
        return None
    lines = []
    for i, line in enumerate(raw):
        sub = v.Errors()
        service = _ref(Service, line, "service_id", firm, sub, required=False)
        description = v.text(line, "description", sub, max_length=4000)
        quantity = v.decimal(line, "quantity", sub, required=True, places=4, positive=True,
                             maximum=Decimal("9999999"))
        rate = v.decimal(line, "rate", sub, places=2, minimum=ZERO)
        if service is None and description is None and "service_id" not in sub:
            sub.add("description", _("is required when the line has no service"))
        if rate is None and "rate" not in sub:
            if service is not None and service.rate is not None:
                rate = service.rate
            else:
                sub.add("rate", _("is required"))
        for field, reasons in sub.items():
            for reason in reasons:
                errors.add(f"lines[{i}].{field}", reason)
        tax_rate_id = tax.line_rate(firm, line, service, sub)
        for field, reasons in sub.items():
            for reason in reasons:
                if field == "tax_rate_id":
                    errors.add(f"lines[{i}].{field}", reason)
        lines.append({"service_id": service.id if service else None, "description": description,
                      "quantity": quantity, "rate": rate, "tax_rate_id": tax_rate_id})
    return lines


def _next_number(firm: Firm, model, prefix_attr: str, counter_attr: str) -> str:
    """The next unused number in the firm's sequence: numbers typed by hand are skipped, and so
    are numbers used outside the ledger (`signals.number_in_use`: QuickBooks' own DocNumbers)."""
    from qbo.ledger.signals import number_in_use

    prefix = getattr(firm, prefix_attr)
    n = getattr(firm, counter_attr)
    while True:
        candidate = f"{prefix}{n:04d}"
        taken = db.session.scalar(
            scoped(model, firm.id, include_deleted=True).where(model.number == candidate).limit(1)
        )
        if taken is None and not any(used for _receiver, used in number_in_use.send(firm, number=candidate)):
            return candidate
        n += 1


def next_document_number(firm: Firm, record_type: str) -> str:
    """The number an invoice or credit note saved with an empty number gets now (nothing is taken)."""
    if record_type == "credit_note":
        return _next_number(firm, CreditNote, "credit_note_number_prefix", "next_credit_note_number")
    return _next_number(firm, Invoice, "invoice_number_prefix", "next_invoice_number")


def _document_input(doc) -> dict:
    data = {"number": doc.number, "account_id": doc.account_id, "date": doc.date,
            "description": doc.description, "lines": _lines_input(doc), "exchange_rate": doc.exchange_rate}
    if isinstance(doc, Invoice):
        data["due_date"] = doc.due_date
    return data


def _validate_document(model, firm: Firm, data: dict, record=None):
    errors = v.Errors()
    clean = {
        "number": v.text(data, "number", errors, max_length=40),
        "date": v.date(data, "date", errors, required=True),
        "description": v.text(data, "description", errors, max_length=4000),
        "exchange_rate": currency.exchange_rate(data, errors),
    }
    account = _ref(Account, data, "account_id", firm, errors)
    clean["account_id"] = account.id if account else None
    if model is Invoice:
        clean["due_date"] = v.date(data, "due_date", errors)
        if clean["due_date"] and clean["date"] and clean["due_date"] < clean["date"]:
            errors.add("due_date", _("must not be before the invoice date"))
    clean["lines"] = _validate_lines(firm, data, errors)
    if record is not None and clean["lines"] and all(
            line["quantity"] is not None and line["rate"] is not None for line in clean["lines"]):
        _check_total_covers_applied(record, clean["lines"], errors)
    if clean["number"] is not None:
        # Deleted documents keep their number: QBO may still hold it (error case duplicate-doc-number).
        stmt = scoped(model, firm.id, include_deleted=True).where(model.number == clean["number"])
        if record is not None:
            stmt = stmt.where(model.id != record.id)
        if db.session.scalar(stmt.limit(1)) is not None:
            errors.add("number", _("is already used by another invoice") if model is Invoice else _("is already used by another credit note"))
    return clean, errors


def _check_total_covers_applied(doc, lines: list[dict], errors: v.Errors) -> None:
    """An invoice is never edited below what payments allocate to it, a credit note never below
    what payments apply of it (the caller holds the document's lock, so the figures are final)."""
    total = sum((line_amount(line["quantity"], line["rate"]) for line in lines), ZERO)
    if isinstance(doc, Invoice) and total < doc.amount_paid:
        errors.add("lines", _("make a total of %(total)s, less than the %(paid)s already paid",
                              total=total, paid=doc.amount_paid))
    elif isinstance(doc, CreditNote) and total < doc.amount_applied:
        errors.add("lines", _("make a total of %(total)s, less than the %(applied)s already applied",
                              total=total, applied=doc.amount_applied))


def _apply_document(model, line_model, prefix_attr, counter_attr):
    def apply(firm: Firm, clean: dict, record=None):
        clean = dict(clean)
        lines = clean.pop("lines")
        if clean["number"] is None:
            # Empty ("leave empty for the next in sequence"), on a new document or an edited one
            # (PATCH semantics keep the number when the field is not sent at all): the next free
            # number, which also moves the firm's sequence past it.
            clean["number"] = _next_number(firm, model, prefix_attr, counter_attr)
            digits = clean["number"][len(getattr(firm, prefix_attr)):]
            setattr(firm, counter_attr, int(digits) + 1)
        if record is None:
            record = model(firm_id=firm.id)
            db.session.add(record)
        for field, value in clean.items():
            setattr(record, field, value)
        record.lines = [line_model(firm_id=firm.id, position=i, **line) for i, line in enumerate(lines)]
        return record

    return apply


def _lines_json(doc) -> list[dict]:
    return [{"service_id": line.service_id, "description": line.description,
             "quantity": str(line.quantity.normalize()) if line.quantity is not None else None,
             "rate": _money(line.rate), "amount": _money(line.amount), "tax_rate_id": line.tax_rate_id,
             "tax": _money(tax.line_tax(line))} for line in doc.lines]


def _invoice_json(i: Invoice) -> dict:
    return {"id": i.id, "number": i.number, "account_id": i.account_id, "date": _iso(i.date),
            "due_date": _iso(i.due_date), "description": i.description, "lines": _lines_json(i),
            "total": _money(i.total), "balance": _money(i.balance), **tax.amounts_json(i), **_currency_json(i)}


def _credit_note_json(c: CreditNote) -> dict:
    return {"id": c.id, "number": c.number, "account_id": c.account_id, "date": _iso(c.date),
            "description": c.description, "lines": _lines_json(c), "total": _money(c.total),
            "remaining": _money(c.remaining), **tax.amounts_json(c), **_currency_json(c)}


# --- payments -----------------------------------------------------------------------------------


def _payment_input(p: Payment) -> dict:
    return {"account_id": p.account_id, "date": p.date, "amount": p.amount, "method": p.method,
            "processor": p.processor, "processor_fee": p.processor_fee, "reference": p.reference,
            "exchange_rate": p.exchange_rate,
            "allocations": [{"invoice_id": a.invoice_id, "amount": a.amount} for a in p.allocations],
            "credit_allocations": [{"credit_note_id": a.credit_note_id, "amount": a.amount}
                                   for a in p.credit_allocations]}


def _validate_allocations(firm, data, errors, field, model, id_field, account, payment, open_amount):
    raw = v.items(data, field, errors)
    out = []
    seen = set()
    for i, alloc in enumerate(raw or []):
        sub = v.Errors()
        target = _ref(model, alloc, id_field, firm, sub)
        amount = v.decimal(alloc, "amount", sub, required=True, positive=True)
        if target is not None:
            if account is not None and target.account_id != account.id:
                sub.add(id_field, _("belongs to another account"))
            elif target.id in seen:
                sub.add(id_field, _("appears twice"))
            elif amount is not None:
                available = open_amount(target, payment)
                if amount > available:
                    sub.add("amount", _("is more than the %(open)s still open on %(number)s", open=available, number=target.number))
            seen.add(target.id)
        for f, reasons in sub.items():
            for reason in reasons:
                errors.add(f"{field}[{i}].{f}", reason)
        out.append({id_field: target.id if target else None, "amount": amount})
    return out


def _invoice_open(invoice: Invoice, payment) -> Decimal:
    mine = sum((a.amount for a in invoice.allocations if payment is not None and a.payment_id == payment.id), ZERO)
    return invoice.balance + mine


def _credit_open(credit: CreditNote, payment) -> Decimal:
    mine = sum((a.amount for a in credit.allocations if payment is not None and a.payment_id == payment.id), ZERO)
    return credit.remaining + mine


def _validate_payment(firm: Firm, data: dict, record=None):
    errors = v.Errors()
    account = _ref(Account, data, "account_id", firm, errors)
    clean = {
        "account_id": account.id if account else None,
        "date": v.date(data, "date", errors, required=True),
        "amount": v.decimal(data, "amount", errors, required=True, positive=True),
        "method": v.choice(data, "method", errors, PAYMENT_METHODS, required=True),
        "processor": v.text(data, "processor", errors, max_length=40),
        "processor_fee": v.decimal(data, "processor_fee", errors, minimum=ZERO),
        "reference": v.text(data, "reference", errors, max_length=100),
        "exchange_rate": currency.exchange_rate(data, errors),
    }
    if clean["processor_fee"] and clean["processor"] is None and "processor" not in errors:
        errors.add("processor", _("is required when there is a processor fee"))
    if clean["processor_fee"] is not None and clean["amount"] is not None and clean["processor_fee"] >= clean["amount"]:
        errors.add("processor_fee", _("must be less than the payment amount"))
    clean["allocations"] = _validate_allocations(
        firm, data, errors, "allocations", Invoice, "invoice_id", account, record, _invoice_open)
    clean["credit_allocations"] = _validate_allocations(
        firm, data, errors, "credit_allocations", CreditNote, "credit_note_id", account, record, _credit_open)
    allocated = sum((a["amount"] or ZERO for a in clean["allocations"]), ZERO)
    credits = sum((a["amount"] or ZERO for a in clean["credit_allocations"]), ZERO)
    if clean["amount"] is not None and allocated - credits > clean["amount"]:
        errors.add("allocations", _("allocate %(allocated)s after credits, more than the payment's %(amount)s", allocated=allocated - credits, amount=clean["amount"]))
    if record is not None and clean["amount"] is not None and clean["amount"] < record.refunded:
        errors.add("amount", _("must be at least the %(refunded)s already refunded", refunded=record.refunded))
    return clean, errors


def _apply_payment(firm: Firm, clean: dict, record=None):
    clean = dict(clean)
    allocations = clean.pop("allocations")
    credit_allocations = clean.pop("credit_allocations")
    if record is None:
        record = Payment(firm_id=firm.id)
        db.session.add(record)
    for field, value in clean.items():
        setattr(record, field, value)
    record.allocations = [PaymentAllocation(firm_id=firm.id, **a) for a in allocations]
    record.credit_allocations = [PaymentCreditAllocation(firm_id=firm.id, **a) for a in credit_allocations]
    return record


def _payment_json(p: Payment) -> dict:
    return {"id": p.id, "account_id": p.account_id, "date": _iso(p.date), "amount": _money(p.amount),
            "method": p.method, "processor": p.processor, "processor_fee": _money(p.processor_fee),
            "reference": p.reference, "currency": currency.currency_of(p.account, p.account and _home(p)),
            "exchange_rate": _rate(p.exchange_rate),
            "allocations": [{"invoice_id": a.invoice_id, "amount": _money(a.amount)} for a in p.allocations],
            "credit_allocations": [{"credit_note_id": a.credit_note_id, "amount": _money(a.amount)}
                                   for a in p.credit_allocations]}


# --- refunds ------------------------------------------------------------------------------------


def _refund_input(r: Refund) -> dict:
    return {"payment_id": r.payment_id, "date": r.date, "amount": r.amount, "reason": r.reason}


def _validate_refund(firm: Firm, data: dict, record=None):
    errors = v.Errors()
    payment = _ref(Payment, data, "payment_id", firm, errors)
    clean = {
        "payment_id": payment.id if payment else None,
        "date": v.date(data, "date", errors, required=True),
        "amount": v.decimal(data, "amount", errors, required=True, positive=True),
        "reason": v.text(data, "reason", errors, max_length=1000),
    }
    if payment is not None and clean["amount"] is not None:
        already = payment.refunded - (record.amount if record is not None else ZERO)
        available = payment.amount - already
        if clean["amount"] > available:
            errors.add("amount", _("is more than the %(available)s of the payment not yet refunded", available=available))
    if payment is not None and clean["date"] is not None and clean["date"] < payment.date:
        errors.add("date", _("must not be before the payment's date"))
    return clean, errors


def _refund_json(r: Refund) -> dict:
    return {"id": r.id, "payment_id": r.payment_id, "account_id": r.payment.account_id,
            "date": _iso(r.date), "amount": _money(r.amount), "reason": r.reason}


# --- registry -----------------------------------------------------------------------------------

KINDS: dict[str, RecordKind] = {
    k.slug: k
    for k in (
        RecordKind("account", _account_input,
                   _validate_account, _apply_plain(Account), _account_json),
        RecordKind("service", _service_input,
                   _validate_service, _apply_plain(Service), _service_json),
        RecordKind("invoice", _document_input,
                   lambda f, d, r=None: _validate_document(Invoice, f, d, r),
                   _apply_document(Invoice, InvoiceLine, "invoice_number_prefix", "next_invoice_number"),
                   _invoice_json),
        RecordKind("credit_note", _document_input,
                   lambda f, d, r=None: _validate_document(CreditNote, f, d, r),
                   _apply_document(CreditNote, CreditNoteLine, "credit_note_number_prefix",
                                   "next_credit_note_number"),
                   _credit_note_json),
        RecordKind("payment", _payment_input,
                   _validate_payment, _apply_payment, _payment_json),
        RecordKind("refund", _refund_input,
                   _validate_refund, _apply_plain(Refund), _refund_json, updatable=False),
    )
}


def save(kind: RecordKind, firm: Firm, data: dict, *, record=None, user_id=None, refused: dict | None = None):
    """Validate everything under the locks its rules read, then create or update; raises
    ValidationFailed with per-field errors. Run it through `committed` to retry a lost race.
    `refused`: per-field reasons a caller found by rules the ledger can't see (the QuickBooks
    company's accounts), reported together with the ledger's own, so nothing is stored."""
    _lock(kind, firm, data, record)
    if record is not None and record.deleted_at is not None:
        raise ValidationFailed({"record": [_("was deleted meanwhile; nothing was saved")]})
    merged = _merged(record, data, kind.to_input) if record is not None else data
    clean, errors = kind.validate(firm, merged, record)
    for field, reasons in (refused or {}).items():
        for reason in reasons:
            errors.add(field, reason)
    if errors:
        raise ValidationFailed(dict(errors))
    created = record is None
    record = kind.apply(firm, clean, record)
    _flush()
    audit(firm.id, user_id, f"{kind.slug}.{'created' if created else 'updated'}", record)
    mark_changed(record)
    return record


def delete(kind: RecordKind, firm: Firm, record, *, user_id=None) -> list[str]:
    """Soft-delete a record; refuses (returns reasons) while other live records depend on it."""
    _lock(kind, firm, None, record)
    if record.deleted_at is not None:
        return []  # someone deleted it meanwhile
    blockers = _dependents(record)
    if blockers:
        return blockers
    record.deleted_at = utcnow()
    audit(firm.id, user_id, f"{kind.slug}.deleted", record)
    mark_changed(record)
    return []


T = TypeVar("T")
ATTEMPTS = 4


def committed(write: Callable[[], T]) -> T:
    """Run one ledger write (`save`, `delete`) and commit it. A lost race for a lock (SQLite's
    write lock still held when its busy timeout ends, a PostgreSQL deadlock) rolls back and runs
    the write again, then raises Busy; a unique index's refusal becomes ValidationFailed. Every
    way out but success rolls back, so nothing is half-stored."""
    for attempt in range(ATTEMPTS):
        try:
            result = write()
            _flush()
            db.session.commit()
            return result
        except OperationalError as exc:
            db.session.rollback()
            if not lost_race(exc):
                raise
        except BaseException:
            db.session.rollback()
            raise
        if attempt + 1 < ATTEMPTS:
            time.sleep(random.uniform(0.05, 0.15) * 2 ** attempt)  # apart, so racers do not meet again
    raise Busy()


# --- one writer at a time on what a rule reads ---------------------------------------------------
#
# Each rule that reads other rows (what is open on an invoice, what is left of a payment to refund,
# the next number, a free name) holds only if nobody changes those rows between the check and the
# commit. So a write first locks what its checks read, then reads it afresh:
# - PostgreSQL: the record itself FOR NO KEY UPDATE, then, in one order (firm, accounts, services,
#   invoices, credit notes, payments), FOR NO KEY UPDATE on the rows whose totals the checks read
#   (the firm's number sequence, the invoices and credit notes a payment allocates, the payment a
#   refund is made against) and FOR SHARE on the rows only referred to (the account, the services:
#   not deleted meanwhile). Every writer of those totals takes the same locks, so they take turns.
# - SQLite has one writer at a time: a first write (a no-op UPDATE of the firm's counter) takes the
#   database's write lock before anything is read, and every read after it sees the last commit.
# Names are also unique by a partial unique index on live records (ux_*_live_name): its refusal is
# the same 422 as the check's.

_LOCK_ORDER = (Firm, Account, Service, Invoice, CreditNote, Payment)


def _lock(kind: RecordKind, firm: Firm, data: dict | None, record) -> None:
    _flush()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("UPDATE firms SET next_invoice_number = next_invoice_number WHERE id = :id"),
                           {"id": firm.id})
    if record is not None:
        _lock_rows(type(record), [record.id], firm.id)
        db.session.expire_all()  # what was read before the lock may be stale
    if data is None:
        return
    merged = _merged(record, data, kind.to_input) if record is not None else data
    plan = _lock_plan(kind, firm, data, merged, record)
    for model in _LOCK_ORDER:
        for ids, shared in plan.get(model, ()):
            _lock_rows(model, ids, firm.id, shared=shared)
    db.session.expire_all()


def _lock_plan(kind: RecordKind, firm: Firm, data: dict, merged: dict, record) -> dict:
    """{model: [(ids, shared)]}: the rows a write's checks read, from its input as sent (ids that
    do not parse are left to validation)."""
    account = [_raw_id(merged.get("account_id"))]
    if kind.record_type in ("invoice", "credit_note"):
        plan = {Account: [(account, True)], Service: [(_raw_ids(merged, "lines", "service_id"), True)]}
        if record is None or ("number" in data and data["number"] != record.number):
            plan[Firm] = [([firm.id], False)]  # the number sequence, and numbers typed by hand
        return plan
    if kind.record_type == "payment":
        return {Account: [(account, True)],
                Invoice: [(_raw_ids(merged, "allocations", "invoice_id"), False)],
                CreditNote: [(_raw_ids(merged, "credit_allocations", "credit_note_id"), False)]}
    if kind.record_type == "refund":
        return {Payment: [([_raw_id(merged.get("payment_id"))], False)]}
    return {}


def _lock_rows(model, ids, firm_id: int, *, shared: bool = False) -> None:
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return
    scope = model.id == firm_id if model is Firm else model.firm_id == firm_id
    stmt = select(model.id).where(scope, model.id.in_(ids)).order_by(model.id)
    db.session.execute(stmt.with_for_update(read=shared, key_share=not shared)).all()


def _raw_id(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number <= v.MAX_RECORD_ID else None


def _raw_ids(data: dict, field: str, id_field: str) -> list[int | None]:
    rows = data.get(field)
    if not isinstance(rows, list):
        return []
    return [_raw_id(row.get(id_field)) for row in rows if isinstance(row, dict)]


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()  # the transaction is lost anyway; the reason's words load the user
        failed = _unique_violation(exc)
        if failed is None:
            raise
        raise failed from exc


_UNIQUE_INDEXES = (
    # (constraint name on PostgreSQL, its words in SQLite's message, field, reason)
    ("ux_accounts_live_name", "ux_accounts_live_name", "name", lambda: _("is already used by another record")),
    ("ux_services_live_name", "ux_services_live_name", "name", lambda: _("is already used by another record")),
    ("uq_invoices_firm_id", "invoices.firm_id, invoices.number", "number",
     lambda: _("is already used by another invoice")),
    ("uq_credit_notes_firm_id", "credit_notes.firm_id, credit_notes.number", "number",
     lambda: _("is already used by another credit note")),
)


def _unique_violation(exc: IntegrityError) -> ValidationFailed | None:
    """A unique index refused the row (a writer that checked at the same moment won): the same
    per-field 422 the check gives, or None when the index is not one of the ledger's."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    message = str(exc.orig)
    for name, words, field, reason in _UNIQUE_INDEXES:
        if constraint == name or (constraint is None and words in message):
            return ValidationFailed({field: [reason()]})
    return None


def lost_race(exc: OperationalError) -> bool:
    """SQLite's write lock outlasted its busy timeout, or PostgreSQL chose this transaction as a
    deadlock's victim (or could not serialize it): running it again is safe."""
    if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01", "55P03"):
        return True
    return "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig)


def _dependents(record) -> list[str]:
    live = lambda rows: [r for r in rows if r.deleted_at is None]  # noqa: E731
    if isinstance(record, Account):
        n = sum(db.session.scalar(select(func.count()).select_from(m).where(
            m.account_id == record.id, m.deleted_at.is_(None))) for m in (Invoice, CreditNote, Payment))
        return [ngettext("%(num)s invoice, credit note or payment still belongs to this account",
                         "%(num)s invoices, credit notes or payments still belong to this account", n)] if n else []
    if isinstance(record, Service):
        n = db.session.scalar(select(func.count()).select_from(InvoiceLine).join(Invoice).where(
            InvoiceLine.service_id == record.id, Invoice.deleted_at.is_(None)))
        return [ngettext("%(num)s invoice line still uses this service", "%(num)s invoice lines still use this service", n)] if n else []
    if isinstance(record, Invoice):
        payments = {a.payment_id for a in record.allocations if a.payment.deleted_at is None}
        return [ngettext("%(num)s payment is allocated to this invoice", "%(num)s payments are allocated to this invoice",
                         len(payments))] if payments else []
    if isinstance(record, CreditNote):
        payments = {a.payment_id for a in record.allocations if a.payment.deleted_at is None}
        return [ngettext("%(num)s payment applies this credit note", "%(num)s payments apply this credit note",
                         len(payments))] if payments else []
    if isinstance(record, Payment):
        refunds = live(record.refunds)
        return [ngettext("%(num)s refund was made against this payment", "%(num)s refunds were made against this payment",
                         len(refunds))] if refunds else []
    return []


def mark_changed(record) -> None:
    """A ledger change: whoever keeps a copy of the record elsewhere (the QuickBooks sync) hears of
    it through the `record_changed` signal, inside the caller's transaction; the caller commits."""
    record_changed.send(record)


_ROW_GROUPS = ("lines", "allocations", "credit_allocations")


def form_to_input(kind: RecordKind, form) -> dict:
    """Turn a submitted HTML form (flat names like `lines-0-quantity`) into the API's dict shape."""
    data: dict = {}
    nested: dict[str, dict[int, dict]] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        value = form.get(key)
        parts = key.split("-")
        # Row numbers are ASCII digits only ("²".isdigit() is True, int("²") raises), below 1000.
        if len(parts) == 3 and re.fullmatch(r"[0-9]{1,3}", parts[1]):
            nested.setdefault(parts[0], {}).setdefault(int(parts[1]), {})[parts[2]] = value
        elif key not in _ROW_GROUPS:  # a row group comes only as `name-N-field`; a bare one is forged
            data[key] = value
    for name, rows in nested.items():
        data[name] = [rows[i] for i in sorted(rows)
                      if any(str(val).strip() for val in rows[i].values())]
    if kind.slug in ("invoices", "credit-notes"):
        data.setdefault("lines", [])
    if kind.slug == "payments":
        data.setdefault("allocations", [])
        data.setdefault("credit_allocations", [])
    return data


def today() -> dt.date:
    return dt.date.today()
