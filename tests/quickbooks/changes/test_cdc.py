"""Noticing changes made in QuickBooks: the CDC poll against the emulator, through a real RQ worker.

A person's edits go through the emulator's control API (as if typed in QBO's screens)."""
import datetime as dt
import time

import pytest
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import cdc
from qbo.quickbooks.models import QboConnection, QboLink, SyncError
from qbo.quickbooks.problems.catalogue import detail_text, explain_error
from tests.factories import make, make_account, make_invoice, make_payment, make_user, sign_in

# Words of the English sentences a Romanian reader's explanation or detail must not hold.
ENGLISH = (" is ", " was ", " the ", " and ", " in the ledger", "Edited in", "Likely cause", " version ",
           "changed", "matches", "created by")


def _link(record_type, record_id):
    return db.session.scalar(select(QboLink).where(QboLink.record_type == record_type,
                                                   QboLink.record_id == record_id))


def _errors(case):
    return {(e.record_type, e.record_id) for e in db.session.scalars(
        select(SyncError).where(SyncError.case == case, SyncError.status == "open"))}


def _person(qbo_emulator, method, entity, qbo_id, **body):
    path = f"/companies/{qbo_emulator.realm_id}/{entity}" + (f"/{qbo_id}" if qbo_id else "")
    response = qbo_emulator.control(method, path, json=body or None,
                                    params={"force": "true"} if method == "DELETE" else None)
    response.raise_for_status()
    return response.json()


def _poll(firm_id, drain):
    quickbooks_jobs.enqueue_poll(firm_id)
    drain()


def _requests(qbo_emulator, since=0):
    return qbo_emulator.control("GET", f"/requests?since={since}").json()


