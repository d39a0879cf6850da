"""OAuth 2.0 (ref §9)."""

import base64
from urllib.parse import parse_qs, urlparse

import requests

from emulator.testing import authorize_and_exchange

BASIC = "Basic " + base64.b64encode(b"emulator-client-id:emulator-client-secret").decode()
AUTH = {"client_id": "emulator-client-id", "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting", "redirect_uri": "http://localhost:5000/cb",
        "state": "s1"}


def _refresh(emu, token, auth=BASIC):
    return requests.post(emu.token_url, data={"grant_type": "refresh_token", "refresh_token": token},
                         headers={"Authorization": auth}, timeout=5)


def test_it_serves_the_discovery_keys_intuit_oauth_reads(emu):
    """ref §9 discovery: issuer, authorization/token/revocation/userinfo endpoints, jwks_uri; trailing slash too."""
    for url in (emu.discovery_url, emu.discovery_url + "/"):
        doc = requests.get(url, timeout=5).json()
        assert {"issuer", "authorization_endpoint", "token_endpoint", "revocation_endpoint",
                "userinfo_endpoint", "jwks_uri"} <= set(doc)
        assert doc["token_endpoint"] == emu.base_url + "/oauth2/v1/tokens/bearer"


def test_it_lets_a_person_choose_the_company(emu):
    """ref §9 authorize: callback brings code, state and realmId; a company picker when several."""
    other = emu.control("POST", "/companies", json={"name": "Second Co"}).json()["realm_id"]
    page = requests.get(emu.base_url + "/connect/oauth2", params=AUTH, timeout=5)
    assert "Second Co" in page.text and 'id="connect"' in page.text
    tokens = authorize_and_exchange(emu.base_url, other, redirect_uri=AUTH["redirect_uri"], state="s1")
    assert tokens["realm_id"] == other and tokens["state"] == "s1"
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600


def test_it_refuses_a_redirect_uri_off_localhost(emu):
    """api.md §3: any redirect URI on 127.0.0.1 or localhost is accepted; others are not."""
    page = requests.get(emu.base_url + "/connect/oauth2", params=dict(AUTH, redirect_uri="https://evil.example/cb"),
                        timeout=5, allow_redirects=False)
    assert page.status_code == 400


