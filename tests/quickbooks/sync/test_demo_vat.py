"""The second demo firm (issue 17): a UK VAT company with a euro client and an unmapped rate."""
from decimal import Decimal

from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.demo_vat import EURO_CLIENT, VAT_FIRM
from qbo.ledger.models import Account, Invoice
from qbo.quickbooks.models import QboLink, SyncError


def test_it_seeds_a_uk_vat_firm_with_a_euro_client_and_an_unmapped_rate(runner, app, qbo_emulator, qbo_records):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert f"{VAT_FIRM} created and connected to a UK VAT company" in result.output
    firm = db.session.scalar(select(Firm).where(Firm.name == VAT_FIRM))
    held = db.session.scalars(select(SyncError).where(SyncError.firm_id == firm.id, SyncError.status == "open")).all()
    assert [e.case for e in held] == ["tax-code-missing"] and "Zero-rated exports" in held[0].message
    euro = db.session.scalar(select(Account).where(Account.name == EURO_CLIENT))
    invoice = db.session.scalar(select(Invoice).where(Invoice.account_id == euro.id))
    assert invoice.exchange_rate is not None and invoice.exchange_rate != Decimal("1")
    synced = db.session.scalars(select(QboLink.status).where(QboLink.firm_id == firm.id)).all()
    assert synced.count("error") == 1 and set(synced) == {"synced", "error"}
