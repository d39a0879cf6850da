"""Sign in, see the ledger, create an invoice through the form, see a validation error: in Chromium."""
import pytest
from playwright.sync_api import expect

from tests.factories import make_account, make_invoice, make_service, make_user

pytestmark = pytest.mark.browser


def test_it_signs_in_and_shows_the_ledger(page, sign_in, app):
    user = make_user(role="staff")
    invoice = make_invoice(user.firm)
    sign_in(page, user)
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    row = page.locator(f"#invoice-{invoice.id}")
    expect(row).to_contain_text(invoice.number)
    expect(row).to_contain_text("Not synced")


def test_it_creates_an_invoice_with_an_added_line(page, sign_in, app):
    user = make_user(role="staff")
    account = make_account(user.firm, name="Harbor View Cafe")
    service = make_service(user.firm, name="Monthly bookkeeping", rate="450.00")
    sign_in(page, user)
    page.get_by_role("link", name="New invoice").click()
    page.get_by_label("Account").select_option(label="Harbor View Cafe")
    page.get_by_label("Service of line 1").select_option(label="Monthly bookkeeping")
    page.get_by_label("Quantity of line 1").fill("2")
    page.get_by_role("button", name="Add line").click()  # HTMX fetches the row fragment
    page.get_by_label("Description of line 2").fill("Courier fees")
    page.get_by_label("Quantity of line 2").fill("1")
    page.get_by_label("Rate of line 2").fill("35.00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Invoice saved.")).to_be_visible()
    expect(page.locator("dl.record")).to_contain_text("935.00")
    expect(page.get_by_role("heading", name="Invoice INV-0001")).to_be_visible()


def test_it_shows_a_validation_error_and_keeps_the_input(page, live_server, sign_in, app):
    user = make_user(role="owner")
    make_account(user.firm, name="Acme Dental Group")
    sign_in(page, user)
    page.goto(f"{live_server}/invoices/new")
    page.get_by_label("Account").select_option(label="Acme Dental Group")
    page.get_by_label("Description (goes to the QuickBooks memo)").fill("November work")
    page.get_by_label("Quantity of line 1").fill("lots")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("nothing was saved")
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.get_by_text("must be a number")).to_be_visible()
    expect(page.get_by_label("Description (goes to the QuickBooks memo)")).to_have_value("November work")
    expect(page.get_by_label("Quantity of line 1")).to_have_value("lots")


def test_it_runs_a_background_job_and_shows_its_result(page, sign_in, app):
    """The HTMX status fragment polls until a real worker (here: run in-process) finishes."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from qbo.core.queue import get_queue

    user = make_user(role="staff")
    make_invoice(user.firm)
    sign_in(page, user)
    page.get_by_role("button", name="Recalculate balances").click()
    expect(page.locator("#job-status")).to_contain_text("Waiting for a worker")
    queue = get_queue()
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
    expect(page.locator("#job-status")).to_contain_text("Done.", timeout=10000)
    expect(page.locator("#job-status")).to_contain_text("outstanding: 300.00")
