"""A ledger record's QuickBooks status, as lists, record pages, the panel and the API show it.

One place derives it from three things: the record's link (is its own copy in QuickBooks?), its
open errors, and the state of what it depends on (its customer, the services on its lines, the
invoices and credit notes a payment applies). An invoice whose own copy is in QuickBooks but whose
customer was made inactive there is not "Synced": QuickBooks and the ledger disagree until the
customer is back, and the status says so in words.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems.counts import record_label
from qbo.quickbooks.problems.rows import open_errors
from qbo.quickbooks.sync import BY_RECORD_TYPE

STATUS_LABELS = {
    "not_synced": _l("Not synced"), "pending": _l("Pending"), "synced": _l("Synced"), "error": _l("Error"),
    "unsynced": _l("Unsynced"), "modified_in_qbo": _l("Modified in QuickBooks"), "skipped": _l("Skipped"),
    "waiting": _l("Waiting for a dependency"), "dependency_deleted": _l("Dependency deleted in QuickBooks"),
}
# Whole sentences per kind of dependency: Romanian agrees "deleted" with the noun's gender.
_DELETED = {
    "account": _l("Its customer “%(name)s” was deleted in QuickBooks."),
    "service": _l("Its service “%(name)s” was deleted in QuickBooks."),
    "invoice": _l("Its invoice “%(name)s” was deleted in QuickBooks."),
    "credit_note": _l("Its credit note “%(name)s” was deleted in QuickBooks."),
    "payment": _l("Its payment “%(name)s” was deleted in QuickBooks."),
}
_WAITING = {
    "account": _l("Waiting for its customer “%(name)s”, which has a QuickBooks error."),
    "service": _l("Waiting for its service “%(name)s”, which has a QuickBooks error."),
    "invoice": _l("Waiting for its invoice “%(name)s”, which has a QuickBooks error."),
    "credit_note": _l("Waiting for its credit note “%(name)s”, which has a QuickBooks error."),
    "payment": _l("Waiting for its payment “%(name)s”, which has a QuickBooks error."),
}
# Open cases that say the record's QuickBooks copy leans on something deleted there.
_DEPENDENCY_DELETED_CASES = ("unsynced", "customer-deleted", "invalid-item-ref")


@dataclass(frozen=True)
class LinkState:
    status: str
    reason: str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class Dependency:
    record_type: str
    label: str
    status: str  # its own link status, or not_synced


@dataclass(frozen=True)
class Status:
    status: str  # a key of STATUS_LABELS
    text: str    # the same in words, naming the dependency when one is the cause

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])


def _sentence(table: dict, dep: Dependency, fallback: str) -> str:
    template = table.get(dep.record_type)
    return str(template) % {"name": dep.label} if template is not None else fallback


def _reason(link: LinkState, open_cases) -> str | None:
    """The link's reason in the reader's words. It is the engine's English (for the API and the
    logs), so another reader gets the title of the record's open problem in their language, or
    None (the status's own words)."""
    language = str(get_locale() or "en")
    if not link.reason or language == "en":
        return link.reason
    if link.status not in ("error", "skipped", "modified_in_qbo"):
        return None
    from qbo.quickbooks.problems.catalogue import CASES, localised

    cases = sorted((c for c in open_cases if c in CASES), key=lambda c: (CASES[c].severity != "error", c))
    return localised(cases[0], language).title if cases else None


def derive(link: LinkState | None, open_cases, dependencies: list[Dependency]) -> Status:
    """The status of one record from its link, its open error cases and its dependencies' states."""
    if link is None:
        return Status("not_synced", _("Not in QuickBooks yet."))
    reason = _reason(link, open_cases)
    if link.excluded:
        return Status("not_synced", reason or _("Do not sync: kept out of QuickBooks."))
    if link.status == "unsynced":
        return Status("unsynced", reason or _("Its QuickBooks copy was deleted in QuickBooks."))
    if link.status == "not_synced":
        return Status("not_synced", reason or _("Not in QuickBooks yet."))
    deleted = [d for d in dependencies if d.status == "unsynced"]
    if deleted:
        return Status("dependency_deleted", _sentence(_DELETED, deleted[0],
                                                      _("Something it depends on was deleted in QuickBooks.")))
    if set(open_cases) & set(_DEPENDENCY_DELETED_CASES):
        return Status("dependency_deleted", _("Something it depends on was deleted in QuickBooks."))
    if link.status in ("modified_in_qbo", "error", "skipped"):
        return Status(link.status, reason or str(STATUS_LABELS[link.status]))
    broken = [d for d in dependencies if d.status in ("error", "modified_in_qbo")]
    if broken:
        return Status("waiting", _sentence(_WAITING, broken[0], _("Waiting for something it depends on.")))
    if link.status == "pending" and (link.reason or "").startswith("Waiting for"):
        return Status("waiting", reason or _("Waiting for something it depends on."))
    if link.status == "pending":
        return Status("pending", reason or _("Waiting to be sent to QuickBooks."))
    return Status("synced", _("In QuickBooks and the same as the ledger."))


def _dependencies_of(record) -> list[tuple[str, int]]:
    module = BY_RECORD_TYPE.get(record.record_type)
    return list(dict.fromkeys(module.dependencies(record))) if module else []


def _label(record_type: str, record_id: int) -> str:
    record = db.session.get(BY_RECORD_TYPE[record_type].MODEL, record_id)  # mostly in the identity map
    return record_label(record_type, record)


def statuses(firm_id: int, record_type: str, records: list) -> dict[int, Status]:
    """The derived status of many records of one type, in a few queries (for ledger lists)."""
    if not records:
        return {}
    module = BY_RECORD_TYPE[record_type]
    ids = [r.id for r in records]
    if module.HAS_DEPENDENCIES:  # what dependencies() reads (lines, allocations), in a query or two
        db.session.scalars(select(module.MODEL).where(module.MODEL.id.in_(ids)).options(*module.load_options())).all()
    links = {row.record_id: LinkState(row.status, row.reason, row.excluded) for row in db.session.execute(
        select(QboLink.record_id, QboLink.status, QboLink.reason, QboLink.excluded).where(
            QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id.in_(ids)))}
    cases: dict[int, set[str]] = {}
    for record_id, case in db.session.execute(select(SyncError.record_id, SyncError.case).where(
            SyncError.firm_id == firm_id, SyncError.record_type == record_type, SyncError.record_id.in_(ids),
            SyncError.status == "open")):
        cases.setdefault(record_id, set()).add(case)
    deps = {r.id: _dependencies_of(r) for r in records}
    wanted: dict[str, set[int]] = {}
    for pairs in deps.values():
        for dep_type, dep_id in pairs:
            wanted.setdefault(dep_type, set()).add(dep_id)
    dep_status: dict[tuple[str, int], str] = {}
    for dep_type, dep_ids in wanted.items():
        for dep_id, status in db.session.execute(select(QboLink.record_id, QboLink.status).where(
                QboLink.firm_id == firm_id, QboLink.record_type == dep_type, QboLink.record_id.in_(list(dep_ids)))):
            dep_status[(dep_type, dep_id)] = status
    out = {}
    for record in records:
        # Only a dependency in trouble is named, so only those need a label.
        mine = [Dependency(t, _label(t, i), dep_status[(t, i)]) for t, i in deps[record.id]
                if dep_status.get((t, i)) in ("unsynced", "error", "modified_in_qbo")]
        out[record.id] = derive(links.get(record.id), cases.get(record.id, ()), mine)
    return out


def status_of(record) -> Status:
    """The derived status of one record."""
    return statuses(record.firm_id, record.record_type, [record])[record.id]


def quickbooks_state(record) -> dict:
    """The `quickbooks` block of a record's JSON: its status (derived, see `derive`) and the same
    in words, its link's own status, QBO id and open errors."""
    link = db.session.scalar(select(QboLink).where(
        QboLink.firm_id == record.firm_id, QboLink.record_type == record.record_type, QboLink.record_id == record.id))
    errors = open_errors(record.firm_id, record.record_type, record.id)
    status = status_of(record)
    return {
        "status": status.status,
        "status_text": str(status.text),
        "link_status": link.status if link else "not_synced",
        "qbo_id": link.qbo_id if link else None,
        "errors": [{"id": e.id, "case": e.case, "message": e.message, "severity": e.severity} for e in errors],
    }
