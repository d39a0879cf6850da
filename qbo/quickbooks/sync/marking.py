"""Marking ledger records pending for the sync: on every ledger change (the ledger's
`record_changed` signal), on connect (the whole ledger), and for a record's dependencies."""
from __future__ import annotations

from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger.models import Payment
from qbo.ledger.signals import number_in_use, record_changed
from qbo.quickbooks.connection import get_connection
from qbo.quickbooks.models import QboLink
from qbo.quickbooks.problems.rows import lift_skips
from qbo.quickbooks.sync import ORDER, expenses


def find_link(firm_id: int, record_type: str, record_id: int) -> QboLink | None:
    """A ledger record's link to its QBO counterpart, if it has one."""
    return db.session.scalar(select(QboLink).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id == record_id))


def mark_pending(firm_id: int, record_type: str, record_id: int) -> QboLink:
    """The record changed (or must be pushed): its link goes to pending, created if missing."""
    link = find_link(firm_id, record_type, record_id)
    if link is None:
        link = QboLink(firm_id=firm_id, record_type=record_type, record_id=record_id, status="pending")
        db.session.add(link)
    elif not link.excluded:
        link.status, link.reason = "pending", None
    return link


def mark_record(record) -> None:
    """Mark a ledger record (and, for a payment, its processor fee) pending. A firm that never
    connected QuickBooks has nothing to mark: connecting marks the whole ledger (mark_all)."""
    if get_connection(record.firm_id) is None:
        return
    if record.record_type == "account" and not _link_exists(record.firm_id, "account", record.id) \
            and not account_in_scope(record):
        return  # pushed later, with its first invoice or payment (dependencies are marked then)
    mark_pending(record.firm_id, record.record_type, record.id)
    if isinstance(record, Payment) and (expenses.applies(record) or _link_exists(record.firm_id, "processor_fee", record.id)):
        mark_pending(record.firm_id, "processor_fee", record.id)


def account_in_scope(account) -> bool:
    """The firm's "which accounts" setting: all of them, or only those with invoices, credit
    notes or payments (an account is still pushed whenever a record of it needs its customer)."""
    from qbo.accounts.models import Firm
    from qbo.ledger.models import CreditNote, Invoice

    firm = db.session.get(Firm, account.firm_id)
    if firm.sync_accounts_scope != "with_activity":
        return True
    return any(db.session.scalar(select(m.id).where(m.account_id == account.id, m.deleted_at.is_(None)).limit(1))
               for m in (Invoice, CreditNote, Payment))


def _link_exists(firm_id, record_type, record_id) -> bool:
    return find_link(firm_id, record_type, record_id) is not None


def mark_all(firm_id: int) -> int:
    """Every live ledger record of the firm without a link gets a pending one (first sync)."""
    n = 0
    for module in ORDER:
        model = module.MODEL
        linked = select(QboLink.record_id).where(QboLink.firm_id == firm_id, QboLink.record_type == module.RECORD_TYPE)
        stmt = select(model).where(model.firm_id == firm_id, model.deleted_at.is_(None), model.id.not_in(linked))
        for record in db.session.scalars(stmt):
            if module is expenses and not expenses.applies(record):
                continue
            if module.RECORD_TYPE == "account" and not account_in_scope(record):
                continue
            db.session.add(QboLink(firm_id=firm_id, record_type=module.RECORD_TYPE, record_id=record.id,
                                   status="pending"))
            n += 1
    return n




@number_in_use.connect
def _on_number_in_use(firm, number: str = "", **_) -> bool:
    """A number the ledger would hand out is used in QuickBooks already (the company's DocNumbers as
    last read, and those seen since: qbo.quickbooks.company_cache): the ledger skips it (error case
    duplicate-doc-number)."""
    from qbo.quickbooks import company_cache

    try:
        return company_cache.doc_number_used(firm.id, number)
    except Exception:  # noqa: BLE001 - no cache (Redis down) must never stop a save: nothing known
        return False


@record_changed.connect
def _on_record_changed(record, **_) -> None:
    """A ledger write: the record goes to pending, and a skip a person made on it no longer holds
    (the record changed since). Same transaction as the write; the caller commits, then enqueues."""
    mark_record(record)
    lift_skips(record.firm_id, record.record_type, record.id)
