"""The command line: python -m emulator (issue 3: --help documents the options; prints the realm)."""

import socket
import subprocess
import sys
import time

import requests


def test_it_documents_its_options():
    """Issue 3 done-when: `python -m emulator --help` documents the options."""
    out = subprocess.run([sys.executable, "-m", "emulator", "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    for option in ("--host", "--port", "--data", "--realm", "--time-scale", "--no-limits",
                   "--company-profile", "--strict-refresh-tokens"):
        assert option in out


def test_it_serves_and_prints_the_default_realm(tmp_path):
    """api.md §3: one company, printed at start; discovery served."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port),
                             "--realm", "4620816365123456", "--data", str(tmp_path / "state.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "realm_id=4620816365123456" in proc.stdout.readline() + proc.stdout.readline()
        for _ in range(50):
            try:
                doc = requests.get(f"http://127.0.0.1:{port}/.well-known/openid_configuration", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert doc["token_endpoint"].startswith(f"http://127.0.0.1:{port}/")
        assert (tmp_path / "state.json").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
