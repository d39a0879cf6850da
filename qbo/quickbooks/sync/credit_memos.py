"""CreditNote -> QBO CreditMemo."""
from sqlalchemy.orm import joinedload, selectinload

from qbo.ledger.models import CreditNote, CreditNoteLine
from qbo.quickbooks.sync import _documents

RECORD_TYPE = "credit_note"
QBO_ENTITY = "CreditMemo"
MODEL = CreditNote
NAME_LIST = False
HAS_DEPENDENCIES = True
dependencies = _documents.dependencies


def load_options() -> tuple:
    return (joinedload(CreditNote.account), selectinload(CreditNote.lines).joinedload(CreditNoteLine.service),
            selectinload(CreditNote.lines).joinedload(CreditNoteLine.tax_rate))


def to_qbo(credit_note: CreditNote, ctx) -> dict:
    return _documents.base_payload(credit_note, ctx, RECORD_TYPE)


def find_existing(credit_note: CreditNote, payload: dict, ctx):
    return _documents.find_existing(QBO_ENTITY, RECORD_TYPE, credit_note, payload, ctx)
