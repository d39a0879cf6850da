import json

from sqlalchemy import func, select

from qbo.accounts.models import Firm, User
from qbo.core.db import db
from qbo.ledger.models import Account, Invoice, Payment, Refund


def test_it_seeds_the_demo_firm_with_four_users_and_a_ledger(runner, app):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    for role in ("owner", "admin", "staff", "viewer"):
        assert f"{role}@northwind.test" in result.output
    count = lambda m: db.session.scalar(select(func.count()).select_from(m))  # noqa: E731
    assert count(User) == 4 and count(Account) >= 24 and count(Invoice) >= 50
    assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.processor == "stripe")) > 10
    assert count(Refund) >= 3


def test_it_prints_demo_logins_that_work(runner, app, client):
    runner.invoke(args=["demo", "seed"])
    logins = runner.invoke(args=["demo", "logins"]).output.split()
    email, password = logins[0], logins[1]
    assert client.post("/sign-in", data={"email": email, "password": password}).status_code == 302


def test_it_keeps_the_demo_logins_with_the_database_they_belong_to(runner, app):
    runner.invoke(args=["demo", "seed"])
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://elsewhere/another"  # only the name is read
    result = runner.invoke(args=["demo", "logins"])
    assert result.exit_code != 0 and "No demo logins" in result.output


def test_it_refuses_to_seed_twice_unless_asked_to_skip(runner, app):
    runner.invoke(args=["demo", "seed"])
    assert runner.invoke(args=["demo", "seed"]).exit_code != 0
    assert runner.invoke(args=["demo", "seed", "--if-empty"]).exit_code == 0


def test_it_creates_a_user_and_an_api_key(runner, app, client):
    result = runner.invoke(args=["users", "create", "--firm", "Acme CPA", "--email", "Ana@Acme.test",
                                 "--role", "staff", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    key = runner.invoke(args=["users", "create-api-key", "--email", "ana@acme.test"]).output.strip()
    assert key.startswith("qsk_")
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert db.session.scalar(select(Firm.name)) == "Acme CPA"


def test_it_refuses_a_bad_role_and_a_short_password(runner, app):
    bad_role = runner.invoke(args=["users", "create", "--firm", "F", "--email", "a@b.c", "--role", "god", "--password", "x" * 10])
    assert bad_role.exit_code != 0 and "god" in bad_role.output
    short = runner.invoke(args=["users", "create", "--firm", "F", "--email", "a@b.c", "--role", "staff", "--password", "x"])
    assert short.exit_code != 0 and "at least 8" in short.output
