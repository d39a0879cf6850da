"""Connecting a firm to QuickBooks (against the emulator over real HTTP), token refresh and its
single-flight lock, invalid_grant, disconnect and reconnect."""
import logging
import multiprocessing

import pytest
import requests
from sqlalchemy import func, select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import connection as qconn
from qbo.quickbooks import onboarding
from qbo.quickbooks.api.errors import ReconnectNeeded
from qbo.quickbooks.models import QboConnection, QboLink
from tests.factories import make_account, make_user, sign_in


def _connect(app, user):
    """The OAuth code flow as the app runs it, with the person's click on the consent page."""
    from qbo.demo import connect_demo_firm

    connect_demo_firm(user.firm_id, user.id)
    return qconn.get_connection(user.firm_id)


def test_it_connects_through_the_oauth_code_flow_and_reads_the_company(app, qbo_emulator):
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    assert connection.state == "connected" and connection.realm_id == qbo_emulator.realm_id
    assert connection.company_name and connection.connected_by_id == owner.id


def test_it_counts_the_connects_reads_in_the_realms_limits_so_the_first_sync_is_not_throttled(app, qbo_emulator):
    from qbo.core.redis import get_redis

    connection = _connect(app, make_user(role="owner"))
    sent = [r for r in qbo_emulator.control("GET", "/requests").json() if r["path"].startswith("/v3/")]
    counted = get_redis(decode=False).zcard(f"qbo:limits:{{{connection.realm_id}}}:requests")
    assert len(sent) > 1 and counted == len(sent)


def test_it_stores_tokens_encrypted_and_never_logs_them(app, qbo_emulator, caplog):
    owner = make_user(role="owner")
    with caplog.at_level(logging.DEBUG):
        connection = _connect(app, owner)
        token = qconn.ConnectionTokens(owner.firm_id).access_token()
    assert token not in connection.access_token_encrypted
    assert qconn.decrypt(connection.access_token_encrypted) == token
    assert token not in caplog.text and qconn.decrypt(connection.refresh_token_encrypted) not in caplog.text


def test_it_refuses_a_callback_with_a_foreign_state(app, qbo_emulator):
    owner = make_user(role="owner")
    with pytest.raises(qconn.ConnectError, match="expired or was not started here"):
        onboarding.finish_connect(owner.firm_id, owner.id, state="forged", code="x", realm_id="1")


def test_it_refuses_connect_for_a_viewer_and_staff(client, app, qbo_emulator):
    for role in ("viewer", "staff", "admin"):
        user = make_user(role=role)
        sign_in(client, user)
        page = client.get("/settings/integrations/quickbooks").get_data(as_text=True)
        assert "Connect to QuickBooks" not in page and "Only the owner can connect" in page
        assert client.post("/settings/integrations/quickbooks/connect").status_code == 403
        client.post("/sign-out")


def test_it_lets_an_admin_connect_when_the_firm_allows(client, app, qbo_emulator):
    admin = make_user(role="admin")
    admin.firm.admins_manage_connection = True
    db.session.commit()
    sign_in(client, admin)
    response = client.post("/settings/integrations/quickbooks/connect")
    assert response.status_code == 302 and response.headers["Location"].startswith(qbo_emulator.base_url)


def test_it_refreshes_an_expired_token_and_saves_the_rotated_refresh_token(app, qbo_emulator):
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    old_access, old_refresh = (qconn.decrypt(connection.access_token_encrypted),
                               qconn.decrypt(connection.refresh_token_encrypted))
    connection.access_token_expires_at = utcnow()
    db.session.commit()
    tokens = qconn.ConnectionTokens(owner.firm_id)
    new_access = tokens.access_token()
    db.session.refresh(connection)
    assert new_access != old_access and tokens.refreshes == 1
    assert qconn.decrypt(connection.refresh_token_encrypted) != old_refresh  # ref §9 rotation
    assert connection.access_token_expires_at > utcnow()
    assert tokens.access_token() == new_access and tokens.refreshes == 1


def test_it_refreshes_once_after_a_401_when_the_emulator_clock_expires_the_token(app, qbo_emulator):
    owner = make_user(role="owner")
    _connect(app, owner)
    qbo_emulator.control("POST", "/clock", json={"advance_seconds": 3700}).raise_for_status()  # ref §9 1-hour tokens
    client = qconn.client_for_firm(owner.firm_id)
    assert client.company_info()["CompanyName"]
    assert client.tokens.refreshes == 1


