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
import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy import or_, select, update

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import company_cache, tax
from qbo.quickbooks.api.client import request_id_for
from qbo.quickbooks.api.errors import (
    AmbiguousWrite,
    ObjectNotFound,
    QboError,
    RateLimited,
    ReadQuotaExhausted,
    ReconnectNeeded,
    TransientError,
    kind_of,
)
from qbo.quickbooks.connection import client_for_firm, get_connection, note_fault
from qbo.quickbooks.models import QboLink
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.sync import BY_RECORD_TYPE, ORDER, expenses, names, preflight, tieout
from qbo.quickbooks.sync.context import Blocked, SyncContext, Waiting, prefetch_marked
from qbo.quickbooks.sync.marking import mark_pending
from qbo.quickbooks.sync.sender import Op, Sender

log = logging.getLogger("qbo.engine")
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
    # Left pending by a timeout or a transient fault (outcome unknown, or not sent): the job that
    # ran this sync queues a follow-up for them (qbo.quickbooks.jobs.sync_firm_job).
    deferred: int = 0
    unchanged: int = 0
    paused: str | None = None
    by_type: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, {}, 0)} or {"nothing": 0}


def payload_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


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
        with Sender(ctx.client, firm_id) as sender:
            for module in ORDER:
                _sync_type(ctx, module, sender, report, max_rounds)
        # What records waited for may have arrived by another way (a desk action linked it).
        problems.settle_waiting(firm_id)
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
        if isinstance(exc, RateLimited):
            note_fault(firm_id, exc)
        report.paused = f"QuickBooks is busy or unreachable ({type(exc).__name__}); the sync resumes shortly"
        log.warning("firm=%s sync interrupted: %s", firm_id, type(exc).__name__)
    except QboError as exc:
        # A fault about the connection (authorisation, subscription): pause and say why on the
        # banner and the connection card, instead of blaming whichever record was on the wire.
        db.session.rollback()
        _release_claims(firm_id)
        report.paused = note_fault(firm_id, exc) or f"QuickBooks refused the run ({exc.code or exc.status})"
        log.warning("firm=%s sync paused: %s", firm_id, exc)
    return report


def _sync_type(ctx: SyncContext, module, sender: "Sender", report: SyncReport, max_rounds: int) -> None:
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


def _plan_round(ctx: SyncContext, module, links: list[QboLink], report: SyncReport) -> list[Op]:
    records = {r.id: r for r in _load(module, [l.record_id for l in links])}
    ctx.load_open_errors(module.RECORD_TYPE, [l.record_id for l in links])
    lookup_error = None
    if module.NAME_LIST:
        wanted = [records[l.record_id] for l in links if not l.qbo_id and l.record_id in records]
        try:
            module.prefetch([r for r in wanted if r.deleted_at is None], ctx)
        except QboError as exc:
            _stop_if_connection_fault(exc)
            lookup_error = exc  # the round's name lookup failed: each record it was for says so
    else:
        _prefetch_marked(ctx, module, [l for l in links if l.pending_request_id and not l.qbo_id], records)
    ops: list[Op] = []
    for link in links:
        try:
            if lookup_error is not None and module.NAME_LIST and not link.qbo_id:
                raise lookup_error
            op = _plan(ctx, module, link, report, records.get(link.record_id))
        except QboError as exc:
            _stop_if_connection_fault(exc)
            _lookup_failed(ctx, link, exc, report)
            op = None
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


def _marked_key(module, record, ctx: SyncContext) -> tuple | None:
    """How a create of `record` whose outcome was unknown is found again (as find_existing looks):
    by its DocNumber when numbers are synced, else by date and customer; None for a type looked up
    otherwise (a processor fee's vendor)."""
    record_type = module.RECORD_TYPE
    if record_type in ("invoice", "credit_note") and ctx.firm.sync_invoice_numbers:
        return ("DocNumber", record.number)
    if record_type in ("invoice", "credit_note", "payment"):
        account_id = record.account_id
    elif record_type == "refund":
        account_id = record.payment.account_id
    else:
        return None
    customer = ctx.link("account", account_id)
    if customer is None or not customer.qbo_id:
        return None
    return ("TxnDate", record.date.isoformat(), customer.qbo_id)


