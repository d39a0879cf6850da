"""The sync engine: claim pending records, push them to QBO in dependency order and in batches,
link what comes back, and turn every problem into a SyncError through the catalogue.

Exactly once: each create carries a deterministic requestid (QBO replays a repeat, ref §1), and
the id is committed on the link before the request goes out; a link that still carries one on the
next run had an unknown outcome (timeout, dropped connection, killed worker), so the engine looks
the record up in QBO (DocNumber, name, or our PrivateNote marker) and links it instead of creating
it again.
"""
from __future__ import annotations

import collections
import copy
import datetime as dt
import hashlib
import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field

from flask import current_app

from sqlalchemy import or_, select, update

from qbo import catalogue, preflight, problems
from qbo.client import request_id_for
from qbo.connection import client_for_firm, get_connection
from qbo.db import db
from qbo.errors import (LimiterTimeout, QboError, RateLimited, ReconnectNeeded, StaleSyncToken,
                        TransientError)
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
    from qbo.models import CreditNote, Firm, Invoice

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
        with _Sender(ctx.client, firm_id) as sender:
            for module in ORDER:
                _sync_type(ctx, module, sender, report, max_rounds)
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


def _sync_type(ctx: SyncContext, module, sender: "_Sender", report: SyncReport, max_rounds: int) -> None:
    """Push one record type in rounds. A round is queued for sending as soon as it is planned, and
    the one before it is applied while it is on the wire: the sending threads never wait for the
    database work, and at most two rounds are claimed at a time."""
    ctx.forget_links()  # the previous type's links are all applied: read them afresh, once
    in_flight: collections.deque = collections.deque()
    after = 0  # a record left pending this run (waiting, or a transient fault) waits for the next
    try:
        for _ in range(max_rounds):
            links = _claim(ctx.firm.id, module.RECORD_TYPE, sender.round_size, after)
            after = max((l.id for l in links), default=after)
            ops = _plan_round(ctx, module, links, report) if links else []
            if ops:
                in_flight.append((ops, sender.start(ops)))
            if not links:
                break
            while len(in_flight) > 1:
                _finish(ctx, module, in_flight.popleft(), report)
        while in_flight:
            _finish(ctx, module, in_flight.popleft(), report)
    except QboError:
        # What the other rounds had already sent is applied before the error goes up.
        for ops, pending in in_flight:
            results, _ = pending.result()
            _apply_results(ctx, module, ops, results, report)
        raise


def _ensure_dependencies_marked(firm_id: int) -> None:
    """A pending record's customer, items and invoices get links too, so they go first."""
    pending = db.session.execute(select(QboLink.record_type, QboLink.record_id).where(
        QboLink.firm_id == firm_id, QboLink.status == "pending")).all()
    if not pending:
        return
    linked = set(tuple(r) for r in db.session.execute(select(QboLink.record_type, QboLink.record_id).where(
        QboLink.firm_id == firm_id)).all())
    by_type: dict[str, list[int]] = {}
    for record_type, record_id in pending:
        by_type.setdefault(record_type, []).append(record_id)
    for record_type, ids in by_type.items():
        module = BY_RECORD_TYPE[record_type]
        if not module.HAS_DEPENDENCIES:
            continue
        for record in _load(module, ids):
            if record.deleted_at is not None:
                continue
            for dep in module.dependencies(record):
                if dep not in linked:
                    mark_pending(firm_id, *dep)
                    linked.add(dep)
    db.session.flush()


def _load(module, ids):
    """The ledger records behind `ids`, with what `to_qbo` reads, in a few queries."""
    model = module.MODEL
    out = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out += db.session.scalars(select(model).where(model.id.in_(chunk)).options(*module.load_options())).all()
    return out


