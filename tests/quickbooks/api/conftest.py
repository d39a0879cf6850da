"""Fixtures for the QBO client tests: a live emulator over real HTTP (reset per test), a token
source that gets its tokens from the emulator, a real Redis, and a client whose sleeps are recorded
instead of slept."""
import pytest
import redis

from emulator.testing import live_emulator
from qbo.quickbooks.api.client import QboClient
from tests.quickbooks.api.qbo_testing import EmulatorTokens


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
