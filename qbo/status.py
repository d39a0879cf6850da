"""What the banner on every page says about the firm's QuickBooks sync."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from qbo.db import db
from qbo.models import QboConnection, SyncError


@dataclass(frozen=True)
class BannerState:
    needs_reconnect: bool
    open_errors: int

    @property
    def show(self) -> bool:
        return self.needs_reconnect or self.open_errors > 0


def banner_state(firm_id: int) -> BannerState:
    state = db.session.scalar(select(QboConnection.state).where(QboConnection.firm_id == firm_id))
    open_errors = db.session.scalar(select(func.count()).select_from(SyncError).where(
        SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.severity == "error"))
    return BannerState(needs_reconnect=state == "needs_reconnect", open_errors=open_errors or 0)


CATEGORIES = ("accounts", "invoices", "payments", "refunds", "expenses", "services")


def error_counts(firm_id: int) -> dict[str, int]:
    """Open QuickBooks errors per category (warnings and notes are not errors)."""
    rows = db.session.execute(
        select(SyncError.category, func.count()).where(
            SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.severity == "error")
        .group_by(SyncError.category)).all()
    counts = dict.fromkeys(CATEGORIES, 0)
    counts.update({category: n for category, n in rows if category in counts})
    return counts


def sync_status(firm_id: int) -> dict:
    """The body of GET /api/v1/sync/status and `flask qbo status --json` (api.md)."""
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm_id))
    state = connection.state if connection is not None else "disconnected"
    counts = error_counts(firm_id)
    return {
        "connection": {"state": state,
                       "realm_id": connection.realm_id if connection is not None else None,
                       "company_name": connection.company_name if connection is not None else None},
        "counts": counts,
        "total": sum(counts.values()),
    }
