"""Noticing changes made in QuickBooks: a change-data-capture (CDC) poll per connected firm (the
Intuit webhook, `webhooks.py`, only asks for one).

The poll reads everything changed since the last successful poll in one CDC request (ref §6),
however many records are synced, and compares it with our links:
- deleted in QBO (a stub with status "Deleted"), or made inactive (name lists, ref §1) -> the link
  becomes unsynced, and `unsynced` is raised on the record and on the records that depend on it;
- a SyncToken newer than the one our last write stored -> someone else edited it: the link becomes
  modified_in_qbo with `modified-in-qbo` (Resync = our version wins, or Skip). Applying a payment
  moves an invoice's or credit memo's SyncToken too (ours or not), so those two are reported only
  when a field we send differs from the ledger;
- an Invoice, Payment or Purchase we have no link for that matches one of ours by customer, amount
  and date -> `duplicates-in-qbo` on our record.

The webhook body holds ids only (ref §8): it is verified, its realms are looked up, and a poll is
queued per firm. The poll does the work, which also catches up on anything a webhook missed.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import company as company_snapshot
from qbo.quickbooks import company_cache
from qbo.quickbooks.changes.duplicates import report_duplicates
from qbo.quickbooks.changes.report import DriftReport, label_of, money_of
from qbo.quickbooks.connection import client_for_firm, get_connection, reads_blocked
from qbo.quickbooks.models import QboConnection, QboLink
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.sync import BY_RECORD_TYPE
from qbo.quickbooks.sync.dependents import dependents_of
from qbo.quickbooks.sync.context import MARKER_PREFIX, marker

log = logging.getLogger("qbo.drift")

# The QBO entities our links point at (qbo/sync/*.py QBO_ENTITY), in one CDC request.
ENTITIES = ("Customer", "Item", "Invoice", "CreditMemo", "Payment", "RefundReceipt", "Purchase",
            "Preferences")  # issue 17: a settings change refreshes the company snapshot
NAME_LISTS = ("Customer", "Item")
DUPLICATE_ENTITIES = ("Invoice", "Payment", "Purchase")
CDC_CAP = 1000                      # objects per CDC answer, across entities (ref §3)
CDC_LOOKBACK = dt.timedelta(days=30)  # ref §3/§6; the emulator refuses older windows
# Each window starts a little before the previous poll started: QBO stamps LastUpdatedTime with
# its own clock, and a change committed while we were reading must not fall between two windows.
# What is read twice is recognised as already known (the checks below are idempotent).
OVERLAP = dt.timedelta(minutes=2)
QUERY_IN_CHUNK = 500
POLL_TIMEOUT = 900  # seconds: the job's timeout, and how long a per-firm poll lock lives
# An invoice deleted in QBO offers "Recreate in QuickBooks" (error-cases deleted-invoice-no-resync);
# any other record deleted there gets `unsynced` (Resync re-creates it).
SELF_DELETED_CASE = {"invoice": "deleted-invoice-no-resync"}
DEPENDENCY_WORDS = {"account": "customer", "service": "service", "invoice": "invoice",
                    "credit_note": "credit_note", "payment": "payment", "refund": "refund",
                    "processor_fee": "payment"}


# --- the poll ------------------------------------------------------------------------------------


def poll_changes(firm_id: int, *, client=None) -> DriftReport:
    """Read what changed in the firm's QBO company since the last poll and record the drift."""
    report = DriftReport()
    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        report.paused = "QuickBooks is not connected"
        return report
    if reads_blocked(connection):
        # Every CDC call is a metered read (qbo-2025-2026.md §1.1): none until the allowance renews.
        report.paused = "QuickBooks' monthly read allowance is used up; polling resumes on the 1st"
        return report
    started = utcnow()
    since = _window_start(connection, started, report)
    client = client or client_for_firm(firm_id)
    changes = _fetch_changes(client, since, firm_id, report)
    report.changes = sum(len(v) for v in changes.values())
    # A number a person gave an invoice or credit memo in QuickBooks is taken from now on.
    company_cache.note_doc_numbers(firm_id, (obj.get("DocNumber") for entity in company_cache.DOC_ENTITIES
                                             for obj in changes.get(entity) or () if not _is_deleted(obj)))
    firm = db.session.get(Firm, firm_id)
    preferences = [p for p in changes.pop("Preferences", None) or [] if not _is_deleted(p)]
    if preferences:  # CDC brings the whole object: no further read
        company_snapshot.refresh(firm_id, client, realm_id=connection.realm_id, company_info={},
                                 preferences=preferences[-1], codes=False)
    _apply(firm, client, since, changes, report)
    # Only now: a failure above leaves cdc_checked_at alone, so the next poll reads the window again.
    connection.cdc_checked_at = started
    db.session.commit()
    log.info("firm=%s drift poll since=%s changes=%s requests=%s unsynced=%s modified=%s duplicates=%s",
             firm_id, report.since, report.changes, report.requests, report.unsynced, report.modified,
             report.duplicates)
    return report


