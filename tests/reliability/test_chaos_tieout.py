"""Chaos, then tie-out (issue 12): a fifth of QuickBooks' answers fail in every way the emulator can
fail them, a worker is SIGKILLed mid-sync, QuickBooks (the emulator, a process of its own with a
data file) crashes and comes back, and one request stalls 40 s. Then only waiting: no ledger
change, no click, just what a worker runs on its own (worker.py's schedule thread and the queue),
with the clock compressed where the product waits minutes (a dead worker's claim expires after 10
minutes; follow-ups are scheduled minutes ahead): see `let_time_pass`. In the end every record is
synced or on the desk with a reason, and the tie-out finds no difference between the ledger and
QuickBooks.

Time: the stall is real (the emulator sleeps 40 s; its delay_ms is not time-scaled) and the
product's timeouts are its real ones (connect 5 s, read 30 s): the stalled request times out
after 30 s, as in production. Only the 60-second wait after a 429 is compressed (the limiter's
QBO minute lasts 0.1 s, as in test_faults.py), since the emulator's limits are off anyway.
The rest is kept small (CHAOS_RECORDS records of every type) so the test stays within ~60 s.

benches/chaos_tieout.py runs the same scenario at a bench size for `make bench`.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.sync import ORDER, expenses

ROOT = Path(__file__).resolve().parents[2]
RECORDS = int(os.environ.get("CHAOS_RECORDS", "6"))
STALL_MS = int(os.environ.get("CHAOS_STALL_MS", "40000"))
THROTTLE_TIME_SCALE = 600  # a 429's 60-second wait lasts 0.1 s


class RestartableEmulator:
    """`python -m emulator --data FILE` in a process of its own, on a port it keeps: `crash()`
    kills it (what it was doing dies with it), `start()` brings it back from its data file."""

    def __init__(self, data_path: Path):
        from scripts.devserver import free_port

        self.data_path = Path(data_path)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.http = requests.Session()

    def start(self) -> "RestartableEmulator":
        from scripts.devserver import wait_for_port

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(self.port),
             "--data", str(self.data_path), "--no-limits"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def crash(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def restart(self) -> None:
        self.crash()
        self.start()

    def control(self, method, path, json=None):
        response = self.http.request(method, f"{self.base_url}/__emulator__/{path.lstrip('/')}",
                                     json=json, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def faults(self, rules) -> None:
        for rule in rules:
            self.control("POST", "/faults", json=rule)


def chaos_faults(stall_ms: int = STALL_MS, scale: float = 1.0) -> list[dict]:
    """Every kind of fault the emulator injects, for about a fifth of the sync's requests (of
    RECORDS records of every type; `scale` multiplies the counts for more records): 429s, 500s,
    a 503 text page, answers dropped after the write, faults of single items of a batch, of
    queries, and one batch stalled `stall_ms` (beyond the client's 30-second read timeout)."""
    n = lambda times: max(1, round(times * scale))  # noqa: E731
    return [
        {"match": {"entity": "batch"}, "times": 1, "delay_ms": stall_ms},            # the stall
        {"match": {"entity": "batch"}, "times": n(2), "code": "3001"},               # 429
        {"match": {"entity": "batch"}, "times": n(2), "code": "10000"},              # 500 SystemFault
        {"match": {"entity": "batch"}, "times": n(1), "response": {"status": 503, "body": "upstream busy",
                                                                    "content_type": "text/plain"}},
        {"match": {"entity": "batch"}, "times": n(2), "drop_after_commit": True},    # answer lost
        {"match": {"entity": "invoice", "operation": "create"}, "times": n(2), "code": "10000"},  # items
        {"match": {"entity": "payment", "operation": "create"}, "times": n(1), "code": "10000"},
        {"match": {"entity": "customer", "operation": "create"}, "times": n(1), "code": "10000"},
        {"match": {"entity": "query"}, "times": n(1), "code": "3001"},
        {"match": {"entity": "query"}, "times": n(1), "drop_after_commit": True},
    ]


def compress_throttle_waits(monkeypatch, time_scale: float = THROTTLE_TIME_SCALE) -> None:
    """Every client the product makes in this process gets a limiter whose QBO minute lasts
    60 / time_scale seconds (timeouts stay as they are)."""
    from qbo.quickbooks.api import client as client_module
    from qbo.quickbooks.api.limiter import RealmLimiter

    monkeypatch.setattr(client_module, "RealmLimiter",
                        functools.partial(RealmLimiter, time_scale=time_scale, slack_ms=0))


def connect(app, emu):
    """An owner whose firm is connected to `emu` through the real OAuth flow."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    app.config["QBO_BASE_URL"], app.config["QBO_ENVIRONMENT"] = emu.base_url, "emulator"
    owner = make_user(role="owner")
    connect_demo_firm(owner.firm_id, owner.id)
    return owner


def kill_a_worker_mid_sync(app_config, emu, firm_id) -> int:
    """A worker process starts the firm's sync; it is SIGKILLed while its first batch is in
    QuickBooks. Returns how many links it left in doubt (a create sent, the outcome unknown)."""
    from tests.reliability.test_faults import _sync_in_child

    since = emu.control("GET", "/requests")[-1]["seq"]
    emu.faults([{"match": {"entity": "batch"}, "times": 1, "delay_ms": 3000}])
    config = {**app_config, "QBO_BASE_URL": emu.base_url, "QBO_ENVIRONMENT": "emulator"}
    child = multiprocessing.get_context("spawn").Process(target=_sync_in_child, args=(config, firm_id))
    child.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(r["path"].endswith("/batch") and r["status"] is None
               for r in emu.control("GET", f"/requests?since={since}")):
            break
        time.sleep(0.05)
    else:
        child.kill()
        raise AssertionError("the worker never sent a batch")
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    db.session.expire_all()
    return len(db.session.scalars(select(QboLink.id).where(QboLink.pending_request_id.is_not(None))).all())


def wait_like_a_worker(app, firm_id, seconds: float, tick: float = 0.5) -> list[tuple]:
    """Only waiting: worker.py's schedule thread ticks and the queue's jobs run (the sync, the
    change polls, and whatever else the worker's schedule queues), nothing else. When a tick
    changed nothing and records are still stranded, ten minutes pass (`let_time_pass`). Stops
    early once nothing is stranded; returns what is still stranded."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    import worker
    from qbo.core.queue import get_queue

    stop = threading.Event()
    schedule = threading.Thread(target=worker._run_schedule, args=(app, tick, stop), daemon=True)
    schedule.start()
    deadline = time.monotonic() + seconds
    before = None
    try:
        while True:
            queue = get_queue()
            SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(
                burst=True, with_scheduler=True)
            db.session.expire_all()
            left = stranded(firm_id)
            if not left or time.monotonic() > deadline:
                return left
            if left == before:
                let_time_pass()  # nothing moved in real time: what only the clock would change
            before = left
            time.sleep(tick)
    finally:
        stop.set()
        schedule.join(5)


def let_time_pass(minutes: int = 10) -> None:
    """Compressed waiting: what `minutes` of a real clock would change, and nothing else. A claim
    expires (the engine holds one for CLAIM_FOR, 10 minutes, so a dead worker's records come free
    after that long), and the jobs RQ holds for later (follow-ups after a throttle or a stall,
    at most minutes ahead) come due. No ledger change, no person's action."""
    import datetime as dt

    from rq.job import Job

    from qbo.core.queue import get_queue

    for link in db.session.scalars(select(QboLink).where(QboLink.claimed_until.is_not(None))):
        link.claimed_until -= dt.timedelta(minutes=minutes)
    db.session.commit()
    queue = get_queue()
    registry = queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer))


