"""Fixtures for the QBO client tests: a live emulator over real HTTP (reset per test), a token
source that gets its tokens from the emulator, a real Redis, and a client whose sleeps are recorded
instead of slept."""
import base64

import pytest
import redis
import requests

from emulator.testing import live_emulator
from qbo.client import QboClient
from qbo.errors import ReconnectNeeded


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


@pytest.fixture(scope="session")
def qbo_emulator():
    with live_emulator(limits=False) as emu:
        yield emu


@pytest.fixture
def emu(qbo_emulator):
    qbo_emulator.control("POST", "/reset").raise_for_status()
    qbo_emulator.control("PUT", "/limits", json={"enabled": False}).raise_for_status()
    yield qbo_emulator
    qbo_emulator.control("DELETE", "/faults")


@pytest.fixture
def tokens(emu):
    return EmulatorTokens(emu)


@pytest.fixture
def sleeps():
    """Every backoff the client asked for, in seconds; nothing is actually slept."""
    return []


@pytest.fixture
def qbo(emu, tokens, sleeps):
    client = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, sleep=sleeps.append)
    yield client
    client.session.close()


@pytest.fixture
def redis_db(redis_url):
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


def inject(emu, **rule):
    """POST /__emulator__/faults (api.md §3)."""
    emu.control("POST", "/faults", json=rule).raise_for_status()


def requests_log(emu, path_part=""):
    """The emulator's log of QBO API requests whose path contains `path_part`."""
    return [r for r in emu.control("GET", "/requests").json() if path_part in r["path"]]


def records(emu, entity):
    """Every record of a type in the default company, as QBO's own screens would list them."""
    return emu.control("GET", f"/companies/{emu.realm_id}/{entity}").json()
