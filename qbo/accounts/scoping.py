"""Firm scoping: the only way pages, the API and jobs read firm-owned rows."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select

from qbo.core.db import db

T = TypeVar("T")


class NotFound(LookupError):
    """The record does not exist for this firm (another firm's record looks exactly like this)."""


def scoped(model: type[T], firm_id: int, *, include_deleted: bool = False) -> Select:
    """A SELECT of `model` limited to one firm (and to live rows for soft-deleted ledger records)."""
    stmt = select(model).where(model.firm_id == firm_id)
    if not include_deleted and hasattr(model, "deleted_at"):
        stmt = stmt.where(model.deleted_at.is_(None))
    return stmt


def get_scoped(model: type[T], record_id, firm_id: int) -> T:
    """One firm-owned row by id, or NotFound."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise NotFound(model.__name__) from None
    row = db.session.scalar(scoped(model, firm_id).where(model.id == record_id))
    if row is None:
        raise NotFound(model.__name__)
    return row
