"""Connecting a firm to an emulated QuickBooks company of a given profile (issue 16's profiles)."""
import pytest


@pytest.fixture
def connect_company(app, qbo_emulator):
    """connect_company("uk-vat", address=None, multicurrency=False) -> an owner whose firm is
    connected, through real OAuth, to a new company of that profile; the owner's `realm_id` is set."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    def connect(profile: str, address: dict | None = None, multicurrency: bool = False):
        body = {"profile": profile, "name": f"{profile} company", **({"address": address} if address else {})}
        answer = qbo_emulator.control("POST", "/companies", json=body)
        answer.raise_for_status()
        realm = answer.json()["realm_id"]
        if multicurrency:
            qbo_emulator.control("PATCH", f"/companies/{realm}/preferences",
                                 json={"multicurrency": True}).raise_for_status()
        owner = make_user(role="owner")
        connect_demo_firm(owner.firm_id, owner.id, realm_id=realm)
        owner.realm_id = realm
        return owner

    return connect
