"""The sync engine: claim pending records, push them to QBO in dependency order and in batches,
link what comes back, and turn every problem into a SyncError through the catalogue.

Exactly once: each create carries a deterministic requestid (QBO replays a repeat, ref §1), and
the id is committed on the link before the request goes out; a link that still carries one on the
next run had an unknown outcome (timeout, dropped connection, killed worker), so the engine looks
the record up in QBO (DocNumber, name, or our PrivateNote marker) and links it instead of creating
it again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from qbo import catalogue, preflight, problems
from qbo.client import request_id_for
from qbo.connection import client_for_firm, get_connection
from qbo.db import db
from qbo.errors import QboError, RateLimited, ReconnectNeeded, StaleSyncToken, TransientError
from qbo.models import Firm, Payment, QboLink, utcnow
from qbo.sync import BY_RECORD_TYPE, ORDER, expenses
from qbo.sync.context import Blocked, SyncContext, Waiting

log = logging.getLogger("qbo.engine")
BATCH_SIZE = 30  # QBO's hard maximum per batch request (ref §3)
CLAIM_FOR = dt.timedelta(minutes=10)
WARNING_CASES = ("line-description-fallback", "description-to-memo")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    linked: int = 0
    deleted: int = 0
    failed: int = 0
    waiting: int = 0
    unchanged: int = 0
    paused: str | None = None
    by_type: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, {}, 0)} or {"nothing": 0}


def payload_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# --- marking -------------------------------------------------------------------------------------


def mark_pending(firm_id: int, record_type: str, record_id: int) -> QboLink:
    """The record changed (or must be pushed): its link goes to pending, created if missing."""
    link = db.session.scalar(select(QboLink).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id == record_id))
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
    mark_pending(record.firm_id, record.record_type, record.id)
    if isinstance(record, Payment) and (expenses.applies(record) or _link_exists(record.firm_id, "processor_fee", record.id)):
        mark_pending(record.firm_id, "processor_fee", record.id)


def _link_exists(firm_id, record_type, record_id) -> bool:
    return db.session.scalar(select(QboLink.id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.record_id == record_id)) is not None


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
            db.session.add(QboLink(firm_id=firm_id, record_type=module.RECORD_TYPE, record_id=record.id,
                                   status="pending"))
            n += 1
    return n


# --- running -------------------------------------------------------------------------------------


def sync_firm(firm_id: int, *, client=None, max_rounds: int = 1000) -> SyncReport:
    """Push everything pending for the firm now; safe to run in several workers at once."""
    report = SyncReport()
    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        report.paused = "QuickBooks is not connected" if connection is None or connection.state == "disconnected" \
            else "QuickBooks needs reconnecting"
        return report
    firm = db.session.get(Firm, firm_id)
    try:
        client = client or client_for_firm(firm_id)
        ctx = SyncContext(firm, client)
        _ensure_dependencies_marked(firm_id)
        db.session.commit()
        for module in ORDER:
            after_id = 0  # a cursor: a record left waiting is not claimed again in this run
            for _ in range(max_rounds):
                links = _claim(firm_id, module.RECORD_TYPE, BATCH_SIZE, after_id=after_id)
                if not links:
                    break
                after_id = max(link.id for link in links)
                _push(ctx, module, links, report)
        connection = get_connection(firm_id)
        connection.last_call_at = utcnow()
        db.session.commit()
    except ReconnectNeeded as exc:
        db.session.rollback()
        report.paused = "QuickBooks needs reconnecting"
        log.warning("firm=%s sync paused: %s", firm_id, exc)
    except (RateLimited, TransientError) as exc:
        db.session.rollback()
        _release_claims(firm_id)
        report.paused = f"QuickBooks is busy or unreachable ({type(exc).__name__}); the sync resumes shortly"
        log.warning("firm=%s sync interrupted: %s", firm_id, type(exc).__name__)
    return report


def _ensure_dependencies_marked(firm_id: int) -> None:
    """A pending record's customer, items and invoices get links too, so they go first."""
    pending = db.session.scalars(select(QboLink).where(QboLink.firm_id == firm_id, QboLink.status == "pending")).all()
    for link in pending:
        module = BY_RECORD_TYPE[link.record_type]
        record = db.session.get(module.MODEL, link.record_id)
        if record is None or record.deleted_at is not None:
            continue
        for record_type, record_id in module.dependencies(record):
            if not _link_exists(firm_id, record_type, record_id):
                mark_pending(firm_id, record_type, record_id)
        db.session.flush()


