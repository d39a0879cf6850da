"""The firm's billing ledger: client accounts, services, invoices, credit notes, payments (with
their allocations and card-processor fees) and refunds. Nothing here knows about QuickBooks."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from qbo.core.db import db
from qbo.core.models import TimestampMixin

Money = Numeric(14, 2)
Quantity = Numeric(14, 4)
CENT = Decimal("0.01")


def line_amount(quantity: Decimal, rate: Decimal) -> Decimal:
    """quantity x rate rounded half-up to the cent, as QuickBooks computes a line's Amount: it
    refuses (6070) a line whose Amount is not UnitPrice x Qty so rounded (ref §2, §4 Invoice)."""
    return (quantity * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _live_name_unique(model, name: str) -> Index:
    """One live record per name in a firm, letter case ignored (as QuickBooks compares names).
    Deleted records keep their name but free it, so a client can be entered again."""
    live = model.deleted_at.is_(None)
    return Index(name, model.firm_id, func.lower(model.name), unique=True,
                 sqlite_where=live, postgresql_where=live)


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
    # The currency the client is billed in (ISO 4217); None: the firm's home currency.
    currency: Mapped[str | None] = mapped_column(String(3))

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
    # Tax treatment (qbo/ledger/tax.py): taxable or not, and the rate its lines default to.
    taxable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rates.id"))
    tax_rate: Mapped[TaxRate | None] = relationship()

    @property
    def label(self) -> str:
        return self.name


class _SalesDocument(LedgerRecord):
    number: Mapped[str] = mapped_column(String(40))
    date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    # Home-currency units per unit of the document's currency (its account's); None: home currency.
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    # The tax QuickBooks computed, adopted when the firm lets QuickBooks calculate US sales tax.
    adopted_tax: Mapped[Decimal | None] = mapped_column(Money)

    @property
    def net(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        from qbo.ledger.tax import document_tax

        return document_tax(self)

    @property
    def total(self) -> Decimal:
        """What the client owes: net plus tax (the gross)."""
        return self.net + self.tax

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
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rates.id"))

    @declared_attr
    def tax_rate(cls):
        return relationship("TaxRate")

    @property
    def amount(self) -> Decimal:
        return line_amount(self.quantity, self.rate)


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
    # Home-currency units per unit of the account's currency; None: home currency.
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))

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


_live_name_unique(Account, "ux_accounts_live_name")
_live_name_unique(Service, "ux_services_live_name")


class TaxRate(TimestampMixin, db.Model):
    """A sales tax rate the firm charges (VAT 20%, GST 10%, a US state rate); not synced itself:
    the QuickBooks side maps it to one of the company's tax codes."""

    __tablename__ = "tax_rates"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.percent.normalize():f}%)"


LEDGER_MODELS = (Account, Service, Invoice, CreditNote, Payment, Refund)