def _race_for_refresh(args):
    app_config, firm_id, rejected, barrier = args
    from app import create_app

    app = create_app(app_config)
    with app.app_context():
        tokens = qconn.ConnectionTokens(firm_id)
        barrier.wait()
        token = tokens.refreshed_after(rejected)
        return token, tokens.refreshes


def test_it_refreshes_exactly_once_when_eight_processes_hit_expiry_together(app, app_config, qbo_emulator):
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    rejected = qconn.decrypt(connection.access_token_encrypted)
    config = {**app_config, "QBO_BASE_URL": qbo_emulator.base_url}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            results = pool.map(_race_for_refresh, [(config, owner.firm_id, rejected, barrier)] * 8)
    assert sum(refreshes for _, refreshes in results) == 1
    assert len({token for token, _ in results}) == 1
    db.session.refresh(connection)
    assert connection.state == "connected"


def test_it_marks_the_connection_needs_reconnecting_on_invalid_grant(client, app, qbo_emulator):
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    # Someone revokes the app's access in QuickBooks: the refresh token is dead (ref §9 invalid_grant).
    qconn.auth_client().revoke(token=qconn.decrypt(connection.refresh_token_encrypted))
    connection.access_token_expires_at = utcnow()
    db.session.commit()
    with pytest.raises(ReconnectNeeded):
        qconn.ConnectionTokens(owner.firm_id).access_token()
    db.session.refresh(connection)
    assert connection.state == "needs_reconnect" and "invalid_grant" in connection.state_reason
    sign_in(client, owner)
    page = client.get("/accounts/").get_data(as_text=True)
    assert 'id="qbo-banner"' in page and "QuickBooks needs reconnecting" in page


def test_it_keeps_links_through_disconnect_and_reconnect_to_the_same_company(app, qbo_emulator):
    owner = make_user(role="owner")
    account = make_account(owner.firm)
    connection = _connect(app, owner)
    _pretend_synced(account)
    refresh_token = qconn.decrypt(connection.refresh_token_encrypted)
    qconn.disconnect(owner.firm_id, owner.id)
    db.session.refresh(connection)
    assert connection.state == "disconnected" and connection.refresh_token_encrypted is None
    assert connection.realm_id == qbo_emulator.realm_id
    revoked = requests.post(qbo_emulator.token_url, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                            auth=("emulator-client-id", "emulator-client-secret"), timeout=10)
    assert revoked.json()["error"] == "invalid_grant"  # disconnect revoked it
    _connect(app, owner)
    assert db.session.scalar(select(func.count()).select_from(QboLink)) == 1


def test_it_refuses_a_different_company_unless_the_owner_confirms(app, qbo_emulator):
    owner = make_user(role="owner")
    account = make_account(owner.firm)
    _connect(app, owner)
    _pretend_synced(account)
    other_realm = qbo_emulator.control("POST", "/companies", json={"name": "Other Books"}).json()["realm_id"]
    with pytest.raises(qconn.RealmChangeRefused):
        _connect_to(owner, other_realm, confirm=False)
    assert qconn.get_connection(owner.firm_id).realm_id == qbo_emulator.realm_id
    _connect_to(owner, other_realm, confirm=True)
    connection = qconn.get_connection(owner.firm_id)
    assert connection.realm_id == other_realm and connection.company_name == "Other Books"
    links = db.session.scalars(select(QboLink)).all()
    assert [(l.qbo_id, l.status) for l in links] == [(None, "pending")]  # to be pushed to the new company


def _connect_to(user, realm_id, *, confirm):
    from urllib.parse import parse_qs, urlsplit

    url, state = qconn.start_connect(user.firm_id, user.id, confirm_realm_change=confirm)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(url.split("?")[0], data={**params, "realm_id": realm_id, "decision": "allow"},
                           allow_redirects=False, timeout=10)
    callback = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    return onboarding.finish_connect(user.firm_id, user.id, state=callback["state"], code=callback["code"],
                                realm_id=callback["realmId"])


def _pretend_synced(account):
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "account", QboLink.record_id == account.id))
    link.qbo_type, link.qbo_id, link.status = "Customer", "58", "synced"
    db.session.commit()


class _TokenAnswer(requests.adapters.HTTPAdapter):
    """The token endpoint's answer with Intuit's 5-year hard expiry; remembers the request headers."""

    def __init__(self):
        super().__init__()
        self.headers = None

    def send(self, request, **kwargs):
        self.headers = dict(request.headers)
        answer = requests.models.Response()
        answer.status_code, answer.url = 200, request.url
        answer.headers["Content-Type"] = "application/json"
        answer._content = (b'{"token_type":"bearer","access_token":"at","expires_in":3600,"refresh_token":"rt",'
                           b'"x_refresh_token_expires_in":8726400,"x_refresh_token_hard_expires_in":157680000}')
        return answer