def test_it_marks_a_customer_made_inactive_and_what_depends_on_it(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    customer = _link("account", invoice.account_id)
    _person(qbo_emulator, "DELETE", "Customer", customer.qbo_id)
    _poll(connected.firm_id, drain)
    assert customer.status == "unsynced" and "made inactive" in customer.reason
    assert {("account", invoice.account_id), ("invoice", invoice.id)} <= _errors("unsynced")
    error = db.session.scalar(select(SyncError).where(SyncError.record_type == "invoice"))
    assert "customer this record depends on was deleted" in error.message
    assert _link("invoice", invoice.id).status == "synced"  # its own copy is still in QBO


def test_it_marks_an_invoice_deleted_in_quickbooks(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    link = _link("invoice", invoice.id)
    _person(qbo_emulator, "DELETE", "Invoice", link.qbo_id)
    _poll(connected.firm_id, drain)
    assert link.status == "unsynced" and "deleted" in link.reason
    assert _errors(cdc.SELF_DELETED_CASE["invoice"]) == {("invoice", invoice.id)}
    _poll(connected.firm_id, drain)  # the next window overlaps: nothing is counted twice
    assert [e.occurrences for e in db.session.scalars(select(SyncError))] == [1]


def test_it_raises_unsynced_on_the_payment_of_a_deleted_invoice(connected, drain, qbo_emulator):
    payment = make_payment(connected.firm)
    drain(connected.firm_id)
    invoice_id = payment.allocations[0].invoice_id
    _person(qbo_emulator, "DELETE", "Payment", _link("payment", payment.id).qbo_id)
    _person(qbo_emulator, "DELETE", "Invoice", _link("invoice", invoice_id).qbo_id)
    _poll(connected.firm_id, drain)
    assert _link("invoice", invoice_id).status == "unsynced"
    assert ("payment", payment.id) in _errors("unsynced")


def test_it_marks_an_invoice_edited_by_someone_else(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    link = _link("invoice", invoice.id)
    _person(qbo_emulator, "PATCH", "Invoice", link.qbo_id, PrivateNote="Adjusted by the bookkeeper")
    _poll(connected.firm_id, drain)
    assert link.status == "modified_in_qbo"
    error = db.session.scalar(select(SyncError).where(SyncError.case == "modified-in-qbo"))
    assert (error.record_type, error.record_id, error.element) == ("invoice", invoice.id, "PrivateNote")


def _romanian(*texts):
    assert [w for text in texts for w in ENGLISH if w in text] == []
    return texts


def test_it_words_what_changed_in_quickbooks_for_each_reader(connected, drain, qbo_emulator, client):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    link = _link("invoice", invoice.id)
    _person(qbo_emulator, "PATCH", "Invoice", link.qbo_id, PrivateNote="Reconciliat 2026-11", TxnDate="2026-11-05")
    _poll(connected.firm_id, drain)
    error = db.session.scalar(select(SyncError).where(SyncError.case == "modified-in-qbo"))
    assert error.facts["changes"] == [{"field": "TxnDate", "qbo": "2026-11-05", "ledger": "2026-11-01"},
                                      {"field": "PrivateNote", "qbo": "Reconciliat 2026-11"}]
    explanation, detail = _romanian(explain_error(error, "ro"), detail_text(error, "ro"))
    assert explanation.startswith("Înregistrarea a fost editată în QuickBooks la 2026-")
    assert "Data (TxnDate) este 2026-11-05 în QuickBooks, 2026-11-01 în registru; Nota internă (PrivateNote) " \
           "este acum „Reconciliat 2026-11”." in explanation
    assert detail.startswith(f"Înregistrarea QuickBooks Invoice {link.qbo_id} (factura „{invoice.number}”) este "
                             f"la versiunea {error.facts['version']}, modificată la 2026-")
    # English keeps the same facts, and the stored English words stay for the API.
    assert 'Date (TxnDate) is 2026-11-05 in QuickBooks, 2026-11-01 in the ledger; Internal note (PrivateNote) is ' \
           'now "Reconciliat 2026-11".' in explain_error(error)
    assert detail_text(error) == error.detail and f"the product last wrote version {link.sync_token}" in error.detail
    sign_in(client, make_user(connected.firm, role="owner", language="ro"))
    page = client.get("/settings/integrations/quickbooks?tab=invoices").get_data(as_text=True)
    assert "Nota internă (PrivateNote) este acum" in page and "Edited in QuickBooks" not in page
    assert "is at version" not in page


def test_it_words_a_possible_duplicate_and_its_likely_cause_for_each_reader(connected, drain, qbo_emulator, client):
    payment = make_payment(connected.firm)
    drain(connected.firm_id)
    customer = _link("account", payment.account_id).qbo_id
    entry = _person(qbo_emulator, "POST", "Payment", None, CustomerRef={"value": customer}, TotalAmt=300.00,
                    TxnDate="2026-11-10")
    _poll(connected.firm_id, drain)
    error = db.session.scalar(select(SyncError).where(SyncError.case == "duplicates-in-qbo"))
    explanation, detail = _romanian(explain_error(error, "ro"), detail_text(error, "ro"))
    assert explanation.startswith("Cauza probabilă: conexiunea proprie a procesatorului de carduri cu QuickBooks")
    assert detail.startswith(f"Înregistrarea QuickBooks Payment {entry['Id']} (300.00 din 2026-11-10) nu a fost "
                             f"creată de produs și corespunde cu plata „{payment.label}” (QuickBooks Payment "
                             f"{_link('payment', payment.id).qbo_id}). Cauza probabilă:")
    assert explain_error(error).startswith("Likely cause: the card processor's own QuickBooks connection")
    assert detail_text(error) == error.detail and error.detail.startswith(
        f"QuickBooks Payment {entry['Id']} (300.00 on 2026-11-10) was not created by the product")
    sign_in(client, make_user(connected.firm, role="owner", language="ro"))
    page = client.get("/settings/integrations/quickbooks?tab=payments").get_data(as_text=True)
    assert "nu a fost creată de produs" in page and "Likely cause" not in page


def test_it_marks_a_customer_renamed_in_quickbooks(connected, drain, qbo_emulator):
    account = make_account(connected.firm, name="Harbor View Cafe")
    drain(connected.firm_id)
    _person(qbo_emulator, "PATCH", "Customer", _link("account", account.id).qbo_id, DisplayName="Harbour View")
    _poll(connected.firm_id, drain)
    assert _link("account", account.id).status == "modified_in_qbo"
    assert _errors("modified-in-qbo") == {("account", account.id)}
    error = db.session.scalar(select(SyncError).where(SyncError.case == "modified-in-qbo"))
    assert 'Account name (DisplayName) is "Harbour View" in QuickBooks, "Harbor View Cafe" in the ledger' \
        in explain_error(error)
    assert "Numele contului (DisplayName) este „Harbour View” în QuickBooks, „Harbor View Cafe” în registru" \
        in explain_error(error, "ro")


def test_it_reports_no_drift_for_our_own_sync(connected, drain, qbo_records):
    invoice = make_invoice(connected.firm)
    payment = make_payment(connected.firm, invoice)
    make("credit-notes", connected.firm, account_id=invoice.account_id, date="2026-11-03",
         lines=[{"service_id": invoice.lines[0].service_id, "quantity": "1", "rate": "20.00"}])
    make("refunds", connected.firm, payment_id=payment.id, date="2026-11-12", amount="25.00")
    drain(connected.firm_id)
    # Our payment moved the invoice's SyncToken past the one our own write stored.
    assert qbo_records("Invoice")[0]["SyncToken"] != _link("invoice", invoice.id).sync_token
    report = cdc.poll_changes(connected.firm_id)
    assert report.changes >= 7 and (report.unsynced, report.modified, report.duplicates) == (0, 0, 0)
    assert db.session.scalars(select(SyncError).where(SyncError.severity == "error")).all() == []
    assert {l.status for l in db.session.scalars(select(QboLink))} == {"synced"}


def test_it_reports_a_payment_entered_twice_by_hand(connected, drain, qbo_emulator):
    payment = make_payment(connected.firm)
    drain(connected.firm_id)
    customer = _link("account", payment.account_id).qbo_id
    _person(qbo_emulator, "POST", "Payment", None, CustomerRef={"value": customer}, TotalAmt=300.00,
            TxnDate="2026-11-10")
    _poll(connected.firm_id, drain)
    assert _errors("duplicates-in-qbo") == {("payment", payment.id)}
    error = db.session.scalar(select(SyncError).where(SyncError.case == "duplicates-in-qbo"))
    assert "card processor" in error.message and "not created by the product" in error.detail


def test_it_reports_a_payment_entered_by_hand_before_ours_was_pushed(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    customer = _link("account", invoice.account_id).qbo_id
    _person(qbo_emulator, "POST", "Payment", None, CustomerRef={"value": customer}, TotalAmt=300.00,
            TxnDate="2026-11-10")
    cdc.poll_changes(connected.firm_id)
    # The hand-made entry falls out of the next window; ours lands in it.
    connection = db.session.scalar(select(QboConnection))
    connection.cdc_checked_at += dt.timedelta(minutes=5)
    db.session.commit()
    qbo_emulator.control("POST", "/clock", json={"advance_seconds": 600}).raise_for_status()
    payment = make_payment(connected.firm, invoice, processor=None, processor_fee=None, method="check")
    drain(connected.firm_id)
    report = cdc.poll_changes(connected.firm_id)
    assert report.duplicates == 1 and report.requests == 2  # CDC, then one query by date
    assert _errors("duplicates-in-qbo") == {("payment", payment.id)}
    error = db.session.scalar(select(SyncError).where(SyncError.case == "duplicates-in-qbo"))
    assert "by hand" in error.message


def test_it_reads_changes_in_requests_independent_of_the_ledger_size(connected, drain, qbo_emulator):
    counts = []
    for n in (5, 35):  # 5 synced customers, then 40
        for _ in range(n):
            make_account(connected.firm)
        drain(connected.firm_id)
        last = max((r["seq"] for r in _requests(qbo_emulator)), default=0)
        report = cdc.poll_changes(connected.firm_id)
        counts.append((report.changes, len(_requests(qbo_emulator, last))))
    (seen_5, requests_5), (seen_40, requests_40) = counts
    assert seen_40 - seen_5 == 35 and requests_5 == requests_40 == 1


def test_it_misses_nothing_when_an_answer_is_capped(connected, drain, qbo_emulator, monkeypatch):
    invoices = [make_invoice(connected.firm) for _ in range(3)]
    drain(connected.firm_id)
    gone = _link("invoice", invoices[0].id)
    _person(qbo_emulator, "DELETE", "Invoice", gone.qbo_id)
    edited = _link("account", invoices[1].account_id)
    _person(qbo_emulator, "PATCH", "Customer", edited.qbo_id, DisplayName="Renamed by hand")
    monkeypatch.setattr(cdc, "CDC_CAP", 3)  # every answer of 3 or more counts as cut off
    report = cdc.poll_changes(connected.firm_id)
    assert report.capped and (gone.status, edited.status) == ("unsynced", "modified_in_qbo")


def test_it_advances_the_window_only_after_a_successful_poll(connected, drain, qbo_emulator):
    make_account(connected.firm)
    drain(connected.firm_id)
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "cdc"}, "times": 1, "code": "10000"})
    connection = db.session.scalar(select(QboConnection))
    with pytest.raises(Exception):
        cdc.poll_changes(connected.firm_id, client=_no_retry_client(connected.firm_id))
    db.session.rollback()
    assert connection.cdc_checked_at is None
    cdc.poll_changes(connected.firm_id)
    assert connection.cdc_checked_at is not None


def _no_retry_client(firm_id):
    from qbo.quickbooks.connection import client_for_firm

    return client_for_firm(firm_id, max_retries=0)


def test_it_schedules_a_poll_only_for_firms_that_are_due(connected, drain):
    assert quickbooks_jobs.due_firms() == [connected.firm_id]
    assert quickbooks_jobs.schedule_polls() == 1 and quickbooks_jobs.schedule_polls() == 0  # one queued poll per firm
    drain()
    assert quickbooks_jobs.due_firms() == []
    assert db.session.scalar(select(QboConnection)).cdc_checked_at is not None


def test_it_queues_the_schedule_from_the_worker_loop(app):
    import threading

    import worker
    from qbo.core.queue import get_queue

    stop = threading.Event()
    loop = threading.Thread(target=worker._run_schedule, args=(app, 0.05, stop))
    loop.start()
    deadline = time.monotonic() + 5
    while "drift-schedule" not in get_queue().job_ids and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    loop.join(5)
    assert get_queue().job_ids.count("drift-schedule") == 1
