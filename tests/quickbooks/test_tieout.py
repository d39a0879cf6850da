"""Tie-out: the ledger against what the emulator's QuickBooks company holds, over real HTTP, after a
real sync; every difference names its records and why."""
import json

from sqlalchemy import select

from qbo.core.db import db
from qbo.desk.actions import set_do_not_sync
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.tieout import reason_text, tie_out
from tests.factories import make, make_invoice, make_payment, make_user


def _ledger(firm):
    invoice = make_invoice(firm)  # 300.00, November
    payment = make_payment(firm, invoice, amount="200.00", processor_fee="6.00",
                           allocations=[{"invoice_id": invoice.id, "amount": "200.00"}])
    make("credit-notes", firm, account_id=invoice.account_id, date="2026-11-03",
         lines=[{"service_id": invoice.lines[0].service_id, "quantity": "1", "rate": "20.00"}])
    make("refunds", firm, payment_id=payment.id, date="2026-11-12", amount="25.00", reason="Scope cut")
    return invoice, payment


def _link(record_type, record_id):
    return db.session.scalar(select(QboLink).where(QboLink.record_type == record_type,
                                                   QboLink.record_id == record_id))


def _records(result):
    return [r for m in result["months"] for r in m["records"]]


def _row(result, record_type, month="2026-11"):
    return next(m for m in result["months"] if m["record_type"] == record_type and m["month"] == month)


def test_it_ties_out_a_clean_sync_with_zero_differences(connected, drain):
    _ledger(connected.firm)
    drain(connected.firm_id)
    result = tie_out(connected.firm_id)
    assert result["differences"] == 0, result
    invoices = _row(result, "invoice")
    assert (invoices["ledger_count"], invoices["ledger_total"]) == (1, "300.00")
    assert (invoices["qbo_count"], invoices["qbo_total"]) == (1, "300.00")
    assert _row(result, "processor_fee")["qbo_total"] == "6.00"
    assert result["clients_checked"] == 1
    # One page per entity read (5 transaction types and the customers): 6 requests, not one per record.
    assert result["pages"] == 6 and result["requests"] == 6


def test_it_reports_a_record_deleted_in_quickbooks_by_a_person(connected, drain, qbo_emulator):
    _, payment = _ledger(connected.firm)
    drain(connected.firm_id)
    qbo_id = _link("refund", payment.refunds[0].id).qbo_id
    qbo_emulator.control("DELETE", f"/companies/{qbo_emulator.realm_id}/RefundReceipt/{qbo_id}").raise_for_status()
    result = tie_out(connected.firm_id)
    assert result["differences"] == 1
    [item] = _records(result)
    assert (item["record_type"], item["reason"], item["qbo_amount"]) == ("refund", "missing_in_qbo", None)
    assert _row(result, "refund")["qbo_count"] == 0


def test_it_reports_an_amount_edited_in_quickbooks_and_the_clients_balance(connected, drain, qbo_emulator,
                                                                          qbo_records):
    invoice, _ = _ledger(connected.firm)
    drain(connected.firm_id)
    [found] = qbo_records("Invoice")
    line = found["Line"][0]
    line["Amount"], line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"] = 350, 1, 350
    qbo_emulator.control("PATCH", f"/companies/{qbo_emulator.realm_id}/Invoice/{found['Id']}",
                         json={"Line": [line]}).raise_for_status()
    result = tie_out(connected.firm_id)
    [item] = _records(result)
    assert (item["reason"], item["facts"]["delta"]) == ("amount_differs", "50.00")
    assert reason_text(item["reason"], item["facts"]) == "Amount differs by 50.00"
    [balance] = result["balances"]
    assert (balance["ledger_balance"], balance["qbo_balance"], balance["reason"]) == ("80.00", "130.00", "balance_differs")
    assert [r["record_id"] for r in balance["records"]] == [invoice.id]
    assert result["differences"] == 2