def _window_start(connection: QboConnection, started: dt.datetime, report: DriftReport) -> dt.datetime:
    base = connection.cdc_checked_at or connection.connected_at or started
    since = base - OVERLAP
    # QBO looks back 30 days at most; a longer gap (the firm was disconnected for weeks) is read
    # from 30 days back and said in the report, since older changes are out of CDC's reach.
    floor = started - CDC_LOOKBACK + dt.timedelta(minutes=5)
    if since < floor:
        since, report.window_clamped = floor, True
        log.warning("firm=%s drift window clamped to 30 days (last poll %s)", connection.firm_id, base)
    aware = since.replace(tzinfo=dt.timezone.utc)
    report.since = aware.isoformat(timespec="seconds")
    return aware


def _fetch_changes(client, since: dt.datetime, firm_id: int, report: DriftReport) -> dict[str, list[dict]]:
    """Everything changed since `since`, complete even when CDC's 1,000-object cap is hit.

    One CDC request covers all entities. A full answer may be cut off, and CDC has no paging and
    no upper bound, so then each entity is asked alone (the cap counts across entities); an
    entity that still fills an answer is read without CDC: its live records by a paged query on
    MetaData.LastUpdatedTime, and its deletions by checking which of our linked ids are gone.
    """
    # The cached lists (chart of accounts, payment methods) ride on the same request: a change to one
    # of them drops the cache, so the next sync reads it afresh instead of every sync reading it.
    lists = list(company_cache.LIST_ENTITIES)
    found = client.cdc(list(ENTITIES) + lists, since)
    report.requests += 1
    total = _size(found)
    changed_lists = [e for e in lists if found.pop(e, None)]
    if total >= CDC_CAP:
        changed_lists = lists  # cut off: some changes may be missing from the answer
    if changed_lists:
        company_cache.forget_lists(firm_id, changed_lists)
    if total < CDC_CAP:
        return found
    report.capped = True
    complete: dict[str, list[dict]] = {}
    for entity in ENTITIES:
        alone = client.cdc([entity], since).get(entity, [])
        report.requests += 1
        if len(alone) < CDC_CAP:
            complete[entity] = alone
        else:
            complete[entity] = _reconcile(client, entity, since, firm_id, report)
    return complete


def _size(found: dict) -> int:
    return sum(len(v) for v in found.values())


def _reconcile(client, entity: str, since: dt.datetime, firm_id: int, report: DriftReport) -> list[dict]:
    """The changes of one entity without CDC (over 1,000 of them in the window)."""
    stamp = client.quote(since.isoformat(timespec="seconds"))
    where = f"MetaData.LastUpdatedTime >= {stamp}"
    if entity in NAME_LISTS:
        where = f"Active IN (true, false) AND {where}"  # a plain SELECT skips inactive ones (ref §5)
    changed = list(client.query_all(entity, where, order_by="Id"))
    report.requests += len(changed) // 1000 + 1
    if entity in NAME_LISTS:
        return changed  # never deleted, only made inactive: the query above sees those
    linked = db.session.scalars(select(QboLink.qbo_id).where(
        QboLink.firm_id == firm_id, QboLink.qbo_type == entity, QboLink.qbo_id.is_not(None))).all()
    alive = set()
    for start in range(0, len(linked), QUERY_IN_CHUNK):
        chunk = linked[start:start + QUERY_IN_CHUNK]
        ids = ", ".join(client.quote(i) for i in chunk)
        alive |= {r["Id"] for r in client.query_all(entity, f"Id IN ({ids})", order_by="Id")}
        report.requests += 1
    gone = [{"Id": i, "status": "Deleted", "domain": "QBO"} for i in linked if i not in alive]
    return changed + gone