def _prefetch_marked(ctx: SyncContext, module, links: list[QboLink], records: dict) -> None:
    """The round's unknown outcomes are looked up in one query (per kind), not one per record. A
    failed lookup leaves each record to its own (whose fault then marks that record)."""
    wanted = {}
    for link in links:
        record = records.get(link.record_id)
        key = _marked_key(module, record, ctx) if record is not None and record.deleted_at is None else None
        if key is not None:
            wanted[record.id] = key
    if len(wanted) < 2:
        return
    try:
        prefetch_marked(module.QBO_ENTITY, module.RECORD_TYPE, wanted, ctx)
    except QboError as exc:
        _stop_if_connection_fault(exc)


def _stop_if_connection_fault(error: QboError) -> None:
    """A lookup's fault that is about the connection (or the per-minute throttle) stops the run;
    the monthly read quota does not: writes that need no read go on."""
    if isinstance(error, RateLimited) or (kind_of(error) == "connection"
                                          and not isinstance(error, ReadQuotaExhausted)):
        raise error


def _lookup_failed(ctx: SyncContext, link: QboLink, error: QboError, report: SyncReport) -> None:
    """A QuickBooks read made while planning this record failed (a name or marker lookup, a list):
    the record is marked and the run goes on with the others."""
    if isinstance(error, ReadQuotaExhausted):
        if not ctx.quota_noted:
            ctx.quota_noted = note_fault(link.firm_id, error) is not None
        link.reason = "Waiting for QuickBooks' monthly read allowance (it renews on the 1st)"
        report.waiting += 1
        return
    pending_request_id = link.pending_request_id
    _fail(link, error=error, report=report, ctx=ctx)
    link.pending_request_id = pending_request_id  # nothing was written: an unknown outcome stays unknown
    if kind_of(error) == "transient":
        link.status = "pending"  # the client's retries ran out: the desk says so, the next run tries again


def _finish(ctx: SyncContext, module, in_flight, report: SyncReport) -> None:
    ops, pending = in_flight
    results, error = pending.result()
    _apply_results(ctx, module, ops, results, report)
    if error is not None:
        raise error


def _apply_results(ctx: SyncContext, module, ops: list[Op], results: dict, report: SyncReport) -> None:
    # One query brings back every link of the round (committing the next round's plan expired them).
    db.session.scalars(select(QboLink).where(QboLink.id.in_([op.link_id for op in ops]))).all()
    for op in ops:
        result = results.get(op.bid)
        if op.bid in results:
            _apply(ctx, module, op, result, report)
        if op.bid not in results or isinstance(result, (TransientError, RateLimited)):
            report.deferred += 1  # still pending: the job's follow-up sends it again
            if getattr(result, "status", None) == 200:
                # A fault inside a batch answer QBO keeps: re-sent under the same batch requestid
                # the batch would get that answer again, for ever (ref §1). The item's next try
                # gets a new requestid, and so its batch: a create a new id (still set, so it is
                # looked up first), an update or a delete one more attempt, which is part of its
                # id. An unknown outcome (no readable answer) keeps its id: exactly once holds.
                if op.operation == "create":
                    op.link.pending_request_id = request_id_for(ctx.firm.id, op.link.record_type,
                                                                op.link.record_id, "create", op.link.attempts)
                else:
                    op.link.attempts += 1
        _release(op.link)
    if module.QBO_ENTITY in company_cache.DOC_ENTITIES:
        company_cache.note_doc_numbers(ctx.firm.id, _numbers_taken(ops, results))
    db.session.commit()


def _numbers_taken(ops: list[Op], results: dict):
    """The DocNumbers this round's answers show QuickBooks holds: the ones it stored, and the ones
    it refused as already used (fault 6140)."""
    for op in ops:
        result = results.get(op.bid)
        if isinstance(result, dict):
            yield result.get("DocNumber")
        elif isinstance(result, QboError) and "6140" in result.codes:
            yield op.payload.get("DocNumber")


