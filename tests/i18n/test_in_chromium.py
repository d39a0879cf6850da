"""In Chromium: the same firm's ledger in Romanian for a Romanian user and in English for an English
one; a browser set to Romanian gets Romanian until the person picks another language."""
import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_account, make_invoice, make_user

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, user, button="Sign in"):
    page.goto(f"{live_server}/sign-in")
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_it_shows_one_firm_in_each_users_language(page, browser, live_server, app):
    romanian = make_user(role="staff", language="ro")
    invoice = make_invoice(romanian.firm)
    make_account(romanian.firm, name="Harbor View Cafe")
    _sign_in(page, live_server, romanian)
    expect(page.get_by_role("heading", name="Facturi")).to_be_visible()
    expect(page.locator(f"#invoice-{invoice.id}")).to_contain_text("Netrimis")
    page.get_by_role("link", name="Factură nouă").click()
    page.get_by_role("button", name="Salvați").click()
    expect(page.get_by_role("alert")).to_have_text("Corectați câmpurile marcate; nu s-a salvat nimic.")
    expect(page.locator(".field-error").first).to_have_text("este obligatoriu")

    english = make_user(romanian.firm, role="admin", language="en")
    other = browser.new_context(locale="ro-RO")
    try:
        page = other.new_page()
        _sign_in(page, live_server, english, button="Autentificare")
        expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
        expect(page.locator(f"#invoice-{invoice.id}")).to_contain_text("Not synced")
    finally:
        other.close()


def test_it_follows_a_romanian_browser_until_the_profile_says_otherwise(browser, live_server, app):
    user = make_user(role="staff")
    make_invoice(user.firm)
    context = browser.new_context(locale="ro-RO")
    try:
        page = context.new_page()
        _sign_in(page, live_server, user, button="Autentificare")
        expect(page.get_by_role("heading", name="Facturi")).to_be_visible()
        page.goto(f"{live_server}/profile/")
        page.get_by_label("English").check()
        page.get_by_role("button", name="Salvați").click()
        expect(page.get_by_role("status")).to_have_text("Your language is saved.")
        page.goto(f"{live_server}/invoices/")
        expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    finally:
        context.close()