def test_it_redirects_invalid_scope_back(emu):
    """OAuth: a bad scope goes back to the app with error=invalid_scope."""
    page = requests.get(emu.base_url + "/connect/oauth2", params=dict(AUTH, scope="nonsense"),
                        timeout=5, allow_redirects=False)
    assert parse_qs(urlparse(page.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_it_refuses_a_reused_code(emu):
    """ref §9: invalid_grant for a reused authorization code."""
    answer = requests.post(emu.base_url + "/connect/oauth2", data=dict(AUTH, decision="allow"),
                           allow_redirects=False, timeout=5)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": AUTH["redirect_uri"]}
    assert requests.post(emu.token_url, data=form, headers={"Authorization": BASIC}, timeout=5).status_code == 200
    again = requests.post(emu.token_url, data=form, headers={"Authorization": BASIC}, timeout=5)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_it_rotates_refresh_tokens_and_refuses_the_superseded_one(emu):
    """ref §9 rotation: a refresh returns a new RT; the replaced RT gets invalid_grant."""
    first = emu.connect()
    refreshed = _refresh(emu, first["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != first["refresh_token"]
    assert refreshed.json()["x_refresh_token_expires_in"] == 8726400
    stale = _refresh(emu, first["refresh_token"])
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_it_accepts_client_secret_post(emu):
    """ref §9: client_secret_post also allowed."""
    tokens = emu.connect()
    response = requests.post(emu.token_url, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                                  "client_id": "emulator-client-id",
                                                  "client_secret": "emulator-client-secret"}, timeout=5)
    assert response.status_code == 200


def test_it_answers_invalid_client_for_bad_credentials(emu):
    """ref §9: bad credentials get invalid_client."""
    tokens = emu.connect()
    bad = "Basic " + base64.b64encode(b"emulator-client-id:wrong").decode()
    assert _refresh(emu, tokens["refresh_token"], bad).json()["error"] == "invalid_client"


def test_it_revokes_the_grant(emu):
    """ref §9 revoke: JSON {"token"} with Basic auth; then the RT gets invalid_grant and the AT 401."""
    tokens = emu.connect()
    revoked = requests.post(emu.base_url + "/v2/oauth2/tokens/revoke", json={"token": tokens["refresh_token"]},
                            headers={"Authorization": BASIC}, timeout=5)
    assert revoked.status_code == 200
    assert _refresh(emu, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    response = requests.get(emu.api_url() + "/preferences", headers=emu.headers(tokens["access_token"]), timeout=5)
    assert response.status_code == 401


def test_it_expires_access_tokens_on_the_emulator_clock(emu):
    """ref §9: access token 1 h; POST /__emulator__/clock expires it; a refresh still works."""
    tokens = emu.tokens()
    emu.control("POST", "/clock", json={"advance_seconds": 3601})
    assert requests.get(emu.api_url() + "/preferences", headers=emu.headers(tokens["access_token"]),
                        timeout=5).status_code == 401
    fresh = _refresh(emu, tokens["refresh_token"]).json()
    assert requests.get(emu.api_url() + "/preferences", headers=emu.headers(fresh["access_token"]),
                        timeout=5).status_code == 200


def test_it_expires_refresh_tokens_after_100_days(emu):
    """ref §9: refresh token ~101 days, rolling."""
    tokens = emu.tokens()
    emu.control("POST", "/clock", json={"advance_seconds": 8726401})
    assert _refresh(emu, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_answers_invalid_grant_for_an_unknown_refresh_token(emu):
    """ref §9: invalid_grant, "Incorrect or invalid refresh token"."""
    response = _refresh(emu, "RT1-unknown")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}


def _lenient(emu):
    assert emu.control("PUT", "/oauth", json={"strict_refresh_tokens": False}).status_code == 200


def test_it_returns_the_same_refresh_token_for_24_hours(emu):
    """ref §9 Rotation; oauth-jsclient#74: the same RT comes back, its expiry counting down."""
    _lenient(emu)
    first = emu.tokens()
    emu.control("POST", "/clock", json={"advance_seconds": 3600})
    again = _refresh(emu, first["refresh_token"]).json()
    assert again["refresh_token"] == first["refresh_token"]
    assert again["access_token"] != first["access_token"]
    assert 0 <= first["x_refresh_token_expires_in"] - 3600 - again["x_refresh_token_expires_in"] <= 1


def test_it_rotates_after_24_hours_and_keeps_the_replaced_token_24_hours_more(emu):
    """ref §9; oauth2-nodejs#2: "previous refresh tokens expire 24 hours after you receive a new one"."""
    _lenient(emu)
    first = emu.tokens()
    emu.control("POST", "/clock", json={"advance_seconds": 86400})
    rotated = _refresh(emu, first["refresh_token"]).json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["x_refresh_token_expires_in"] >= 8726399
    emu.control("POST", "/clock", json={"advance_seconds": 86399})
    grace = _refresh(emu, first["refresh_token"])
    assert grace.status_code == 200 and grace.json()["refresh_token"] == rotated["refresh_token"]


def test_it_refuses_the_replaced_token_24_hours_after_the_new_one(emu):
    """ref §9 Errors: invalid_grant once the replaced token's 24 hours are over."""
    _lenient(emu)
    first = emu.tokens()
    emu.control("POST", "/clock", json={"advance_seconds": 86400})
    _refresh(emu, first["refresh_token"])
    emu.control("POST", "/clock", json={"advance_seconds": 86400})
    late = _refresh(emu, first["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_it_is_lenient_by_default_outside_the_test_harness():
    """Issue 16 (6): create_app() and the CLI behave as QBO; live_emulator() defaults to strict."""
    from emulator import create_app
    assert create_app().emulator.store.state["oauth_settings"] == {"strict_refresh_tokens": False}
    assert create_app(strict_refresh_tokens=True).emulator.store.state["oauth_settings"]["strict_refresh_tokens"]


def test_it_switches_strictness_through_the_control_api_until_reset(emu):
    """Issue 16 (6): PUT /__emulator__/oauth; reset restores the start-up setting (strict here)."""
    _lenient(emu)
    assert emu.control("GET", "/oauth").json() == {"strict_refresh_tokens": False}
    emu.control("POST", "/reset")
    assert emu.control("GET", "/oauth").json() == {"strict_refresh_tokens": True}
    assert emu.control("PUT", "/oauth", json={"strict": 1}).status_code == 400