# --- applying what changed -----------------------------------------------------------------------


def _apply(firm: Firm, client, since: dt.datetime, changes: dict[str, list[dict]], report: DriftReport) -> None:
    links = _links_for(firm.id, changes)
    candidates: dict[tuple[str, str], dict] = {}
    created_by_us: dict[str, set[str]] = {}
    for entity, records in changes.items():
        for obj in records:
            link = links.get((entity, str(obj.get("Id"))))
            if link is None:
                if entity in DUPLICATE_ENTITIES and _foreign(obj):
                    candidates[(entity, str(obj["Id"]))] = obj
                continue
            if link.excluded:
                continue  # "Do not sync": its problems are silenced
            if _is_deleted(obj) or obj.get("Active") is False:
                _mark_unsynced(firm, link, entity, obj, report)
                continue
            if _newer(obj.get("SyncToken"), link.sync_token):
                _mark_modified(firm, link, entity, obj, report)
            if entity in DUPLICATE_ENTITIES and _created_since(obj, since) and obj.get("TxnDate"):
                created_by_us.setdefault(entity, set()).add(obj["TxnDate"])
    # An entry made by hand before ours was pushed is older than this window: look for it on the
    # dates of what we created (one query per entity, however many records).
    for entity, dates in created_by_us.items():
        entries = _entries_on(client, entity, sorted(dates), report)
        linked = _links_for(firm.id, {entity: entries})
        for obj in entries:
            if _foreign(obj) and (entity, str(obj["Id"])) not in linked:
                candidates.setdefault((entity, str(obj["Id"])), obj)
    for (entity, _), obj in candidates.items():
        report_duplicates(firm, entity, obj, report)


def _foreign(obj: dict) -> bool:
    return not _is_deleted(obj) and not _ours(obj)


def _created_since(obj: dict, since: dt.datetime) -> bool:
    try:
        created = dt.datetime.fromisoformat((obj.get("MetaData") or {}).get("CreateTime", "").replace("Z", "+00:00"))
    except ValueError:
        return False
    return created.tzinfo is not None and created >= since


def _entries_on(client, entity: str, dates: list[str], report: DriftReport) -> list[dict]:
    found = []
    for start in range(0, len(dates), 100):
        listed = ", ".join(client.quote(d) for d in dates[start:start + 100])
        found += list(client.query_all(entity, f"TxnDate IN ({listed})"))
        report.requests += 1
    return found


def _links_for(firm_id: int, changes: dict[str, list[dict]]) -> dict[tuple[str, str], QboLink]:
    found: dict[tuple[str, str], QboLink] = {}
    for entity, records in changes.items():
        ids = list({str(r.get("Id")) for r in records if r.get("Id") is not None})
        for start in range(0, len(ids), QUERY_IN_CHUNK):
            rows = db.session.scalars(select(QboLink).where(
                QboLink.firm_id == firm_id, QboLink.qbo_type == entity,
                QboLink.qbo_id.in_(ids[start:start + QUERY_IN_CHUNK]))).all()
            found.update({(entity, row.qbo_id): row for row in rows})
    return found


def _is_deleted(obj: dict) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"


def _ours(obj: dict) -> bool:
    """Created by the product (our PrivateNote marker): a lost link, not someone else's entry."""
    return MARKER_PREFIX in (obj.get("PrivateNote") or "")


def _newer(theirs, ours) -> bool:
    try:
        return ours is not None and int(theirs) > int(ours)
    except (TypeError, ValueError):
        return False


def _record_of(link: QboLink):
    module = BY_RECORD_TYPE.get(link.record_type)
    return db.session.get(module.MODEL, link.record_id) if module else None