def _claim(firm_id: int, record_type: str, limit: int, after: int = 0) -> list[QboLink]:
    """Claim up to `limit` pending links (ids above `after`) with a conditional UPDATE (cf.
    healthchecks process_one_flip): of two workers racing for a row, exactly one update matches."""
    now = utcnow()
    free = or_(QboLink.claimed_until.is_(None), QboLink.claimed_until < now)
    ids = db.session.scalars(select(QboLink.id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.status == "pending",
        QboLink.excluded.is_(False), QboLink.id > after, free).order_by(QboLink.id).limit(limit)).all()
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
    # Plain copies for the sending threads, which never touch the ORM session.
    link_id: int = 0
    entity: str = ""
    name_list: bool = False
    qbo_id: str | None = None
    sync_token: str | None = None


def _plan_round(ctx: SyncContext, module, links: list[QboLink], report: SyncReport) -> list[_Op]:
    records = {r.id: r for r in _load(module, [l.record_id for l in links])}
    ctx.load_open_errors(module.RECORD_TYPE, [l.record_id for l in links])
    if module.NAME_LIST:
        wanted = [records[l.record_id] for l in links if not l.qbo_id and l.record_id in records]
        module.prefetch([r for r in wanted if r.deleted_at is None], ctx)
    ops: list[_Op] = []
    for link in links:
        op = _plan(ctx, module, link, report, records.get(link.record_id))
        if op is not None:
            op.link_id, op.entity, op.name_list = link.id, module.QBO_ENTITY, module.NAME_LIST
            op.qbo_id, op.sync_token = link.qbo_id, link.sync_token
            ops.append(op)
        else:
            _release(link)
    # The requestids are committed before anything is sent: a crash after sending leaves the
    # evidence that the next run must look the record up first.
    db.session.commit()
    return ops


def _finish(ctx: SyncContext, module, in_flight, report: SyncReport) -> None:
    ops, pending = in_flight
    results, error = pending.result()
    _apply_results(ctx, module, ops, results, report)
    if error is not None:
        raise error


def _apply_results(ctx: SyncContext, module, ops: list[_Op], results: dict, report: SyncReport) -> None:
    # One query brings back every link of the round (committing the next round's plan expired them).
    db.session.scalars(select(QboLink).where(QboLink.id.in_([op.link_id for op in ops]))).all()
    for op in ops:
        if op.bid in results:
            _apply(ctx, module, op, results[op.bid], report)
        _release(op.link)
    db.session.commit()


def _plan(ctx: SyncContext, module, link: QboLink, report: SyncReport, record=None) -> _Op | None:
    record = record if record is not None else db.session.get(module.MODEL, link.record_id)
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
        _fail(link, catalogue_case=blocked.case, message=blocked.message, element=blocked.facts.get("field"), report=report,
              ctx=ctx)
        return None
    found = preflight.check(module.RECORD_TYPE, payload) + preflight.check_accounts(module.RECORD_TYPE, payload, ctx.accounts_by_id)
    if found:
        problems.record_problems(firm.id, link.record_type, link.record_id, found)
        _resolve_others(link, {p.case for p in found}, ctx)
        link.status, link.reason = "error", found[0].message
        report.failed += 1
        return None
    _record_warnings(ctx, link, record)
    digest = payload_hash(payload)
    if link.qbo_id:
        if digest == link.pushed_hash:
            _linked(link, None, digest, ctx)
            report.unchanged += 1
            return None
        return _Op(link, record, "update", payload,
                   request_id_for(firm.id, link.record_type, link.record_id, "update", digest), str(link.id))
    if module.NAME_LIST or link.pending_request_id:
        existing = module.find_existing(record, payload, ctx)
        if existing is not None:
            _linked(link, existing, None if module.NAME_LIST else digest, ctx)
            report.linked += 1
            return None
    if module.RECORD_TYPE == "account" and not firm.create_customers_automatically:
        _fail(link, catalogue_case="account-no-match", report=report, ctx=ctx,
              message=f"No QuickBooks customer is named exactly \"{record.name}\".")
        return None
    request_id = link.pending_request_id or request_id_for(firm.id, link.record_type, link.record_id, "create")
    link.pending_request_id = request_id
    link.attempts += 1
    return _Op(link, record, "create", payload, request_id, str(link.id))




