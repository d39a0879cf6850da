"""Signed webhook delivery (ref §8): legacy or CloudEvents bodies, retried on a (scaled) schedule."""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone

import requests

# ref §8: retries at 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h. Bounded
# here: after the listed attempts the delivery is given up (logged).
RETRY_SCHEDULE = [10, 20, 30, 300, 1200, 7200, 14400, 21600, 21600]
VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided",
         "Merge": "merged", "Emailed": "emailed"}
RECEIVER_TIMEOUT = 3.0  # QBO wants a 200 within 3 s


def sign(verifier_token, body):
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_body(events):
    by_realm = {}
    for e in events:
        by_realm.setdefault(e["realm_id"], []).append(
            {"name": e["entity"], "id": e["id"], "operation": e["operation"],
             "lastUpdated": _utc(e["at"])})
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}
                                   for realm, entities in by_realm.items()]}


def cloudevents_body(events, source):
    return [{"specversion": "1.0", "id": str(uuid.uuid4()), "source": source,
             "type": f"qbo.{e['entity'].lower()}.{VERBS.get(e['operation'], 'updated')}.v1",
             "datacontenttype": "application/json", "time": _utc(e["at"]),
             "intuitentityid": e["id"], "intuitaccountid": e["realm_id"], "data": {}}
            for e in events]


class Dispatcher:
    def __init__(self, store):
        self.store = store
        self.cond = threading.Condition()
        self.pending = []
        self.deliveries = []
        self.source = "intuit." + secrets.token_hex(8)
        self.stopped = False
        self.generation = 0  # bumped by clear(): a reset abandons the delivery in flight
        self.thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self.thread.start()
        store.listeners.append(self.on_event)

    def on_event(self, event):
        if not self.store.state.get("webhooks"):
            return
        with self.cond:
            self.pending.append(event)
            self.cond.notify()

    def clear(self):
        with self.cond:
            self.pending.clear()
            self.deliveries.clear()
            self.generation += 1
            self.cond.notify_all()

    def stop(self):
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def _scale(self):
        return float(self.store.state.get("limits", {}).get("time_scale") or 1)

    def _run(self):
        while True:
            with self.cond:
                while not self.pending and not self.stopped:
                    self.cond.wait()
                if self.stopped:
                    return
            time.sleep(0.05)  # let a burst of changes travel in one notification
            with self.cond:
                events, self.pending = self.pending, []
            self._deliver(events)

    def _deliver(self, events):
        # Later events are held back until this one is acknowledged or given up (ref §8).
        generation = self.generation
        for attempt in range(len(RETRY_SCHEDULE) + 1):
            config = self.store.state.get("webhooks")
            if not config or self.stopped or generation != self.generation:
                return
            if config.get("format") == "cloudevents":
                payload = cloudevents_body(events, self.source)
            else:
                payload = legacy_body(events)
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json",
                       "intuit-signature": sign(config.get("verifier_token") or "", body)}
            record = {"at": time.time(), "url": config["url"], "attempt": attempt + 1,
                      "events": len(events), "status": None, "error": None, "body": payload}
            try:
                response = requests.post(config["url"], data=body, headers=headers,
                                         timeout=RECEIVER_TIMEOUT)
                record["status"] = response.status_code
            except requests.RequestException as exc:
                record["error"] = type(exc).__name__
            with self.cond:
                if generation != self.generation:
                    return
                self.deliveries.append(record)
                del self.deliveries[:-1000]
            if record["status"] == 200:
                return
            if attempt < len(RETRY_SCHEDULE):
                deadline = time.time() + RETRY_SCHEDULE[attempt] / self._scale()
                with self.cond:
                    while not self.stopped and generation == self.generation \
                            and time.time() < deadline:
                        self.cond.wait(timeout=min(1.0, max(0.0, deadline - time.time())))
        with self.cond:
            self.deliveries.append({"at": time.time(), "gave_up": True, "events": len(events)})
