"""Each case of error-cases.md end to end: set up QuickBooks (the emulator's control API), push
through a real worker, check the error's case and category, apply the offered action, and check
the error closed, QuickBooks ended right and nothing was duplicated."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.desk import jobs as desk_jobs
from qbo.ledger import records as ledger
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make, make_account, make_api_key, make_invoice, make_service, make_user


def _open(case=None):
    stmt = select(SyncError).where(SyncError.status == "open")
    if case:
        stmt = stmt.where(SyncError.case == case)
    return db.session.scalars(stmt).all()


def _act(client, headers, error, action, drain, **extra):
    response = client.post(f"/api/v1/sync/errors/{error.id}/actions", json={"action": action, **extra}, headers=headers)
    assert response.status_code == 202, response.get_json()
    drain()
    return client.get(f"/api/v1/jobs/{response.get_json()['job_id']}", headers=headers).get_json()


def _person(qbo_emulator, method, entity, body=None, record_id=None):
    path = f"/companies/{qbo_emulator.realm_id}/{entity}" + (f"/{record_id}" if record_id else "")
    # DELETE is forced: a test sets up states a person reaches in several steps (ref: control API).
    response = qbo_emulator.control(method, path, json=body, params={"force": "true"} if method == "DELETE" else None)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _live(records):
    return [r for r in records if r.get("status") != "Deleted"]


def test_it_reports_account_no_match_and_creates_the_customer_on_request(connected, drain, client, qbo_records):
    connected.firm.create_customers_automatically = False
    make_account(connected.firm, name="Nova Fitness")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category) == ("account-no-match", "accounts")
    job = _act(client, make_api_key(connected), error, "create_customer", drain)
    assert job["status"] == "finished" and job["result"]["outcome"] == "customer created"
    assert _open() == [] and [c["DisplayName"] for c in qbo_records("Customer")] == ["Nova Fitness"]


def test_it_links_an_account_to_a_customer_chosen_by_the_person(connected, drain, client, qbo_emulator, qbo_records):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Juniper Architects")
    drain(connected.firm_id)
    existing = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Juniper Architects LLC"})
    headers = make_api_key(connected)
    found = client.get("/api/v1/sync/customers?q=juniper", headers=headers).get_json()
    assert [c["id"] for c in found["data"]] == [existing["Id"]]
    _act(client, headers, _open()[0], "link_customer", drain, qbo_id=existing["Id"])
    link = db.session.scalar(select(QboLink).where(QboLink.record_id == account.id))
    assert (link.status, link.qbo_id) == ("synced", existing["Id"]) and len(qbo_records("Customer")) == 1


def test_it_needs_the_owner_to_create_all_missing_customers(connected, drain, client, qbo_records):
    connected.firm.create_customers_automatically = False
    for name in ("A Corp", "B Corp", "C Corp"):
        make_account(connected.firm, name=name)
    drain(connected.firm_id)
    staff = make_api_key(make_user(connected.firm, "staff"))
    assert client.post("/api/v1/sync/bulk", json={"action": "create_missing_customers"}, headers=staff).status_code == 403
    response = client.post("/api/v1/sync/bulk", json={"action": "create_missing_customers"}, headers=make_api_key(connected))
    assert response.status_code == 202
    drain()
    assert sorted(c["DisplayName"] for c in qbo_records("Customer")) == ["A Corp", "B Corp", "C Corp"]
    assert _open() == []


def test_it_recognises_a_name_taken_by_a_vendor_and_closes_after_a_rename(connected, drain, qbo_emulator, qbo_records):
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "John Doe"})
    account = make_account(connected.firm, name="John Doe", kind="individual", first_name="John", last_name="Doe")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category, error.qbo_code) == ("duplicate-name", "accounts", "6240")
    ledger.save(ledger.KINDS["accounts"], connected.firm, {"name": "John Doe (client)"}, record=account)
    db.session.commit()
    drain(connected.firm_id)
    assert _open() == [] and [c["DisplayName"] for c in qbo_records("Customer")] == ["John Doe (client)"]


def test_it_reports_a_duplicate_invoice_number_and_closes_after_renumbering(connected, drain, qbo_emulator, qbo_records):
    invoice = make_invoice(connected.firm, number="INV-0042")
    drain(connected.firm_id)
    customer_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "account"))
    item_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "service"))
    line = {"Amount": 10, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": 10}}
    _person(qbo_emulator, "POST", "CreditMemo", {"CustomerRef": {"value": customer_id}, "DocNumber": "INV-0043", "Line": [line]})
    second = make_invoice(connected.firm, account=invoice.account, number="INV-0043")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category, error.qbo_code, error.record_id) == ("duplicate-doc-number", "invoices", "6140", second.id)
    ledger.save(ledger.KINDS["invoices"], connected.firm, {"number": "INV-0044"}, record=second)
    db.session.commit()
    drain(connected.firm_id)
    assert _open() == [] and sorted(i["DocNumber"] for i in _live(qbo_records("Invoice"))) == ["INV-0042", "INV-0044"]


def test_it_catches_a_too_long_invoice_number_before_sending(connected, drain, qbo_records):
    make_invoice(connected.firm, number="INV-2026-NOVEMBER-00001")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category) == ("string-length", "invoices")
    assert "21" in error.message and error.element
    assert qbo_records("Invoice") == []


def test_it_refuses_a_service_on_a_receivable_account(connected, drain, qbo_records):
    make_service(connected.firm, name="Audit", income_account="Accounts Receivable (A/R)")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category) == ("item-account-type", "services")
    assert [i for i in qbo_records("Item") if i["Name"] == "Audit"] == []


def test_it_reports_a_service_whose_income_account_does_not_exist(connected, drain):
    make_service(connected.firm, name="Payroll", income_account="No Such Account")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category) == ("income-account-missing", "services")


def test_it_words_a_missing_income_account_for_each_reader(connected, drain):
    from qbo.quickbooks.problems.catalogue import explain_error

    make_service(connected.firm, name="Payroll", income_account="No Such Account")
    drain(connected.firm_id)
    [error] = _open()
    assert error.message.startswith('The income account "No Such Account" does not exist in QuickBooks.')  # the API's
    assert explain_error(error, "ro").startswith("Contul de venituri „No Such Account” nu există în QuickBooks. ")
    assert "does not exist" not in explain_error(error, "ro")


def test_it_refuses_a_fee_card_account_that_is_not_a_credit_card(connected, drain, qbo_records):
    from tests.factories import make_payment

    checking = next(a for a in qbo_records("Account") if a["Name"] == "Checking")
    connected.firm.card_account_qbo_id = checking["Id"]
    make_payment(connected.firm)
    drain(connected.firm_id)
    [error] = _open()
    assert (error.case, error.category) == ("expense-account-type", "expenses")
    visa = next(a for a in qbo_records("Account") if a["AccountType"] == "Credit Card")
    connected.firm.card_account_qbo_id = visa["Id"]
    db.session.commit()
    _resync_all(connected, drain)
    assert _open() == [] and len(_live(qbo_records("Purchase"))) == 1


def _resync_all(user, drain):


    for error in _open():
        desk_jobs.request_action(user, error, "resync")
    drain()


def test_it_warns_about_a_line_without_a_service_and_notes_the_memo(connected, drain, qbo_records):
    account = make_account(connected.firm)
    make("invoices", connected.firm, account_id=account.id, date="2026-11-02", description="November retainer",
         lines=[{"description": "Courier fees", "quantity": "1", "rate": "35.00"}])
    drain(connected.firm_id)
    notes = {e.case: e for e in _open()}
    assert set(notes) == {"line-description-fallback", "description-to-memo"}
    assert notes["line-description-fallback"].severity == "warning" and notes["description-to-memo"].severity == "info"
    [invoice] = qbo_records("Invoice")
    assert invoice["CustomerMemo"]["value"] == "November retainer"


def test_it_reports_credit_exceeding_the_balance_left_in_quickbooks(connected, drain, qbo_emulator):
    from tests.factories import make_payment

    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    customer_id, invoice_id = (db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == t)) for t in ("account", "invoice"))
    # Paid by hand in QBO first (error-cases credit-exceeds-balance: "often already paid in QBO").
    _person(qbo_emulator, "POST", "Payment", {"CustomerRef": {"value": customer_id}, "TotalAmt": 300,
                                              "Line": [{"Amount": 300, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})
    make_payment(connected.firm, invoice)
    drain(connected.firm_id)
    errors = [e for e in _open() if e.record_type == "payment"]
    assert [(e.case, e.category) for e in errors] == [("credit-exceeds-balance", "payments")]


def test_it_reports_a_deleted_customer_and_relinks_to_an_active_one(connected, drain, client, qbo_emulator, qbo_records):
    account = make_account(connected.firm, name="Orchard Pediatrics")
    drain(connected.firm_id)
    customer_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "account"))
    _person(qbo_emulator, "DELETE", "Customer", record_id=customer_id)  # made inactive by a person
    invoice = make_invoice(connected.firm, account=account)
    drain(connected.firm_id)
    error = next(e for e in _open() if e.record_type == "invoice")
    assert (error.case, error.category) == ("customer-deleted", "invoices")
    replacement = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Orchard Pediatrics PC"})
    _act(client, make_api_key(connected), error, "link_customer", drain, qbo_id=replacement["Id"])
    [qbo_invoice] = _live(qbo_records("Invoice"))
    assert qbo_invoice["CustomerRef"]["value"] == replacement["Id"]
    assert [e for e in _open() if e.record_type == "invoice"] == []
    assert db.session.scalar(select(QboLink.status).where(QboLink.record_id == invoice.id, QboLink.record_type == "invoice")) == "synced"


def test_it_hides_and_refuses_actions_for_a_viewer(connected, drain, client):
    connected.firm.create_customers_automatically = False
    make_account(connected.firm, name="Vista Travel Co")
    drain(connected.firm_id)
    viewer = make_api_key(make_user(connected.firm, "viewer"))
    [row] = client.get("/api/v1/sync/errors", headers=viewer).get_json()["data"]
    assert row["actions"] == [] and row["case"] == "account-no-match"
    forced = client.post(f"/api/v1/sync/errors/{row['id']}/actions", json={"action": "skip"}, headers=viewer)
    assert forced.status_code == 403


def test_it_skips_an_error_until_the_record_changes(connected, drain, client):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Tidewater Marine")
    drain(connected.firm_id)
    headers = make_api_key(connected)
    _act(client, headers, _open()[0], "skip", drain)
    assert _open() == []
    assert client.get("/api/v1/sync/status", headers=headers).get_json()["total"] == 0
    skipped = db.session.scalar(select(SyncError))
    assert (skipped.status, skipped.resolved_by_id) == ("skipped", connected.id)
    ledger.save(ledger.KINDS["accounts"], connected.firm, {"phone": "555-0100"}, record=account)
    db.session.commit()
    drain(connected.firm_id)
    assert [e.case for e in _open()] == ["account-no-match"]


def _poll(firm_id, drain):


    quickbooks_jobs.enqueue_poll(firm_id)
    drain()


def _qbo_id(record_type, record_id):
    return db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == record_type, QboLink.record_id == record_id))


def test_it_brings_back_a_customer_deleted_in_quickbooks_on_resync(connected, drain, client, qbo_emulator, qbo_records):
    """error-cases `unsynced`: Resync re-creates what was deleted, dependencies first, and relinks."""
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    _person(qbo_emulator, "DELETE", "Customer", record_id=_qbo_id("account", invoice.account_id))
    _poll(connected.firm_id, drain)
    root = next(e for e in _open("unsynced") if e.record_type == "account")
    assert root.category == "accounts" and {e.record_type for e in _open("unsynced")} == {"account", "invoice"}
    _act(client, make_api_key(connected), root, "resync", drain)
    [customer] = qbo_records("Customer")
    assert customer["Active"] is True and customer["Id"] == _qbo_id("account", invoice.account_id)
    assert _open() == [] and len(qbo_records("Customer")) == 1


def test_it_recreates_an_invoice_deleted_in_quickbooks(connected, drain, client, qbo_emulator, qbo_records):
    """error-cases `deleted-invoice-no-resync`: do better than the original, offer Recreate."""
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    old_id = _qbo_id("invoice", invoice.id)
    _person(qbo_emulator, "DELETE", "Invoice", record_id=old_id)
    _poll(connected.firm_id, drain)
    [error] = [e for e in _open() if e.record_type == "invoice"]
    assert error.case == "deleted-invoice-no-resync" and "recreate" in client.get(
        "/api/v1/sync/errors", headers=make_api_key(connected)).get_json()["data"][0]["actions"]
    _act(client, make_api_key(connected), error, "recreate", drain)
    [live] = _live(qbo_records("Invoice"))
    assert live["Id"] != old_id and live["Id"] == _qbo_id("invoice", invoice.id) and _open() == []


def test_it_puts_our_version_back_after_an_edit_in_quickbooks(connected, drain, client, qbo_emulator, qbo_records):
    """`modified-in-qbo`: Resync sends the ledger's version (our ledger is the source of truth)."""
    account = make_account(connected.firm, name="Harbor View Cafe")
    drain(connected.firm_id)
    _person(qbo_emulator, "PATCH", "Customer", {"DisplayName": "Harbour View"}, record_id=_qbo_id("account", account.id))
    _poll(connected.firm_id, drain)
    [error] = _open()
    assert error.case == "modified-in-qbo"
    _act(client, make_api_key(connected), error, "resync", drain)
    assert [c["DisplayName"] for c in qbo_records("Customer")] == ["Harbor View Cafe"] and _open() == []