def _other_cases(link, keep: set, ctx: SyncContext | None = None) -> list[str]:
    if ctx is not None and not ctx.has_open_errors(link.record_type, link.record_id):
        return []  # most records have none: skip the query
    return [e.case for e in problems.open_errors(link.firm_id, link.record_type, link.record_id)
            if e.case not in keep and e.case not in WARNING_CASES]


def _resolve_others(link, keep: set, ctx: SyncContext | None, resolution: str | None = None) -> None:
    cases = _other_cases(link, keep, ctx)
    if cases:
        kwargs = {"resolution": resolution} if resolution else {}
        problems.resolve(link.firm_id, link.record_type, link.record_id, cases=cases, **kwargs)


def _record_warnings(ctx, link, record) -> None:
    seen = set()
    for case, facts in ctx.warnings.get((link.record_type, record.id), []):
        if case in seen:
            continue
        seen.add(case)
        problems.record(link.firm_id, link.record_type, link.record_id, case,
                        message=catalogue.explain(case, **facts))
    if not ctx.has_open_errors(link.record_type, link.record_id):
        return  # nothing open, so no stale warning to close
    stale = [c for c in WARNING_CASES if c not in seen]
    problems.resolve(link.firm_id, link.record_type, link.record_id, cases=stale, resolution="fixed")


def _linked(link: QboLink, entity: dict | None, digest: str | None, ctx: SyncContext | None = None) -> None:
    if entity is not None:
        link.qbo_id, link.sync_token = str(entity["Id"]), str(entity.get("SyncToken", "0"))
        link.qbo_type = BY_RECORD_TYPE[link.record_type].QBO_ENTITY
    if digest is not None:
        link.pushed_hash = digest
    link.status, link.reason, link.pending_request_id = "synced", None, None
    link.last_pushed_at = utcnow()
    # A fix made outside the product (in QBO, or by editing the record) closes errors by itself.
    _resolve_others(link, set(), ctx, resolution="fixed")


def _fail(link: QboLink, *, catalogue_case: str | None = None, error: QboError | None = None,
          message: str = "", element: str | None = None, report: SyncReport,
          ctx: SyncContext | None = None) -> None:
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
    _resolve_others(link, {case}, ctx)
    link.status = "error"
    report.failed += 1


def _apply(ctx, module, op: _Op, result, report: SyncReport) -> None:
    link = op.link
    if isinstance(result, QboError):
        if isinstance(result, (TransientError, RateLimited)):
            return  # outcome unknown: a create keeps pending_request_id and is looked up first
        _fail(link, error=result, report=report, ctx=ctx)
        if op.operation == "create":
            link.pending_request_id = None  # refused: nothing was written
        return
    if op.operation == "delete":
        problems.resolve(link.firm_id, link.record_type, link.record_id, resolution="deleted")
        db.session.delete(link)
        report.deleted += 1
        return
    _linked(link, result, payload_hash(op.payload), ctx)
    if op.operation == "create":
        report.created += 1
    else:
        report.updated += 1
    report.by_type[module.RECORD_TYPE] = report.by_type.get(module.RECORD_TYPE, 0) + 1


# --- sending -------------------------------------------------------------------------------------


class _Reserved:
    """The limiter as one request sees it when the engine already holds its first slot: the first
    acquire hands that lease over, any retry queues like every other request."""

    def __init__(self, limiter, lease):
        self._limiter, self._lease = limiter, lease

    def acquire(self, realm_id, *, batch=False, timeout=None):
        if self._lease is not None:
            lease, self._lease = self._lease, None
            return lease
        return self._limiter.acquire(realm_id, batch=batch, timeout=timeout)

    def __getattr__(self, name):
        return getattr(self._limiter, name)