def stranded(firm_id) -> list[tuple]:
    """Records neither synced nor on the desk: (record_type, record_id, link status, reason)."""
    db.session.rollback()
    links = {(l.record_type, l.record_id): l for l in db.session.scalars(
        select(QboLink).where(QboLink.firm_id == firm_id))}
    on_desk = set(db.session.execute(select(SyncError.record_type, SyncError.record_id).where(
        SyncError.firm_id == firm_id, SyncError.status == "open")).all())
    left = []
    for module in ORDER:
        model = module.MODEL
        for record in db.session.scalars(select(model).where(model.firm_id == firm_id, model.deleted_at.is_(None))):
            if module is expenses and not expenses.applies(record):
                continue
            link = links.get((module.RECORD_TYPE, record.id))
            if link is not None and link.status == "synced" and link.qbo_id:
                continue
            if (module.RECORD_TYPE, record.id) in on_desk:
                continue
            left.append((module.RECORD_TYPE, record.id, link.status if link else None,
                         link.reason if link else None))
    return left


def run_chaos(app, app_config, emu, monkeypatch, records: int, wait_seconds: float,
              stall_ms: int = STALL_MS) -> dict:
    """The whole scenario on a connected emulator; returns what is stranded and the tie-out."""
    from qbo.quickbooks.tieout import tie_out
    from tests.reliability.test_faults import _ledger

    owner = connect(app, emu)
    firm_id = owner.firm_id
    _ledger(owner.firm, records)
    compress_throttle_waits(monkeypatch)
    in_doubt = kill_a_worker_mid_sync(app_config, emu, firm_id)
    emu.restart()  # QuickBooks crashes while the dead worker's batch is in it, and comes back
    faults = chaos_faults(stall_ms, scale=records / RECORDS)
    emu.faults(faults)
    since = emu.control("GET", "/requests")
    since = since[-1]["seq"] if since else 0
    left = wait_like_a_worker(app, firm_id, wait_seconds)
    log = emu.control("GET", f"/requests?since={since}")
    result = tie_out(firm_id)
    left_over = emu.control("GET", "/faults")
    whole = lambda rules: sum(r["times"] for r in rules if r["match"].get("entity") in ("batch", "query"))  # noqa: E731
    failed = whole(faults) - whole(left_over)  # requests that failed as a whole (item faults on top)
    return {"in_doubt_after_kill": in_doubt, "stranded": left, "tieout": result,
            "faults_left": left_over, "requests_after_restart": len(log),
            "failed_share": round(failed / max(len(log), 1), 2)}


def test_it_ties_out_with_zero_differences_after_chaos_and_only_waiting(app, app_config, tmp_path, monkeypatch):
    emu = RestartableEmulator(tmp_path / "qbo-emulator.json").start()
    try:
        outcome = run_chaos(app, app_config, emu, monkeypatch, RECORDS, wait_seconds=STALL_MS / 1000 + 10)
    finally:
        emu.crash()
    assert outcome["in_doubt_after_kill"] > 0  # the kill landed mid-batch
    assert outcome["faults_left"] == []        # every fault, the stall included, was met
    assert 0.15 <= outcome["failed_share"] <= 0.5, outcome["failed_share"]  # about a fifth
    assert outcome["stranded"] == [], outcome["stranded"][:5]
    assert outcome["tieout"]["differences"] == 0, outcome["tieout"]
