"""What ties the ledger to QuickBooks Online: the connection, one link per record, the errors the
desk shows, and bulk requests waiting for the owner."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from qbo.core.db import db
from qbo.core.models import TimestampMixin, utcnow


class QboConnection(TimestampMixin, db.Model):
    __tablename__ = "qbo_connections"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), unique=True)
    realm_id: Mapped[str | None] = mapped_column(String(40))
    company_name: Mapped[str | None] = mapped_column(String(200))
    # Fernet ciphertexts: tokens never sit in the database in clear.
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    refresh_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(20), default="disconnected")
    state_reason: Mapped[str | None] = mapped_column(String(500))
    connected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_call_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cdc_checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Intuit's 5-year cap on refresh tokens (x_refresh_token_hard_expires_in, qbo-2025-2026.md §1.2).
    refresh_token_hard_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Metered CorePlus reads (qbo-2025-2026.md §1.1): this calendar month's count (UTC, "YYYY-MM"),
    # copied daily from the client's Redis counter so a Redis restart loses nothing.
    reads_month: Mapped[str | None] = mapped_column(String(7))
    reads_this_month: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Intuit refused reads for the month (the quota 429): lookups and CDC wait until then.
    reads_blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The per-minute throttle (429/3001): the sync is paused until then.
    throttled_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class QboLink(db.Model):
    """One per ledger record that has (or should have) a QBO counterpart."""

    __tablename__ = "qbo_links"
    __table_args__ = (
        UniqueConstraint("firm_id", "record_type", "record_id"),
        Index("ix_qbo_links_firm_status", "firm_id", "status"),
        Index("ix_qbo_links_qbo", "firm_id", "qbo_type", "qbo_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int] = mapped_column(Integer)
    qbo_type: Mapped[str | None] = mapped_column(String(30))
    qbo_id: Mapped[str | None] = mapped_column(String(40))
    sync_token: Mapped[str | None] = mapped_column(String(20))
    # MetaData.LastUpdatedTime of the version the product last wrote (or linked), beside its SyncToken.
    qbo_updated_at: Mapped[str | None] = mapped_column(String(40))
    pushed_hash: Mapped[str | None] = mapped_column(String(64))
    # pending, synced, error, unsynced, modified_in_qbo, skipped, not_synced
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Why the record is not (yet) in QuickBooks, in plain words; None once synced.
    reason: Mapped[str | None] = mapped_column(String(300))
    # "Do not sync": the record stays out of QuickBooks and its errors are silenced.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    # A worker claims rows with a conditional UPDATE so two workers never push the same record.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set (and committed) before a create is sent; still set on the next run means the outcome
    # was unknown (timeout, dropped connection, killed worker): look the record up in QBO first.
    pending_request_id: Mapped[str | None] = mapped_column(String(50))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the link last became pending (None when it is not): "stuck" is measured from here, not
    # from updated_at, which every claim moves.
    pending_since: Mapped[dt.datetime | None] = mapped_column(DateTime, default=utcnow)
    last_pushed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SyncError(db.Model):
    """What the desk calls a QuickBooks error: one problem on one record, by case id."""

    __tablename__ = "sync_errors"
    __table_args__ = (
        # The desk's order, errors first then newest (severity_rank DESC, last_seen DESC, id DESC),
        # read backwards along these, so a page and its capped counts cost the same at 100,000.
        Index("ix_sync_errors_desk", "firm_id", "status", "category", "severity_rank", "last_seen", "id"),
        Index("ix_sync_errors_desk_case", "firm_id", "status", "category", "case", "severity_rank", "last_seen", "id"),
        Index("ix_sync_errors_record", "firm_id", "record_type", "record_id"),
        # One open error per record and case, even with several workers recording at once.
        Index("uq_sync_errors_open", "firm_id", "record_type", "record_id", "case", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int] = mapped_column(Integer)
    case: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    qbo_code: Mapped[str | None] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str | None] = mapped_column(Text)
    element: Mapped[str | None] = mapped_column(String(200))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, resolved, skipped
    severity: Mapped[str] = mapped_column(String(10), default="error")  # error, warning, info
    severity_rank: Mapped[int] = mapped_column(Integer, default=2)  # 2 error, 1 warning, 0 info
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(String(40))
    # Case `waiting-for-dependency`: the record this one waits for (it closes when that one syncs).
    waiting_for_type: Mapped[str | None] = mapped_column(String(20))
    waiting_for_id: Mapped[int | None] = mapped_column(Integer)
    # What the row's explanation is built from, in no language: a pre-flight problem's field, value
    # and limit; a refused name's holder in QuickBooks; a payment's method. Words are made at
    # display time, in the reader's language (qbo.quickbooks.problems.catalogue.explain_error).
    facts: Mapped[dict | None] = mapped_column(JSON)


class BulkRequest(db.Model):
    """A bulk action asked for by someone without the approval right: it waits for the owner."""

    __tablename__ = "bulk_requests"
    __table_args__ = (Index("ix_bulk_requests_firm_status", "firm_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    action: Mapped[str] = mapped_column(String(40))
    case: Mapped[str | None] = mapped_column(String(40))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, approved, declined
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    job_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


@event.listens_for(QboLink.status, "set")
def _pending_since(link: QboLink, value, oldvalue, initiator) -> None:
    """Keep pending_since with the status: set when the link becomes pending, cleared when it leaves."""
    if value == "pending":
        if oldvalue != "pending" or link.pending_since is None:
            link.pending_since = utcnow()
    else:
        link.pending_since = None


class QboCompany(db.Model):
    """What the connected QuickBooks company is (qbo/quickbooks/company.py): read from CompanyInfo
    and Preferences at connect, and again when CDC sees Preferences change."""

    __tablename__ = "qbo_companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), unique=True)
    realm_id: Mapped[str] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(3))
    region: Mapped[str] = mapped_column(String(10))  # US, GB, CA, AU, other
    tax_mode: Mapped[str] = mapped_column(String(10))  # ast, manual, non_us, none
    home_currency: Mapped[str] = mapped_column(String(3))
    multicurrency: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_txn_numbers: Mapped[bool] = mapped_column(Boolean, default=False)
    class_tracking: Mapped[bool] = mapped_column(Boolean, default=False)
    class_per_line: Mapped[bool] = mapped_column(Boolean, default=False)
    location_tracking: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{id, name}] of the active classes and locations, read when tracking is on.
    classes: Mapped[list] = mapped_column(JSON, default=list)
    locations: Mapped[list] = mapped_column(JSON, default=list)
    # [{id, name, active, sales, percent, rates: [{id, name, percent}]}]: the sales tax codes.
    tax_codes: Mapped[list] = mapped_column(JSON, default=list)
    # Settings that changed in QuickBooks since connect: [{at, setting, before, after}].
    changes: Mapped[list] = mapped_column(JSON, default=list)
    read_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class QboTaxMapping(db.Model):
    """An admin's choice of QuickBooks tax code for one ledger tax rate (rate_key "rate:<id>"), or
    for lines without a rate ("none"); rates without a row are matched automatically."""

    __tablename__ = "qbo_tax_mappings"
    __table_args__ = (UniqueConstraint("firm_id", "rate_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    rate_key: Mapped[str] = mapped_column(String(30))
    tax_code_id: Mapped[str] = mapped_column(String(40))
    tax_code_name: Mapped[str | None] = mapped_column(String(200))
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