def _plan(ctx: SyncContext, module, link: QboLink, report: SyncReport, record=None) -> Op | None:
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
        return Op(link, record, "delete", {}, request_id_for(firm.id, link.record_type, link.record_id, "delete",
                                                          link.sync_token, link.attempts), str(link.id))
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
        _record_waiting(link, waiting)
        return None
    except Blocked as blocked:
        _fail(link, catalogue_case=blocked.case, message=blocked.message, element=blocked.facts.get("field"), report=report,
              ctx=ctx, facts=blocked.facts)
        return None
    found = preflight.check(module.RECORD_TYPE, payload) + preflight.check_accounts(module.RECORD_TYPE, payload, ctx.accounts_by_id)
    if found:
        problems.record_problems(firm.id, link.record_type, link.record_id, found)
        _resolve_others(link, {p.case for p in found}, ctx, resolution=problems.SUPERSEDED)
        link.status, link.reason = "error", found[0].message
        report.failed += 1
        return None
    _record_warnings(ctx, link, record)
    digest = payload_hash(payload)
    if link.qbo_id:
        if digest == link.pushed_hash:
            link_result(link, None, digest, ctx)
            report.unchanged += 1
            return None
        # The version updated from is part of the requestid: the same payload sent again after
        # QBO moved on (a reactivation, someone's edit) is a new write, not a replay of the old
        # answer, whose SyncToken would then pass for ours (ref §1). So is the attempt: it grows
        # when QBO answered the last try with a transient fault it keeps (see _apply_results).
        return Op(link, record, "update", payload,
                   request_id_for(firm.id, link.record_type, link.record_id, "update", digest, link.sync_token,
                                  link.attempts), str(link.id))
    if module.NAME_LIST or link.pending_request_id:
        try:
            existing = module.find_existing(record, payload, ctx)
        except Blocked as blocked:  # e.g. a same-named customer in another currency (issue 17)
            _fail(link, catalogue_case=blocked.case, message=blocked.message, element=blocked.facts.get("field"),
                  report=report, ctx=ctx, facts=blocked.facts)
            return None
        if existing is not None:
            link_result(link, existing, None if module.NAME_LIST else digest, ctx)
            report.linked += 1
            if not module.NAME_LIST:
                _tie_out(link, record, payload, existing, "create", report, ctx)
            return None
    if module.RECORD_TYPE == "account" and not firm.create_customers_automatically:
        _fail(link, catalogue_case="account-no-match", report=report, ctx=ctx,
              message=f"No QuickBooks customer is named exactly \"{record.name}\".",
              facts={"kind": "no-customer-named", "name": record.name})
        return None
    request_id = link.pending_request_id or request_id_for(firm.id, link.record_type, link.record_id, "create")
    link.pending_request_id = request_id
    link.attempts += 1
    return Op(link, record, "create", payload, request_id, str(link.id))




def _record_waiting(link: QboLink, waiting: Waiting) -> None:
    """A dependency that will not arrive by itself (skipped, in error, excluded...) gets the waiting
    record a desk row naming it; a dependency merely pending goes first and needs none."""
    if waiting.state is None or waiting.dependency is None:
        return
    dep_type, dep_id = waiting.dependency
    module = BY_RECORD_TYPE.get(dep_type)
    awaited = db.session.get(module.MODEL, dep_id) if module else None
    problems.record_waiting(link.firm_id, link.record_type, link.record_id, waiting.dependency,
                            waiting.state, message=f"{waiting.reason}."[:1000],
                            label=awaited.label if awaited is not None else None)
    # The waiting row says why it is pending: a stuck row would say less.
    problems.resolve(link.firm_id, link.record_type, link.record_id, cases=[problems.STUCK])


def _other_cases(link, keep: set, ctx: SyncContext | None = None) -> list[str]:
    if ctx is not None and not ctx.has_open_errors(link.record_type, link.record_id):
        return []  # most records have none: skip the query
    return [e.case for e in problems.open_errors(link.firm_id, link.record_type, link.record_id)
            if e.case not in keep and e.case not in WARNING_CASES]


def _resolve_others(link, keep: set, ctx: SyncContext | None, resolution: str | None = None) -> list[str]:
    cases = _other_cases(link, keep, ctx)
    if cases:
        kwargs = {"resolution": resolution} if resolution else {}
        problems.resolve(link.firm_id, link.record_type, link.record_id, cases=cases, **kwargs)
    return cases


def _record_warnings(ctx, link, record) -> None:
    by_case: dict[str, list[dict]] = {}
    for case, facts in ctx.warnings.get((link.record_type, record.id), []):
        by_case.setdefault(case, []).append(facts)
    seen = set(by_case)
    for case, found in by_case.items():
        if case == "line-description-fallback":
            # One warning naming every such line (its number, amount and the item it went on).
            problems.record(link.firm_id, link.record_type, link.record_id, case,
                            message=catalogue.explain(case, lines=found),
                            detail=catalogue.fallback_detail(found))
        else:
            problems.record(link.firm_id, link.record_type, link.record_id, case,
                            message=catalogue.explain(case, **found[0]))
    if not ctx.has_open_errors(link.record_type, link.record_id):
        return  # nothing open, so no stale warning to close
    stale = [c for c in WARNING_CASES if c not in seen]
    problems.resolve(link.firm_id, link.record_type, link.record_id, cases=stale, resolution="fixed")