def test_it_resyncs_every_invoice_whose_item_was_deleted(connected, drain, client, qbo_emulator, qbo_records):
    """`invalid-item-ref`: bulk "Resync for all entities with this error" re-creates the service first."""
    service = make_service(connected.firm, name="Payroll processing")
    account = make_account(connected.firm)
    drain(connected.firm_id)
    _person(qbo_emulator, "DELETE", "Item", record_id=_qbo_id("service", service.id))
    for day in ("2026-11-04", "2026-11-05"):
        make("invoices", connected.firm, account_id=account.id, date=day,
             lines=[{"service_id": service.id, "quantity": "1", "rate": "120.00"}])
    drain(connected.firm_id)
    errors = [e for e in _open() if e.record_type == "invoice"]
    assert [(e.case, e.category) for e in errors] == [("invalid-item-ref", "invoices")] * 2
    response = client.post("/api/v1/sync/bulk", json={"action": "resync_case", "case": "invalid-item-ref"},
                           headers=make_api_key(connected))
    assert response.status_code == 202
    drain()
    assert _open() == [] and len(_live(qbo_records("Invoice"))) == 2
    assert [i["Active"] for i in qbo_records("Item") if i["Name"] == "Payroll processing"] == [True]


def test_it_clears_credit_exceeding_the_balance_once_the_extra_payment_is_voided(connected, drain, client, qbo_emulator, qbo_records):
    from tests.factories import make_payment

    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    by_hand = _person(qbo_emulator, "POST", "Payment", {
        "CustomerRef": {"value": _qbo_id("account", invoice.account_id)}, "TotalAmt": 300,
        "Line": [{"Amount": 300, "LinkedTxn": [{"TxnId": _qbo_id("invoice", invoice.id), "TxnType": "Invoice"}]}]})
    make_payment(connected.firm, invoice)
    drain(connected.firm_id)
    [error] = [e for e in _open() if e.case == "credit-exceeds-balance"]
    _person(qbo_emulator, "DELETE", "Payment", record_id=by_hand["Id"])  # the advice: remove the extra one in QBO
    _act(client, make_api_key(connected), error, "resync", drain)
    assert [e for e in _open() if e.case == "credit-exceeds-balance"] == []
    assert len(_live(qbo_records("Payment"))) == 1


