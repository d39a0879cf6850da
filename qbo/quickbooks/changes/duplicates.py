"""Possible duplicates: an Invoice, Payment or Purchase in QuickBooks that the product did not
create but that matches one of ours by customer, amount and date (someone entered it by hand, or a
card processor's own connection posts it too)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.ledger.models import Invoice, Payment
from qbo.quickbooks.changes.report import DriftReport, money_of
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.problems import rows as problems


def report_duplicates(firm: Firm, entity: str, obj: dict, report: DriftReport) -> None:
    amount, date = money_of(obj.get("TotalAmt")), obj.get("TxnDate")
    if amount is None or not date:
        return
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        return
    matches: list[tuple[str, object]] = []
    customer = (obj.get("CustomerRef") or {}).get("value")
    accounts = db.session.scalars(select(QboLink.record_id).where(
        QboLink.firm_id == firm.id, QboLink.record_type == "account", QboLink.qbo_type == "Customer",
        QboLink.qbo_id == customer)).all() if customer else []
    if entity == "Invoice" and accounts:
        docs = db.session.scalars(select(Invoice).where(
            Invoice.firm_id == firm.id, Invoice.account_id.in_(accounts), Invoice.date == day,
            Invoice.deleted_at.is_(None))).all()
        matches = [("invoice", d) for d in docs if money_of(d.total) == amount]
    elif entity == "Payment" and accounts:
        rows = db.session.scalars(select(Payment).where(
            Payment.firm_id == firm.id, Payment.account_id.in_(accounts), Payment.date == day,
            Payment.amount == amount, Payment.deleted_at.is_(None))).all()
        matches = [("payment", p) for p in rows]
    elif entity == "Purchase":
        rows = db.session.scalars(select(Payment).where(
            Payment.firm_id == firm.id, Payment.date == day, Payment.processor_fee == amount,
            Payment.deleted_at.is_(None))).all()
        matches = [("processor_fee", p) for p in rows]
    for record_type, record in matches:
        link = db.session.scalar(select(QboLink).where(
            QboLink.firm_id == firm.id, QboLink.record_type == record_type, QboLink.record_id == record.id))
        if link is None or link.excluded or not link.qbo_id or link.qbo_id == str(obj.get("Id")):
            continue
        if _already_reported(firm.id, record_type, record.id, entity, obj["Id"]):
            continue  # seen by an earlier poll (windows overlap)
        processor = record_type == "processor_fee" or (record_type == "payment" and record.processor)
        # The facts, in no language, word the row for each reader (catalogue.duplicate_detail); the
        # stored message and detail stay English for the API.
        facts = {"entity": entity, "qbo_id": str(obj["Id"]), "amount": str(amount), "date": date,
                 "ours": link.qbo_id, "label": record.label, "cause": "processor" if processor else "by_hand"}
        problems.record(firm.id, record_type, record.id, "duplicates-in-qbo",
                        message=f"{catalogue.explain('duplicates-in-qbo')} {catalogue.duplicate_cause(facts['cause'])}",
                        detail=catalogue.duplicate_detail(facts, record_type), facts=facts)
        report.duplicates += 1
        report.records.append(("duplicates-in-qbo", record_type, record.id))


def _already_reported(firm_id: int, record_type: str, record_id: int, entity: str, qbo_id) -> bool:
    details = db.session.scalars(select(SyncError.detail).where(
        SyncError.firm_id == firm_id, SyncError.record_type == record_type, SyncError.record_id == record_id,
        SyncError.case == "duplicates-in-qbo", SyncError.status.in_(("open", "skipped")))).all()
    return any((d or "").startswith(f"QuickBooks {entity} {qbo_id} ") for d in details)
