"""The firm's QuickBooks sync settings: the fallback item for lines without a service (issue 12)."""
from qbo.core.db import db
from tests.factories import make_user, sign_in

URL = "/settings/integrations/quickbooks/sync-settings"


def test_it_shows_and_saves_the_fallback_item(client, app):
    user = make_user(role="owner")
    sign_in(client, user)
    assert 'name="fallback_item_name" value="Services"' in client.get("/settings/integrations/quickbooks/sync-settings").get_data(as_text=True)
    ok = client.post(URL, data={"default_income_account": "Services", "next_invoice_number": "1",
                                "fallback_item_name": "Sundry fees"})
    assert ok.status_code == 302
    db.session.refresh(user.firm)
    assert user.firm.fallback_item_name == "Sundry fees"


def test_it_refuses_a_fallback_item_quickbooks_would_refuse(client, app):
    user = make_user(role="owner")
    sign_in(client, user)
    bad = client.post(URL, data={"default_income_account": "Services", "next_invoice_number": "1",
                                 "fallback_item_name": "Fees: misc"})
    assert bad.status_code == 422 and "must not contain a colon" in bad.get_data(as_text=True)
    db.session.refresh(user.firm)
    assert user.firm.fallback_item_name == "Services"
