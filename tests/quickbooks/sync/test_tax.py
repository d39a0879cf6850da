"""Sales tax through the sync, against each emulated company profile (issue 17): mixed taxable
and exempt lines sync and tie out to the cent; an unmapped rate stops before any request."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make, make_account, make_service

NYC = {"Line1": "1 Broadway", "City": "New York", "CountrySubDivisionCode": "NY", "PostalCode": "10004",
       "Country": "USA"}


def _invoice(firm, percent, name="Standard"):
    rate = ledger_tax.save_rate(firm, {"name": name, "percent": percent})
    taxed = make_service(firm, tax_rate_id=rate.id)
    exempt = make_service(firm)
    invoice = make("invoices", firm, account_id=make_account(firm).id, date="2026-11-02", lines=[
        {"service_id": taxed.id, "quantity": "3", "rate": "33.33"},
        {"service_id": taxed.id, "quantity": "1", "rate": "10.05"},
        {"service_id": exempt.id, "quantity": "1", "rate": "50.00"}])
    return rate, invoice


def _qbo_invoice(qbo_records, realm):
    return next(i for i in qbo_records("Invoice", realm) if i.get("status") != "Deleted")


def _synced(firm_id, record_type="invoice"):
    link = db.session.scalar(select(QboLink).where(QboLink.firm_id == firm_id, QboLink.record_type == record_type))
    assert link.status == "synced", link.reason
    return link


@pytest.mark.parametrize("profile, percent, code", [("uk-vat", "20", "20.0% S"), ("au-gst", "10", "GST"),
                                                    ("ca-gst-hst", "13", "HST ON")])
def test_it_sends_a_tax_code_per_line_and_ties_out_to_the_cent(connect_company, drain, qbo_records,
                                                               profile, percent, code):
    owner = connect_company(profile)
    rate, invoice = _invoice(owner.firm, percent)
    drain(owner.firm_id)
    _synced(owner.firm_id)
    qbo = _qbo_invoice(qbo_records, owner.realm_id)
    codes = {c["Id"]: c["Name"] for c in qbo_records("TaxCode", owner.realm_id)}
    assert [codes[l["SalesItemLineDetail"]["TaxCodeRef"]["value"]] for l in qbo["Line"]
            if l["DetailType"] == "SalesItemLineDetail"][:2] == [code, code]
    assert Decimal(str(qbo["TxnTaxDetail"]["TotalTax"])) == invoice.tax
    assert Decimal(str(qbo["TotalAmt"])) == invoice.total == invoice.net + invoice.tax


def test_it_rounds_tax_per_line_half_up_outside_the_us(connect_company):
    owner = connect_company("uk-vat")
    _, invoice = _invoice(owner.firm, "20")
    # 99.99 * 20% = 19.998 -> 20.00; 10.05 * 20% = 2.01: per line, not 22.008 on the sum
    assert [ledger_tax.line_tax(l) for l in invoice.lines] == [Decimal("20.00"), Decimal("2.01"), Decimal("0.00")]
    assert invoice.tax == Decimal("22.01") and invoice.net == Decimal("160.04")


def test_it_stops_an_unmapped_rate_before_any_request(connect_company, drain, qbo_emulator, qbo_records):
    owner = connect_company("uk-vat")
    rate, invoice = _invoice(owner.firm, "7.5", name="Odd rate")
    before = max(r["seq"] for r in qbo_emulator.control("GET", "/requests").json())
    drain(owner.firm_id)
    sent = qbo_emulator.control("GET", f"/requests?since={before}").json()
    assert not [r for r in sent if r["method"] == "POST" and "invoice" in r["path"].lower()]
    error = db.session.scalar(select(SyncError).where(SyncError.record_type == "invoice"))
    assert error.case == "tax-code-missing" and "Odd rate" in error.message and "20.0% S (20%)" in error.message
    assert not qbo_records("Invoice", owner.realm_id)


def test_it_needs_a_zero_rate_code_for_lines_without_a_rate(connect_company):
    from qbo.quickbooks import company, tax

    owner = connect_company("au-gst")
    assert tax.code_for(owner.firm_id, None, company.get(owner.firm_id))["name"] == "FRE"


@pytest.mark.parametrize("mode", ["quickbooks", "ours"])
def test_it_ties_out_a_us_ast_invoice_in_either_mode(connect_company, drain, qbo_records, mode):
    owner = connect_company("us-ast", address=NYC)
    owner.firm.us_sales_tax = mode
    db.session.commit()
    rate, invoice = _invoice(owner.firm, "8.875", name="NYC sales tax")
    drain(owner.firm_id)
    _synced(owner.firm_id)
    qbo = _qbo_invoice(qbo_records, owner.realm_id)
    db.session.refresh(invoice)
    assert Decimal(str(qbo["TotalAmt"])) == invoice.total
    assert Decimal(str(qbo["TxnTaxDetail"]["TotalTax"])) == invoice.tax
    assert (invoice.adopted_tax is not None) == (mode == "quickbooks")


def test_it_sends_our_tax_to_a_us_manual_tax_company(connect_company, drain, qbo_records):
    owner = connect_company("us-manual-tax")
    rate, invoice = _invoice(owner.firm, "7.25", name="California")
    drain(owner.firm_id)
    _synced(owner.firm_id)
    qbo = _qbo_invoice(qbo_records, owner.realm_id)
    assert Decimal(str(qbo["TxnTaxDetail"]["TotalTax"])) == invoice.tax == Decimal("7.98")
    assert Decimal(str(qbo["TotalAmt"])) == invoice.total


def test_it_reads_the_tax_codes_again_before_holding_an_invoice_back(connect_company, drain, qbo_emulator):
    from qbo.quickbooks import company

    owner = connect_company("uk-vat")
    snapshot = company.get(owner.firm_id)
    snapshot.tax_codes = [c for c in snapshot.tax_codes if c["name"] != "20.0% S"]  # as if read before it existed
    db.session.commit()
    _invoice(owner.firm, "20")
    drain(owner.firm_id)
    _synced(owner.firm_id)
    assert "20.0% S" in [c["name"] for c in company.get(owner.firm_id).tax_codes]


def test_it_names_the_cause_of_a_tax_difference_for_the_tie_out(connect_company, drain, qbo_records, qbo_emulator):
    from qbo.quickbooks import company, tax

    owner = connect_company("uk-vat")
    _, invoice = _invoice(owner.firm, "20")
    drain(owner.firm_id)
    qbo = _qbo_invoice(qbo_records, owner.realm_id)
    assert tax.mismatch_cause(invoice, qbo, company.get(owner.firm_id)) is None
    qbo["TxnTaxDetail"]["TotalTax"] = 30.0  # as if a line's code had been changed in QuickBooks
    assert "check the Tax screen's mapping" in tax.mismatch_cause(invoice, qbo, company.get(owner.firm_id))


def _ast_mismatch(connect_company, qbo_emulator):
    """A us-ast company where QuickBooks calculates: the invoice's create answer is lost, the next
    run links the copy QuickBooks taxed at New York's 8.875% against the ledger's own 8%."""
    from qbo.quickbooks.connection import client_for_firm
    from qbo.quickbooks.sync.engine import sync_firm

    owner = connect_company("us-ast", address=NYC)
    _, invoice = _invoice(owner.firm, "8", name="Old state rate")
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "invoice", "method": "POST"}, "times": 1,
                                                  "drop_after_commit": True}).raise_for_status()
    sync_firm(owner.firm_id, client=client_for_firm(owner.firm_id, max_retries=0))
    assert sync_firm(owner.firm_id).linked == 1
    return owner, invoice, db.session.scalar(select(SyncError).where(SyncError.record_type == "invoice"))


def test_it_names_the_tax_as_the_cause_of_an_amount_mismatch(connect_company, qbo_emulator, qbo_records):
    from qbo.quickbooks.problems.catalogue import explain_error

    owner, invoice, error = _ast_mismatch(connect_company, qbo_emulator)
    qbo = _qbo_invoice(qbo_records, owner.realm_id)
    assert error.case == "amount-mismatch" and f"automated sales tax came to {qbo['TxnTaxDetail']['TotalTax']}" \
        in error.message and f"the ledger's own tax is {invoice.tax}" in error.message
    assert "Resync adopts it" in explain_error(error) and "Cause: QuickBooks' automated sales tax" in error.detail


def test_it_words_the_tax_cause_of_a_difference_for_each_reader(connect_company, qbo_emulator, qbo_records):
    from qbo.quickbooks.problems.catalogue import detail_text, explain_error

    owner, invoice, error = _ast_mismatch(connect_company, qbo_emulator)
    theirs = f"{Decimal(str(_qbo_invoice(qbo_records, owner.realm_id)['TxnTaxDetail']['TotalTax'])):.2f}"
    assert error.facts["cause"] == {"kind": "ast-not-adopted", "quickbooks": theirs, "ledger": str(invoice.tax)}
    romanian = explain_error(error, "ro")
    assert f"Taxa automată pe vânzări calculată de QuickBooks este {theirs}, iar taxa din registru este " \
           f"{invoice.tax}: registrul nu a preluat încă taxa QuickBooks" in romanian
    assert [w for w in ("sales tax", "the ledger", "Resync", " came to ", " was ", " the ") if w in romanian] == []
    assert detail_text(error, "ro") is None  # the explanation says it all
    assert f"QuickBooks' automated sales tax came to {theirs} and the ledger's own tax is {invoice.tax}" \
        in explain_error(error) and "Resync adopts it" in detail_text(error)