class _Sender:
    """Sends operations over up to `concurrent` requests in flight (ref §3: 10 per realm).

    QBO's ceiling is 40 batches of 30 a minute plus the 460 single requests left of the 500
    (1,660 writes a minute), and batches alone reach only 1,200. So each sending thread takes
    whichever slot the shared limiter gives first, deciding in one step: a batch slot for up to 30
    operations while one is free, else a plain request slot for one.

    The threads live as long as the sender and serve one queue that rounds are appended to, so the
    next round is on the wire while the previous one's last answers arrive and are applied: a
    request slot left unused is gone for good (the 10-a-second window moves on). Only HTTP happens
    in the threads; the database work stays in the caller's thread (SQLAlchemy sessions are not
    thread-safe), which applies one round and plans the next meanwhile.
    """

    def __init__(self, client, firm_id: int):
        self.client, self.firm_id = client, firm_id
        self.limiter = getattr(client, "limiter", None)
        self.concurrent = max(1, int(getattr(self.limiter, "concurrent", 4) or 4))
        self.round_size = BATCH_SIZE * self.concurrent
        self.app = current_app._get_current_object()
        self.queue: collections.deque[tuple[_Round, _Op]] = collections.deque()
        self.ready = threading.Condition()
        self.turn = threading.Lock()  # whose turn it is to ask the limiter for a slot
        self.closed = False
        self.error: BaseException | None = None  # fatal for the whole run: stop sending
        self.threads: list[threading.Thread] = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            self._stop(exc)  # the run is over: what is still queued stays pending, unsent
        with self.ready:
            self.closed = True
            self.ready.notify_all()
        for thread in self.threads:
            thread.join()

    def start(self, ops: list[_Op]) -> Future:
        """Queue `ops` for sending; the future gives ({bid: result}, first fatal error)."""
        work = _Round(len(ops))
        with self.ready:
            if self.error is not None:
                work.future.set_result(({}, self.error))
                return work.future
            self.queue.extend((work, op) for op in ops)
            self.ready.notify_all()
        while len(self.threads) < min(self.concurrent, len(self.queue)):
            thread = threading.Thread(target=self._serve, name="qbo-send", daemon=True)
            self.threads.append(thread)
            thread.start()
        return work.future

    def _serve(self) -> None:
        with self.app.app_context():
            while True:
                with self.ready:
                    while not self.queue and not self.closed:
                        self.ready.wait()
                    if not self.queue:
                        return
                taken: list[tuple[_Round, _Op]] = []
                try:
                    # One thread at a time asks the limiter: the others wait here instead of all
                    # polling Redis, and the GIL churn of ten pollers can't delay a request that
                    # already holds its slot (QBO counts it when it arrives, ref §3).
                    with self.turn:
                        if not self.queue:
                            continue  # the threads ahead in turn took the last ones
                        lease = self._slot(len(self.queue))
                        taken = self._take(BATCH_SIZE if lease is None or lease.batch else 1)
                    if not taken:
                        if lease is not None:
                            lease.release()  # the run stopped meanwhile
                        continue
                    client = self._client(lease)
                    ops = [op for _, op in taken]
                    found = {ops[0].bid: _send_one(client, ops[0])} if len(ops) == 1 \
                        else _send_batch(client, ops, self.firm_id)
                except Exception as exc:  # RateLimited, ReconnectNeeded, or a bug: stop the run
                    self._stop(exc)
                    found = {}
                for work, op in taken:
                    work.done(op.bid, found.get(op.bid, _MISSING), self)
                # The client may have read the connection's tokens: give the database connection
                # back between requests rather than holding one per thread for the whole sync.
                db.session.remove()

    def _take(self, n: int) -> list[tuple["_Round", _Op]]:
        with self.ready:
            if self.error is not None:
                return []
            return [self.queue.popleft() for _ in range(min(n, len(self.queue)))]

    def _stop(self, exc: BaseException) -> None:
        """A fatal error: nothing more is sent; every queued operation ends without a result."""
        with self.ready:
            self.error = self.error or exc
            dropped = list(self.queue)
            self.queue.clear()
        for work, op in dropped:
            work.done(op.bid, _MISSING, self)

    def _slot(self, left: int):
        """A lease already taken (`lease.batch` says which kind), or None without a limiter."""
        limiter = self.limiter
        if limiter is None:
            return None
        realm = self.client.realm_id
        deadline = time.monotonic() + limiter.timeout
        while True:
            lease, wait = limiter.try_acquire(realm, batch_if_free=left > 1)
            if lease is not None:
                return lease
            if time.monotonic() > deadline:
                raise LimiterTimeout(f"QBO limiter: no slot for realm {realm} in time", retry_after=wait)
            wait = max(0.002, wait)
            time.sleep(wait + random.uniform(0, 0.002 + wait * 0.1))

    def _client(self, lease):
        if lease is None:
            return self.client
        client = copy.copy(self.client)
        client.limiter = _Reserved(self.limiter, lease)
        return client


