import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer


@pytest.fixture
def connected(app, qbo_emulator):
    """An owner whose firm is connected to the emulator through the real OAuth code flow."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    owner = make_user(role="owner")
    connect_demo_firm(owner.firm_id, owner.id)
    return owner


@pytest.fixture
def drain(app):
    """Run every queued job through a real RQ worker (in this process, on the private Redis)."""
    from qbo import jobs
    from qbo.db import db

    def run(firm_id=None):
        if firm_id is not None:
            jobs.enqueue_sync(firm_id)
        queue = jobs.get_queue()
        SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()

    return run


@pytest.fixture
def qbo_records(qbo_emulator):
    """Everything of one entity in the emulator's company (inactive and deleted ones marked)."""

    def records(entity, realm=None):
        response = qbo_emulator.control("GET", f"/companies/{realm or qbo_emulator.realm_id}/{entity}")
        response.raise_for_status()
        body = response.json()
        return body if isinstance(body, list) else body.get(entity, body.get("records", []))

    return records
