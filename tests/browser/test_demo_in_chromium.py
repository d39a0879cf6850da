"""The demo as a firm's owner first sees it: `flask demo seed` against the emulator, then the
errors desk in Chromium, with problems in all six tabs, and the owner approving the customers a
staff member asked to create. It also makes the README's screenshots:
the desk, the tie-out after one has run, and the desk on a 390 px wide phone."""
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.accounts.models import User
from qbo.core.db import db
from qbo.demo import NEW_CLIENTS
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import QboConnection
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOT = DOCS / "errors-desk.png"
TIEOUT_SCREENSHOT = DOCS / "tieout.png"
MOBILE_SCREENSHOT = DOCS / "errors-desk-mobile.png"


def test_it_opens_the_demo_with_errors_in_every_tab(page, sign_in, runner, qbo_emulator, live_server, drain):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    owner = db.session.scalar(select(User).where(User.email == "owner@northwind.test"))
    owner.set_password(PASSWORD)
    db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, owner, "/settings/integrations/quickbooks")
    expect(page.locator("#qbo-banner")).to_be_visible()
    for tab in ("Accounts", "Invoices", "Payments", "Refunds", "Expenses", "Services"):
        expect(page.locator(f"#tab-{tab.lower()} .count")).not_to_have_class("count count-zero")
    page.get_by_role("tab", name="Invoices").click()
    expect(page.locator("#errors-panel")).to_contain_text("INV-0007")
    page.locator("#errors-panel details").first.click()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.evaluate("document.getElementById('quickbooks-errors').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOT))  # one screenful: the errors come first, notes below

    quickbooks_jobs.request_tieout(owner.firm_id, owner.id)
    drain()
    page.goto(f"{live_server}/settings/integrations/quickbooks/tieout")
    expect(page.locator("#main")).to_contain_text("INV-")  # the differences, each named
    page.screenshot(path=str(TIEOUT_SCREENSHOT))

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/settings/integrations/quickbooks")
    expect(page.locator("#tab-invoices .count")).not_to_have_class("count count-zero")
    page.evaluate("document.getElementById('quickbooks-errors').scrollIntoView()")
    page.screenshot(path=str(MOBILE_SCREENSHOT))


def test_it_shows_the_owner_the_customer_creation_staff_asked_for_and_runs_it(page, sign_in, runner, qbo_emulator, drain):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    owner = db.session.scalar(select(User).where(User.email == "owner@northwind.test"))
    owner.set_password(PASSWORD)
    db.session.commit()
    sign_in(page, owner)
    expect(page.locator("#qbo-banner")).to_contain_text("1 bulk action waits for your approval.")
    page.locator("#qbo-banner").get_by_role("link", name="Open QuickBooks errors").click()
    expect(page.locator(".bulk-request")).to_contain_text(
        "staff@northwind.test asks: Create new customer in QuickBooks for all accounts missing in QuickBooks")
    page.get_by_role("tab", name="Accounts").click()
    for name in NEW_CLIENTS:
        expect(page.locator("#errors-panel")).to_contain_text(name)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#desk-jobs")).to_be_visible()
    drain()
    expect(page.locator("#desk-jobs")).to_contain_text("Done", timeout=20_000)
    expect(page.locator(".bulk-request")).to_have_count(0)
    for name in NEW_CLIENTS:
        expect(page.locator("#errors-panel")).not_to_contain_text(name)
    realm = db.session.scalar(select(QboConnection.realm_id).where(QboConnection.firm_id == owner.firm_id))
    customers = {c["DisplayName"] for c in qbo_emulator.control("GET", f"/companies/{realm}/Customer").json()}
    assert set(NEW_CLIENTS) <= customers