def test_it_asks_for_and_keeps_the_refresh_tokens_hard_expiry(app, qbo_emulator):
    """qbo-2025-2026.md §1.2: only a token request with this header gets the 5-year hard expiry."""
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    client = qconn.auth_client()
    adapter = _TokenAnswer()
    client.mount(client.token_endpoint, adapter)
    client.refresh(refresh_token="rt-old")
    assert adapter.headers.get(qconn.HARD_EXPIRY_HEADER) == "true"
    now = utcnow()
    qconn._store_tokens(connection, client, now)
    assert (connection.refresh_token_hard_expires_at - now).days == 1825


def test_it_marks_the_connection_disconnected_when_intuit_confirms_the_disconnect_url(client, app, qbo_emulator):
    owner = make_user(role="owner")
    connection = _connect(app, owner)
    assert client.get(f"/webhooks/intuit/disconnect?realmId={connection.realm_id}").status_code == 302
    assert qconn.disconnected_in_quickbooks(connection.realm_id) is False  # Intuit still accepts the tokens
    assert db.session.get(QboConnection, connection.id).state == "connected"
    qconn.auth_client().revoke(token=qconn.decrypt(connection.refresh_token_encrypted))
    assert qconn.disconnected_in_quickbooks(connection.realm_id) is True
    connection = db.session.get(QboConnection, connection.id)
    assert connection.state == "disconnected" and connection.refresh_token_encrypted is None


class _TokenFault(requests.adapters.HTTPAdapter):
    """The token endpoint answering with a fault (Intuit's OAuth errors, ref §9, or a proxy's page)."""

    def __init__(self, status, body, content_type):
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type

    def send(self, request, **kwargs):
        answer = requests.models.Response()
        answer.status_code, answer.url, answer._content = self.status, request.url, self.body.encode()
        answer.headers["Content-Type"] = self.content_type
        return answer


@pytest.mark.parametrize("status, body, content_type, raised, state", [
    (400, '{"error":"invalid_grant","error_description":"Incorrect or invalid refresh token"}',
     "application/json", ReconnectNeeded, "needs_reconnect"),  # ref §9 Errors
    (401, '{"error":"invalid_client"}', "application/json", ReconnectNeeded, "needs_reconnect"),  # ref §9
    (503, "<html><title>503 Service Unavailable</title></html>", "text/html", "TransientError", "connected"),
    (500, "", "text/plain", "TransientError", "connected"),
    (429, '{"error":"too_many_requests"}', "application/json", "TransientError", "connected"),
])
def test_it_handles_every_answer_of_the_token_endpoint(app, qbo_emulator, monkeypatch, status, body, content_type,
                                                      raised, state):
    from qbo.quickbooks.api.errors import TransientError

    owner = make_user(role="owner")
    connection = _connect(app, owner)
    connection.access_token_expires_at = utcnow()
    db.session.commit()
    real = qconn.auth_client

    def faulty(**kwargs):
        client = real(**kwargs)
        client.mount(client.token_endpoint, _TokenFault(status, body, content_type))
        return client

    monkeypatch.setattr(qconn, "auth_client", faulty)
    with pytest.raises(TransientError if raised == "TransientError" else raised):
        qconn.ConnectionTokens(owner.firm_id).access_token()
    db.session.refresh(connection)
    assert connection.state == state


def test_it_keeps_this_months_reads_in_the_database_through_a_redis_restart(app, qbo_emulator):
    from qbo.core.redis import get_redis
    from qbo.quickbooks.api.meter import ReadMeter, month_of

    owner = make_user(role="owner")
    connection = _connect(app, owner)
    meter = ReadMeter(get_redis(decode=False))
    at_connect = meter.reads(connection.realm_id)  # CompanyInfo, Preferences and the tax lists
    meter.count(connection.realm_id, 41)
    total = at_connect + 41
    assert at_connect > 0 and qconn.persist_reads(owner.firm_id) == total
    get_redis().delete(f"qbo:reads:{connection.realm_id}:{month_of()}")
    assert qconn.reads_this_month(connection) == total
    qconn.persist_reads(owner.firm_id)  # seeds Redis back from the database
    assert meter.reads(connection.realm_id) == total
