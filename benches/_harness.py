"""What every benchmark needs: a private Redis, the emulator in its own process (so its CPU is
measured apart from ours), a throwaway database, the app, firms connected over the real OAuth flow,
and a ledger inserted with bulk SQL."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
TOKEN_KEY = "9vVQkvYPz1cDn0o2h9n8bPl0J0Jm9pKZ3cP4r2HkqGQ="
LIMITS = {"enabled": True, "per_minute": 500, "per_second": 10, "concurrent": 10, "batch_per_minute": 40}
CEILING = 40 * 30 + (500 - 40)  # record writes per QBO minute (ref §3): 1,660


class Emulator:
    """`python -m emulator` in a child process on 127.0.0.1."""

    def __init__(self, time_scale: float, limits: bool = True):
        from scripts.devserver import free_port, wait_for_port

        self.time_scale = time_scale
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        launcher = ["-m", "emulator"] if not os.environ.get("BENCH_EMULATOR_SCRIPT") else [os.environ["BENCH_EMULATOR_SCRIPT"]]
        args = [sys.executable, *launcher, "--host", "127.0.0.1", "--port", str(self.port),
                "--time-scale", str(time_scale)]
        if not limits:
            args.append("--no-limits")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=None if os.environ.get("BENCH_EMULATOR_STDERR") else subprocess.DEVNULL)
        wait_for_port(self.port)
        self.ps = psutil.Process(self.proc.pid)
        self.http = requests.Session()

    def control(self, method, path, json=None):
        response = self.http.request(method, f"{self.base_url}/__emulator__/{path.lstrip('/')}", json=json, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_limits(self, time_scale: float, enabled: bool = True):
        self.control("PUT", "/limits", json=dict(LIMITS, enabled=enabled, time_scale=time_scale))

    def requests_since(self, seq: int) -> list[dict]:
        return self.control("GET", f"/requests?since={seq}")

    def last_seq(self) -> int:
        log = self.control("GET", "/requests")
        return log[-1]["seq"] if log else 0

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def app_config(database_url: str, redis_url: str, emulator_url: str) -> dict:
    return {"TESTING": False, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret", "TOKEN_ENCRYPTION_KEY": TOKEN_KEY, "WTF_CSRF_ENABLED": False,
            "QBO_BASE_URL": emulator_url, "QBO_ENVIRONMENT": "emulator"}


@contextmanager
def sqlite_url():
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def postgres_url(server: str = "postgresql://postgres@127.0.0.1:5432/postgres"):
    """A throwaway database on the local server, dropped afterwards."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ.get("BENCH_POSTGRES_URL", server))
    name = f"qbobench_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(config: dict, create: bool = True):
    from app import create_app
    from qbo.core.db import db

    app = create_app(config)
    if create:
        with app.app_context():
            db.create_all()
    return app


def settle(emulator: Emulator) -> None:
    """Connecting reads CompanyInfo outside the limiter: let it age out of QBO's window first."""
    time.sleep(60.0 / float(emulator.time_scale) + 0.1)


def connected_firm(name: str, emulator: Emulator, realm_id: str | None = None, *, wait: bool = True):
    """A firm and owner connected to a company of the emulator through the real OAuth flow."""
    from qbo.accounts.models import Firm, User
    from qbo.core.db import db
    from qbo.demo import connect_demo_firm

    firm = Firm(name=name)
    db.session.add(firm)
    db.session.flush()
    owner = User(firm_id=firm.id, email=f"owner-{firm.id}@bench.test", role="owner")
    owner.set_password("bench password 1")
    db.session.add(owner)
    db.session.commit()
    if realm_id is None:
        realm_id = emulator.control("POST", "/companies", json={"name": name})["realm_id"]
    connect_with_realm(firm.id, owner.id, realm_id)
    if wait:
        settle(emulator)
    return firm, owner


def connect_with_realm(firm_id: int, user_id: int, realm_id: str) -> None:
    """connect_demo_firm, choosing the company on the emulator's picker."""
    from urllib.parse import parse_qs, urlsplit

    from qbo.quickbooks.connection import start_connect
    from qbo.quickbooks.onboarding import finish_connect

    url, state = start_connect(firm_id, user_id)
    params = parse_qs(urlsplit(url).query)
    form = {k: v[0] for k, v in params.items()}
    answer = requests.post(url.split("?")[0], data=dict(form, realm_id=realm_id, decision="allow"),
                           allow_redirects=False, timeout=10)
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    finish_connect(firm_id, user_id, state=callback["state"][0], code=callback["code"][0],
                   realm_id=callback["realmId"][0])


