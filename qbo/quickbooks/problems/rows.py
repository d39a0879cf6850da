"""Recording sync problems as SyncError rows: one open row per record and case.

The rule: a problem seen again on the same record bumps the open row (`occurrences`, `last_seen`,
and QBO's latest words) instead of adding a row; a closed one stays in history and a new open row
starts. Nothing here commits: the caller (engine, job, action) commits with its own work.

Skip. `skip` marks a row skipped (who, when). While the record stays unchanged, the same problem
seen again bumps the skipped row and stays out of the open list. When the record changes in the
ledger, the code that marks it pending calls `lift_skips(firm_id, record_type, record_id)`: the
skipped rows stay in history (resolution "skip_lifted", still showing who skipped), and the next
attempt that hits the same problem opens a new row. A change that fixed it never shows it again.

Two workers at once. The engine claims a record before pushing it, so two workers rarely record a
problem on the same record together. Beyond that: a repeat is one atomic
`UPDATE ... SET occurrences = occurrences + 1` (no read-modify-write, so no lost counts); a first
sighting is inserted inside a SAVEPOINT, and if a unique index refuses it (see below) the insert
turns into the bump. If two rows were nonetheless opened by a race, the next repeat folds them
into the oldest. The database can enforce the rule with a partial unique index on
(firm_id, record_type, record_id, case) WHERE status = 'open' (a model change, not made here).
"""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems.catalogue import CASES, Recognised, category_for

SKIPPED = "skipped"          # resolution of a row skipped by a person and still holding
SKIP_LIFTED = "skip_lifted"  # resolution once the record changed after the skip
SUPERSEDED = "superseded"    # resolution of a row another problem of the same record replaced

# Errors sort first on the desk: ORDER BY severity_rank DESC, last_seen DESC, id DESC runs along
# one index, where ordering by the severity text would sort every open error of a tab.
SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}


def _same(firm_id, record_type, record_id, case):
    return (SyncError.firm_id == firm_id, SyncError.record_type == record_type,
            SyncError.record_id == record_id, SyncError.case == case)


def _bump(conditions, values) -> SyncError | None:
    """Count one more sighting on the matching rows, atomically; fold duplicates into the oldest."""
    ids = sorted(db.session.scalars(
        update(SyncError).where(*conditions)
        .values(occurrences=SyncError.occurrences + 1, **values)
        .returning(SyncError.id)
        .execution_options(synchronize_session=False)).all())
    if not ids:
        return None
    rows = [db.session.get(SyncError, i, populate_existing=True) for i in ids]
    keep, extra = rows[0], rows[1:]
    for row in extra:
        keep.occurrences += row.occurrences - 1
        keep.first_seen = min(keep.first_seen, row.first_seen)
        row.status, row.resolution, row.resolved_at = "resolved", "merged", values["last_seen"]
    return keep


def record(firm_id: int, record_type: str, record_id: int, case: str, *, category: str | None = None,
           code: str | None = None, message: str = "", detail: str | None = None,
           element: str | None = None, waiting_for: tuple[str, int] | None = None,
           facts: dict | None = None) -> SyncError:
    """Open the SyncError for this record and case, or bump the open (or still-skipped) one.
    `waiting_for` (record type, id) names the record a `waiting-for-dependency` row waits for;
    `facts` (JSON-safe, no words) are what its explanation is built from, the latest sighting's."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}")
    category = category or category_for(record_type)
    now = utcnow()
    raw = {"category": category, "qbo_code": code[:10] if code else None, "message": message or "",
           "detail": detail, "element": element[:200] if element else None, "last_seen": now}
    if waiting_for is not None:
        raw["waiting_for_type"], raw["waiting_for_id"] = waiting_for
    if facts:
        raw["facts"] = facts
    same = _same(firm_id, record_type, record_id, case)
    held = _bump((*same, SyncError.status == "skipped", SyncError.resolution == SKIPPED), raw)
    if held is not None:
        return held
    bumped = _bump((*same, SyncError.status == "open"), raw)
    if bumped is not None:
        return bumped
    error = SyncError(firm_id=firm_id, record_type=record_type, record_id=record_id, case=case,
                      severity=CASES[case].severity, severity_rank=SEVERITY_RANK[CASES[case].severity], occurrences=1, first_seen=now, status="open", **raw)
    try:
        with db.session.begin_nested():
            db.session.add(error)
    except IntegrityError:
        # Another worker opened it first (only with the partial unique index): count ours there.
        bumped = _bump((*same, SyncError.status == "open"), raw)
        if bumped is None:
            raise
        return bumped
    return error


def record_fault(firm_id: int, record_type: str, record_id: int, recognised: Recognised) -> SyncError:
    """Record a recognised QBO fault with QBO's own code, message, detail and element."""
    return record(firm_id, record_type, record_id, recognised.case, category=recognised.category,
                  code=recognised.code, message=recognised.message, detail=recognised.detail,
                  element=recognised.element, facts=recognised.stored_facts())


def record_problems(firm_id: int, record_type: str, record_id: int, problems) -> list[SyncError]:
    """Record pre-flight problems (`qbo.preflight.Problem`): one row per case, listing every field.
    The message stays English (API, logs); `facts` keeps each problem's facts, in no language, as
    {"problems": [...]}, for the explanation in the reader's language."""
    by_case: dict[str, list] = {}
    for problem in problems:
        by_case.setdefault(problem.case, []).append(problem)
    return [record(firm_id, record_type, record_id, case,
                   message="; ".join(p.message for p in found),
                   element=", ".join(dict.fromkeys(p.field for p in found)),
                   facts={"problems": [p.facts for p in found]} if all(p.facts for p in found) else None)
            for case, found in by_case.items()]


