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
        SyncError.firm_id == firm_id, SyncError.status == "open"))
    return BannerState(needs_reconnect=state == "needs_reconnect", open_errors=open_errors or 0)
