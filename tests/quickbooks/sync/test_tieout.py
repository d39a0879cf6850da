"""Books that tie out (issue 12): nothing is lost on the way, and a write QuickBooks answers with
another amount than the ledger's is an `amount-mismatch` error."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems.catalogue import explain_error
from tests.factories import make, make_account, make_service


def _open(case=None):
    errors = db.session.scalars(select(SyncError).where(SyncError.status == "open")).all()
    return [e for e in errors if case is None or e.case == case]


def _live(records):
    return [r for r in records if r.get("status") != "Deleted"]


def test_it_books_a_credit_note_line_without_a_service_to_the_cent(connected, drain, qbo_records):
    account = make_account(connected.firm)
    make("credit-notes", connected.firm, account_id=account.id, date="2026-11-03",
         lines=[{"description": "Courtesy discount", "quantity": "1", "rate": "25.37"}])
    drain(connected.firm_id)
    [memo] = qbo_records("CreditMemo")
    services_item = next(i for i in qbo_records("Item") if i["Name"] == "Services")
    assert memo["TotalAmt"] == 25.37 and memo["Line"][0]["Description"] == "Courtesy discount"
    assert memo["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == services_item["Id"]
    [warning] = _open()
    assert warning.case == "line-description-fallback" and "Line 1 \"Courtesy discount\"" in warning.message
    assert "25.37" in warning.message and "Services" in warning.message


def test_it_keeps_every_line_of_an_invoice_mixing_services_and_typed_lines(connected, drain, qbo_records):
    account, service = make_account(connected.firm), make_service(connected.firm)
    invoice = make("invoices", connected.firm, account_id=account.id, date="2026-11-03", lines=[
        {"service_id": service.id, "quantity": "2", "rate": "100.00"},
        {"description": "Courier and filing fees", "quantity": "1", "rate": "35.00"}])
    drain(connected.firm_id)
    [qbo_invoice] = qbo_records("Invoice")
    assert qbo_invoice["TotalAmt"] == float(invoice.total) == 235.0
    [warning] = _open()
    assert warning.case == "line-description-fallback"
    assert "Linia 2 „Courier and filing fees” a fost trimisă cu suma ei, 35.00" in explain_error(warning, "ro")


def test_it_creates_the_chosen_fallback_item_once_per_sync(connected, drain, qbo_records):
    connected.firm.fallback_item_name = "Sundry fees"
    db.session.commit()
    account = make_account(connected.firm)
    for rate in ("10.00", "20.00"):
        make("invoices", connected.firm, account_id=account.id, date="2026-11-03",
             lines=[{"description": "Postage", "quantity": "1", "rate": rate}])
    drain(connected.firm_id)
    [item] = [i for i in qbo_records("Item") if i["Name"] == "Sundry fees"]
    assert item["Type"] == "Service" and item["IncomeAccountRef"]["name"] == "Services"
    assert sorted(i["TotalAmt"] for i in qbo_records("Invoice")) == [10.0, 20.0]
    assert {l["SalesItemLineDetail"]["ItemRef"]["value"] for i in qbo_records("Invoice") for l in i["Line"]
            if l["DetailType"] == "SalesItemLineDetail"} == {item["Id"]}


def test_it_records_an_amount_quickbooks_answers_differently(connected, drain, qbo_emulator):
    account = make_account(connected.firm)
    make("credit-notes", connected.firm, account_id=account.id, date="2026-11-03",
         lines=[{"description": "Courtesy discount", "quantity": "1", "rate": "50.00"}])
    answer = {"CreditMemo": {"Id": "900", "SyncToken": "0", "TotalAmt": 0, "RemainingCredit": 0,
                             "Line": []}, "time": "2026-11-03T04:00:00.000-08:00"}
    qbo_emulator.control("POST", "/faults", json={
        "match": {"entity": "creditmemo", "operation": "create"}, "times": 1,
        "response": {"status": 200, "body": answer, "content_type": "application/json"}}).raise_for_status()
    drain(connected.firm_id)
    [mismatch] = _open("amount-mismatch")
    assert mismatch.category == "invoices" and mismatch.element == "TotalAmt, RemainingCredit"
    assert "the total is 0.00, in the ledger 50.00: a difference of -50.00" in explain_error(mismatch)
    assert "totalul este 0.00, în registru 50.00" in explain_error(mismatch, "ro")
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "credit_note"))
    assert link.status == "error" and link.pushed_hash is None


def test_it_checks_what_a_payment_applied(connected, drain, qbo_emulator):
    from tests.factories import make_invoice, make_payment

    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    make_payment(connected.firm, invoice)
    inv_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "invoice"))
    answer = {"Payment": {"Id": "901", "SyncToken": "0", "TotalAmt": float(invoice.total), "UnappliedAmt": 40,
                          "Line": [{"Amount": float(invoice.total) - 40,
                                    "LinkedTxn": [{"TxnId": inv_id, "TxnType": "Invoice"}]}]}}
    qbo_emulator.control("POST", "/faults", json={
        "match": {"entity": "payment", "operation": "create"}, "times": 1,
        "response": {"status": 200, "body": answer, "content_type": "application/json"}}).raise_for_status()
    drain(connected.firm_id)
    [mismatch] = _open("amount-mismatch")
    assert mismatch.category == "payments" and mismatch.element == "Line.LinkedTxn, UnappliedAmt"
    assert f"the amount applied to invoice {invoice.number} is" in explain_error(mismatch)


def test_it_reads_the_fallback_item_once_per_sync(connected):
    from qbo.quickbooks.connection import client_for_firm
    from qbo.quickbooks.sync.context import SyncContext

    client, asked = client_for_firm(connected.firm_id), []
    query = client.query
    client.query = lambda sql: asked.append(sql) or query(sql)
    ctx = SyncContext(connected.firm, client)
    assert ctx.fallback_item() == ctx.fallback_item() and ctx.fallback_item()["name"] == "Services"
    assert len(asked) == 1


def test_it_takes_a_line_on_the_fallback_item_for_ours_when_polling_changes(connected, drain):
    from qbo.quickbooks.changes import cdc
    from tests.factories import make_payment

    account = make_account(connected.firm)
    invoice = make("invoices", connected.firm, account_id=account.id, date="2026-11-03",
                   lines=[{"description": "Courier and filing fees", "quantity": "1", "rate": "35.00"}])
    make_payment(connected.firm, invoice, amount="35.00", processor=None, processor_fee=None,
                 allocations=[{"invoice_id": invoice.id, "amount": "35.00"}])  # moves the invoice's SyncToken
    drain(connected.firm_id)
    report = cdc.poll_changes(connected.firm_id)
    assert (report.modified, report.unsynced) == (0, 0) and _open("modified-in-qbo") == []


def test_it_names_every_line_sent_on_the_fallback_item(connected, drain):
    account = make_account(connected.firm)
    make("invoices", connected.firm, account_id=account.id, date="2026-11-03", lines=[
        {"description": "Postage", "quantity": "1", "rate": "4.10"},
        {"description": "Filing fee", "quantity": "2", "rate": "15.00"}])
    drain(connected.firm_id)
    [warning] = _open()
    assert "Line 1 \"Postage\" was sent with its amount, 4.10" in warning.message
    assert "Line 2 \"Filing fee\" was sent with its amount, 30.00" in explain_error(warning)
