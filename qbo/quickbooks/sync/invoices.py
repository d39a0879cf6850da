"""Invoice -> QBO Invoice (number sent only when the firm syncs invoice numbers)."""
from sqlalchemy.orm import joinedload, selectinload

from qbo.ledger.models import Invoice, InvoiceLine
from qbo.quickbooks.sync import _documents

RECORD_TYPE = "invoice"
QBO_ENTITY = "Invoice"
MODEL = Invoice
NAME_LIST = False
HAS_DEPENDENCIES = True
dependencies = _documents.dependencies


def load_options() -> tuple:
    return (joinedload(Invoice.account), selectinload(Invoice.lines).joinedload(InvoiceLine.service),
            selectinload(Invoice.lines).joinedload(InvoiceLine.tax_rate))


def to_qbo(invoice: Invoice, ctx) -> dict:
    payload = _documents.base_payload(invoice, ctx, RECORD_TYPE)
    if invoice.due_date:
        payload["DueDate"] = invoice.due_date.isoformat()
    return payload


def find_existing(invoice: Invoice, payload: dict, ctx):
    return _documents.find_existing(QBO_ENTITY, RECORD_TYPE, invoice, payload, ctx)
