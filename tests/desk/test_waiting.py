"""Nothing waits in silence (issue 12, part 5): a record whose dependency is skipped, in error or
excluded shows on the desk as waiting for it, and the duplicate-number invoice can be linked to the
QuickBooks invoice that has its number."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make_api_key, make_invoice, make_payment, sign_in


def _open(case=None):
    stmt = select(SyncError).where(SyncError.status == "open")
    return db.session.scalars(stmt.where(SyncError.case == case) if case else stmt).all()


def _act(client, headers, error, action, drain):
    response = client.post(f"/api/v1/sync/errors/{error.id}/actions", json={"action": action}, headers=headers)
    assert response.status_code == 202, response.get_json()
    drain()
    return client.get(f"/api/v1/jobs/{response.get_json()['job_id']}", headers=headers).get_json()["result"]


def _number_taken_in_qbo(connected, drain, qbo_emulator, amount=300):
    """A synced first invoice, then a second whose number an invoice typed in QuickBooks already uses."""
    first = make_invoice(connected.firm, number="INV-0042")
    drain(connected.firm_id)
    link = lambda t: db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == t))  # noqa: E731
    line = {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": link("service")}, "Qty": 1, "UnitPrice": amount}}
    typed = qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Invoice", json={
        "CustomerRef": {"value": link("account")}, "DocNumber": "INV-0043", "Line": [line]})
    typed.raise_for_status()
    second = make_invoice(connected.firm, account=first.account, number="INV-0043")
    drain(connected.firm_id)
    [error] = _open("duplicate-doc-number")
    return second, error, typed.json()


def test_it_shows_a_payment_waiting_for_its_skipped_invoice_until_the_invoice_syncs(
        connected, client, drain, qbo_emulator):
    headers = make_api_key(connected)
    invoice, error, typed = _number_taken_in_qbo(connected, drain, qbo_emulator)
    _act(client, headers, error, "skip", drain)
    payment = make_payment(connected.firm, invoice)
    drain(connected.firm_id)
    [waiting] = _open("waiting-for-dependency")
    assert (waiting.category, waiting.record_id, waiting.waiting_for_id) == ("payments", payment.id, invoice.id)
    sign_in(client, connected)
    page = client.get("/settings/integrations/quickbooks?tab=payments").get_data(as_text=True)
    assert "Waiting for invoice INV-0043, which was skipped." in page and f'href="/invoices/{invoice.id}"' in page
    assert client.get("/api/v1/sync/status", headers=headers).get_json()["counts"]["payments"] == 1
    assert 'data-count="1"' in client.get("/quickbooks/banner", headers={"HX-Request": "true"}).get_data(as_text=True)
    qbo_emulator.control("DELETE", f"/companies/{qbo_emulator.realm_id}/Invoice/{typed['Id']}").raise_for_status()
    assert _act(client, headers, waiting, "resync", drain)["outcome"] == "resynced"
    assert _open() == [] and db.session.scalar(select(QboLink.status).where(QboLink.record_type == "payment")) == "synced"


def test_it_shows_the_awaited_invoices_own_error_and_its_actions_on_the_waiting_row(
        connected, client, drain, qbo_emulator):
    invoice, error, _ = _number_taken_in_qbo(connected, drain, qbo_emulator)
    make_payment(connected.firm, invoice)
    drain(connected.firm_id)
    [waiting] = _open("waiting-for-dependency")
    assert waiting.detail == "error"
    sign_in(client, connected)
    page = client.get("/settings/integrations/quickbooks?tab=payments").get_data(as_text=True)
    assert f'name="action-{error.id}"' in page and '<option value="link_invoice">Link to the existing QuickBooks invoice</option>' in page


def test_it_links_the_quickbooks_invoice_with_that_number_when_customer_and_total_match(
        connected, client, drain, qbo_emulator, qbo_records):
    invoice, error, typed = _number_taken_in_qbo(connected, drain, qbo_emulator)
    result = _act(client, make_api_key(connected), error, "link_invoice", drain)
    assert result["outcome"] == f"linked to QuickBooks invoice INV-0043 (Id {typed['Id']})"
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice", QboLink.record_id == invoice.id))
    assert (link.status, link.qbo_id, link.sync_token) == ("synced", typed["Id"], typed["SyncToken"])
    assert _open() == [] and len(qbo_records("Invoice")) == 2


def test_it_refuses_to_link_a_quickbooks_invoice_with_another_total(connected, client, drain, qbo_emulator):
    invoice, error, _ = _number_taken_in_qbo(connected, drain, qbo_emulator, amount=250)
    result = _act(client, make_api_key(connected), error, "link_invoice", drain)
    assert result["outcome"] == ("refused: QuickBooks invoice INV-0043 totals 250.00 while the ledger's totals "
                                 "300.00, so it can't be this invoice.")
    assert [e.id for e in _open()] == [error.id]
    assert db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_id == invoice.id, QboLink.record_type == "invoice")) is None


def test_it_offers_link_invoice_on_invoices_only():
    from qbo.quickbooks.problems.catalogue import actions_for

    assert "link_invoice" in actions_for("duplicate-doc-number", "invoice")
    assert "link_invoice" not in actions_for("duplicate-doc-number", "credit_note")


def test_it_closes_a_waiting_row_once_the_record_it_waits_for_is_in_quickbooks(app):
    from qbo.quickbooks.problems import rows as problems
    from tests.factories import make_firm

    firm = make_firm()
    invoice = make_invoice(firm)
    payment = make_payment(firm, invoice)
    awaited = QboLink(firm_id=firm.id, record_type="invoice", record_id=invoice.id, status="skipped")
    db.session.add(awaited)
    problems.record_waiting(firm.id, "payment", payment.id, ("invoice", invoice.id), "skipped", "Waiting.")
    assert problems.settle_waiting(firm.id) == 0
    awaited.status, awaited.qbo_id = "synced", "77"
    assert problems.settle_waiting(firm.id) == 1 and _open() == []


def test_it_shows_a_payment_waiting_for_an_invoice_set_to_do_not_sync(connected, drain):
    from qbo.desk.actions import set_do_not_sync

    invoice = make_invoice(connected.firm)
    set_do_not_sync(connected, invoice, True)
    db.session.commit()
    payment = make_payment(connected.firm, invoice)
    drain(connected.firm_id)
    [waiting] = _open()
    assert (waiting.case, waiting.record_id, waiting.detail) == ("waiting-for-dependency", payment.id, "excluded")
    assert waiting.message == "Waiting for its invoice INV-0001, which is set to \"Do not sync\"."


def test_it_words_a_waiting_row_and_its_cause_for_a_romanian_reader(connected, client, drain):
    from qbo.quickbooks.problems.catalogue import explain_error
    from tests.factories import make_account, make_user

    account = make_account(connected.firm, name="Smith: John")  # QuickBooks refuses ':' in a name
    make_invoice(connected.firm, account=account)
    drain(connected.firm_id)
    [waiting] = _open("waiting-for-dependency")
    assert explain_error(waiting, "ro").startswith("Așteaptă clientul Smith: John; acea înregistrare are o eroare QuickBooks.")
    assert explain_error(waiting).startswith("Waiting for customer Smith: John, which has a QuickBooks error.")
    sign_in(client, make_user(connected.firm, role="owner", language="ro"))
    page = lambda tab: " ".join(client.get(f"/settings/integrations/quickbooks?tab={tab}").get_data(as_text=True).split())  # noqa: E731
    accounts, invoices = page("accounts"), page("invoices")
    assert "Numele contului (DisplayName) „Smith: John” conține două puncte (:)" in accounts
    assert "Așteaptă clientul Smith: John" in invoices
    assert "contains a colon" not in accounts and "Waiting for" not in invoices