def test_it_sends_a_service_once_its_account_is_corrected(connected, drain, qbo_records):
    """`item-account-type`: edit the service's account, then it goes (the edit itself resyncs)."""
    service = make_service(connected.firm, name="Audit", income_account="Accounts Receivable (A/R)")
    drain(connected.firm_id)
    assert [e.case for e in _open()] == ["item-account-type"]
    ledger.save(ledger.KINDS["services"], connected.firm, {"income_account": "Services"}, record=service)
    db.session.commit()
    drain(connected.firm_id)
    assert _open() == [] and [i["Name"] for i in qbo_records("Item") if i["Name"] == "Audit"] == ["Audit"]


def test_it_sends_an_invoice_once_its_number_is_shortened(connected, drain, qbo_records):
    """`string-length`: caught before sending; fixed in the ledger, it goes."""
    invoice = make_invoice(connected.firm, number="INV-2026-NOVEMBER-00001")
    drain(connected.firm_id)
    assert [e.case for e in _open()] == ["string-length"]
    ledger.save(ledger.KINDS["invoices"], connected.firm, {"number": "INV-2026-11-001"}, record=invoice)
    db.session.commit()
    drain(connected.firm_id)
    assert _open() == [] and [i["DocNumber"] for i in qbo_records("Invoice")] == ["INV-2026-11-001"]


