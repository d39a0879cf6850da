"""The firm, its people, its ledger, and the records that tie the ledger to QuickBooks Online.

Every row that belongs to a firm carries `firm_id`; reads go through `qbo.scoping` so that no page,
API call or job can reach another firm's rows.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import gettext
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from qbo.db import db
from qbo.permissions import ROLES, can

Money = Numeric(14, 2)
Quantity = Numeric(14, 4)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Firm(TimestampMixin, db.Model):
    __tablename__ = "firms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    # QuickBooks sync settings (Settings > Integrations > QuickBooks).
    sync_invoice_numbers: Mapped[bool] = mapped_column(Boolean, default=True)
    create_customers_automatically: Mapped[bool] = mapped_column(Boolean, default=True)
    admins_manage_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    sync_start_date: Mapped[dt.date | None] = mapped_column(Date)
    deposit_account_qbo_id: Mapped[str | None] = mapped_column(String(40))
    card_account_qbo_id: Mapped[str | None] = mapped_column(String(40))
    fee_expense_account_qbo_id: Mapped[str | None] = mapped_column(String(40))
    default_income_account: Mapped[str] = mapped_column(String(100), default="Services")
    payment_method_map: Mapped[dict] = mapped_column(JSON, default=dict)
    invoice_number_prefix: Mapped[str] = mapped_column(String(10), default="INV-")
    next_invoice_number: Mapped[int] = mapped_column(Integer, default=1)
    credit_note_number_prefix: Mapped[str] = mapped_column(String(10), default="CN-")
    next_credit_note_number: Mapped[int] = mapped_column(Integer, default=1)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    sync_accounts_scope: Mapped[str] = mapped_column(String(20), default="all")  # all, with_activity
    cdc_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)

    users: Mapped[list[User]] = relationship(back_populates="firm")


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    firm: Mapped[Firm] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in for deactivated users
        return self.active

    def can(self, permission: str) -> bool:
        return can(self, permission)

    @staticmethod
    def valid_role(role: str) -> bool:
        return role in ROLES


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The key is shown once; only its lookup prefix and a SHA-256 digest are stored.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


# --- The ledger ---------------------------------------------------------------------------------


class LedgerRecord(TimestampMixin):
    """Columns every ledger record shares. A deleted record is kept (soft delete) until its QBO
    counterpart has been deleted or voided, so nothing the sync needs is lost."""

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Account(LedgerRecord, db.Model):
    """A client of the firm; becomes a QBO Customer."""

    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_firm_name", "firm_id", "name"),)
    record_type = "account"
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20), default="company")
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    external_id: Mapped[str | None] = mapped_column(String(100))

    @property
    def label(self) -> str:
        return self.name


class Service(LedgerRecord, db.Model):
    """Something the firm sells; becomes a QBO Item of type Service."""

    __tablename__ = "services"
    __table_args__ = (Index("ix_services_firm_name", "firm_id", "name"),)
    record_type = "service"
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Decimal | None] = mapped_column(Money)
    income_account: Mapped[str | None] = mapped_column(String(100))

    @property
    def label(self) -> str:
        return self.name


class _SalesDocument(LedgerRecord):
    number: Mapped[str] = mapped_column(String(40))
    date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def label(self) -> str:
        return self.number


class Invoice(_SalesDocument, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("firm_id", "number"),)
    record_type = "invoice"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date)

    account: Mapped[Account] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )
    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="invoice")

    @property
    def amount_paid(self) -> Decimal:
        return sum(
            (a.amount for a in self.allocations if a.payment.deleted_at is None), Decimal("0.00")
        )

    @property
    def balance(self) -> Decimal:
        return self.total - self.amount_paid


class _DocumentLine:
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    rate: Mapped[Decimal] = mapped_column(Money)

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.rate).quantize(Decimal("0.01"))


class InvoiceLine(_DocumentLine, db.Model):
    __tablename__ = "invoice_lines"
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    service: Mapped[Service | None] = relationship()


class CreditNote(_SalesDocument, db.Model):
    """A credit the firm grants a client; becomes a QBO CreditMemo."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("firm_id", "number"),)
    record_type = "credit_note"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)

    account: Mapped[Account] = relationship()
    lines: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note", cascade="all, delete-orphan", order_by="CreditNoteLine.position"
    )
    allocations: Mapped[list[PaymentCreditAllocation]] = relationship(back_populates="credit_note")

    @property
    def amount_applied(self) -> Decimal:
        return sum(
            (a.amount for a in self.allocations if a.payment.deleted_at is None), Decimal("0.00")
        )

    @property
    def remaining(self) -> Decimal:
        return self.total - self.amount_applied


class CreditNoteLine(_DocumentLine, db.Model):
    __tablename__ = "credit_note_lines"
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    credit_note: Mapped[CreditNote] = relationship(back_populates="lines")
    service: Mapped[Service | None] = relationship()


class Payment(LedgerRecord, db.Model):
    """Money received from a client, allocated to invoices and credits; an optional card-processor
    fee becomes a QBO Purchase (expense)."""

    __tablename__ = "payments"
    record_type = "payment"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(20))
    processor: Mapped[str | None] = mapped_column(String(40))
    processor_fee: Mapped[Decimal | None] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(String(100))

    account: Mapped[Account] = relationship()
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )
    credit_allocations: Mapped[list[PaymentCreditAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment")

    @property
    def label(self) -> str:
        return gettext("Payment #%(id)s", id=self.id)

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal("0.00"))

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds if r.deleted_at is None), Decimal("0.00"))


class PaymentAllocation(db.Model):
    __tablename__ = "payment_allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship(back_populates="allocations")


class PaymentCreditAllocation(db.Model):
    __tablename__ = "payment_credit_allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="credit_allocations")
    credit_note: Mapped[CreditNote] = relationship(back_populates="allocations")


class Refund(LedgerRecord, db.Model):
    """Money returned to a client against a payment; becomes a QBO RefundReceipt."""

    __tablename__ = "refunds"
    record_type = "refund"
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(1000))

    payment: Mapped[Payment] = relationship(back_populates="refunds")

    @property
    def account(self) -> Account:
        return self.payment.account

    @property
    def label(self) -> str:
        return gettext("Refund #%(id)s", id=self.id)


# --- QuickBooks Online --------------------------------------------------------------------------


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


class JobRun(db.Model):
    """A background job a person or the system asked for; the page polls this row, not Redis."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_firm_created", "firm_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    kind: Mapped[str] = mapped_column(String(40))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued started finished failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_firm_created", "firm_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    record_type: Mapped[str | None] = mapped_column(String(20))
    record_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


LEDGER_MODELS = (Account, Service, Invoice, CreditNote, Payment, Refund)


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