BACK_CASES = ("unsynced", "deleted-invoice-no-resync")  # closing one means the record is back in QBO


def link_result(link: QboLink, entity: dict | None, digest: str | None, ctx: SyncContext | None = None) -> None:
    """The record is in QBO as `entity` (the answer of the product's own write, or the record it
    was linked to): keep its Id, and the SyncToken and LastUpdatedTime of that version, so the CDC
    poll tells the product's writes from someone else's."""
    was_unsynced, old_qbo_id = link.status == "unsynced", link.qbo_id
    if entity is not None:
        link.qbo_id, link.sync_token = str(entity["Id"]), str(entity.get("SyncToken", "0"))
        link.qbo_updated_at = ((entity.get("MetaData") or {}).get("LastUpdatedTime") or None)
        link.qbo_type = BY_RECORD_TYPE[link.record_type].QBO_ENTITY
    if digest is not None:
        link.pushed_hash = digest
    link.status, link.reason, link.pending_request_id = "synced", None, None
    link.last_pushed_at = utcnow()
    # A fix made outside the product (in QBO, or by editing the record) closes errors by itself.
    closed = _resolve_others(link, set(), ctx, resolution="fixed")
    if was_unsynced or set(closed) & set(BACK_CASES):
        _reevaluate_dependents(link, same_copy=old_qbo_id is not None and old_qbo_id == link.qbo_id)


def _reevaluate_dependents(link: QboLink, *, same_copy: bool) -> None:
    """A record deleted in QuickBooks is back: the records that lean on it (error case `unsynced`)
    follow. Brought back as the same copy (a customer or item made active again), their own
    QuickBooks copies point at it again, so their `unsynced` closes now; created anew, they are
    sent again to point at the new copy, and close when that push succeeds."""
    from qbo.quickbooks.models import SyncError
    from qbo.quickbooks.sync.dependents import dependents_of

    firm_id = link.firm_id
    by_type: dict[str, list[int]] = {}
    for dep_type, dep_id in dependents_of(firm_id, link.record_type, link.record_id):
        by_type.setdefault(dep_type, []).append(dep_id)
    for dep_type, ids in by_type.items():
        hit = set(db.session.scalars(select(SyncError.record_id).where(
            SyncError.firm_id == firm_id, SyncError.record_type == dep_type, SyncError.record_id.in_(ids),
            SyncError.case == "unsynced", SyncError.status == "open")))
        module = BY_RECORD_TYPE[dep_type]
        for dep_id in sorted(hit):
            dep_link = db.session.scalar(select(QboLink).where(
                QboLink.firm_id == firm_id, QboLink.record_type == dep_type, QboLink.record_id == dep_id))
            if dep_link is None or dep_link.excluded:
                continue
            record = db.session.get(module.MODEL, dep_id)
            if record is None or _still_deleted(firm_id, module.dependencies(record), link):
                continue  # another of its dependencies is still missing in QuickBooks
            if same_copy and dep_link.qbo_id and dep_link.status != "unsynced":
                problems.resolve(firm_id, dep_type, dep_id, cases=["unsynced"], resolution="fixed")
            else:
                mark_pending(firm_id, dep_type, dep_id)
                dep_link.pushed_hash = None  # sent even though the ledger did not change


def _still_deleted(firm_id: int, dependencies: list, back: QboLink) -> bool:
    others = [(t, i) for t, i in dependencies if (t, i) != (back.record_type, back.record_id)]
    for dep_type, dep_id in others:
        status = db.session.scalar(select(QboLink.status).where(
            QboLink.firm_id == firm_id, QboLink.record_type == dep_type, QboLink.record_id == dep_id))
        if status == "unsynced":
            return True
    return False


def _fail(link: QboLink, *, catalogue_case: str | None = None, error: QboError | None = None,
          message: str = "", element: str | None = None, report: SyncReport,
          ctx: SyncContext | None = None, payload: dict | None = None, facts: dict | None = None) -> None:
    if error is not None:
        # The payload adds what QuickBooks' words don't say (the payment method of a refused name).
        recognised = catalogue.recognise(error, record_type=link.record_type, payload=payload)
        if ctx is not None:
            recognised = with_name_holder(ctx.client, link, recognised)
        problems.record_fault(link.firm_id, link.record_type, link.record_id, recognised)
        case = recognised.case
        link.reason = recognised.message[:300]
    else:
        problems.record(link.firm_id, link.record_type, link.record_id, catalogue_case, message=message,
                        element=element, facts=facts or None)
        case = catalogue_case
        link.reason = message[:300]
    # Another problem of the record replaced the one it had: that row closes, kept in history.
    _resolve_others(link, {case}, ctx, resolution=problems.SUPERSEDED)
    link.status = "error"
    report.failed += 1