_MISSING = object()  # sent without a readable answer (outcome unknown), or never sent


class _Round:
    """One round's operations: its future resolves when every one of them has an outcome."""

    def __init__(self, size: int):
        self.outstanding = size
        self.results: dict[str, object] = {}
        self.lock = threading.Lock()
        self.future: Future = Future()
        if size == 0:
            self.future.set_result(({}, None))

    def done(self, bid: str, result, sender: _Sender) -> None:
        with self.lock:
            if result is not _MISSING:
                self.results[bid] = result
            self.outstanding -= 1
            finished = self.outstanding == 0
        if finished:
            self.future.set_result((self.results, sender.error))


def _send_one(client, op: _Op):
    """One operation alone; returns the entity or the QboError (RateLimited and ReconnectNeeded raise)."""
    try:
        if op.operation == "create":
            return client.create(op.entity, op.payload, request_id=op.request_id)
        if op.operation == "update":
            try:
                return client.sparse_update(op.entity, op.qbo_id, op.sync_token, op.payload, request_id=op.request_id)
            except StaleSyncToken:
                # Someone edited it in QBO since our last push: our ledger is the source of truth.
                current = client.read(op.entity, op.qbo_id)
                return client.sparse_update(op.entity, op.qbo_id, current["SyncToken"], op.payload,
                                            request_id=request_id_for(op.request_id, current["SyncToken"]))
        if op.name_list:
            return client.deactivate(op.entity, op.qbo_id, op.sync_token, request_id=op.request_id)
        return client.delete(op.entity, op.qbo_id, op.sync_token, request_id=op.request_id)
    except (RateLimited, ReconnectNeeded):
        raise
    except QboError as error:
        return error


def _send_batch(client, ops: list[_Op], firm_id: int) -> dict:
    items = []
    for op in ops:
        if op.operation == "create":
            items.append({"bId": op.bid, "operation": "create", "entity": op.entity, "body": op.payload})
        elif op.operation == "update":
            body = dict(op.payload, Id=op.qbo_id, SyncToken=op.sync_token, sparse=True)
            items.append({"bId": op.bid, "operation": "update", "entity": op.entity, "body": body})
        elif op.name_list:
            body = {"Id": op.qbo_id, "SyncToken": op.sync_token, "sparse": True, "Active": False}
            items.append({"bId": op.bid, "operation": "update", "entity": op.entity, "body": body})
        else:
            items.append({"bId": op.bid, "operation": "delete", "entity": op.entity,
                          "body": {"Id": op.qbo_id, "SyncToken": op.sync_token}})
    batch_id = request_id_for(firm_id, "batch", *sorted(op.request_id for op in ops))
    try:
        results = client.batch(items, request_id=batch_id)
    except (RateLimited, ReconnectNeeded):
        raise
    except TransientError:
        return {}  # creates keep their pending_request_id: looked up before the next attempt
    out = {}
    for op in ops:
        result = results.get(op.bid)
        if result is None:
            continue
        if isinstance(result, StaleSyncToken):
            result = _send_one(client, op)  # re-read the SyncToken and update alone
        out[op.bid] = result
    return out