def test_it_lets_staff_skip_a_likely_duplicate_in_quickbooks(connected, drain, client, qbo_emulator):
    """`duplicates-in-qbo`: listed with its likely cause; Skip once the person has checked QBO."""
    from tests.factories import make_payment

    payment = make_payment(connected.firm)
    drain(connected.firm_id)
    _person(qbo_emulator, "POST", "Payment", {"CustomerRef": {"value": _qbo_id("account", payment.account_id)},
                                              "TotalAmt": 300, "TxnDate": "2026-11-10"})
    _poll(connected.firm_id, drain)
    [error] = _open("duplicates-in-qbo")
    assert error.category == "payments" and error.record_id == payment.id
    _act(client, make_api_key(make_user(connected.firm, "staff")), error, "skip", drain)
    assert _open("duplicates-in-qbo") == []


def test_it_names_the_payment_method_of_a_payment_refused_for_a_duplicate_name(connected, drain, qbo_emulator):
    """error-cases duplicate-name (1): a payment's 6240 comes from its method marked as a credit card;
    the method is stored with the row, since QuickBooks' words don't name it."""
    from qbo.quickbooks.problems.catalogue import explain_error
    from tests.factories import make_payment

    make_payment(connected.firm)
    qbo_emulator.control("POST", "/faults", json={"match": {"entity": "payment", "operation": "create"},
                                                  "times": 5, "code": "6240"}).raise_for_status()
    drain(connected.firm_id)
    [error] = _open("duplicate-name")
    assert error.record_type == "payment" and error.facts["payment_method"]
    method = error.facts["payment_method"]
    assert f'The payment method "{method}" is probably marked as a credit card' in explain_error(error, "en")
    assert f"Metoda de plată „{method}” este probabil marcată drept card de credit" in explain_error(error, "ro")
