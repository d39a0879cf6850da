import pytest

from qbo.accounts.auth import safe_next
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


def test_it_locks_sign_in_after_repeated_failures(client, app):
    user = make_user()
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        client.post("/sign-in", data={"email": user.email, "password": "wrong"})
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


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
