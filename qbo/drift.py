"""Noticing changes made in QuickBooks: a change-data-capture (CDC) poll per connected firm, and
the Intuit webhook that asks for one.

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

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from qbo import catalogue, problems
from qbo.db import db
from qbo.errors import RateLimited, ReconnectNeeded, TransientError
from qbo.models import (CreditNote, CreditNoteLine, Firm, Invoice, InvoiceLine, Payment,
                        PaymentAllocation, PaymentCreditAllocation, QboConnection, QboLink, Refund, SyncError,
                        utcnow)
from qbo.sync import BY_RECORD_TYPE
from qbo.sync.context import MARKER_PREFIX, marker

log = logging.getLogger("qbo.drift")

# The QBO entities our links point at (qbo/sync/*.py QBO_ENTITY), in one CDC request.
ENTITIES = ("Customer", "Item", "Invoice", "CreditMemo", "Payment", "RefundReceipt", "Purchase")
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


class InvalidSignature(Exception):
    """The webhook's intuit-signature is missing or wrong, or no verifier token is configured."""


@dataclass
class DriftReport:
    changes: int = 0
    requests: int = 0
    unsynced: int = 0
    modified: int = 0
    duplicates: int = 0
    capped: bool = False
    window_clamped: bool = False
    since: str | None = None
    paused: str | None = None
    records: list = field(default_factory=list)  # (case, record_type, record_id)

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, False, 0, [])}
        out.pop("records", None)
        return out or {"nothing": 0}


# --- the poll ------------------------------------------------------------------------------------


def poll_changes(firm_id: int, *, client=None) -> DriftReport:
    """Read what changed in the firm's QBO company since the last poll and record the drift."""
    from qbo.connection import client_for_firm, get_connection

    report = DriftReport()
    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        report.paused = "QuickBooks is not connected"
        return report
    started = utcnow()
    since = _window_start(connection, started, report)
    client = client or client_for_firm(firm_id)
    changes = _fetch_changes(client, since, firm_id, report)
    report.changes = sum(len(v) for v in changes.values())
    firm = db.session.get(Firm, firm_id)
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
    found = client.cdc(list(ENTITIES), since)
    report.requests += 1
    if _size(found) < CDC_CAP:
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
        _report_duplicates(firm, entity, obj, report)


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


def _label(record_type: str, record) -> str:
    if record is None:
        return record_type.replace("_", " ")
    if record_type == "processor_fee":
        return f"the processing fee of {record.label}"
    noun = {"account": "customer", "service": "service", "credit_note": "credit note"}.get(
        record_type, record_type.replace("_", " "))
    return f"{noun} \"{record.label}\""


def _mark_unsynced(firm: Firm, link: QboLink, entity: str, obj: dict, report: DriftReport) -> None:
    if link.status == "unsynced":
        return  # known already (the windows overlap)
    record = _record_of(link)
    if record is not None and record.deleted_at is not None:
        return  # deleted in the ledger too: the engine's delete will find nothing left to do
    how = "made inactive" if entity in NAME_LISTS else "deleted"
    what = _label(link.record_type, record)
    link.status = "unsynced"
    link.reason = f"Its QuickBooks copy ({what}, {entity} {obj['Id']}) was {how} in QuickBooks"[:300]
    case = SELF_DELETED_CASE.get(link.record_type, "unsynced")
    detail = f"QuickBooks {entity} {obj['Id']} was {how} in QuickBooks."
    problems.record(firm.id, link.record_type, link.record_id, case,
                    message=catalogue.explain(case, dependency="itself"), detail=detail)
    report.unsynced += 1
    report.records.append((case, link.record_type, link.record_id))
    for dep_type, dep_id in _dependents(firm.id, link.record_type, link.record_id):
        dep_link = db.session.scalar(select(QboLink).where(
            QboLink.firm_id == firm.id, QboLink.record_type == dep_type, QboLink.record_id == dep_id))
        if dep_link is None or dep_link.excluded or not dep_link.qbo_id:
            continue  # not in QBO yet: the engine already waits for the missing dependency
        word = DEPENDENCY_WORDS.get(link.record_type, link.record_type)
        problems.record(firm.id, dep_type, dep_id, "unsynced",
                        message=catalogue.explain("unsynced", dependency=word),
                        detail=f"Its {what} ({entity} {obj['Id']}) was {how} in QuickBooks.",
                        element=_ELEMENTS.get(link.record_type))
        report.records.append(("unsynced", dep_type, dep_id))


_ELEMENTS = {"account": "CustomerRef", "service": "Line.SalesItemLineDetail.ItemRef",
             "invoice": "Line.LinkedTxn", "credit_note": "Line.LinkedTxn"}


def _dependents(firm_id: int, record_type: str, record_id: int) -> list[tuple[str, int]]:
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


