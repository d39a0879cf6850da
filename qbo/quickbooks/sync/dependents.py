"""The inverse of each sync module's `dependencies()`: which live ledger records lean on a record
(the CDC poll raises `unsynced` on them; the engine re-evaluates them when the record is back)."""
from __future__ import annotations

from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentCreditAllocation,
    Refund,
)


def dependents_of(firm_id: int, record_type: str, record_id: int) -> list[tuple[str, int]]:
    """Live ledger records whose `dependencies()` name this record (the inverse of qbo/sync)."""
    out: list[tuple[str, int]] = []

    def ids(stmt):
        return list(dict.fromkeys(db.session.scalars(stmt).all()))

    if record_type == "account":
        for model, kind in ((Invoice, "invoice"), (CreditNote, "credit_note"), (Payment, "payment")):
            out += [(kind, i) for i in ids(select(model.id).where(
                model.firm_id == firm_id, model.account_id == record_id, model.deleted_at.is_(None)))]
        out += [("refund", i) for i in ids(select(Refund.id).join(Payment, Refund.payment_id == Payment.id).where(
            Refund.firm_id == firm_id, Payment.account_id == record_id, Refund.deleted_at.is_(None)))]
    elif record_type == "service":
        out += [("invoice", i) for i in ids(select(InvoiceLine.invoice_id).join(Invoice).where(
            InvoiceLine.firm_id == firm_id, InvoiceLine.service_id == record_id, Invoice.deleted_at.is_(None)))]
        out += [("credit_note", i) for i in ids(select(CreditNoteLine.credit_note_id).join(CreditNote).where(
            CreditNoteLine.firm_id == firm_id, CreditNoteLine.service_id == record_id,
            CreditNote.deleted_at.is_(None)))]
    elif record_type == "invoice":
        out += [("payment", i) for i in ids(select(PaymentAllocation.payment_id).join(Payment).where(
            PaymentAllocation.firm_id == firm_id, PaymentAllocation.invoice_id == record_id,
            Payment.deleted_at.is_(None)))]
    elif record_type == "credit_note":
        out += [("payment", i) for i in ids(select(PaymentCreditAllocation.payment_id).join(Payment).where(
            PaymentCreditAllocation.firm_id == firm_id, PaymentCreditAllocation.credit_note_id == record_id,
            Payment.deleted_at.is_(None)))]
    elif record_type == "payment":
        out += [("refund", i) for i in ids(select(Refund.id).where(
            Refund.firm_id == firm_id, Refund.payment_id == record_id, Refund.deleted_at.is_(None)))]
    return out
