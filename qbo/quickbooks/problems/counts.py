"""What the banner on every page says about the firm's QuickBooks sync."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.ledger.record_types import CATEGORIES, RECORD_TYPES
from qbo.quickbooks import company as company_snapshot
from qbo.quickbooks.api.meter import BUILDER_MONTHLY_READS
from qbo.quickbooks.connection import reads_this_month
from qbo.quickbooks.models import QboConnection, QboLink, SyncError
from qbo.quickbooks.problems.rows import SEVERITY_RANK


@dataclass(frozen=True)
class BannerState:
    needs_reconnect: bool
    open_errors: int
    # Why the sync is paused besides a reconnect: "subscription_ended", "read_quota", "throttled".
    paused: str | None = None
    paused_until: dt.datetime | None = None

    @property
    def show(self) -> bool:
        return self.needs_reconnect or self.open_errors > 0 or self.paused is not None


def connection_pause(connection) -> tuple[str | None, dt.datetime | None]:
    """Why the connection's sync is paused by QuickBooks itself, and until when (None when not)."""
    if connection is None:
        return None, None
    if connection.state == "subscription_ended":
        return "subscription_ended", None
    now = utcnow()
    if connection.reads_blocked_until and connection.reads_blocked_until > now:
        return "read_quota", connection.reads_blocked_until
    if connection.throttled_until and connection.throttled_until > now:
        return "throttled", connection.throttled_until
    return None, None


def _banner(firm_id: int, open_errors: int) -> BannerState:
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm_id))
    paused, until = connection_pause(connection)
    return BannerState(needs_reconnect=connection is not None and connection.state == "needs_reconnect",
                       open_errors=open_errors or 0, paused=paused, paused_until=until)


def banner_state(firm_id: int) -> BannerState:
    open_errors = db.session.scalar(select(func.count()).select_from(SyncError).where(
        SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.severity == "error"))
    return _banner(firm_id, open_errors)




def error_counts(firm_id: int) -> dict[str, int]:
    """Open QuickBooks errors per category (warnings and notes are not errors)."""
    rows = db.session.execute(
        select(SyncError.category, func.count()).where(
            SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.severity == "error")
        .group_by(SyncError.category)).all()
    counts = dict.fromkeys(CATEGORIES, 0)
    counts.update({category: n for category, n in rows if category in counts})
    return counts


def pending_counts(firm_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """How many of the firm's records wait to be sent (`pending`, "Do not sync" ones aside), and how
    many of them have waited longer than the firm's `stuck_after_minutes` (`stuck`)."""
    now = now or utcnow()
    minutes = db.session.scalar(select(Firm.stuck_after_minutes).where(Firm.id == firm_id)) or 15
    pending = (QboLink.firm_id == firm_id, QboLink.status == "pending", QboLink.excluded.is_(False))
    stuck = QboLink.pending_since < now - dt.timedelta(minutes=minutes)
    row = db.session.execute(select(func.count(), func.count().filter(stuck)).select_from(QboLink)
                             .where(*pending)).one()
    return {"pending": row[0] or 0, "stuck": row[1] or 0}


def sync_status(firm_id: int) -> dict:
    """The body of GET /api/v1/sync/status and `flask qbo status --json` (api.md), with the records
    still to send: `pending`, and `stuck` (pending longer than the firm's limit, 15 minutes by default)."""
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm_id))
    state = connection.state if connection is not None else "disconnected"
    counts = error_counts(firm_id)
    paused, until = connection_pause(connection)
    hard = connection.refresh_token_hard_expires_at if connection is not None else None
    return {
        "connection": {"state": state,
                       "realm_id": connection.realm_id if connection is not None else None,
                       "company_name": connection.company_name if connection is not None else None,
                       # Added by issue 14 (extend, never rename): why QuickBooks paused the sync,
                       # and Intuit's metered reads this calendar month (qbo-2025-2026.md §1.1).
                       "paused": paused,
                       "paused_until": until.isoformat() + "Z" if until else None,
                       "state_reason": connection.state_reason if connection is not None else None,
                       "reads_this_month": reads_this_month(connection),
                       "read_allowance": BUILDER_MONTHLY_READS,
                       "refresh_token_hard_expires_at": hard.isoformat() + "Z" if hard else None},
        "counts": counts,
        "total": sum(counts.values()),
        "company": company_snapshot.snapshot_json(company_snapshot.get(firm_id)),  # issue 17
        **pending_counts(firm_id),
    }


def record_label(record_type: str, record) -> str:
    if record is None:
        return f"{record_type} (deleted)"
    if record_type == "processor_fee":
        return f"{(record.processor or 'Processor').title()} fee on {record.label}"
    return record.label