def _mark_modified(firm: Firm, link: QboLink, entity: str, obj: dict, report: DriftReport) -> None:
    if link.status != "synced":
        # pending: our own change goes out next and overwrites (the engine re-reads a stale
        # SyncToken); unsynced/modified_in_qbo/error/skipped: already someone's decision to make.
        return
    record = _record_of(link)
    if record is None or record.deleted_at is not None:
        return
    differs = None
    if entity in ("Invoice", "CreditMemo"):
        differs = _document_differences(firm, link, record, obj)
        if not differs:
            return  # only a payment was applied (or a field we never send changed)
    link.status = "modified_in_qbo"
    link.reason = f"Changed in QuickBooks by someone else (version {link.sync_token} -> {obj.get('SyncToken')})"
    what = _label(link.record_type, record)
    detail = (f"QuickBooks {entity} {obj['Id']} ({what}) is at version {obj.get('SyncToken')}; "
              f"the product last wrote version {link.sync_token}.")
    problems.record(firm.id, link.record_type, link.record_id, "modified-in-qbo",
                    message=catalogue.explain("modified-in-qbo"), detail=detail,
                    element=", ".join(differs) if differs else None)
    report.modified += 1
    report.records.append(("modified-in-qbo", link.record_type, link.record_id))


def _money(value) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return None


def _qbo_id(firm_id: int, record_type: str, record_id: int | None) -> str | None:
    if record_id is None:
        return None
    return db.session.scalar(select(QboLink.qbo_id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id == record_id))


def _document_differences(firm: Firm, link: QboLink, doc, obj: dict) -> list[str]:
    """The fields we send (qbo/sync/_documents.py) whose QBO value differs from the ledger."""
    differs = []
    if _money(obj.get("TotalAmt")) != _money(doc.total):
        differs.append("TotalAmt")
    if obj.get("TxnDate") != doc.date.isoformat():
        differs.append("TxnDate")
    if (obj.get("CustomerRef") or {}).get("value") != _qbo_id(firm.id, "account", doc.account_id):
        differs.append("CustomerRef")
    if firm.sync_invoice_numbers and obj.get("DocNumber") != doc.number:
        differs.append("DocNumber")
    if (obj.get("PrivateNote") or "") != marker(link.record_type, doc.id):
        differs.append("PrivateNote")
    if ((obj.get("CustomerMemo") or {}).get("value") or "") != (doc.description or ""):
        differs.append("CustomerMemo")
    due = getattr(doc, "due_date", None)
    if due is not None and obj.get("DueDate") != due.isoformat():
        differs.append("DueDate")
    theirs = sorted((str((l.get("SalesItemLineDetail") or {}).get("ItemRef", {}).get("value")), _money(l.get("Amount")))
                    for l in obj.get("Line") or [] if l.get("DetailType") == "SalesItemLineDetail")
    ours = sorted((str(_qbo_id(firm.id, "service", l.service_id)), _money(l.amount))
                  for l in doc.lines if l.service_id)
    if theirs != ours:
        differs.append("Line")
    return differs


# --- possible duplicates -------------------------------------------------------------------------

LIKELY_CAUSES = {
    "by_hand": "Likely cause: someone entered it by hand in QuickBooks (for example while matching "
               "bank transactions), although the product already creates it.",
    "processor": "Likely cause: the card processor's own QuickBooks connection also posts these "
                 "entries; turn its sync off so that only this product posts them.",
}


def _report_duplicates(firm: Firm, entity: str, obj: dict, report: DriftReport) -> None:
    amount, date = _money(obj.get("TotalAmt")), obj.get("TxnDate")
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
        matches = [("invoice", d) for d in docs if _money(d.total) == amount]
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
        cause = LIKELY_CAUSES["processor" if processor else "by_hand"]
        detail = (f"QuickBooks {entity} {obj['Id']} ({amount} on {date}) was not created by the product "
                  f"and matches {_label(record_type, record)} (QuickBooks {entity} {link.qbo_id}). {cause}")
        problems.record(firm.id, record_type, record.id, "duplicates-in-qbo",
                        message=f"{catalogue.explain('duplicates-in-qbo')} {cause}", detail=detail)
        report.duplicates += 1
        report.records.append(("duplicates-in-qbo", record_type, record.id))


def _already_reported(firm_id: int, record_type: str, record_id: int, entity: str, qbo_id) -> bool:
    details = db.session.scalars(select(SyncError.detail).where(
        SyncError.firm_id == firm_id, SyncError.record_type == record_type, SyncError.record_id == record_id,
        SyncError.case == "duplicates-in-qbo", SyncError.status.in_(("open", "skipped")))).all()
    return any((d or "").startswith(f"QuickBooks {entity} {qbo_id} ") for d in details)


# --- webhooks ------------------------------------------------------------------------------------


