"""The Content-Security-Policy (views/_security.py) holds on real pages in Chromium: the desk with its
htmx tabs, type-ahead and indicators, a record's panel and a form run without one CSP violation."""
import pytest
from playwright.sync_api import expect

from qbo.core.db import db
from tests.browser.test_desk_in_chromium import SETTINGS, _demo_errors
from tests.factories import make_invoice

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    found = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))")
    return found


def test_it_runs_the_desk_without_a_csp_violation(page, sign_in, connected, qbo_emulator, drain):
    _demo_errors(connected, qbo_emulator, drain)
    violations = _violations(page)
    sign_in(page, connected, SETTINGS)
    assert "frame-ancestors 'none'" in page.request.get(page.url).headers["content-security-policy"]
    expect(page.get_by_role("tab", name="Accounts 4")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="Services 1").click()  # an htmx swap
    expect(page.locator("#errors-panel")).to_contain_text("Wrong account type for the service")
    page.wait_for_load_state("networkidle")
    invoice = make_invoice(connected.firm)
    db.session.commit()
    page.goto(page.url.split("/settings")[0] + f"/quickbooks/records/invoice/{invoice.id}")
    page.goto(page.url.split("/quickbooks")[0] + "/invoices/new")
    page.get_by_role("button", name="Add line").click()  # htmx, its row index set by app.js (no eval)
    expect(page.locator("#lines-body tr")).to_have_count(2)
    expect(page.locator("[name=lines-1-quantity]")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    assert violations == []
