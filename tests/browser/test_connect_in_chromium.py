"""The owner connects QuickBooks in a real browser: Connect, approve on QuickBooks' page, land back."""
import pytest
from playwright.sync_api import expect

from tests.factories import make_user

pytestmark = pytest.mark.browser
SETTINGS = "/settings/integrations/quickbooks"


def test_it_connects_quickbooks_from_the_settings_page(page, sign_in, qbo_emulator):
    owner = make_user(role="owner")
    sign_in(page, owner, SETTINGS)
    expect(page.locator("#connection-card")).to_contain_text("Not connected")
    page.get_by_role("button", name="Connect to QuickBooks").click()
    page.locator("#connect").click()  # the emulator's consent page
    expect(page.get_by_text("Connected to QuickBooks company")).to_be_visible()
    expect(page.locator("#connection-card")).to_contain_text(qbo_emulator.realm_id)
    page.get_by_role("link", name="Manage the connection").click()  # connected, the errors page comes first
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()


def test_it_comes_back_unchanged_when_the_person_cancels_on_quickbooks(page, sign_in, qbo_emulator):
    owner = make_user(role="owner")
    sign_in(page, owner, SETTINGS)
    page.get_by_role("button", name="Connect to QuickBooks").click()
    page.locator("#cancel").click()
    expect(page.get_by_text("QuickBooks did not grant access")).to_be_visible()
    expect(page.locator("#connection-card")).to_contain_text("Not connected")


def test_it_shows_a_viewer_the_state_but_no_buttons(page, sign_in, qbo_emulator):
    viewer = make_user(role="viewer")
    sign_in(page, viewer, SETTINGS)
    expect(page.locator("#connection-card")).to_contain_text("Only the owner can connect")
    expect(page.get_by_role("button", name="Connect to QuickBooks")).to_have_count(0)