def _claim(firm_id: int, record_type: str, limit: int, *, after_id: int = 0) -> list[QboLink]:
    """Claim up to `limit` pending links with a conditional UPDATE (cf. healthchecks
    process_one_flip): of two workers racing for a row, exactly one update matches."""
    now = utcnow()
    free = or_(QboLink.claimed_until.is_(None), QboLink.claimed_until < now)
    ids = db.session.scalars(select(QboLink.id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.status == "pending",
        QboLink.excluded.is_(False), QboLink.id > after_id, free).order_by(QboLink.id).limit(limit)).all()
    if not ids:
        return []
    token = uuid.uuid4().hex
    db.session.execute(update(QboLink).where(QboLink.id.in_(ids), free)
                       .values(claim_token=token, claimed_until=now + CLAIM_FOR)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.scalars(select(QboLink).where(QboLink.claim_token == token)).all()


def _release(link: QboLink) -> None:
    link.claim_token, link.claimed_until = None, None


def _release_claims(firm_id: int) -> None:
    db.session.execute(update(QboLink).where(QboLink.firm_id == firm_id, QboLink.claim_token.is_not(None))
                       .values(claim_token=None, claimed_until=None).execution_options(synchronize_session=False))
    db.session.commit()


@dataclass
class _Op:
    link: QboLink
    record: object
    operation: str  # create, update, delete
    payload: dict
    request_id: str
    bid: str


def _push(ctx: SyncContext, module, links: list[QboLink], report: SyncReport) -> None:
    ops: list[_Op] = []
    for link in links:
        op = _plan(ctx, module, link, report)
        if op is not None:
            ops.append(op)
        else:
            _release(link)
    # The requestids are committed before anything is sent: a crash after sending leaves the
    # evidence that the next run must look the record up first.
    db.session.commit()
    if not ops:
        return
    if len(ops) == 1:
        _send_one(ctx, module, ops[0], report)
    else:
        _send_batch(ctx, module, ops, report)
    for op in ops:
        _release(op.link)
    db.session.commit()


def _plan(ctx: SyncContext, module, link: QboLink, report: SyncReport) -> _Op | None:
    record = db.session.get(module.MODEL, link.record_id)
    firm = ctx.firm
    if record is None or (module is expenses and not expenses.applies(record) and not link.qbo_id):
        db.session.delete(link)
        return None
    if record.deleted_at is not None or (module is expenses and not expenses.applies(record)):
        if not link.qbo_id:
            problems.resolve(firm.id, link.record_type, link.record_id, resolution="deleted")
            db.session.delete(link)
            return None
        return _Op(link, record, "delete", {}, request_id_for(firm.id, link.record_type, link.record_id, "delete"),
                   str(link.id))
    record_date = getattr(record, "date", None)
    if firm.sync_start_date and record_date and record_date < firm.sync_start_date and not link.qbo_id:
        link.status, link.reason = "not_synced", f"Dated before the sync start date ({firm.sync_start_date})"
        return None
    ctx.warnings.pop((link.record_type, record.id), None)
    try:
        payload = module.to_qbo(record, ctx)
    except Waiting as waiting:
        link.reason = waiting.reason
        report.waiting += 1
        return None
    except Blocked as blocked:
        _fail(link, catalogue_case=blocked.case, message=blocked.message, element=blocked.facts.get("field"), report=report)
        return None
    found = preflight.check(module.RECORD_TYPE, payload) + preflight.check_accounts(module.RECORD_TYPE, payload, ctx.accounts_by_id)
    if found:
        problems.record_problems(firm.id, link.record_type, link.record_id, found)
        problems.resolve(firm.id, link.record_type, link.record_id,
                         cases=_other_cases(link, {p.case for p in found}))
        link.status, link.reason = "error", found[0].message
        report.failed += 1
        return None
    _record_warnings(ctx, link, record)
    digest = payload_hash(payload)
    if link.qbo_id:
        if digest == link.pushed_hash:
            _linked(link, None, digest)
            report.unchanged += 1
            return None
        version = link.attempts + 1
        return _Op(link, record, "update", payload,
                   request_id_for(firm.id, link.record_type, link.record_id, "update", digest), str(link.id))
    if module.NAME_LIST or link.pending_request_id:
        existing = module.find_existing(record, payload, ctx)
        if existing is not None:
            _linked(link, existing, None if module.NAME_LIST else digest)
            report.linked += 1
            return None
    if module.RECORD_TYPE == "account" and not firm.create_customers_automatically:
        _fail(link, catalogue_case="account-no-match", report=report,
              message=f"No QuickBooks customer is named exactly \"{record.name}\".")
        return None
    request_id = link.pending_request_id or request_id_for(firm.id, link.record_type, link.record_id, "create")
    link.pending_request_id = request_id
    link.attempts += 1
    return _Op(link, record, "create", payload, request_id, str(link.id))


def _other_cases(link, keep: set) -> list[str]:
    return [e.case for e in problems.open_errors(link.firm_id, link.record_type, link.record_id)
            if e.case not in keep and e.case not in WARNING_CASES]


def _record_warnings(ctx, link, record) -> None:
    seen = set()
    for case, facts in ctx.warnings.get((link.record_type, record.id), []):
        if case in seen:
            continue
        seen.add(case)
        problems.record(link.firm_id, link.record_type, link.record_id, case,
                        message=catalogue.explain(case, **facts))
    stale = [c for c in WARNING_CASES if c not in seen]
    problems.resolve(link.firm_id, link.record_type, link.record_id, cases=stale, resolution="fixed")


def _linked(link: QboLink, entity: dict | None, digest: str | None) -> None:
    if entity is not None:
        link.qbo_id, link.sync_token = str(entity["Id"]), str(entity.get("SyncToken", "0"))
        link.qbo_type = BY_RECORD_TYPE[link.record_type].QBO_ENTITY
    if digest is not None:
        link.pushed_hash = digest
    link.status, link.reason, link.pending_request_id = "synced", None, None
    link.last_pushed_at = utcnow()
    # A fix made outside the product (in QBO, or by editing the record) closes errors by itself.
    problems.resolve(link.firm_id, link.record_type, link.record_id,
                     cases=_other_cases(link, set()), resolution="fixed")


def _fail(link: QboLink, *, catalogue_case: str | None = None, error: QboError | None = None,
          message: str = "", element: str | None = None, report: SyncReport) -> None:
    if error is not None:
        recognised = catalogue.recognise(error, record_type=link.record_type)
        problems.record_fault(link.firm_id, link.record_type, link.record_id, recognised)
        case = recognised.case
        link.reason = recognised.message[:300]
    else:
        problems.record(link.firm_id, link.record_type, link.record_id, catalogue_case, message=message,
                        element=element)
        case = catalogue_case
        link.reason = message[:300]
    problems.resolve(link.firm_id, link.record_type, link.record_id, cases=_other_cases(link, {case}))
    link.status = "error"
    report.failed += 1


def _apply(ctx, module, op: _Op, result, report: SyncReport) -> None:
    link = op.link
    if isinstance(result, QboError):
        if op.operation == "create" and isinstance(result, TransientError):
            return  # outcome unknown: pending_request_id stays, the next run looks it up first
        if isinstance(result, (TransientError, RateLimited)):
            return
        _fail(link, error=result, report=report)
        if op.operation == "create":
            link.pending_request_id = None  # refused: nothing was written
        return
    if op.operation == "delete":
        problems.resolve(link.firm_id, link.record_type, link.record_id, resolution="deleted")
        db.session.delete(link)
        report.deleted += 1
        return
    _linked(link, result, payload_hash(op.payload))
    if op.operation == "create":
        report.created += 1
    else:
        report.updated += 1
    report.by_type[module.RECORD_TYPE] = report.by_type.get(module.RECORD_TYPE, 0) + 1


def _send_one(ctx, module, op: _Op, report: SyncReport) -> None:
    client, entity, link = ctx.client, module.QBO_ENTITY, op.link
    try:
        if op.operation == "create":
            result = client.create(entity, op.payload, request_id=op.request_id)
        elif op.operation == "update":
            try:
                result = client.sparse_update(entity, link.qbo_id, link.sync_token, op.payload, request_id=op.request_id)
            except StaleSyncToken:
                # Someone edited it in QBO since our last push: our ledger is the source of truth.
                current = client.read(entity, link.qbo_id)
                result = client.sparse_update(entity, link.qbo_id, current["SyncToken"], op.payload,
                                              request_id=request_id_for(op.request_id, current["SyncToken"]))
        else:
            result = _delete(client, module, link, op.request_id)
    except (RateLimited, ReconnectNeeded):
        raise
    except QboError as error:
        result = error
    _apply(ctx, module, op, result, report)


def _delete(client, module, link: QboLink, request_id: str) -> dict:
    if module.NAME_LIST:
        return client.deactivate(module.QBO_ENTITY, link.qbo_id, link.sync_token, request_id=request_id)
    return client.delete(module.QBO_ENTITY, link.qbo_id, link.sync_token, request_id=request_id)


def _send_batch(ctx, module, ops: list[_Op], report: SyncReport) -> None:
    items = []
    for op in ops:
        link = op.link
        if op.operation == "create":
            items.append({"bId": op.bid, "operation": "create", "entity": module.QBO_ENTITY, "body": op.payload})
        elif op.operation == "update":
            body = dict(op.payload, Id=link.qbo_id, SyncToken=link.sync_token, sparse=True)
            items.append({"bId": op.bid, "operation": "update", "entity": module.QBO_ENTITY, "body": body})
        elif module.NAME_LIST:
            body = {"Id": link.qbo_id, "SyncToken": link.sync_token, "sparse": True, "Active": False}
            items.append({"bId": op.bid, "operation": "update", "entity": module.QBO_ENTITY, "body": body})
        else:
            items.append({"bId": op.bid, "operation": "delete", "entity": module.QBO_ENTITY,
                          "body": {"Id": link.qbo_id, "SyncToken": link.sync_token}})
    batch_id = request_id_for(ctx.firm.id, "batch", *sorted(op.request_id for op in ops))
    try:
        results = ctx.client.batch(items, request_id=batch_id)
    except (RateLimited, ReconnectNeeded):
        raise
    except TransientError:
        return  # creates keep their pending_request_id: looked up before the next attempt
    for op in ops:
        result = results.get(op.bid)
        if result is None:
            continue
        if isinstance(result, StaleSyncToken):
            _send_one(ctx, module, op, report)  # re-read the SyncToken and update alone
            continue
        _apply(ctx, module, op, result, report)
