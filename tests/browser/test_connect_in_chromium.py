"""The owner connects QuickBooks in a real browser: Connect, approve on QuickBooks' page, land back."""
import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, user):
    page.goto(f"{live_server}/sign-in?next=/settings/integrations/quickbooks")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_it_connects_quickbooks_from_the_settings_page(page, live_server, qbo_emulator):
    owner = make_user(role="owner")
    _sign_in(page, live_server, owner)
    expect(page.locator("#connection-card")).to_contain_text("Not connected")
    page.get_by_role("button", name="Connect to QuickBooks").click()
    page.locator("#connect").click()  # the emulator's consent page
    expect(page.get_by_text("Connected to QuickBooks company")).to_be_visible()
    expect(page.locator("#connection-card")).to_contain_text(qbo_emulator.realm_id)
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()


def test_it_comes_back_unchanged_when_the_person_cancels_on_quickbooks(page, live_server, qbo_emulator):
    owner = make_user(role="owner")
    _sign_in(page, live_server, owner)
    page.get_by_role("button", name="Connect to QuickBooks").click()
    page.locator("#cancel").click()
    expect(page.get_by_text("QuickBooks did not grant access")).to_be_visible()
    expect(page.locator("#connection-card")).to_contain_text("Not connected")


def test_it_shows_a_viewer_the_state_but_no_buttons(page, live_server, qbo_emulator):
    viewer = make_user(role="viewer")
    _sign_in(page, live_server, viewer)
    expect(page.locator("#connection-card")).to_contain_text("Only the owner can connect")
    expect(page.get_by_role("button", name="Connect to QuickBooks")).to_have_count(0)
