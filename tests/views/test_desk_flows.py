"""Issue 18 in the pages: notes on the record page, warnings filtered and acknowledged on the desk."""
from qbo.core.db import db
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_invoice
from tests.views.test_desk import SETTINGS, _signed_in


def _invoice_with_note_and_warning(firm):
    invoice = make_invoice(firm)
    note = problems.record(firm.id, "invoice", invoice.id, "description-to-memo")
    warning = problems.record(firm.id, "invoice", invoice.id, "line-description-fallback")
    db.session.commit()
    return invoice, note, warning


def test_it_shows_notes_on_the_record_not_on_the_desk(client, app):
    user = _signed_in(client)
    invoice, note, warning = _invoice_with_note_and_warning(user.firm)
    desk_page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="sync-error-{warning.id}"' in desk_page and f'id="sync-error-{note.id}"' not in desk_page
    record_page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Notes from the sync" in record_page and "Invoice description sent as the memo" in record_page
    panel = client.get(f"/quickbooks/records/invoice/{invoice.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Notes from the sync" in panel
    form = client.get(f"/invoices/{invoice.id}/edit").get_data(as_text=True)
    assert 'id="sync-notes"' in form and "Invoice description sent as the memo" in form


def test_it_acknowledges_the_tabs_warnings_from_the_toolbar(client, app):
    user = _signed_in(client)
    _, note, warning = _invoice_with_note_and_warning(user.firm)
    page = client.get(f"{SETTINGS}?tab=invoices&severity=warning", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<option value="warning" selected>Warnings</option>' in page and "Acknowledge all warnings of this tab (1)" in page
    response = client.post("/settings/integrations/quickbooks/errors/acknowledge-warnings", data={"tab": "invoices"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "1 warning acknowledged." in response.get_data(as_text=True)
    db.session.refresh(warning)
    assert warning.status == "resolved" and warning.resolution == "acknowledged"


def test_it_forbids_acknowledging_to_a_viewer(client, app):
    user = _signed_in(client, role="viewer")
    _, _, warning = _invoice_with_note_and_warning(user.firm)
    response = client.post("/settings/integrations/quickbooks/errors/acknowledge-warnings", data={"tab": "invoices"})
    db.session.refresh(warning)
    assert response.status_code == 403 and warning.status == "open"


def test_it_shows_a_deleted_services_rows_under_one_root_cause(client, app):
    user = _signed_in(client)
    first = make_invoice(user.firm)
    service_id = first.lines[0].service_id
    second = make_invoice(user.firm, account=first.account, lines=[{"service_id": service_id, "quantity": "1", "rate": "9.00"}])
    problems.record(user.firm_id, "service", service_id, "unsynced")
    for invoice in (first, second):
        problems.record(user.firm_id, "invoice", invoice.id, "invalid-item-ref", element="ItemRef")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="group-service-{service_id}"' in page and "<strong>One root cause:</strong> the service" in page
    assert "is behind 3 open errors (2 on this tab)" in page


def test_it_saves_the_approval_threshold_and_refuses_a_bad_one(client, app):
    user = _signed_in(client)
    form = {"default_income_account": "Services", "next_invoice_number": "1", "approval_threshold": "0"}
    response = client.post(f"{SETTINGS}/sync-settings", data=form)
    assert response.status_code == 422 and "must be a whole number of records from 1 to 999" in response.get_data(as_text=True)
    form["approval_threshold"] = "25"
    assert client.post(f"{SETTINGS}/sync-settings", data=form).status_code == 302
    db.session.expire_all()
    assert user.firm.approval_threshold == 25
    assert 'name="approval_threshold" value="25"' in client.get(f"{SETTINGS}/sync-settings").get_data(as_text=True)


def test_it_offers_staff_a_small_bulk_resync_without_asking_the_owner(client, app):
    user = _signed_in(client, role="staff")
    for _ in range(2):
        problems.record(user.firm_id, "invoice", make_invoice(user.firm).id, "invalid-item-ref")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Resync for all entities with this error" in page and "ask the owner" not in page


def test_it_proposes_the_next_free_number_on_a_duplicate_number_row(client, app):
    from qbo.quickbooks import company_cache

    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    company_cache.store(user.firm_id, {"doc_numbers": [invoice.number, "INV-0002"]})
    problems.record(user.firm_id, "invoice", invoice.id, "duplicate-doc-number", code="6140")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The next free number is INV-0003." in page and f'href="/invoices/{invoice.id}/edit"' in page


INCOME = {"accounts": [{"id": "1", "name": "Services", "type": "Income"}, {"id": "2", "name": "Checking", "type": "Bank"},
                       {"id": "3", "name": "Consulting Income", "type": "Income"}]}


def test_it_offers_the_companys_income_accounts_on_the_service_form(client, app):
    from qbo.quickbooks import company_cache

    user = _signed_in(client)
    assert 'name="income_account" value=' in client.get("/services/new").get_data(as_text=True)  # not read yet: free text
    company_cache.store(user.firm_id, INCOME)
    form = client.get("/services/new").get_data(as_text=True)
    assert '<select name="income_account"' in form and '<option value="Consulting Income"' in form
    assert '<option value="Checking"' not in form


def test_it_refuses_an_income_account_the_company_does_not_have(client, app):
    from qbo.ledger.models import Service
    from qbo.quickbooks import company_cache
    from qbo.quickbooks.models import QboConnection
    from sqlalchemy import select

    user = _signed_in(client)
    db.session.add(QboConnection(firm_id=user.firm_id, state="connected", realm_id="9130"))
    db.session.commit()
    company_cache.store(user.firm_id, INCOME)
    response = client.post("/services/new", data={"name": "Payroll", "income_account": "Servcies"})
    assert response.status_code == 422 and "is not an Income account of the QuickBooks company" in response.get_data(as_text=True)
    assert db.session.scalar(select(Service).where(Service.name == "Payroll")) is None
    assert client.post("/services/new", data={"name": "Payroll", "income_account": "services"}).status_code == 302


def test_it_says_found_before_sending_only_when_nothing_was_sent(client, app):
    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    problems.record(user.firm_id, "invoice", invoice.id, "amount-mismatch", message="Totals differ",
                    detail="QuickBooks 310.00, ledger 300.00, TotalAmt")
    problems.record(user.firm_id, "invoice", invoice.id, "string-length", message="Number too long")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert page.count("Found before sending") == 1 and "Found after sending" in page


def test_it_shows_quickbooks_precise_detail_on_a_refused_row(client, app):
    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    problems.record(user.firm_id, "invoice", invoice.id, "qbo-fault", code="6000", message="A business validation error",
                    detail="Business Validation Error: The transaction date is in a closed period")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Detail: Business Validation Error: The transaction date is in a closed period" in page


def test_it_shows_both_sides_payments_on_a_credit_exceeds_balance_row(client, app):
    from qbo.quickbooks.models import QboLink
    from tests.factories import make_payment

    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    earlier = make_payment(user.firm, invoice=invoice, amount="100.00", allocations=[{"invoice_id": invoice.id, "amount": "100.00"}])
    refused = make_payment(user.firm, invoice=invoice, amount="200.00", allocations=[{"invoice_id": invoice.id, "amount": "200.00"}])
    db.session.add(QboLink(firm_id=user.firm_id, record_type="payment", record_id=earlier.id, status="synced", qbo_id="55"))
    problems.record(user.firm_id, "payment", refused.id, "credit-exceeds-balance", code="6000",
                    message="A business validation error has occurred while processing your request",
                    detail=f"Business Validation Error: The payment amount applied exceeds the open balance of Invoice {invoice.number}.")
    db.session.commit()
    page = client.get(f"{SETTINGS}?tab=payments", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"Payments on invoice {invoice.number}" in page and "(this payment)" in page
    assert "The ledger applies $300.00; $100.00 of it is in QuickBooks already." in page
    assert f"exceeds the open balance of Invoice {invoice.number}." in page


def test_it_writes_a_tieout_jobs_result_as_sentences_on_the_jobs_page(client, app):
    from qbo.core.models import JobRun

    user = _signed_in(client)
    result = {"checked_at": "2026-11-30T16:00:00Z", "differences": 2, "requests": 7, "pages": 3,
              "clients_checked": 40, "months": [{"record_type": "invoice", "month": "2026-11"}] * 3,
              "balances": [{"account_id": 1}], "balance_differences": 1}
    db.session.add(JobRun(id="tieout-1", firm_id=user.firm_id, kind="tieout", status="finished", result=result))
    db.session.add(JobRun(id="sync-sweep-1", firm_id=user.firm_id, kind="sync-sweep", status="finished",
                          result={"requeued": [user.firm_id], "stuck": 0}))
    db.session.commit()
    page = client.get("/quickbooks/jobs?status=finished").get_data(as_text=True)
    assert "tie-out with QuickBooks" in page and "sweep for stranded records" in page
    assert "2 records differ between the ledger and QuickBooks (3 months and record types checked)." in page
    assert "1 of 40 client balances differ." in page and "It took 7 requests to QuickBooks." in page
    assert "account_id" not in page and "{" not in page.split('id="jobs-table"')[1].split("</table>")[0]
