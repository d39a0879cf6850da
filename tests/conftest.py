"""Shared fixtures: a private database (SQLite, or a throwaway PostgreSQL database with
--db=postgres), a private Redis server, the app, its test client and CLI runner.

Nothing here touches what the tests did not create: the database and the Redis server are made
for this run and removed after it.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import delete

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_addoption(parser):
    parser.addoption("--db", choices=("sqlite", "postgres"), default="sqlite",
                     help="postgres: run against a throwaway database on TEST_DATABASE_URL's server")


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    from scripts.devserver import embedded_redis

    with embedded_redis() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.exit("--db=postgres needs TEST_DATABASE_URL", returncode=2)
    url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"qbotest_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def unanswered_url():
    """An address on this machine that no server answers: a port bound here but never listened on,
    so nothing else can take it (a running `make run` emulator on 5055 is never reached)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture(scope="session")
def app_config(database_url, redis_url, unanswered_url, tmp_path_factory):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "TOKEN_ENCRYPTION_KEY": "9vVQkvYPz1cDn0o2h9n8bPl0J0Jm9pKZ3cP4r2HkqGQ=",
        "WTF_CSRF_ENABLED": False,
        # scrypt takes 0.15 s a hash and as long a check: most tests create users and sign in.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # QuickBooks is the test's own emulator (fixture qbo_emulator) or nothing at all.
        "QBO_BASE_URL": unanswered_url,
        # Never the real instance/: generated secrets and demo logins stay with the test run.
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
    }


@pytest.fixture(scope="session")
def _schema(app_config):
    from app import create_app
    from qbo.core.db import db

    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe(db) -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


@pytest.fixture
def app(app_config, _schema, tmp_path):
    from app import create_app
    from qbo.core.db import db
    from qbo.core.redis import get_redis

    # Its own instance folder: nothing a test writes (demo logins, secrets) lands in the real instance/.
    app = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        yield app
        db.session.rollback()
        _wipe(db)
        get_redis().flushdb()
        db.session.remove()
        db.engine.dispose()  # each test's app has its own pool: close it, or PostgreSQL runs out


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def _qbo_emulator_server():
    from emulator.testing import live_emulator

    with live_emulator(limits=False) as emu:
        yield emu


@pytest.fixture
def qbo_emulator(app, _qbo_emulator_server):
    """A live QuickBooks Online emulator, reset for this test, that the app talks to over HTTP."""
    emu = _qbo_emulator_server
    emu.control("POST", "/reset").raise_for_status()
    emu.control("DELETE", "/faults").raise_for_status()
    emu.control("PUT", "/limits", json={"enabled": False}).raise_for_status()
    app.config["QBO_BASE_URL"] = emu.base_url
    app.config["QBO_ENVIRONMENT"] = "emulator"
    return emu


@pytest.fixture
def connected(app, qbo_emulator):
    """An owner whose firm is connected to the emulator through the real OAuth code flow."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    owner = make_user(role="owner")
    connect_demo_firm(owner.firm_id, owner.id)
    return owner


@pytest.fixture
def connect_company(app, qbo_emulator):
    """connect_company("uk-vat", address=None, multicurrency=False) -> an owner whose firm is
    connected, through real OAuth, to a new company of that profile; the owner's `realm_id` is set."""
    from qbo.demo import connect_demo_firm
    from tests.factories import make_user

    def connect(profile: str, address: dict | None = None, multicurrency: bool = False):
        body = {"profile": profile, "name": f"{profile} company", **({"address": address} if address else {})}
        answer = qbo_emulator.control("POST", "/companies", json=body)
        answer.raise_for_status()
        realm = answer.json()["realm_id"]
        if multicurrency:
            qbo_emulator.control("PATCH", f"/companies/{realm}/preferences",
                                 json={"multicurrency": True}).raise_for_status()
        owner = make_user(role="owner")
        connect_demo_firm(owner.firm_id, owner.id, realm_id=realm)
        owner.realm_id = realm
        return owner

    return connect


@pytest.fixture
def drain(app):
    """Run every queued job through a real RQ worker (in this process, on the private Redis);
    with a firm id, first enqueue that firm's sync."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from qbo.core.db import db
    from qbo.core.queue import get_queue
    from qbo.quickbooks import jobs as quickbooks_jobs

    def run(firm_id=None):
        if firm_id is not None:
            quickbooks_jobs.enqueue_sync(firm_id)
        queue = get_queue()
        SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()

    return run


@pytest.fixture
def qbo_records(qbo_emulator):
    """Everything of one entity in the emulator's company (inactive and deleted ones marked)."""

    def records(entity, realm=None):
        response = qbo_emulator.control("GET", f"/companies/{realm or qbo_emulator.realm_id}/{entity}")
        response.raise_for_status()
        return response.json()

    return records