def with_name_holder(client, link: QboLink, recognised: catalogue.Recognised) -> catalogue.Recognised:
    """A client account's name refused (6240) names no holder (ref §1): look it up in QuickBooks
    (a few reads, only on that fault) and add who holds it, and a name to rename to, to the facts.
    A lookup that fails leaves the row as it was: it never fails the sync."""
    name = recognised.facts.get("name")
    if recognised.case != "duplicate-name" or link.record_type != "account" or not name:
        return recognised
    try:
        found = names.holder_facts(client, link.firm_id, name, own_id=link.qbo_id)
    except QboError as exc:
        log.info("firm=%s account=%s name holder not looked up: %s", link.firm_id, link.record_id,
                 type(exc).__name__)
        return recognised
    return replace(recognised, facts={**recognised.facts, **found}) if found else recognised


def _apply(ctx, module, op: Op, result, report: SyncReport) -> None:
    link = op.link
    if op.operation == "delete" and isinstance(result, ObjectNotFound):
        result = None  # already gone from QuickBooks: the delete is done
    if isinstance(result, QboError):
        if isinstance(result, TransientError) and result.status is not None \
                and not isinstance(result, AmbiguousWrite):
            # QuickBooks answered with its own trouble (5xx, a SystemFault) after all the client's
            # retries: the desk says so in QuickBooks' words; the record stays pending for the next run.
            recognised = catalogue.recognise(result, record_type=link.record_type)
            problems.record_fault(link.firm_id, link.record_type, link.record_id, recognised)
            link.reason = recognised.message[:300]
            return
        if isinstance(result, (TransientError, RateLimited)):
            return  # outcome unknown: a create keeps pending_request_id and is looked up first
        if isinstance(result, ReadQuotaExhausted):
            link.reason = "Waiting for QuickBooks' monthly read allowance (it renews on the 1st)"
            return
        _fail(link, error=result, report=report, ctx=ctx, payload=op.payload)
        if op.operation == "create":
            link.pending_request_id = None  # refused: nothing was written
        return
    if op.operation == "delete":
        problems.resolve(link.firm_id, link.record_type, link.record_id, resolution="deleted")
        db.session.delete(link)
        report.deleted += 1
        return
    link_result(link, result, payload_hash(op.payload), ctx)
    tax.adopt(module.RECORD_TYPE, op.record, result, ctx)  # issue 17: QuickBooks' US sales tax
    if op.operation == "create":
        report.created += 1
    else:
        report.updated += 1
    report.by_type[module.RECORD_TYPE] = report.by_type.get(module.RECORD_TYPE, 0) + 1
    _tie_out(link, op.record, op.payload, result, op.operation, report, ctx)


def _tie_out(link: QboLink, record, payload: dict, entity: dict, operation: str, report: SyncReport,
             ctx: SyncContext | None = None) -> None:
    """QuickBooks' answer to the write against the ledger (error case `amount-mismatch`); when the
    total of an invoice or credit memo differs because of the tax, the text names the cause."""
    found = tieout.differences(link.record_type, record, payload, entity, operation)
    if not found:
        return
    facts = [d.facts() for d in found]
    cause = None
    if ctx is not None and link.record_type in tax.SALES_DOCS and any(d.field == "TotalAmt" for d in found):
        cause = tax.mismatch_cause_facts(record, entity, ctx.company, ctx.firm.us_sales_tax)
    # The message and detail stay English (API, logs); the facts word the row for each reader.
    message = catalogue.mismatch_text(facts, cause=cause)
    words = catalogue.tax_cause_text(cause) if cause else None
    detail = "; ".join([d.detail() for d in found] + ([f"{catalogue.MISMATCH_CAUSE}{words}"] if words else []))
    problems.record(link.firm_id, link.record_type, link.record_id, "amount-mismatch",
                    message=message, detail=detail[:2000],
                    element=", ".join(dict.fromkeys(d.field for d in found))[:200],
                    facts={"differences": facts, **({"cause": cause} if cause else {})})
    link.status = "error"
    link.reason = (words or message.split(". ")[0])[:300]
    link.pushed_hash = None  # the next push writes it again and checks once more
    report.failed += 1