def insert_ledger(firm_id: int, n: int, *, start: int = 0) -> dict:
    """n records of every type, with bulk INSERTs: accounts, services, invoices (one line),
    credit notes (one line), payments with a card fee (so a processor_fee each) and refunds."""
    from sqlalchemy import insert

    from qbo.core.db import db
    from qbo.ledger.models import (
        Account,
        CreditNote,
        CreditNoteLine,
        Invoice,
        InvoiceLine,
        Payment,
        PaymentAllocation,
        Refund,
        Service,
    )

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    day = dt.date(2026, 11, 2)
    ids = {}

    def add(model, rows):
        if not rows:
            return []
        result = db.session.execute(insert(model).returning(model.id), rows)
        return [r[0] for r in result]

    base = dict(firm_id=firm_id, created_at=now, updated_at=now)
    ids["account"] = add(Account, [dict(base, name=f"Client {firm_id}-{start + i:06d}", kind="company")
                                   for i in range(n)])
    ids["service"] = add(Service, [dict(base, name=f"Service {firm_id}-{start + i:06d}", rate=Decimal("100.00"))
                                   for i in range(n)])
    ids["invoice"] = add(Invoice, [dict(base, number=f"INV-{firm_id}-{start + i:06d}", date=day,
                                        account_id=ids["account"][i]) for i in range(n)])
    add(InvoiceLine, [dict(firm_id=firm_id, position=0, service_id=ids["service"][i], quantity=Decimal("3"),
                           rate=Decimal("100.00"), invoice_id=ids["invoice"][i]) for i in range(n)])
    ids["credit_note"] = add(CreditNote, [dict(base, number=f"CN-{firm_id}-{start + i:06d}", date=day,
                                               account_id=ids["account"][i]) for i in range(n)])
    add(CreditNoteLine, [dict(firm_id=firm_id, position=0, service_id=ids["service"][i], quantity=Decimal("1"),
                              rate=Decimal("10.00"), credit_note_id=ids["credit_note"][i]) for i in range(n)])
    ids["payment"] = add(Payment, [dict(base, account_id=ids["account"][i], date=day, amount=Decimal("200.00"),
                                        method="card", processor="stripe", processor_fee=Decimal("6.00"))
                                   for i in range(n)])
    add(PaymentAllocation, [dict(firm_id=firm_id, payment_id=ids["payment"][i], invoice_id=ids["invoice"][i],
                                 amount=Decimal("200.00")) for i in range(n)])
    ids["refund"] = add(Refund, [dict(base, payment_id=ids["payment"][i], date=day, amount=Decimal("5.00"),
                                      reason="Goodwill") for i in range(n)])
    db.session.commit()
    return ids


def bench_client(firm_id: int, time_scale: float, slack_ms: float = 50, **kwargs):
    """The engine's client with a limiter whose QBO minute matches the emulator's time scale.
    slack_ms 50 (the default 250 is for the internet): a request can sit tens of ms between its
    slot and the wire while the GIL is busy, and the emulator counts it on arrival."""
    from qbo.core.redis import get_redis
    from qbo.quickbooks.api.limiter import RealmLimiter
    from qbo.quickbooks.connection import client_for_firm

    limiter = RealmLimiter(get_redis(decode=False), time_scale=time_scale, slack_ms=slack_ms)
    return client_for_firm(firm_id, limiter=limiter, **kwargs)


class CpuMeter:
    """CPU seconds used by this process (and its children) and by the emulator over a span."""

    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        self.me = psutil.Process()

    def __enter__(self):
        self.t0 = time.monotonic()
        self.emu0 = self.emulator.cpu_seconds()
        c = self.me.cpu_times()
        self.me0 = c.user + c.system + c.children_user + c.children_system
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        c = self.me.cpu_times()
        self.ours = c.user + c.system + c.children_user + c.children_system - self.me0
        self.emu = self.emulator.cpu_seconds() - self.emu0

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 2), "emulator_cpu_share": round(self.emu / self.wall, 2),
                "workers_cpu_share": round(self.ours / self.wall, 2), "machine_cpus": psutil.cpu_count()}


def per_qbo_minute(count: int, wall: float, time_scale: float) -> float:
    """`count` done in `wall` real seconds, per QBO minute (which lasts 60 / time_scale seconds)."""
    return count / (wall * time_scale / 60.0) if wall > 0 else 0.0


def steady_rate(firm_ids, started_at: float, ended_at: float, time_scale: float) -> float | None:
    """Record writes per QBO minute over the whole QBO minutes after a run's first (None if the run
    was shorter than two). QBO's windows start empty, so a run spends a minute's batch budget in its
    first seconds, and again as each of those slots frees a minute later: counted from the start, or
    over a partial last minute, a run looks faster than the limits allow. `started_at`/`ended_at`
    are time.time() values."""
    import datetime as dt

    from sqlalchemy import func, select

    from qbo.core.db import db
    from qbo.quickbooks.models import QboLink

    minute = 60.0 / time_scale
    whole = int((ended_at - started_at) // minute) - 1
    if whole < 1:
        return None

    def at(t):
        return dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(tzinfo=None)

    written = db.session.scalar(select(func.count()).select_from(QboLink).where(
        QboLink.firm_id.in_(list(firm_ids)), QboLink.status == "synced",
        QboLink.last_pushed_at >= at(started_at + minute),
        QboLink.last_pushed_at < at(started_at + minute * (1 + whole))))
    db.session.rollback()  # hold no read transaction while the next run's workers write
    return written / whole


def throttled(log: list[dict]) -> int:
    return sum(1 for r in log if r.get("status") == 429)


def throttled_by(log: list[dict]) -> dict:
    """How many 429s broke each limit (the emulator's log names them)."""
    out: dict[str, int] = {}
    for r in log:
        for name in (r.get("throttled_by") or "").split(","):
            if name:
                out[name] = out.get(name, 0) + 1
    return out
