"""POST /webhooks/intuit: signed notifications from the emulator queue a CDC poll; anything else
is refused before it is read further."""
import json
import threading
import time

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from qbo.core.db import db
from qbo.core.queue import get_queue
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import webhooks
from qbo.quickbooks.models import QboLink
from tests.factories import make_invoice

VERIFIER = "test-verifier-token"


@pytest.fixture
def webhook_url(app, app_config, _qbo_emulator_server):
    """The real app on a free local port, with a verifier token, sharing the test database."""
    from app import create_app

    served = create_app({**app_config, "QBO_WEBHOOK_VERIFIER": VERIFIER,
                         "QBO_BASE_URL": _qbo_emulator_server.base_url, "QBO_ENVIRONMENT": "emulator"})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/intuit"
    server.shutdown()
    thread.join(5)


def _drift_jobs():
    return [job_id for job_id in get_queue().job_ids if job_id.startswith("drift-poll")]


def _delivered(qbo_emulator, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = qbo_emulator.control("GET", "/webhooks").json()["deliveries"]
        if any(d.get("status") == 200 for d in deliveries):
            return deliveries
        time.sleep(0.05)
    raise AssertionError(f"no webhook delivered: {deliveries}")


def _legacy(realm):
    return json.dumps({"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [
        {"name": "Invoice", "id": "1", "operation": "Update", "lastUpdated": "2026-11-25T10:00:00Z"}]}}]}).encode()


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_it_polls_after_a_signed_webhook_from_quickbooks(fmt, connected, drain, qbo_emulator, webhook_url):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "invoice"))
    qbo_emulator.control("PUT", "/webhooks", json={"url": webhook_url, "verifier_token": VERIFIER,
                                                   "format": fmt}).raise_for_status()
    qbo_emulator.control("DELETE", f"/companies/{qbo_emulator.realm_id}/Invoice/{link.qbo_id}").raise_for_status()
    _delivered(qbo_emulator)
    assert _drift_jobs() == [quickbooks_jobs.poll_job_id(connected.firm_id)]
    drain()
    assert link.status == "unsynced" and link.record_id == invoice.id


@pytest.mark.parametrize("headers", [{}, {"intuit-signature": "bm90IHRoZSByaWdodCBvbmU="},
                                     {"intuit-signature": ""}])
def test_it_refuses_a_missing_or_bad_signature(headers, connected, client, qbo_emulator):
    client.application.config["QBO_WEBHOOK_VERIFIER"] = VERIFIER
    response = client.post("/webhooks/intuit", data=_legacy(qbo_emulator.realm_id), headers=headers)
    assert response.status_code == 401 and _drift_jobs() == []


def test_it_refuses_everything_without_a_verifier_token(connected, client, qbo_emulator):
    client.application.config["QBO_WEBHOOK_VERIFIER"] = ""
    body = _legacy(qbo_emulator.realm_id)
    response = client.post("/webhooks/intuit", data=body, headers={"intuit-signature": webhooks.signature_for(body, "")})
    assert response.status_code == 401 and _drift_jobs() == []


def test_it_queues_one_poll_for_a_burst_of_webhooks(connected, client, qbo_emulator):
    client.application.config["QBO_WEBHOOK_VERIFIER"] = VERIFIER
    body = _legacy(qbo_emulator.realm_id)
    for _ in range(3):
        response = client.post("/webhooks/intuit", data=body,
                               headers={"intuit-signature": webhooks.signature_for(body, VERIFIER)})
        assert response.status_code == 200
    assert response.json == {"queued": 1} and _drift_jobs() == [quickbooks_jobs.poll_job_id(connected.firm_id)]


def test_it_ignores_realms_it_does_not_know(connected, client):
    client.application.config["QBO_WEBHOOK_VERIFIER"] = VERIFIER
    body = json.dumps([{"specversion": "1.0", "type": "qbo.invoice.updated.v1", "intuitentityid": "1",
                        "intuitaccountid": "999999"}]).encode()
    response = client.post("/webhooks/intuit", data=body,
                           headers={"intuit-signature": webhooks.signature_for(body, VERIFIER)})
    assert response.status_code == 200 and response.json == {"queued": 0} and _drift_jobs() == []


def test_it_answers_400_to_a_signed_body_that_is_not_json(client):
    client.application.config["QBO_WEBHOOK_VERIFIER"] = VERIFIER
    body = b"not json"
    response = client.post("/webhooks/intuit", data=body,
                           headers={"intuit-signature": webhooks.signature_for(body, VERIFIER)})
    assert response.status_code == 400



def _idle_hour(firm_id, start, poll=True):
    """The worker's schedule every 15 s (DRIFT_SCHEDULE_SECONDS) through an hour in which nothing
    changes: (polls due, metered reads the polls made)."""
    import datetime as dt

    from qbo.quickbooks.connection import get_connection, reads_this_month

    before, polls = reads_this_month(get_connection(firm_id)), 0
    for tick in range(0, 3600, 15):
        now = start + dt.timedelta(seconds=tick)
        if firm_id in quickbooks_jobs.due_firms(now):
            polls += 1
            if poll:
                quickbooks_jobs.poll_changes_job(firm_id)
            get_connection(firm_id).cdc_checked_at = now  # as if the poll had run at that moment
            db.session.commit()
    return polls, reads_this_month(get_connection(firm_id)) - before


def test_it_polls_four_times_an_idle_hour_with_webhooks_and_at_once_on_a_webhook(connected, client, drain,
                                                                                  qbo_emulator):
    """qbo-2025-2026: polls are metered reads (500,000 a month on the Builder tier); with webhooks
    on, the scheduled poll is a catch-up every 15 minutes, and a webhook polls at once (ref §8)."""
    from qbo.core.models import utcnow
    from qbo.quickbooks.connection import get_connection, reads_this_month

    import datetime as dt

    start = utcnow()
    assert _idle_hour(connected.firm_id, start, poll=False)[0] == 60  # no webhooks: a poll a minute
    client.application.config["QBO_WEBHOOK_VERIFIER"] = VERIFIER
    polls, reads = _idle_hour(connected.firm_id, start + dt.timedelta(hours=1))
    assert polls == 4 and 0 < reads <= 4
    get_connection(connected.firm_id).cdc_checked_at = utcnow()
    db.session.commit()
    before = reads_this_month(get_connection(connected.firm_id))
    body = _legacy(qbo_emulator.realm_id)
    response = client.post("/webhooks/intuit", data=body,
                           headers={"intuit-signature": webhooks.signature_for(body, VERIFIER)})
    assert response.json == {"queued": 1}
    drain()
    assert reads_this_month(get_connection(connected.firm_id)) == before + 1
