import pytest
from flask import request

from qbo.accounts import auth as accounts_auth
from qbo.accounts import models as accounts_models
from qbo.accounts.auth import backoff_seconds, safe_next
from qbo.core.db import db
from tests.factories import PASSWORD, make_user, sign_in


def test_it_signs_in_with_the_right_password(client, app):
    user = make_user()
    response = sign_in(client, user)
    assert response.status_code == 302
    assert client.get("/accounts/").status_code == 200


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(client, app):
    user = make_user()
    response = client.post("/sign-in", data={"email": user.email, "password": "nope"})
    assert response.status_code == 401
    assert "don&#39;t match an active user" in response.get_data(as_text=True)
    assert client.get("/accounts/").status_code == 302


def test_it_keeps_the_typed_email_after_a_failed_sign_in(client, app):
    response = client.post("/sign-in", data={"email": "who@example.test", "password": "x"})
    assert 'value="who@example.test"' in response.get_data(as_text=True)


def _fail(client, email, times, **kwargs):
    for _ in range(times):
        client.post("/sign-in", data={"email": email, "password": "wrong"}, **kwargs)


def test_it_slows_sign_in_after_repeated_failures(client, app):
    user = make_user()
    _fail(client, user.email, app.config["SIGN_IN_FREE_FAILURES"])
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == app.config["SIGN_IN_BACKOFF_BASE_SECONDS"]
    assert "Too many failed sign-ins. Try again in 2 seconds." in response.get_data(as_text=True)


def test_it_backs_off_exponentially_up_to_a_cap(app):
    free, cap = 5, app.config["SIGN_IN_BACKOFF_CAP_SECONDS"]
    assert [backoff_seconds(n, free) for n in range(4, 9)] == [0, 2, 4, 8, 16]
    assert backoff_seconds(10_000, free) == cap


def test_it_never_slows_the_owner_on_a_device_that_signed_in_before(client, app):
    user = make_user()
    assert sign_in(client, user).status_code == 302
    client.post("/sign-out")
    attacker = app.test_client()
    _fail(attacker, user.email, 12)
    assert attacker.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 429
    assert sign_in(client, user).status_code == 302  # the owner's browser holds its known-device cookie


def test_it_refuses_a_known_device_cookie_of_another_account(client, app):
    owner, other = make_user(), make_user()
    sign_in(client, other)
    client.post("/sign-out")
    _fail(app.test_client(), owner.email, 6)
    assert sign_in(client, owner).status_code == 429


def test_it_slows_one_client_address_only_after_a_wider_budget(client, app):
    user = make_user()
    for n in range(app.config["SIGN_IN_FREE_FAILURES"] * 4 - 1):
        client.post("/sign-in", data={"email": f"guess{n}@example.test", "password": "x"})
    assert client.post("/sign-in", data={"email": user.email, "password": "x"}).status_code == 401
    assert sign_in(client, user).status_code == 429  # this address waits now
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(elsewhere, user).status_code == 302


def test_it_does_the_same_password_work_for_an_unknown_email(client, app, monkeypatch):
    calls = []
    for module in (accounts_auth, accounts_models):
        real = module.check_password_hash
        monkeypatch.setattr(module, "check_password_hash", lambda h, p, real=real: calls.append(h) or real(h, p))
    client.post("/sign-in", data={"email": "nobody@example.test", "password": "x"})
    client.post("/sign-in", data={"email": make_user().email, "password": "x"})
    assert len(calls) == 2
    assert calls[0].split("$")[0] == calls[1].split("$")[0]  # the same method and cost


def test_it_ends_a_copied_session_cookie_at_sign_out(client, app):
    sign_in(client, make_user())
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/accounts/").status_code == 200
    client.post("/sign-out")
    assert copy.get("/accounts/").status_code == 302


@pytest.mark.parametrize("change", ["password", "role"])
def test_it_ends_sessions_when_the_password_or_role_changes(client, app, change):
    user = make_user(role="staff")
    sign_in(client, user)
    user.set_password("a new password 123") if change == "password" else setattr(user, "role", "viewer")
    db.session.commit()
    assert client.get("/accounts/").status_code == 302


def test_it_reads_the_client_address_only_behind_a_trusted_proxy(app_config, tmp_path):
    from app import create_app

    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        proxied = create_app({**app_config, "TRUSTED_PROXIES": hops, "INSTANCE_PATH": str(tmp_path / str(hops))})
        seen = {}
        proxied.before_request(lambda: seen.setdefault("ip", request.remote_addr))
        proxied.test_client().get("/sign-in", headers={"X-Forwarded-For": "203.0.113.9"},
                                  environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert seen["ip"] == expected


def test_it_refuses_a_deactivated_user(client, app):
    user = make_user(active=False)
    assert sign_in(client, user).status_code == 401


def test_it_signs_out(client, app):
    sign_in(client, make_user())
    client.post("/sign-out")
    assert client.get("/accounts/").status_code == 302


@pytest.mark.parametrize("target,expected", [
    ("/invoices/", "/invoices/"), ("//evil.example/", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), (None, "/"),
])
def test_it_only_redirects_next_to_this_site(target, expected):
    assert safe_next(target, "/") == expected


def test_it_redirects_to_next_after_sign_in(client, app):
    user = make_user()
    response = client.post("/sign-in?next=/services/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/services/"


@pytest.mark.parametrize("path", ["/", "/accounts/", "/invoices/new", "/settings/integrations/quickbooks"])
def test_it_requires_sign_in(client, path, app):
    response = client.get(path)
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_it_sets_safe_session_cookie_flags(client, app):
    sign_in(client, make_user())
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_it_hashes_passwords_with_scrypt_unless_a_test_config_says_otherwise(app_config):
    from app import create_app
    from qbo.accounts.models import User

    settings = {k: v for k, v in app_config.items() if k != "PASSWORD_HASH_METHOD"}
    with create_app(settings).app_context():
        user = User(email="hash@example.test", role="owner")
        user.set_password("correct horse battery")
    assert user.password_hash.startswith("scrypt:") and user.check_password("correct horse battery")


def test_it_notes_an_api_keys_use_at_most_once_a_minute(client, app, monkeypatch):
    import datetime as dt

    from tests.factories import make_api_key

    headers = make_api_key(make_user(role="owner"))
    start = dt.datetime(2026, 11, 30, 12, 0, 0)
    monkeypatch.setattr(accounts_auth, "utcnow", lambda: start)
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    key = db.session.scalar(db.select(accounts_models.ApiKey))
    assert key.last_used_at == start
    for seconds, noted in ((59, start), (60, start + dt.timedelta(seconds=60))):
        monkeypatch.setattr(accounts_auth, "utcnow", lambda s=seconds: start + dt.timedelta(seconds=s))
        assert client.get("/api/v1/accounts", headers=headers).status_code == 200
        db.session.expire_all()
        assert db.session.scalar(db.select(accounts_models.ApiKey)).last_used_at == noted