def test_it_reports_excluded_and_unsynced_records(connected, drain):
    invoice, payment = _ledger(connected.firm)
    drain(connected.firm_id)
    later = make_invoice(connected.firm, account=invoice.account, date="2026-12-01")  # no sync since
    _link("refund", payment.refunds[0].id).excluded = True  # excluded after it was synced: still in QuickBooks, no difference
    db.session.commit()
    excluded = make_invoice(connected.firm, account=invoice.account, date="2026-12-02")
    set_do_not_sync(connected, excluded, True)
    db.session.commit()
    result = tie_out(connected.firm_id)
    reasons = {r["record_id"]: r["reason"] for r in _records(result)}
    assert reasons == {later.id: "pending", excluded.id: "excluded"}
    december = _row(result, "invoice", "2026-12")
    assert (december["ledger_count"], december["qbo_count"], december["differences"]) == (2, 0, 2)
    assert result["balances"][0]["difference"] == "-600.00"


def test_it_links_a_difference_to_its_desk_row(connected, drain):
    invoice, _ = _ledger(connected.firm)
    drain(connected.firm_id)
    later = make_invoice(connected.firm, account=invoice.account)
    link = _link("invoice", later.id)
    link.status = "error"
    error = SyncError(firm_id=connected.firm_id, record_type="invoice", record_id=later.id,
                      case="qbo-fault", category="invoices", message="QuickBooks refused it")
    db.session.add(error)
    db.session.commit()
    [item] = [r for r in _records(tie_out(connected.firm_id)) if r["record_id"] == later.id]
    assert item["reason"] == "error"
    assert item["desk"] == {"error_id": error.id, "case": "qbo-fault", "category": "invoices",
                            "message": "QuickBooks refused it"}


def test_it_reports_a_quickbooks_only_record(connected, drain, qbo_emulator):
    invoice, _ = _ledger(connected.firm)
    drain(connected.firm_id)
    customer = _link("account", invoice.account_id).qbo_id
    qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/CreditMemo", json={
        "CustomerRef": {"value": customer}, "TxnDate": "2026-11-20", "force": True,
        "Line": [{"Amount": 40, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 40}}],
    }).raise_for_status()
    result = tie_out(connected.firm_id)
    [item] = _records(result)
    assert (item["record_type"], item["reason"], item["record_id"], item["ledger_amount"]) == \
        ("credit_note", "extra_in_qbo", None, None)
    assert reason_text(item["reason"], item["facts"]) == "Extra in QuickBooks: entered there, not in the ledger"
    assert result["balances"][0]["difference"] == "-40.00"


def test_it_counts_a_record_deleted_in_the_ledger_as_not_in_the_ledger(connected, drain):
    from qbo.ledger import records as ledger

    invoice, payment = _ledger(connected.firm)
    drain(connected.firm_id)
    refund = payment.refunds[0]
    ledger.delete(ledger.KINDS["refunds"], connected.firm, refund)
    db.session.commit()  # not synced since: QuickBooks still holds the refund
    [item] = _records(tie_out(connected.firm_id))
    assert (item["record_id"], item["reason"], item["facts"]["deleted_in_ledger"]) == (refund.id, "extra_in_qbo", True)


def test_it_runs_as_a_job_with_progress(connected, drain):
    _ledger(connected.firm)
    drain(connected.firm_id)
    run = quickbooks_jobs.request_tieout(connected.firm_id, connected.id)
    assert quickbooks_jobs.request_tieout(connected.firm_id).id == run.id  # one at a time
    drain()
    db.session.refresh(run)
    assert (run.status, run.done, run.total) == ("finished", 7, 7)
    assert run.result["differences"] == 0
    assert quickbooks_jobs.last_tieout(connected.firm_id, finished=True).id == run.id


def test_it_exits_1_on_differences_and_prints_json(connected, drain, runner):
    invoice, _ = _ledger(connected.firm)
    drain(connected.firm_id)
    clean = runner.invoke(args=["qbo", "tieout", "--firm", str(connected.firm_id)])
    assert clean.exit_code == 0, clean.output
    assert "0 differences" in clean.output
    make_invoice(connected.firm, account=invoice.account)
    differing = runner.invoke(args=["qbo", "tieout", "--firm", str(connected.firm_id), "--json"])
    assert differing.exit_code == 1
    body = json.loads(differing.output)
    assert body["differences"] == 2 and body["requests"] == 6  # the new invoice, and its client's balance