def resolve(firm_id: int, record_type: str, record_id: int, *, cases=None, resolution: str = "fixed",
            user_id: int | None = None) -> int:
    """Close the record's open errors (all, or only `cases`); how many were closed."""
    query = select(SyncError).where(SyncError.firm_id == firm_id, SyncError.record_type == record_type,
                                    SyncError.record_id == record_id, SyncError.status == "open")
    if cases is not None:
        query = query.where(SyncError.case.in_(list(cases)))
    now = utcnow()
    rows = db.session.scalars(query).all()
    for row in rows:
        row.status, row.resolution, row.resolved_at, row.resolved_by_id = "resolved", resolution, now, user_id
    return len(rows)


def supersede(firm_id: int, record_type: str, record_id: int, case: str) -> int:
    """The record's newest problem is `case`: its other open errors (warnings and notes stay) no
    longer say what is wrong with it, so they close as superseded, kept in history; how many."""
    others = [e.case for e in open_errors(firm_id, record_type, record_id)
              if e.case != case and e.severity == "error"]
    if not others:
        return 0
    return resolve(firm_id, record_type, record_id, cases=others, resolution=SUPERSEDED)


def skip(error: SyncError, user_id: int | None) -> None:
    """Take an open error off the list until its record changes (see `lift_skips`); no-op otherwise."""
    if error.status != "open":
        return
    error.status, error.resolution = "skipped", SKIPPED
    error.resolved_by_id, error.resolved_at = user_id, utcnow()


def lift_skips(firm_id: int, record_type: str, record_id: int) -> int:
    """Call when a record changes in the ledger: its skipped problems may come back on the next push."""
    result = db.session.execute(
        update(SyncError).where(SyncError.firm_id == firm_id, SyncError.record_type == record_type,
                                SyncError.record_id == record_id, SyncError.status == "skipped",
                                SyncError.resolution == SKIPPED)
        .values(resolution=SKIP_LIFTED).execution_options(synchronize_session="fetch"))
    return result.rowcount


def open_errors(firm_id: int, record_type: str, record_id: int) -> list[SyncError]:
    """The record's open errors, oldest first."""
    return list(db.session.scalars(
        select(SyncError).where(SyncError.firm_id == firm_id, SyncError.record_type == record_type,
                                SyncError.record_id == record_id, SyncError.status == "open")
        .order_by(SyncError.first_seen, SyncError.id)))


# --- records that wait (issue 12, part 5) and records stuck pending (part 4) ------------------------

WAITING = "waiting-for-dependency"
STUCK = "stuck-pending"


def record_waiting(firm_id: int, record_type: str, record_id: int, waiting_for: tuple[str, int],
                   state: str, message: str, label: str | None = None) -> SyncError:
    """The record can't go until `waiting_for` does, and that one is stuck (`state`: skipped, error,
    excluded, not_synced, unsynced): a desk row under the record's own tab says so. It closes when
    the record syncs (the engine closes every open row then) or when `settle_waiting` sees the
    awaited record synced. `label` names the awaited record in its facts, so the row is worded in
    the reader's language (the message stays English, for the API)."""
    return record(firm_id, record_type, record_id, WAITING, message=message, detail=state,
                  waiting_for=waiting_for, facts={"label": label} if label else None)


def settle_waiting(firm_id: int) -> int:
    """Close the waiting rows whose awaited record is in QuickBooks now (or no longer linked at
    all); how many were closed. The waiting records themselves are still pending, so the next sync
    sends them."""
    awaited = QboLink.__table__.alias("awaited")
    blocked = exists().where(
        awaited.c.firm_id == firm_id, awaited.c.record_type == SyncError.waiting_for_type,
        awaited.c.record_id == SyncError.waiting_for_id,
        or_(awaited.c.qbo_id.is_(None), awaited.c.excluded.is_(True),
            and_(awaited.c.status != "synced", awaited.c.status != "modified_in_qbo")))
    ids = db.session.scalars(select(SyncError.id).where(
        SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.case == WAITING, ~blocked)).all()
    if not ids:
        return 0
    db.session.execute(update(SyncError).where(SyncError.id.in_(ids), SyncError.status == "open")
                       .values(status="resolved", resolution="fixed", resolved_at=utcnow())
                       .execution_options(synchronize_session="fetch"))
    return len(ids)


def record_stuck(link: QboLink, minutes: int) -> SyncError:
    """A link pending for longer than the firm's limit: a desk row in the record's tab, with the
    engine's last reason. It closes with the record's other rows when the record syncs or fails."""
    since = link.pending_since.strftime("%Y-%m-%d %H:%M") if link.pending_since else None
    reason = f" Last reason: {link.reason}." if link.reason else ""
    message = f"Pending since {since} UTC, longer than {minutes} minutes.{reason}"
    return record(link.firm_id, link.record_type, link.record_id, STUCK, message=message, detail=since)


def settle_stuck(firm_id: int) -> int:
    """Close the stuck rows of records that are no longer pending (synced, in error, excluded,
    deleted); how many were closed."""
    pending = exists().where(QboLink.firm_id == firm_id, QboLink.record_type == SyncError.record_type,
                             QboLink.record_id == SyncError.record_id, QboLink.status == "pending",
                             QboLink.excluded.is_(False))
    ids = db.session.scalars(select(SyncError.id).where(
        SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.case == STUCK, ~pending)).all()
    if ids:
        db.session.execute(update(SyncError).where(SyncError.id.in_(ids), SyncError.status == "open")
                           .values(status="resolved", resolution="fixed", resolved_at=utcnow())
                           .execution_options(synchronize_session="fetch"))
    return len(ids)
