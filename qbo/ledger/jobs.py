"""RQ entry points of the ledger (ids in, safe to run twice)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.core.queue import enqueue, tracked
from qbo.ledger.models import Invoice, Payment


def enqueue_recalculation(firm_id: int, user_id: int | None = None) -> JobRun:
    """Queue the receivables recalculation (the JobRun is committed first)."""
    return enqueue("recalculate-balances", recalculate_balances, firm_id, user_id=user_id)


@tracked
def recalculate_balances(run: JobRun) -> dict:
    """Recompute the firm's receivables: invoice totals, amounts paid and open balances."""
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.firm_id == run.firm_id, Invoice.deleted_at.is_(None))
    ).all()
    run.total = len(invoices)
    billed = paid = Decimal("0.00")
    open_count = 0
    for i, invoice in enumerate(invoices, 1):
        billed += invoice.total
        paid += invoice.amount_paid
        open_count += invoice.balance > 0
        run.done = i
    received = sum((p.amount for p in db.session.scalars(
        select(Payment).where(Payment.firm_id == run.firm_id, Payment.deleted_at.is_(None)))),
        Decimal("0.00"))
    return {"invoices": len(invoices), "billed": str(billed), "paid": str(paid),
            "outstanding": str(billed - paid), "open_invoices": open_count,
            "payments_received": str(received)}
