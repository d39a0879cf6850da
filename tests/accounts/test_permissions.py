import pytest

from qbo.accounts import permissions as P
from tests.factories import make_firm, make_user

EXPECTED = {
    "owner": {P.VIEW_LEDGER, P.EDIT_LEDGER, P.VIEW_ERRORS, P.ACT_ON_ERRORS, P.MANAGE_SETTINGS,
              P.MANAGE_CONNECTION, P.APPROVE_BULK, P.MANAGE_USERS},
    "admin": {P.VIEW_LEDGER, P.EDIT_LEDGER, P.VIEW_ERRORS, P.ACT_ON_ERRORS, P.MANAGE_SETTINGS},
    "staff": {P.VIEW_LEDGER, P.EDIT_LEDGER, P.VIEW_ERRORS, P.ACT_ON_ERRORS},
    "viewer": {P.VIEW_LEDGER, P.VIEW_ERRORS},
}
ALL = set().union(*EXPECTED.values())


@pytest.mark.parametrize("role", P.ROLES)
def test_it_grants_each_role_exactly_its_permissions(app, role):
    user = make_user(role=role)
    assert {p for p in ALL if user.can(p)} == EXPECTED[role]


def test_it_lets_admins_manage_the_connection_only_when_the_firm_allows(app):
    firm = make_firm(admins_manage_connection=False)
    admin = make_user(firm, "admin")
    assert not admin.can(P.MANAGE_CONNECTION)
    firm.admins_manage_connection = True
    assert admin.can(P.MANAGE_CONNECTION)
    assert not make_user(firm, "staff").can(P.MANAGE_CONNECTION)


def test_it_grants_nothing_to_an_unknown_role(app):
    assert P.permissions_for("superuser") == frozenset()


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 200), ("admin", 200), ("owner", 200)])
def test_it_shows_the_new_invoice_form_only_to_roles_that_edit_the_ledger(client, role, status):
    from tests.factories import sign_in

    sign_in(client, make_user(role=role))
    assert client.get("/invoices/new").status_code == status


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 403), ("admin", 302), ("owner", 302)])
def test_it_lets_only_owners_and_admins_change_sync_settings(client, role, status):
    from tests.factories import sign_in

    sign_in(client, make_user(role=role))
    response = client.post("/settings/integrations/quickbooks/sync-settings",
                           data={"default_income_account": "Services", "next_invoice_number": "5"})
    assert response.status_code == status


def test_it_hides_edit_buttons_from_a_viewer(client):
    from tests.factories import make_account, sign_in

    viewer = make_user(role="viewer")
    account = make_account(viewer.firm)
    sign_in(client, viewer)
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Edit" not in page and "Delete" not in page
    assert "Only an owner, admin or staff member" in page
    assert "New account" not in client.get("/accounts/").get_data(as_text=True)
