"""A record's "Sync to QuickBooks" panel: the record and what it depends on, each with its
QuickBooks status, and the Resync that re-creates what was deleted in QuickBooks."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.ledger.record_types import RECORD_TYPES
from qbo.quickbooks.api.client import request_id_for
from qbo.quickbooks.api.errors import QboError, ReconnectNeeded
from qbo.quickbooks.connection import client_for_firm
from qbo.quickbooks import record_status
from qbo.quickbooks.models import QboLink
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.problems.counts import record_label
from qbo.quickbooks.sync import BY_RECORD_TYPE, engine, marking


@dataclass
class PanelEntry:
    record_type: str
    record_id: int
    label: str
    slug: str
    status: str
    reason: str | None
    qbo_id: str | None
    depth: int

    @property
    def deleted_in_qbo(self) -> bool:
        return self.status == "unsynced"


def record_panel(firm_id: int, record_type: str, record_id: int) -> list[PanelEntry]:
    """The record and what it depends on (customer, services, invoices), each with its QBO status."""
    seen: set[tuple[str, int]] = set()
    entries: list[PanelEntry] = []

    def visit(rtype, rid, depth):
        if (rtype, rid) in seen or depth > 2:
            return
        seen.add((rtype, rid))
        module = BY_RECORD_TYPE[rtype]
        record = db.session.get(module.MODEL, rid)
        if record is None or record.firm_id != firm_id:
            return
        link = db.session.scalar(select(QboLink).where(QboLink.firm_id == firm_id, QboLink.record_type == rtype,
                                                       QboLink.record_id == rid))
        # The status every page shows (record_status.derive: link, open errors, dependencies).
        status = record_status.statuses(firm_id, rtype, [record])[rid]
        entries.append(PanelEntry(rtype, rid, record_label(rtype, record), RECORD_TYPES[rtype].slug,
                                  status.status, str(status.text) if status.status != "synced" else None,
                                  link.qbo_id if link else None, depth))
        for dep_type, dep_id in module.dependencies(record):
            visit(dep_type, dep_id, depth + 1)

    visit(record_type, record_id, 0)
    return entries


def _reactivated(firm_id: int, link, qbo_id: str | None) -> bool:
    """A customer or service "deleted" in QuickBooks is only inactive: make the same one active
    again, so its Id, history and name stay (a new one would clash with the inactive one's name)."""
    module = BY_RECORD_TYPE[link.record_type]
    if not module.NAME_LIST or not qbo_id:
        return False
    client = client_for_firm(firm_id)
    try:
        current = client.read(module.QBO_ENTITY, qbo_id)
        if current.get("Active") is False:
            current = client.sparse_update(module.QBO_ENTITY, qbo_id, current["SyncToken"], {"Active": True},
                                           request_id=request_id_for(firm_id, link.record_type, link.record_id,
                                                                     "reactivate", current["SyncToken"]))
    except ReconnectNeeded:
        raise
    except QboError:
        return False  # gone for good: create it again
    # The version this write produced: the CDC poll compares with it (ours, not someone else's).
    link.sync_token = str(current.get("SyncToken", link.sync_token))
    link.qbo_updated_at = (current.get("MetaData") or {}).get("LastUpdatedTime") or link.qbo_updated_at
    return True


def record_notes(firm_id: int, record_type: str, record_id: int):
    """The record's open notes (severity "info", such as `description-to-memo`): they belong with
    the record, never on the desk's list."""
    return [e for e in problems.open_errors(firm_id, record_type, record_id) if e.severity == "info"]


DELETED_CASES = ("unsynced", "deleted-invoice-no-resync", "customer-deleted", "invalid-item-ref")


def resync_record(run: JobRun, record_type: str, record_id: int) -> dict:
    """Re-create, dependencies first, every counterpart of the panel that was deleted in QuickBooks,
    then resend the record so that it points at them (error case `unsynced`).

    A re-created counterpart gets its own requestid, derived from the QBO id it replaces: the
    record's ordinary create requestid would make QuickBooks replay the first create's answer,
    which is the deleted copy. Running the job twice sends the same requestid, so nothing doubles."""
    firm_id = run.firm_id
    entries = record_panel(firm_id, record_type, record_id)
    recreated = []
    for entry in entries:
        link = db.session.scalar(select(QboLink).where(
            QboLink.firm_id == firm_id, QboLink.record_type == entry.record_type, QboLink.record_id == entry.record_id))
        if link is not None and link.excluded:
            continue
        deleted = link is not None and link.status == "unsynced"
        old_qbo_id = link.qbo_id if link is not None else None
        if deleted or entry.depth == 0 or link is None or link.status in ("error", "pending"):
            link = marking.mark_pending(firm_id, entry.record_type, entry.record_id)
            link.pushed_hash = None  # sent even if unchanged here
        if deleted and _reactivated(firm_id, link, old_qbo_id):
            recreated.append(f"{entry.record_type.replace('_', ' ')} {entry.label} (made active again)")
        elif deleted:
            link.qbo_id = link.sync_token = None
            link.pending_request_id = request_id_for(firm_id, entry.record_type, entry.record_id, "recreate",
                                                     old_qbo_id or "")
            recreated.append(f"{entry.record_type.replace('_', ' ')} {entry.label}")
    run.total = len(entries)
    db.session.commit()
    report = engine.sync_firm(firm_id)
    fixed = 0
    for entry in entries:
        link = db.session.scalar(select(QboLink).where(
            QboLink.firm_id == firm_id, QboLink.record_type == entry.record_type, QboLink.record_id == entry.record_id))
        if link is not None and link.status == "synced":
            fixed += problems.resolve(firm_id, entry.record_type, entry.record_id, cases=DELETED_CASES,
                                      resolution="fixed", user_id=run.requested_by_id)
    run.done = len(entries)
    outcome = "paused: " + report.paused if report.paused else "resynced"
    audit(firm_id, run.requested_by_id, "quickbooks.resync_record", None, record_type=record_type,
          record_id=record_id, outcome=outcome, recreated=recreated)
    db.session.commit()
    return {"outcome": outcome, "recreated": ", ".join(recreated) or "nothing", "errors_closed": fixed}


