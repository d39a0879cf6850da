"""`make run` and the README's command line beside it: scripts.devserver started as the Makefile
starts it (its own instance folder, free ports, so its own Redis and emulator), then every
`flask --app app qbo ...` command of the README's "Command line", in a second terminal's
environment (no REDIS_URL, no DATABASE_URL), then Ctrl-C as a terminal sends it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scripts.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = {"accounts", "invoices", "payments", "refunds", "expenses", "services"}
NORTHWIND, THAMES = 1, 2  # the demo seeds Northwind first, then the UK firm


def _documented_qbo_commands() -> set[str]:
    """The `qbo` subcommands the README's command-line block lists."""
    block = (ROOT / "README.md").read_text().split("## Command line", 1)[1].split("```", 2)[1]
    return {line.split()[4] for line in block.splitlines() if line.startswith("flask --app app qbo ")}


class DevServer:
    """`make run` in a terminal of its own: its output read as it comes, Ctrl-C to its process group."""

    def __init__(self, instance: Path):
        self.instance = instance
        self.port = free_port()
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(instance)), "LANG": "C.UTF-8",
               "INSTANCE_PATH": str(instance), "PORT": str(self.port), "QBO_EMULATOR_PORT": str(free_port()),
               "PYTHONUNBUFFERED": "1"}  # a terminal would show its lines as they come
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.devserver"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()
        self.redis_url = None

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, f"make run stopped:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout}s:\n{self.output}"
            time.sleep(0.2)

    def ctrl_c(self, timeout: float = 30) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        self.reader.join(10)
        return code

    def kill(self) -> None:
        """Whatever is left, even when the test failed half-way."""
        if self.proc.poll() is None:
            try:
                self.ctrl_c(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.redis_url:  # the embedded Redis has a session of its own
            import redis

            try:
                redis.Redis.from_url(self.redis_url, socket_timeout=1).shutdown(nosave=True)
            except redis.RedisError:
                pass


@pytest.fixture
def make_run(tmp_path):
    server = DevServer(tmp_path / "instance")
    try:
        server.wait_for("Press Ctrl-C to stop everything.")
        server.redis_url = json.loads((tmp_path / "instance" / "dev-env.json").read_text())["REDIS_URL"]
        yield server
    finally:
        server.kill()


def _second_terminal(instance: Path, *args: str) -> subprocess.CompletedProcess:
    """`flask --app app ...` typed in another terminal with the virtualenv active: nothing of the
    dev server's environment but where its instance folder is."""
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "LANG": "C.UTF-8",
           "HOME": os.environ.get("HOME", str(instance)), "INSTANCE_PATH": str(instance)}
    return subprocess.run(["flask", "--app", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_it_runs_the_readmes_qbo_commands_beside_make_run_and_stops_cleanly(make_run):
    instance = make_run.instance
    ran: set[str] = set()

    def flask(*args: str, exit_code: int = 0) -> str:
        result = _second_terminal(instance, *args)
        assert result.returncode == exit_code, f"{args}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        ran.add(args[1] if args[0] == "qbo" else args[0])
        return result.stdout

    logins = flask("demo", "logins")
    assert "owner@northwind.test" in logins and "owner@thames.test" in logins

    status = flask("qbo", "status", "--firm", str(NORTHWIND))
    assert status.startswith("Connection: connected to Northwind Accounting Books")
    assert all(re.search(rf"^  {c} +\d+$", status, re.M) for c in CATEGORIES), status
    assert re.search(r"^Pending: \d+ \(stuck: \d+\)$", status, re.M), status
    status = json.loads(flask("qbo", "status", "--firm", str(NORTHWIND), "--json"))
    assert status["connection"]["state"] == "connected" and set(status["counts"]) == CATEGORIES
    assert {"pending", "stuck", "total"} <= status.keys()

    job_id = flask("qbo", "sync", "--firm", str(NORTHWIND)).strip()
    assert re.fullmatch(r"sync-[0-9a-f]{32}", job_id)
    make_run.wait_for(f"Job OK ({job_id})")  # the running worker took it from the running Redis
    report = json.loads(flask("qbo", "sync", "--firm", str(NORTHWIND), "--wait"))  # its report, not paused
    assert set(report) <= {"created", "updated", "linked", "deleted", "failed", "waiting", "deferred", "unchanged",
                           "by_type", "nothing"}, report

    assert {"requeued", "stuck"} <= json.loads(flask("qbo", "sweep")).keys()

    tieout = json.loads(flask("qbo", "tieout", "--firm", str(NORTHWIND), "--json", exit_code=1))
    assert tieout["differences"] > 0  # the demo's history: an invoice paid twice, a deleted customer ...
    text = flask("qbo", "tieout", "--firm", str(NORTHWIND), exit_code=1)
    assert re.search(rf"^{tieout['differences']} differences; \d+ clients checked; \d+ QuickBooks requests",
                     text, re.M), text

    rates = flask("qbo", "tax-rates", "--firm", str(THAMES))
    assert re.search(r"^  VAT standard .*-> .+ \((automatic|chosen)\)$", rates, re.M), rates
    added = flask("qbo", "tax-rates", "--firm", str(THAMES), "--add", "Flat rate scheme", "--percent", "16.5")
    assert re.search(r"^  Flat rate scheme", added, re.M), added

    assert ran >= _documented_qbo_commands(), "a qbo command of the README is not run here"

    assert make_run.ctrl_c() == 0
    stopped = make_run.output.split("Press Ctrl-C to stop everything.", 1)[1]
    assert "Traceback" not in make_run.output, stopped
    assert not (instance / "dev-env.json").exists()
