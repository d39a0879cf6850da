"""What a new user of the desk reads (issue 18): the errors first, results, History, Jobs and
requests in sentences that name records by their number, the banner saying what is stopped and
who can act, in English and Romanian."""
from sqlalchemy import select

from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import AuditEvent, JobRun
from qbo.quickbooks.models import BulkRequest, QboConnection
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_invoice, make_payment, make_user
from tests.views.test_desk import SETTINGS, _as, _error


def _page(client, path):
    return client.get(path).get_data(as_text=True)


def test_it_puts_the_errors_first_and_the_settings_on_their_own_page(client, app):
    user = _as(client, make_user(role="owner"))
    _error(user.firm)
    page = _page(client, SETTINGS)
    assert page.index('href="#error-tabs"') < page.index('id="error-tabs"')  # the skip link comes first
    assert "Nova Fitness" in page and "Save settings" not in page
    assert "Save settings" in _page(client, f"{SETTINGS}/sync-settings")
    assert "Connect to QuickBooks" in _page(client, f"{SETTINGS}/connection")
    assert f'href="/profile/"' in page


def test_it_writes_a_bulk_result_as_sentences(client, app):
    user = _as(client, make_user(role="owner"))
    db.session.add(JobRun(id="bulk-resync_case-1", firm_id=user.firm_id, kind="bulk-resync_case", status="finished",
                          result={"processed": 27, "outcomes": {"resynced": 27}, "still_open": 0}))
    db.session.commit()
    page = _page(client, "/quickbooks/jobs?status=all")
    assert "bulk: resync case" in page and "27 errors handled: 27 resynced. None of this case is still open." in page
    assert "outcomes" not in page and "{" not in page.split("jobs-table")[1]


def test_it_names_records_by_their_number_in_history(client, app):
    user = _as(client, make_user(role="owner"))
    invoice = make_invoice(user.firm, number="INV-0062")
    payment = make_payment(user.firm, invoice=invoice)
    audit(user.firm_id, user.id, "quickbooks.skip", None, error_id=1, record_type="invoice",
          record_id=invoice.id, outcome="skipped")
    audit(user.firm_id, user.id, "payments.updated", payment)
    db.session.commit()
    page = _page(client, "/quickbooks/history")
    assert "invoice INV-0062</a>" in page and "Skipped an error" in page and "Skipped." in page
    assert f">Payment #{payment.id}</a>" in page and "Changed a record (payments)" in page
    assert "quickbooks.skip" not in page.split('id="history-table"')[1] and "error_id" not in page


def test_it_lists_only_the_settings_that_changed(client, app):
    user = _as(client, make_user(role="owner"))
    form = {"default_income_account": user.firm.default_income_account, "next_invoice_number": "42",
            "invoice_number_prefix": user.firm.invoice_number_prefix or ""}
    form.update({name: "on" for name in ("sync_invoice_numbers", "create_customers_automatically",
                                         "admins_manage_connection") if getattr(user.firm, name)})
    assert client.post(f"{SETTINGS}/sync-settings", data=form).status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "settings.updated"))
    assert event.detail["fields"] == ["next_invoice_number"]
    assert "Changed: Next invoice number." in _page(client, "/quickbooks/history")


def test_it_names_the_case_of_a_waiting_request_and_tells_the_owner(client, app):
    owner = make_user(role="owner")
    staff = make_user(owner.firm, role="staff")
    db.session.add(BulkRequest(firm_id=owner.firm_id, action="resync_case", case="customer-deleted",
                               requested_by_id=staff.id))
    db.session.commit()
    _as(client, owner)
    page = _page(client, SETTINGS)
    assert "Customer deleted in QuickBooks" in page and "(customer-deleted)" not in page
    assert "1 bulk action waits for your approval." in page


def test_it_says_syncing_is_stopped_and_who_can_reconnect(client, app):
    owner = make_user(role="owner")
    db.session.add(QboConnection(firm_id=owner.firm_id, state="disconnected", realm_id="9130", company_name="Northwind"))
    db.session.commit()
    problems.record(owner.firm_id, "account", make_account(owner.firm).id, "account-no-match")
    db.session.commit()
    _as(client, make_user(owner.firm, role="staff"))
    page = _page(client, "/invoices/")
    assert "QuickBooks is not connected: syncing is stopped." in page and "Ask the owner to reconnect it." in page


def test_it_writes_counts_and_who_can_in_romanian(client, app):
    owner = make_user(role="owner")
    problems.record(owner.firm_id, "account", make_account(owner.firm).id, "account-no-match")
    db.session.commit()
    _as(client, make_user(owner.firm, role="viewer", language="ro"))
    page = _page(client, SETTINGS)
    assert "o dată" in page and "1 dată" not in page
    assert "pot acționa doar proprietarul, administratorii și membrii echipei" in page
    assert "o aprobă proprietarul" in page


def test_it_names_the_record_of_a_refused_row(client, app):
    user = _as(client, make_user(role="owner"))
    error = _error(user.firm, name="Tidewater Marine")
    response = client.post(f"{SETTINGS}/errors/apply", headers={"HX-Request": "true"},
                           data={"tab": "accounts", f"action-{error.id}": "link_customer"})
    body = response.get_data(as_text=True)
    assert "Nothing was applied." in body and f'href="#sync-error-{error.id}">Tidewater Marine</a>' in body


def test_it_renders_no_inline_script_or_style(client, app):
    from qbo.quickbooks.models import QboLink

    user = _as(client, make_user(role="owner"))
    invoice = make_invoice(user.firm)
    db.session.add(QboConnection(firm_id=user.firm_id, state="disconnected"))
    db.session.add(QboLink(firm_id=user.firm_id, record_type="invoice", record_id=invoice.id, status="pending"))
    db.session.commit()
    for path in (SETTINGS, f"{SETTINGS}/connection", f"/invoices/{invoice.id}",
                 f"/quickbooks/records/invoice/{invoice.id}"):
        page = _page(client, path)
        assert " onsubmit=" not in page and " style=" not in page and "<script>" not in page, path