def load_records(errors) -> dict:
    """The ledger records behind a page of errors, loaded with one query per record type."""
    wanted: dict[str, set[int]] = {}
    for e in errors:
        wanted.setdefault(e.record_type, set()).add(e.record_id)
    out = {}
    for record_type, ids in wanted.items():
        model = RECORD_TYPES[record_type].model
        for record in db.session.scalars(select(model).where(model.id.in_(ids))):
            out[(record_type, record.id)] = record
    return out


def error_json(error, record, actions) -> dict:
    iso = lambda d: d.isoformat() + "Z" if d else None  # noqa: E731 (stored as naive UTC)
    return {"id": error.id, "case": error.case, "category": error.category, "severity": error.severity,
            "status": error.status,
            "record": {"type": error.record_type, "id": error.record_id, "label": record_label(error.record_type, record)},
            "code": error.qbo_code, "message": error.message, "detail": error.detail, "element": error.element,
            "first_seen": iso(error.first_seen), "last_seen": iso(error.last_seen),
            "occurrences": error.occurrences, "actions": list(actions),
            "waiting_for": {"type": error.waiting_for_type, "id": error.waiting_for_id}
            if error.waiting_for_type else None,
            # `rename_customer` renames the account to this name (issue 18); null when not offered.
            "proposed_name": (error.facts or {}).get("proposed_name") if "rename_customer" in actions else None}


def errors_query(firm_id: int, *, category=None, case=None, status="open"):
    stmt = select(SyncError).where(SyncError.firm_id == firm_id)
    if status:
        stmt = stmt.where(SyncError.status == status)
    if category:
        stmt = stmt.where(SyncError.category == category)
    if case:
        stmt = stmt.where(SyncError.case == case)
    return stmt.order_by(SyncError.last_seen.desc(), SyncError.id.desc())


# --- counts that stay fast however many errors are open (benches/desk.py measures both) ------------

COUNT_CAP = 999
# A tab's badge only says how full the tab is: "99+" does that, and the tab's own page counts its
# rows up to COUNT_CAP.
TAB_COUNT_CAP = 99
# The desk's order within a tab, errors first then newest: ix_sync_errors_desk (and its _case twin)
# read backwards, so a page, or a capped count, stops after the rows it needs.
DESK_ORDER = (SyncError.severity_rank.desc(), SyncError.last_seen.desc(), SyncError.id.desc())


def capped_label(n: int, cap: int = COUNT_CAP) -> str:
    """A count read up to cap + 1 rows, as staff read it: "999+" past a cap of 999."""
    return f"{cap}+" if n > cap else f"{n}"


def _first(stmt, cap: int):
    """The ids of the first cap + 1 rows of a SELECT of SyncError. Its ORDER BY stays: along an
    index the scan stops there, where PostgreSQL, misjudging how many rows match (category and
    case go together), may read every match in a bitmap scan."""
    return stmt.with_only_columns(SyncError.id).limit(cap + 1).subquery()


def capped_count(stmt, cap: int = COUNT_CAP) -> int:
    """How many rows a SELECT of SyncError has, reading at most cap + 1 of them ("999+")."""
    return db.session.scalar(select(func.count()).select_from(_first(stmt, cap))) or 0


def capped_counts(stmts: dict, cap: int = COUNT_CAP) -> dict:
    """capped_count of each SELECT in `stmts` (key -> statement), all in one round trip."""
    if not stmts:
        return {}
    counts = [select(func.count()).select_from(_first(stmt, cap)).scalar_subquery() for stmt in stmts.values()]
    return dict(zip(stmts, db.session.execute(select(*counts)).one()))


def _open_error_rows(firm_id: int):
    # severity_rank rather than severity: it is in ix_sync_errors_desk, so the count reads the index alone.
    return select(SyncError.id).where(SyncError.firm_id == firm_id, SyncError.status == "open",
                                      SyncError.severity_rank == SEVERITY_RANK["error"])


def error_counts_capped(firm_id: int, cap: int = COUNT_CAP) -> dict[str, int]:
    """error_counts, counting each category only up to cap + 1 (a page shows "999+"): each count
    reads at most cap + 1 rows through ix_sync_errors_desk, so it costs the same at 100,000."""
    return capped_counts({category: _open_error_rows(firm_id).where(SyncError.category == category)
                          .order_by(*DESK_ORDER) for category in CATEGORIES}, cap)


def banner_state_capped(firm_id: int, cap: int = COUNT_CAP) -> BannerState:
    """banner_state with the count capped at cap + 1 (the banner says "999+")."""
    return _banner(firm_id, capped_count(_open_error_rows(firm_id), cap))
