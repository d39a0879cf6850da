"""Pushing the ledger to QuickBooks (the emulator, over real HTTP) through a real RQ worker."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make, make_account, make_invoice, make_payment, make_service


def _live(records):
    return [r for r in records if not r.get("_deleted") and r.get("status") != "Deleted"]


def _ledger(firm):
    invoice = make_invoice(firm)
    payment = make_payment(firm, invoice)
    credit = make("credit-notes", firm, account_id=invoice.account_id, date="2026-11-03",
                  lines=[{"service_id": invoice.lines[0].service_id, "quantity": "1", "rate": "20.00"}])
    refund = make("refunds", firm, payment_id=payment.id, date="2026-11-12", amount="25.00", reason="Scope cut")
    return invoice, payment, credit, refund


def test_it_pushes_every_record_type_exactly_once(connected, drain, qbo_records):
    firm = connected.firm
    invoice, payment, credit, refund = _ledger(firm)
    drain(connected.firm_id)
    links = db.session.scalars(select(QboLink)).all()
    assert {l.record_type for l in links} == {"account", "service", "invoice", "credit_note", "payment",
                                                "refund", "processor_fee"}
    assert all(l.status == "synced" and l.qbo_id for l in links), [(l.record_type, l.status, l.reason) for l in links]
    qbo_invoices = _live(qbo_records("Invoice"))
    assert len(qbo_invoices) == 1 and qbo_invoices[0]["DocNumber"] == invoice.number
    assert qbo_invoices[0]["Balance"] == 0
    assert len(_live(qbo_records("Payment"))) == 1 and len(_live(qbo_records("Purchase"))) == 1
    assert len(_live(qbo_records("CreditMemo"))) == 1 and len(_live(qbo_records("RefundReceipt"))) == 1
    assert [c["DisplayName"] for c in qbo_records("Customer")] == [invoice.account.name]


def test_it_sends_nothing_the_second_time(connected, drain, qbo_emulator):
    _ledger(connected.firm)
    drain(connected.firm_id)
    seq = qbo_emulator.control("GET", "/requests").json()
    last = max(r["seq"] for r in (seq if isinstance(seq, list) else seq["requests"]))
    drain(connected.firm_id)
    later = qbo_emulator.control("GET", f"/requests?since={last}").json()
    later = later if isinstance(later, list) else later["requests"]
    assert [r for r in later if r["method"] == "POST" and "query" not in r["path"]] == []


def test_it_links_an_existing_customer_with_the_exact_name(connected, drain, qbo_emulator, qbo_records):
    qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Customer",
                         json={"DisplayName": "Harbor View Cafe"}).raise_for_status()
    make_account(connected.firm, name="Harbor View Cafe")
    drain(connected.firm_id)
    assert len(qbo_records("Customer")) == 1
    link = db.session.scalar(select(QboLink))
    assert link.status == "synced" and link.qbo_id == qbo_records("Customer")[0]["Id"]


def test_it_sends_a_local_edit_as_a_sparse_update(connected, drain, qbo_records):
    account = make_account(connected.firm, name="Old Name LLC")
    drain(connected.firm_id)


    ledger.save(ledger.KINDS["accounts"], connected.firm, {"name": "New Name LLC"}, record=account)
    db.session.commit()
    drain(connected.firm_id)
    customers = qbo_records("Customer")
    assert [c["DisplayName"] for c in customers] == ["New Name LLC"] and customers[0]["SyncToken"] == "1"


def test_it_deletes_the_counterpart_of_a_locally_deleted_invoice(connected, drain, qbo_records):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)


    ledger.delete(ledger.KINDS["invoices"], connected.firm, invoice)
    db.session.commit()
    drain(connected.firm_id)
    assert _live(qbo_records("Invoice")) == []
    assert db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice")) is None


def test_it_creates_one_record_when_the_answer_is_lost_after_the_write(connected, drain, qbo_emulator, qbo_records):
    """ref §1 requestid: a response dropped after commit; the retry or the next run links, never duplicates."""
    make_account(connected.firm, name="Lost Answer Ltd")
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "Customer", "method": "POST"},
                                                  "times": 1, "drop_after_commit": True}).raise_for_status()
    drain(connected.firm_id)
    drain(connected.firm_id)
    assert len(qbo_records("Customer")) == 1
    assert db.session.scalar(select(QboLink)).status == "synced"


def test_it_pushes_more_than_one_batch_of_thirty(connected, drain, qbo_records, qbo_emulator):
    for i in range(65):
        make_account(connected.firm, name=f"Client {i:03d}")
    drain(connected.firm_id)
    assert len(qbo_records("Customer")) == 65
    requests_log = qbo_emulator.control("GET", "/requests").json()
    requests_log = requests_log if isinstance(requests_log, list) else requests_log["requests"]
    assert sum(1 for r in requests_log if r["path"].endswith("/batch")) >= 1


def test_it_finds_a_lost_create_by_its_own_marker_only():
    """Payment 4's marker is inside payment 42's note: looking 4 up must not link 42's QBO record."""
    from qbo.quickbooks.sync.context import carries_marker, marker

    assert carries_marker({"PrivateNote": marker("payment", 4)}, "payment", 4)
    assert carries_marker({"PrivateNote": f"Paid by card. {marker('payment', 4)}, thanks"}, "payment", 4)
    assert not carries_marker({"PrivateNote": marker("payment", 42)}, "payment", 4)
    assert not carries_marker({"PrivateNote": marker("payment-4", 2)}, "payment", 4)
    assert not carries_marker({}, "payment", 4)
