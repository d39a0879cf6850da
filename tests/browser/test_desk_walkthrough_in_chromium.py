"""A firm's staff walk through the desk in Chromium (issue 18): nothing overflows a 390 px phone,
Submit's progress shows where the person is, and the header links to the Profile."""
import pytest
from playwright.sync_api import expect

from qbo.core.audit import audit
from qbo.core.db import db
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_invoice, make_user

pytestmark = pytest.mark.browser
SETTINGS = "/settings/integrations/quickbooks"


def _errors(firm, n, start=0):
    """n open errors on the Accounts tab, long names and QuickBooks messages as real ones are."""
    accounts = [make_account(firm, name=f"Orchard Pediatrics and Family Medicine Group {i}") for i in range(start, start + n)]
    for account in accounts:
        problems.record(firm.id, "account", account.id, "duplicate-name", code="6240",
                        message="Duplicate Name Exists Error: The name supplied already exists.")
    db.session.commit()
    return accounts


def _overflow(page, path):
    page.goto(path)
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_it_fits_a_390_px_phone_without_sideways_scrolling(page, sign_in, live_server):
    owner = make_user(role="owner")
    invoice = make_invoice(owner.firm, account=_errors(owner.firm, 2)[0], number="INV-2026-NOVEMBER-00062")
    audit(owner.firm_id, owner.id, "invoices.created", invoice)
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, owner, SETTINGS)
    action = page.locator("#errors-desk select[name^=action-]").first.bounding_box()
    assert action["x"] >= 0 and action["x"] + action["width"] <= 390  # the Action column is on screen
    for path in (SETTINGS, "/invoices/new", "/invoices/", "/quickbooks/history"):
        width, window = _overflow(page, live_server + path)
        assert width <= window, f"{path} is {width} px wide in a {window} px window"
    page.set_viewport_size({"width": 1280, "height": 800})
    lines = "document.querySelector('#history-table td.when time').getClientRects().length"
    assert page.evaluate(lines) == 1  # History's date on one line at 1280 px


def test_it_shows_submit_progress_where_the_person_is(page, sign_in):
    owner = make_user(role="owner")
    accounts = _errors(owner.firm, 25)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, owner, SETTINGS)
    expect(page.locator("#error-tabs")).to_be_attached()
    # Whatever htmx loads after the page (banner, counts) settled first: a key pressed while the
    # page still swaps in content may land before the focus order is final (seen under load).
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")  # the first stop: the skip link
    expect(page.get_by_role("link", name="Skip to the error tabs")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the second: the open tab
    expect(page.locator("#tab-accounts")).to_be_focused()
    page.get_by_label(f"Action for {accounts[-1].name}").select_option("skip")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#desk-jobs")).to_contain_text("1 job")
    expect(page.locator("#desk-jobs")).to_be_in_viewport()
    assert page.locator("#desk-progress").get_attribute("aria-live") == "polite"


def test_it_links_the_profile_from_the_header(page, sign_in):
    owner = make_user(role="owner")
    sign_in(page, owner, "/invoices/")
    page.get_by_role("link", name=owner.email).click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_label("Română")).to_be_visible()


def test_it_keeps_unsubmitted_choices_when_errors_arrive_or_the_tab_changes(page, sign_in):
    owner = make_user(role="owner")
    first = _errors(owner.firm, 1)[0]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, owner, SETTINGS)
    choice = page.get_by_label(f"Action for {first.name}")
    choice.select_option("skip")
    _errors(owner.firm, 1, start=1)  # a new error arrives while the person is choosing
    page.evaluate("htmx.ajax('GET', '/quickbooks/banner', {target: '#qbo-banner', swap: 'outerHTML'})")
    expect(page.locator("#qbo-banner .banner-count")).to_have_text("2")
    expect(page.locator(".desk-stale")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("tab", name="Invoices").click()
    expect(page.get_by_role("tab", name="Accounts 1")).to_have_attribute("aria-selected", "true")
    expect(choice).to_have_value("skip")
    page.locator("[data-refresh-desk]").click()
    expect(page.get_by_role("tab", name="Accounts 2")).to_have_attribute("aria-selected", "true")


def test_it_asks_before_deleting_without_inline_script(page, sign_in):
    owner = make_user(role="owner")
    invoice = make_invoice(owner.firm, number="INV-0062")
    sign_in(page, owner, f"/invoices/{invoice.id}")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="INV-0062")).to_be_visible()
    assert questions == ["Delete this record?"]
