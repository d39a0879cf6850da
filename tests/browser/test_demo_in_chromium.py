"""The demo as a firm's owner first sees it: `flask demo seed` against the emulator, then the
errors desk in Chromium, with problems in all six tabs. It also makes the README's screenshots:
the desk, the tie-out after one has run, and the desk on a 390 px wide phone."""
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.accounts.models import User
from qbo.core.db import db
from qbo.quickbooks import jobs as quickbooks_jobs
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
