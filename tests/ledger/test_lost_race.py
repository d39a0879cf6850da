"""A write that loses the race for SQLite's write lock is retried, then refused cleanly (409),
never a 500 and never half-stored. Another connection really holds the lock (BEGIN IMMEDIATE);
the app under test waits only 0.1 s for it instead of SQLite's default 5 s."""
import sqlite3
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger.models import Account
from tests.factories import make_api_key, make_user


@pytest.fixture
def impatient(app, app_config, request, tmp_path):
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("SQLite's database write lock")
    from app import create_app

    impatient = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "impatient"),
                            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 0.1}}})
    with impatient.app_context():
        yield impatient
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def hold_write_lock(app_config):
    """hold_write_lock(seconds): another connection takes the write lock, released after `seconds`."""
    path = make_url(app_config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    timers = []

    def hold(seconds):
        holder.execute("BEGIN IMMEDIATE")
        timers.append(threading.Timer(seconds, holder.execute, ("ROLLBACK",)))
        timers[-1].start()

    yield hold
    for timer in timers:
        timer.join()
    holder.close()


def _accounts():
    return db.session.scalar(select(func.count()).select_from(Account))


def test_it_retries_a_write_that_lost_the_race_for_the_lock(impatient, hold_write_lock):
    owner = make_user()
    hold_write_lock(0.3)
    account = ledger.committed(lambda: ledger.save(ledger.KINDS["accounts"], owner.firm, {"name": "Acme"}))
    assert account.name == "Acme" and _accounts() == 1


def test_it_gives_up_with_busy_and_stores_nothing(impatient, hold_write_lock):
    owner = make_user()
    hold_write_lock(3)
    with pytest.raises(ledger.Busy):
        ledger.committed(lambda: ledger.save(ledger.KINDS["accounts"], owner.firm, {"name": "Acme"}))
    assert _accounts() == 0


def test_it_answers_409_through_the_api_while_the_lock_is_held(impatient, hold_write_lock):
    headers = make_api_key(make_user())
    hold_write_lock(3)
    response = impatient.test_client().post("/api/v1/accounts", json={"name": "Acme"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"] == "conflict"
    assert _accounts() == 0
