"""The firm (tenant) and its people: users with a role, and their API keys.

Every row that belongs to a firm carries `firm_id`; reads go through `qbo.accounts.scoping` so that
no page, API call or job can reach another firm's rows.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from qbo.accounts.permissions import ROLES, can
from qbo.core.db import db
from qbo.core.models import TimestampMixin, utcnow


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
    # The QuickBooks item a line without a service is booked on (found by name, created when missing).
    fallback_item_name: Mapped[str] = mapped_column(String(100), default="Services", server_default="Services")
    payment_method_map: Mapped[dict] = mapped_column(JSON, default=dict)
    invoice_number_prefix: Mapped[str] = mapped_column(String(10), default="INV-")
    next_invoice_number: Mapped[int] = mapped_column(Integer, default=1)
    credit_note_number_prefix: Mapped[str] = mapped_column(String(10), default="CN-")
    next_credit_note_number: Mapped[int] = mapped_column(Integer, default=1)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    sync_accounts_scope: Mapped[str] = mapped_column(String(20), default="all")  # all, with_activity
    cdc_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # How the ledger rounds tax: "line" (each line, half-up: QuickBooks outside the US) or
    # "document" (each rate's taxable total: US sales tax). Set from the QuickBooks company.
    tax_rounding: Mapped[str] = mapped_column(String(10), default="line", server_default="line")
    # US automated sales tax: "quickbooks" (QuickBooks calculates, the ledger adopts its tax) or
    # "ours" (the ledger's tax is sent as a TotalTax override).
    us_sales_tax: Mapped[str] = mapped_column(String(20), default="quickbooks", server_default="quickbooks")
    # Optional: the QuickBooks class and location (Department) every sales document is tagged with.
    qbo_class_id: Mapped[str | None] = mapped_column(String(40))
    qbo_location_id: Mapped[str | None] = mapped_column(String(40))
    # A record pending longer than this is "stuck": counted in the sync status, shown on the desk.
    stuck_after_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # A desk action on more than this many records at once waits for the owner (approve_bulk).
    approval_threshold: Mapped[int] = mapped_column(Integer, default=10, server_default="10")

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
    # In every session as "<id>:<version>" (get_id); bumped by sign-out, a new password or a new
    # role, which ends every session made before (a copied cookie included).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    firm: Mapped[Firm] = relationship(back_populates="users")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version or 1}"

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 1) + 1

    @validates("password_hash", "role")
    def _ends_sessions_on_change(self, key, value):
        if self.id is not None and getattr(self, key) is not None and getattr(self, key) != value:
            self.end_sessions()
        return value

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
