"""Do the books tie out? After every write, QuickBooks' answer (never an extra read: Intuit meters
reads) is compared with the ledger: the total, and what QuickBooks applied (a payment's lines and
unapplied amount, a new credit memo's credit left). A difference is error case `amount-mismatch`."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Difference:
    field: str              # TotalAmt, UnappliedAmt, RemainingCredit, Line.LinkedTxn
    qbo: Decimal
    ledger: Decimal
    target_type: str | None = None  # for Line.LinkedTxn: invoice or credit_note
    target: str | None = None       # its number

    @property
    def difference(self) -> Decimal:
        return self.qbo - self.ledger

    def detail(self) -> str:
        """The stored words (catalogue.explain_error reads the facts back from them)."""
        on = f"{self.target_type} {self.target}: " if self.target_type else ""
        return f"{on}QuickBooks {self.qbo}, ledger {self.ledger}, difference {self.difference}"

    def facts(self) -> dict:
        return {"field": self.field, "qbo": str(self.qbo), "ledger": str(self.ledger),
                "difference": str(self.difference), "target_type": self.target_type, "target": self.target}


def money(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        return None


def _compare(out: list, field: str, theirs, ours, **target) -> None:
    theirs, ours = money(theirs), money(ours)
    if theirs is not None and ours is not None and theirs != ours:
        out.append(Difference(field, theirs, ours, **target))


def differences(record_type: str, record, payload: dict, entity: dict, operation: str) -> list[Difference]:
    """Where QuickBooks' answer to a create or update of `record` differs from the ledger."""
    if not isinstance(entity, dict):
        return []
    out: list[Difference] = []
    if record_type in ("invoice", "credit_note"):
        _compare(out, "TotalAmt", entity.get("TotalAmt"), record.total)
        if record_type == "credit_note" and operation == "create" and "RemainingCredit" in entity:
            # A new credit memo has applied nothing yet: less credit left means QuickBooks applied
            # it by itself (automatic application of credits).
            _compare(out, "RemainingCredit", entity.get("RemainingCredit"), record.total)
    elif record_type == "payment":
        _compare(out, "TotalAmt", entity.get("TotalAmt"), record.amount)
        out += _payment_lines(record, payload, entity)
    elif record_type == "refund":
        _compare(out, "TotalAmt", entity.get("TotalAmt"), record.amount)
    elif record_type == "processor_fee":
        _compare(out, "TotalAmt", entity.get("TotalAmt"), record.processor_fee)
    return out


def _payment_lines(payment, payload: dict, entity: dict) -> list[Difference]:
    applied: dict[tuple[str, str], Decimal] = {}
    for line in entity.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            key = (linked.get("TxnType"), str(linked.get("TxnId")))
            applied[key] = applied.get(key, Decimal(0)) + (money(line.get("Amount")) or Decimal(0))
    # The payload's lines were built from the allocations, in this order (payments.to_qbo).
    allocations = [("invoice", a.invoice.number, a.amount) for a in payment.allocations] + \
                  [("credit_note", a.credit_note.number, a.amount) for a in payment.credit_allocations]
    out: list[Difference] = []
    for (kind, number, amount), line in zip(allocations, payload.get("Line") or []):
        linked = line["LinkedTxn"][0]
        theirs = applied.get((linked["TxnType"], str(linked["TxnId"])), Decimal(0))
        _compare(out, "Line.LinkedTxn", theirs, amount, target_type=kind, target=number)
    if "UnappliedAmt" in entity:
        to_invoices = sum((a.amount for a in payment.allocations), Decimal(0))
        from_credits = sum((a.amount for a in payment.credit_allocations), Decimal(0))
        _compare(out, "UnappliedAmt", entity.get("UnappliedAmt"), payment.amount - to_invoices + from_credits)
    return out
