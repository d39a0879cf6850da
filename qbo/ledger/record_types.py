"""Every record type the product knows, in one registry: what a person calls it, its ledger page,
its tab on the errors desk, and the QuickBooks entity it becomes. The views, the desk, the error
catalogue and the API read these; the QuickBooks side adds one sync module per type
(qbo.quickbooks.sync.BY_RECORD_TYPE, keyed the same). Adding a record type is one row here, one
sync module and their tests."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from qbo.ledger.models import Account, CreditNote, Invoice, Payment, Refund, Service


@dataclass(frozen=True)
class RecordType:
    key: str            # record_type on links and errors: "invoice"
    model: type
    label: object       # lazy text: "Invoice"
    plural: object      # lazy text: "Invoices"
    slug: str           # the ledger page: /invoices (a processor fee lives on its payment's page)
    category: str       # the errors desk tab
    qbo_entity: str     # what it becomes in QuickBooks


RECORD_TYPES: dict[str, RecordType] = {t.key: t for t in (
    RecordType("account", Account, _l("Account"), _l("Accounts"), "accounts", "accounts", "Customer"),
    RecordType("service", Service, _l("Service"), _l("Services"), "services", "services", "Item"),
    RecordType("invoice", Invoice, _l("Invoice"), _l("Invoices"), "invoices", "invoices", "Invoice"),
    RecordType("credit_note", CreditNote, _l("Credit note"), _l("Credit notes"), "credit-notes", "invoices",
               "CreditMemo"),
    RecordType("payment", Payment, _l("Payment"), _l("Payments"), "payments", "payments", "Payment"),
    RecordType("refund", Refund, _l("Refund"), _l("Refunds"), "refunds", "refunds", "RefundReceipt"),
    RecordType("processor_fee", Payment, _l("Processor fee"), _l("Processor fees"), "payments", "expenses",
               "Purchase"),
)}

# The errors desk's tabs, in the order the desk shows them.
CATEGORIES = ("accounts", "invoices", "payments", "refunds", "expenses", "services")