def _mark_unsynced(firm: Firm, link: QboLink, entity: str, obj: dict, report: DriftReport) -> None:
    if link.status == "unsynced":
        return  # known already (the windows overlap)
    record = _record_of(link)
    if record is not None and record.deleted_at is not None:
        return  # deleted in the ledger too: the engine's delete will find nothing left to do
    how = "made inactive" if entity in NAME_LISTS else "deleted"
    what = label_of(link.record_type, record)
    link.status = "unsynced"
    link.reason = f"Its QuickBooks copy ({what}, {entity} {obj['Id']}) was {how} in QuickBooks"[:300]
    case = SELF_DELETED_CASE.get(link.record_type, "unsynced")
    detail = f"QuickBooks {entity} {obj['Id']} was {how} in QuickBooks."
    # The facts word the row and its detail for each reader (catalogue.explain_error, detail_text).
    facts = {"entity": entity, "qbo_id": str(obj["Id"]), "how": "inactive" if entity in NAME_LISTS else "deleted"}
    problems.record(firm.id, link.record_type, link.record_id, case,
                    message=catalogue.explain(case, dependency="itself"), detail=detail,
                    facts={"dependency": "itself", **facts})
    report.unsynced += 1
    report.records.append((case, link.record_type, link.record_id))
    for dep_type, dep_id in dependents_of(firm.id, link.record_type, link.record_id):
        dep_link = db.session.scalar(select(QboLink).where(
            QboLink.firm_id == firm.id, QboLink.record_type == dep_type, QboLink.record_id == dep_id))
        if dep_link is None or dep_link.excluded or not dep_link.qbo_id:
            continue  # not in QBO yet: the engine already waits for the missing dependency
        word = DEPENDENCY_WORDS.get(link.record_type, link.record_type)
        problems.record(firm.id, dep_type, dep_id, "unsynced",
                        message=catalogue.explain("unsynced", dependency=word),
                        detail=f"Its {what} ({entity} {obj['Id']}) was {how} in QuickBooks.",
                        element=_ELEMENTS.get(link.record_type),
                        facts={"dependency": word, "dependency_type": link.record_type,
                               "label": record.label if record is not None else None, **facts})
        report.records.append(("unsynced", dep_type, dep_id))


_ELEMENTS = {"account": "CustomerRef", "service": "Line.SalesItemLineDetail.ItemRef",
             "invoice": "Line.LinkedTxn", "credit_note": "Line.LinkedTxn"}



def _mark_modified(firm: Firm, link: QboLink, entity: str, obj: dict, report: DriftReport) -> None:
    if link.status != "synced":
        # pending: our own change goes out next and overwrites (the engine re-reads a stale
        # SyncToken); unsynced/modified_in_qbo/error/skipped: already someone's decision to make.
        return
    record = _record_of(link)
    if record is None or record.deleted_at is not None:
        return
    if entity in ("Invoice", "CreditMemo"):
        changes = _document_changes(firm, link, record, obj)
        if not changes:
            return  # only a payment was applied (or a field we never send changed)
    else:
        changes = _field_changes(link.record_type, record, obj)
    link.status = "modified_in_qbo"
    link.reason = f"Changed in QuickBooks by someone else (version {link.sync_token} -> {obj.get('SyncToken')})"
    # What changed, in no language (catalogue words it per reader). QuickBooks' MetaData says when
    # (LastUpdatedTime), not who (ref: MetaData{CreateTime,LastUpdatedTime}).
    facts = {"entity": entity, "qbo_id": str(obj["Id"]), "label": record.label,
             "version": str(obj.get("SyncToken")), "ours": link.sync_token,
             "changed": (obj.get("MetaData") or {}).get("LastUpdatedTime"), "written": link.qbo_updated_at,
             "changes": changes}
    problems.record(firm.id, link.record_type, link.record_id, "modified-in-qbo",
                    message=catalogue.explain("modified-in-qbo", "en", link.record_type, **facts),
                    detail=catalogue.modified_detail(facts, link.record_type),
                    element=", ".join(c["field"] for c in changes)[:200] or None,
                    facts={k: v for k, v in facts.items() if v is not None})
    report.modified += 1
    report.records.append(("modified-in-qbo", link.record_type, link.record_id))


def _qbo_id(firm_id: int, record_type: str, record_id: int | None) -> str | None:
    if record_id is None:
        return None
    return db.session.scalar(select(QboLink.qbo_id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id == record_id))


def _text(value) -> str:
    return str(value) if value is not None else ""


