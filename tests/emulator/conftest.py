"""Fixtures for the emulator's contract tests: one live emulator over real HTTP, reset per test."""

import pytest

from emulator.testing import QboHttp, live_emulator


@pytest.fixture(scope="session")
def emu_server():
    with live_emulator(limits=False) as emu:
        yield emu


@pytest.fixture
def emu(emu_server):
    emu_server.control("POST", "/reset").raise_for_status()
    emu_server.control("PUT", "/limits", json={"enabled": False}).raise_for_status()
    return emu_server


@pytest.fixture
def qbo_http(emu):
    return QboHttp(emu)
