"""Helpers for the QBO client tests (a module with a unique name, so both the tests and the
processes that tests/quickbooks/api/test_limiter.py spawns can import it)."""
import base64
import threading
import time

import redis
import requests

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import RateLimited, ReconnectNeeded
from qbo.quickbooks.api.limiter import RealmLimiter


class EmulatorTokens:
    """Test double of the lead's token source: a real token pair from the emulator, and a real
    refresh-token grant on `refreshed_after` (the emulator rotates the refresh token)."""

    def __init__(self, emu, realm_id=None):
        self.emu = emu
        self.pair = emu.tokens(realm_id)
        self.rejected = []

    def access_token(self):
        return self.pair["access_token"]

    def refreshed_after(self, rejected):
        self.rejected.append(rejected)
        basic = base64.b64encode(b"emulator-client-id:emulator-client-secret").decode()
        answer = requests.post(self.emu.token_url, timeout=10,
                               data={"grant_type": "refresh_token",
                                     "refresh_token": self.pair["refresh_token"]},
                               headers={"Authorization": "Basic " + basic,
                                        "Accept": "application/json"})
        if answer.status_code == 400 and answer.json().get("error") == "invalid_grant":
            raise ReconnectNeeded("refresh token rejected: invalid_grant", status=400)
        answer.raise_for_status()
        self.pair = answer.json()
        return self.pair["access_token"]


def inject(emu, **rule):
    """POST /__emulator__/faults (api.md §3)."""
    emu.control("POST", "/faults", json=rule).raise_for_status()


def requests_log(emu, path_part=""):
    """The emulator's log of QBO API requests whose path contains `path_part`."""
    return [r for r in emu.control("GET", "/requests").json() if path_part in r["path"]]


def records(emu, entity):
    """Every record of a type in the default company, as QBO's own screens would list them."""
    return emu.control("GET", f"/companies/{emu.realm_id}/{entity}").json()


class StaticTokens:
    """A token that stays valid for the whole test (no refresh expected)."""

    def __init__(self, token):
        self.token = token

    def access_token(self):
        return self.token

    def refreshed_after(self, rejected):
        raise AssertionError("no 401 expected here")


def hammer(base_url, realm_id, token, redis_url, seconds, threads, use_limiter, time_scale,
           slack_ms=150):
    """One worker process: `threads` threads, each with its own client, sending reads and every
    tenth request a batch, for `seconds`. Returns (answered, throttled, errors). 150 ms of window
    slack: on a 2-CPU box with 15 busy threads, the time between our admission and the emulator's
    count reached 10-50 ms (50 ms still let 3 of 274 through as 429s once)."""
    counts = {"ok": 0, "throttled": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    conn = redis.Redis.from_url(redis_url) if use_limiter else None

    def run(n):
        limiter = RealmLimiter(conn, time_scale=time_scale, slack_ms=slack_ms) if use_limiter else None
        client = QboClient(realm_id, base_url + "/v3", StaticTokens(token), limiter=limiter,
                           max_retries=0, sleep=lambda s: None)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            try:
                if i % 10 == 0:
                    client.batch([{"query": "SELECT * FROM PaymentMethod"}], request_id=f"{n}-{i}-{time.time()}"[:36])
                else:
                    client.preferences()
                key = "ok"
            except RateLimited:
                key = "throttled"
            except Exception:
                key = "errors"
            with lock:
                counts[key] += 1

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts["ok"], counts["throttled"], counts["errors"]