def signature_for(raw_body: bytes, verifier: str) -> str:
    """intuit-signature: base64(HMAC-SHA256(key=verifier token, message=raw body)) (ref §8)."""
    return base64.b64encode(hmac.new(verifier.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_signature(raw_body: bytes, signature: str | None, verifier: str | None) -> bool:
    if not verifier or not signature:
        return False
    return hmac.compare_digest(signature_for(raw_body, verifier).encode(), signature.strip().encode())


def realms_in(raw_body: bytes) -> set[str]:
    """The realm ids a webhook body names: legacy `eventNotifications` or a CloudEvents array."""
    payload = json.loads(raw_body)
    realms: set[str] = set()
    if isinstance(payload, dict):
        for note in payload.get("eventNotifications") or []:
            if isinstance(note, dict) and note.get("realmId"):
                realms.add(str(note["realmId"]))
    elif isinstance(payload, list):
        for event in payload:
            if isinstance(event, dict) and event.get("intuitaccountid"):
                realms.add(str(event["intuitaccountid"]))
    else:
        raise ValueError("a webhook body is an object (legacy) or an array (CloudEvents)")
    return realms


def handle_webhook(raw_body: bytes, signature: str | None, verifier: str | None) -> int:
    """Verify an Intuit webhook and queue a poll per connected firm it names (one already waiting
    counts); how many firms.
    Raises InvalidSignature (nothing processed) or ValueError (a body that is not JSON)."""
    if not verify_signature(raw_body, signature, verifier):
        raise InvalidSignature("intuit-signature is missing or does not match")
    realms = realms_in(raw_body)
    if not realms:
        return 0
    firm_ids = db.session.scalars(select(QboConnection.firm_id).where(
        QboConnection.realm_id.in_(sorted(realms)), QboConnection.state == "connected")).all()
    for firm_id in firm_ids:
        enqueue_poll(firm_id)
    return len(firm_ids)


# --- jobs ----------------------------------------------------------------------------------------


def poll_job_id(firm_id: int) -> str:
    return f"drift-poll-firm-{firm_id}"


def enqueue_poll(firm_id: int) -> bool:
    """Queue a poll of the firm unless one is queued already (a burst of webhooks makes one poll;
    one arriving while a poll runs makes one follow-up, as that poll may have read too early)."""
    from qbo.jobs import enqueue_once_or_follow_up

    return enqueue_once_or_follow_up(poll_job_id(firm_id), "qbo.drift.poll_changes_job", firm_id,
                                     job_timeout=POLL_TIMEOUT)


def poll_changes_job(firm_id: int) -> dict:
    """RQ entry: poll the firm's QBO changes. Safe to run twice (a re-read window changes nothing);
    a throttle or an outage leaves cdc_checked_at alone for the next scheduled poll."""
    from qbo.redis_conn import get_redis

    started = time.perf_counter()
    # A follow-up poll may start on another worker while the first still runs: take turns, so
    # that one firm's links are never compared twice at once.
    lock = get_redis().lock(f"qbo:drift-poll:{firm_id}", timeout=POLL_TIMEOUT, blocking_timeout=POLL_TIMEOUT)
    if not lock.acquire():
        return {"paused": "another poll of this firm is still running"}
    try:
        report = poll_changes(firm_id)
    except (RateLimited, TransientError, ReconnectNeeded) as exc:
        db.session.rollback()
        report = DriftReport(paused=f"{type(exc).__name__}: the next poll reads the window again")
    finally:
        try:
            lock.release()
        except Exception:  # expired while polling: nothing to give back
            pass
    log.info("job firm=%s user=- kind=drift-poll ms=%.1f outcome=%s", firm_id,
             (time.perf_counter() - started) * 1000, report.paused or "finished")
    return report.as_dict()


def due_firms(now: dt.datetime | None = None) -> list[int]:
    """Connected firms whose last poll is older than their interval (or that never polled)."""
    now = now or utcnow()
    rows = db.session.execute(select(QboConnection.firm_id, QboConnection.cdc_checked_at,
                                     Firm.cdc_interval_seconds)
                              .join(Firm, Firm.id == QboConnection.firm_id)
                              .where(QboConnection.state == "connected")).all()
    return [firm_id for firm_id, checked, interval in rows
            if checked is None or checked <= now - dt.timedelta(seconds=interval or 60)]


def schedule_polls() -> int:
    """RQ entry (run by worker.py's schedule): queue a poll for every firm that is due."""
    return sum(1 for firm_id in due_firms() if enqueue_poll(firm_id))


def enqueue_schedule() -> None:
    """Queue `schedule_polls` once (several workers ticking together make one job). Redis only,
    no database: worker.py calls it from its parent process, which must not query before forking."""
    from qbo.jobs import enqueue_once

    enqueue_once("drift-schedule", "qbo.drift.schedule_polls", job_timeout=300)