def test_it_says_which_firm_is_missing(runner, app):
    result = runner.invoke(args=["qbo", "tieout", "--firm", "999"])
    assert result.exit_code != 0 and "No firm with id 999" in result.output


def test_it_says_when_quickbooks_is_not_connected(runner, app):
    firm_id = make_user().firm_id
    result = runner.invoke(args=["qbo", "tieout", "--firm", str(firm_id)])
    assert result.exit_code == 2 and "QuickBooks is not connected" in result.output


def test_it_reads_quickbooks_in_pages_of_1000(connected, drain, qbo_emulator, qbo_records):
    _ledger(connected.firm)
    drain(connected.firm_id)
    [fee] = qbo_records("Purchase")
    other = {k: fee[k] for k in ("PaymentType", "AccountRef", "Line")}
    for _ in range(1000):  # the firm's other expenses: 1,001 Purchases in all, two pages
        qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Purchase",
                             json=dict(other, TxnDate="2026-11-05", force=True)).raise_for_status()
    result = tie_out(connected.firm_id)
    assert result["differences"] == 0  # other vendors' purchases are not the ledger's
    assert (result["pages"], result["requests"]) == (7, 7)


def test_it_lists_a_record_dated_another_month_under_both_months(connected, drain, qbo_emulator, qbo_records):
    _ledger(connected.firm)
    drain(connected.firm_id)
    [payment] = qbo_records("Payment")
    qbo_emulator.control("PATCH", f"/companies/{qbo_emulator.realm_id}/Payment/{payment['Id']}",
                         json={"TxnDate": "2026-12-01"}).raise_for_status()
    result = tie_out(connected.firm_id)
    november, december = _row(result, "payment"), _row(result, "payment", "2026-12")
    assert (november["ledger_count"], november["qbo_count"], december["qbo_count"]) == (1, 0, 1)
    assert [r["reason"] for r in november["records"]] == [r["reason"] for r in december["records"]] == ["month_differs"]
    assert reason_text("month_differs", november["records"][0]["facts"]) == "Dated 2026-12 in QuickBooks"
    assert result["differences"] == 1


def test_it_ties_out_a_foreign_invoice_in_its_currency_and_in_home_currency(connect_company, qbo_emulator, drain,
                                                                            qbo_records):
    """Issue 17: "the tie-out compares in the document currency and in home currency"."""
    from decimal import Decimal

    from tests.quickbooks.sync.test_currency import _eur_company, _foreign_invoice

    owner = _eur_company(connect_company, qbo_emulator)
    invoice = _foreign_invoice(owner.firm, exchange_rate="0.85")
    drain(owner.firm_id)
    [row] = [m for m in tie_out(owner.firm_id)["months"] if m["record_type"] == "invoice"]
    assert (row["currency"], row["ledger_total"], row["qbo_total"]) == ("EUR", "120.00", "120.00")
    assert row["ledger_home_total"] == row["qbo_home_total"] == "102.00" and row["differences"] == 0
    [found] = qbo_records("Invoice", owner.realm_id)
    qbo_emulator.control("PATCH", f"/companies/{owner.realm_id}/Invoice/{found['Id']}",
                         json={"ExchangeRate": 0.9}).raise_for_status()  # a person changed the rate in QuickBooks
    result = tie_out(owner.firm_id)
    [item] = _records(result)
    assert (item["record_id"], item["reason"], item["facts"]["delta"]) == (invoice.id, "home_amount_differs", "6.00")
    assert reason_text(item["reason"], item["facts"]) == "Amount in home currency (GBP) differs by 6.00"
    assert Decimal(item["qbo_amount"]) == invoice.total  # in euros, both sides still say 120.00
