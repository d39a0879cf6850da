"""Webhooks (ref §8): signed, legacy or CloudEvents, retried until the app answers 200."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/qbo"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def wait(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def events(self, count, timeout=5.0):
        """CloudEvents received so far, waiting until there are `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = [e for _, body in list(self.received) for e in json.loads(body)]
            if len(events) >= count:
                break
            time.sleep(0.02)
        return events


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_it_posts_a_signed_legacy_notification(emu, qbo_http, receiver):
    """ref §8: legacy eventNotifications body; intuit-signature = base64(HMAC-SHA256(verifier, raw body))."""
    emu.control("PUT", "/webhooks", json={"url": receiver.url, "verifier_token": "verif", "format": "legacy"})
    customer = qbo_http.customer("Hooked")
    headers, body = receiver.wait(1)[0]
    expected = base64.b64encode(hmac.new(b"verif", body, hashlib.sha256).digest()).decode()
    assert headers["intuit-signature"] == expected
    note = json.loads(body)["eventNotifications"][0]
    assert note["realmId"] == qbo_http.realm_id
    entity = note["dataChangeEvent"]["entities"][0]
    assert (entity["name"], entity["id"], entity["operation"]) == ("Customer", customer["Id"], "Create")
    assert entity["lastUpdated"].endswith("Z")


def test_it_posts_cloudevents(emu, qbo_http, receiver):
    """ref §8 CloudEvents: a JSON array of {specversion, id, source, type qbo.<entity>.<verb>.v1, ...}."""
    emu.control("PUT", "/webhooks", json={"url": receiver.url, "verifier_token": "v", "format": "cloudevents"})
    invoice = qbo_http.invoice(qbo_http.customer()["Id"])
    qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, {"operation": "delete"})
    events = receiver.events(3)
    types = [e["type"] for e in events]
    assert "qbo.invoice.created.v1" in types and "qbo.invoice.deleted.v1" in types
    event = events[-1]
    assert event["specversion"] == "1.0" and event["intuitaccountid"] == qbo_http.realm_id
    assert event["intuitentityid"] == invoice["Id"] and event["source"].startswith("intuit.")


def test_it_notifies_changes_made_by_a_person(emu, receiver):
    """Issue 3: every change, by the API or by a person through the control API, is POSTed."""
    emu.control("PUT", "/webhooks", json={"url": receiver.url, "verifier_token": "v", "format": "legacy"})
    emu.control("POST", f"/companies/{emu.realm_id}/Vendor", json={"DisplayName": "By Hand"})
    entity = json.loads(receiver.wait(1)[0][1])["eventNotifications"][0]["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Vendor" and entity["operation"] == "Create"


def test_it_retries_until_the_app_answers_200(emu, qbo_http):
    """ref §8: retried (10 s, 20 s, ... compressed by time_scale) when the app doesn't answer 200."""
    receiver = Receiver(statuses=[500, 503])
    try:
        emu.control("PUT", "/limits", json={"time_scale": 200})
        emu.control("PUT", "/webhooks", json={"url": receiver.url, "verifier_token": "v"})
        qbo_http.customer("Retry Me")
        received = receiver.wait(3)
        assert len(received) == 3 and received[0][1] == received[2][1]
        # The emulator notes a delivery once its answer is back: after the receiver saw it.
        deadline = time.monotonic() + 5
        while len(deliveries := emu.control("GET", "/webhooks").json()["deliveries"]) < 3 \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d["status"] for d in deliveries] == [500, 503, 200]
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