def _change(field: str, theirs, ours=None, *, compare_only=False) -> dict:
    """One field changed in QuickBooks, with QuickBooks' value and the ledger's (shortened: facts,
    not copies); `compare_only` leaves ours out (the product's own marker means nothing to a reader)."""
    change = {"field": field, "qbo": _text(theirs)[:200]}
    if not compare_only:
        change["ledger"] = _text(ours)[:200]
    return change


def _document_changes(firm: Firm, link: QboLink, doc, obj: dict) -> list[dict]:
    """The fields we send (qbo/sync/_documents.py) whose QBO value differs from the ledger, each
    with both values where one value says it (the lines: only that they differ)."""
    changes = []
    theirs_total, ours_total = money_of(obj.get("TotalAmt")), money_of(doc.total)
    if theirs_total != ours_total:
        changes.append(_change("TotalAmt", theirs_total, ours_total))
    if obj.get("TxnDate") != doc.date.isoformat():
        changes.append(_change("TxnDate", obj.get("TxnDate"), doc.date.isoformat()))
    customer = obj.get("CustomerRef") or {}
    if customer.get("value") != _qbo_id(firm.id, "account", doc.account_id):
        account = getattr(doc, "account", None)
        changes.append(_change("CustomerRef", customer.get("name") or f"Customer {customer.get('value')}",
                               account.label if account is not None else None))
    if firm.sync_invoice_numbers and obj.get("DocNumber") != doc.number:
        changes.append(_change("DocNumber", obj.get("DocNumber"), doc.number))
    if (obj.get("PrivateNote") or "") != marker(link.record_type, doc.id):
        changes.append(_change("PrivateNote", obj.get("PrivateNote"), compare_only=True))
    memo = (obj.get("CustomerMemo") or {}).get("value") or ""
    if memo != (doc.description or ""):
        changes.append(_change("CustomerMemo", memo, doc.description))
    due = getattr(doc, "due_date", None)
    if due is not None and obj.get("DueDate") != due.isoformat():
        changes.append(_change("DueDate", obj.get("DueDate"), due.isoformat()))
    theirs = [(str((l.get("SalesItemLineDetail") or {}).get("ItemRef", {}).get("value")), money_of(l.get("Amount")))
              for l in obj.get("Line") or [] if l.get("DetailType") == "SalesItemLineDetail"]
    ours = sorted((str(_qbo_id(firm.id, "service", l.service_id)), money_of(l.amount))
                  for l in doc.lines if l.service_id)
    # A line without a service went out on the firm's fallback item (sync/_documents.lines): its
    # amount must be there, on whichever item that is.
    fallback = sorted(money_of(l.amount) for l in doc.lines if not l.service_id)
    left = list(theirs)
    for line in ours:
        if line in left:
            left.remove(line)
    if len(theirs) - len(left) != len(ours) or sorted(amount for _, amount in left) != fallback:
        changes.append({"field": "Line"})
    return changes


# The fields sent for the other record types (qbo/sync/*.to_qbo), by QBO path: the ledger's value
# and whether it is an amount. A changed field we don't send is not listed (the row still says
# that the record was edited).
_SENT_FIELDS = {
    "account": (("DisplayName", "name", False), ("CompanyName", "company_name", False),
                ("PrimaryEmailAddr.Address", "email", False), ("PrimaryPhone.FreeFormNumber", "phone", False)),
    "service": (("Name", "name", False), ("Description", "description", False), ("UnitPrice", "rate", True)),
    "payment": (("TotalAmt", "amount", True), ("TxnDate", "date", False), ("PaymentRefNum", "reference", False)),
    "refund": (("TotalAmt", "amount", True), ("TxnDate", "date", False)),
    "processor_fee": (("TotalAmt", "processor_fee", True), ("TxnDate", "date", False)),
}


def _at(obj: dict, path: str):
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _field_changes(record_type: str, record, obj: dict) -> list[dict]:
    """The simple fields of a name list or money record whose QBO value differs from the ledger."""
    changes = []
    for path, attribute, amount in _SENT_FIELDS.get(record_type, ()):
        theirs, ours = _at(obj, path), getattr(record, attribute, None)
        if amount:
            theirs, ours = money_of(theirs), money_of(ours)
        elif hasattr(ours, "isoformat"):
            ours = ours.isoformat()
        if _text(theirs) != _text(ours):
            changes.append(_change(path, theirs, ours))
    return changes
