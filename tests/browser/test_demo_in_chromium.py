"""The demo as a firm's owner first sees it: `flask demo seed` against the emulator, then the
errors desk in Chromium, with problems in all six tabs. It also makes the README's screenshot."""
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.accounts.models import User
from qbo.core.db import db
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "errors-desk.png"


def test_it_opens_the_demo_with_errors_in_every_tab(page, sign_in, runner, qbo_emulator):
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
