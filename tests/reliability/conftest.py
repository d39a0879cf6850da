import pytest


@pytest.fixture
def connected(app, qbo_emulator):
    """An owner whose firm is connected to the emulator through the real OAuth code flow."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    owner = make_user(role="owner")
    connect_demo_firm(owner.firm_id, owner.id)
    return owner


@pytest.fixture
def qbo_records(qbo_emulator):
    """Everything of one entity in the emulator's company (inactive and deleted ones included)."""

    def records(entity, realm=None):
        response = qbo_emulator.control("GET", f"/companies/{realm or qbo_emulator.realm_id}/{entity}")
        response.raise_for_status()
        return response.json()

    return records
