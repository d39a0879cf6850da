"""The firm's connection to QuickBooks Online: connect (OAuth 2.0 authorization code, through
intuit-oauth), disconnect, and the token source every QBO call draws its access token from.

Refresh is single-flight per realm: a Redis lock lets exactly one process spend the refresh token
(QBO rotates it, and a superseded one soon gets `invalid_grant`, ref §9 "Rotation"); the others
wait, then read the new access token that the winner committed together with the rotated refresh
token, in its own transaction.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

from flask import current_app
from flask_babel import gettext as _
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from qbo.core.audit import audit
from qbo.core.crypto import decrypt, encrypt
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.core.redis import get_redis
from qbo.quickbooks import company as company_snapshot
from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import (
    AuthFailed,
    Forbidden,
    LimiterTimeout,
    QboError,
    RateLimited,
    ReadQuotaExhausted,
    ReconnectNeeded,
    SubscriptionEnded,
    TransientError,
)
from qbo.quickbooks.api.meter import ReadMeter, month_of, next_month_start
from qbo.quickbooks.models import QboConnection, QboLink, SyncError

log = logging.getLogger("qbo.connection")
STATE_TTL = 600
REFRESH_MARGIN = dt.timedelta(minutes=5)
PRODUCTION_API = "https://quickbooks.api.intuit.com/v3"
SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com/v3"


class ConnectError(Exception):
    """Connecting failed; the message is for the person and never holds a token."""


class RealmChangeRefused(ConnectError):
    def __init__(self, old_realm: str, new_realm: str, company_name: str | None = None):
        super().__init__(_(
            "You chose QuickBooks company %(new)s, but this firm's records are linked to company "
            "%(old)s. Nothing was changed. To switch companies, tick the confirmation and connect "
            "again: every link to the old company will be dropped.", new=new_realm, old=old_realm))
        self.old_realm, self.new_realm = old_realm, new_realm


def oauth_environment(config) -> str:
    """What intuit-oauth takes as `environment`: production, sandbox, or a discovery URL."""
    env = config["QBO_ENVIRONMENT"]
    if env in ("production", "sandbox") or env.startswith(("http://", "https://")):
        return env
    return config["QBO_BASE_URL"].rstrip("/") + "/.well-known/openid_configuration"


def api_base(config) -> str:
    env = config["QBO_ENVIRONMENT"]
    if env == "production":
        return PRODUCTION_API
    if env == "sandbox":
        return SANDBOX_API
    return config["QBO_BASE_URL"].rstrip("/") + "/v3"


HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


class _TimeoutAuthClient(AuthClient):
    """intuit-oauth sets no timeouts (qbo-client-libraries.md §1); add them through the public
    requests.Session.request. Token requests also ask for the refresh token's 5-year hard expiry,
    which Intuit returns only to a request carrying this header and intuit-oauth never sends
    (qbo-2025-2026.md §1.2; oauth-pythonclient#56). intuit-oauth copies every key of the token
    answer onto the client, so `x_refresh_token_hard_expires_in` arrives as an attribute."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", (5, 30))
        if url == getattr(self, "token_endpoint", None):
            kwargs["headers"] = dict(kwargs.get("headers") or {}, **{HARD_EXPIRY_HEADER: "true"})
        return super().request(method, url, **kwargs)


def auth_client(**kwargs) -> AuthClient:
    config = current_app.config
    try:
        return _TimeoutAuthClient(config["QBO_CLIENT_ID"], config["QBO_CLIENT_SECRET"],
                                  config["QBO_REDIRECT_URI"], oauth_environment(config), **kwargs)
    except Exception as exc:  # discovery document unreachable
        raise TransientError(f"QuickBooks sign-in service unreachable ({type(exc).__name__})") from None


def get_connection(firm_id: int) -> QboConnection | None:
    return db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm_id))


def has_links(firm_id: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(QboLink).where(QboLink.firm_id == firm_id)) > 0


# --- connect and disconnect ---------------------------------------------------------------------


def start_connect(firm_id: int, user_id: int, *, confirm_realm_change: bool = False) -> tuple[str, str]:
    """The authorize URL to send the person to, and the one-time `state` bound to firm and user."""
    state = secrets.token_urlsafe(24)
    get_redis().set(f"qbo:oauth-state:{state}", json.dumps(
        {"firm_id": firm_id, "user_id": user_id, "confirm_realm_change": confirm_realm_change}), ex=STATE_TTL)
    url = auth_client(state_token=state).get_authorization_url([Scopes.ACCOUNTING], state_token=state)
    return url, state


def finish_connect(firm_id: int, user_id: int, *, state: str | None, code: str | None,
                   realm_id: str | None, error: str | None = None) -> QboConnection:
    """Handle the OAuth callback: check `state`, swap the code, read CompanyInfo, store the
    connection with its tokens encrypted (not committed: qbo.quickbooks.onboarding finishes the
    connect). Raises ConnectError with a message for the person."""
    raw = get_redis().getdel(f"qbo:oauth-state:{state}") if state else None
    pending = json.loads(raw) if raw else None
    if not pending or pending["firm_id"] != firm_id or pending["user_id"] != user_id:
        raise ConnectError(_("This QuickBooks sign-in link has expired or was not started here. "
                             "Start again with Connect."))
    if error:
        raise ConnectError(_("QuickBooks did not grant access (it answered: %(answer)s). "
                             "Nothing was changed.", answer=error[:60]))
    if not code or not realm_id or not realm_id.isdigit() or len(realm_id) > 40:
        raise ConnectError(_("QuickBooks sent back an incomplete answer. Start again with Connect."))
    client = auth_client(state_token=state)
    try:
        client.get_bearer_token(code, realm_id=realm_id)
    except AuthClientError as exc:
        raise ConnectError(_("QuickBooks refused the sign-in (%(reason)s). Start again with Connect.",
                             reason=_oauth_error(exc))) from None

    connection = get_connection(firm_id)
    old_realm = connection.realm_id if connection else None
    if old_realm and old_realm != realm_id and has_links(firm_id):
        if not pending["confirm_realm_change"]:
            _revoke_quietly(client.refresh_token)
            raise RealmChangeRefused(old_realm, realm_id)
        _forget_links(firm_id, user_id, old_realm, realm_id)

    issued_at = utcnow()
    # Through the realm's limiter like every other client: the sync that follows a connect would
    # otherwise send its first second on top of these reads unseen and take a 429 (a 60 s wait, ref §3).
    redis = get_redis(decode=False)
    api = QboClient(realm_id, api_base(current_app.config), _StaticTokens(client.access_token),
                    redis=redis, meter=ReadMeter(redis))  # a metered read too
    company = api.company_info()
    if connection is None:
        connection = QboConnection(firm_id=firm_id)
        db.session.add(connection)
    connection.realm_id = realm_id
    connection.company_name = company.get("CompanyName") or f"Company {realm_id}"
    _store_tokens(connection, client, issued_at)
    connection.state, connection.state_reason = "connected", None
    connection.throttled_until = None
    connection.connected_at, connection.connected_by_id = issued_at, user_id
    connection.last_call_at = issued_at
    company_snapshot.refresh(firm_id, api, realm_id=realm_id, company_info=company)
    audit(firm_id, user_id, "quickbooks.connected", None, realm_id=realm_id)
    return connection


def disconnect(firm_id: int, user_id: int) -> None:
    """Revoke the tokens and forget them; keep the realm, every link and all history so a later
    reconnect to the same company resumes where it stopped."""
    connection = get_connection(firm_id)
    if connection is None or connection.state == "disconnected":
        return
    if connection.refresh_token_encrypted:
        _revoke_quietly(decrypt(connection.refresh_token_encrypted))
    connection.access_token_encrypted = connection.refresh_token_encrypted = None
    connection.access_token_expires_at = connection.refresh_token_expires_at = None
    connection.state, connection.state_reason = "disconnected", None
    audit(firm_id, user_id, "quickbooks.disconnected", None, realm_id=connection.realm_id)
    db.session.commit()


def _forget_links(firm_id: int, user_id: int, old_realm: str, new_realm: str) -> None:
    """The owner confirmed a switch of company: links to the old company are meaningless there."""
    db.session.execute(delete(QboLink).where(QboLink.firm_id == firm_id))
    db.session.execute(update(SyncError).where(SyncError.firm_id == firm_id, SyncError.status == "open")
                       .values(status="resolved", resolution="company_changed", resolved_at=utcnow(),
                               resolved_by_id=user_id))
    audit(firm_id, user_id, "quickbooks.company_changed", None, old_realm=old_realm, new_realm=new_realm)


def _revoke_quietly(refresh_token: str | None) -> None:
    if not refresh_token:
        return
    try:
        auth_client().revoke(token=refresh_token)
    except Exception as exc:  # the local copy is forgotten either way; log without the token
        log.warning("token revoke failed: %s", type(exc).__name__)


def _oauth_error(exc: AuthClientError) -> str:
    try:
        return json.loads(exc.content).get("error", f"HTTP {exc.status_code}")
    except (ValueError, AttributeError, TypeError):
        return f"HTTP {getattr(exc, 'status_code', '?')}"


def _store_tokens(connection: QboConnection, client: AuthClient, issued_at: dt.datetime) -> None:
    connection.access_token_encrypted = encrypt(client.access_token)
    connection.refresh_token_encrypted = encrypt(client.refresh_token)
    connection.access_token_expires_at = issued_at + dt.timedelta(seconds=int(client.expires_in or 3600))
    if client.x_refresh_token_expires_in:
        connection.refresh_token_expires_at = issued_at + dt.timedelta(seconds=int(client.x_refresh_token_expires_in))
    hard = getattr(client, "x_refresh_token_hard_expires_in", None)
    try:
        if hard is not None and int(hard) > 0:
            connection.refresh_token_hard_expires_at = issued_at + dt.timedelta(seconds=int(hard))
    except (TypeError, ValueError):
        log.warning("firm=%s unreadable x_refresh_token_hard_expires_in", connection.firm_id)


# --- the token source ---------------------------------------------------------------------------


class _StaticTokens:
    """A token source for the one call made during the callback, before anything is stored."""

    def __init__(self, token: str):
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refreshed_after(self, rejected: str) -> str:
        raise ReconnectNeeded("QuickBooks rejected a token it had just issued", status=401)


class ConnectionTokens:
    """Access tokens for one firm's connection, refreshed once per realm across all processes."""

    def __init__(self, firm_id: int, *, lock_timeout: float = 60, wait_timeout: float = 90):
        self.firm_id = firm_id
        self.lock_timeout, self.wait_timeout = lock_timeout, wait_timeout
        self.refreshes = 0  # how many refreshes this instance performed itself (for tests/metrics)

    def access_token(self) -> str:
        with Session(db.engine) as session:
            connection = self._load(session)
            if connection.access_token_expires_at and connection.access_token_expires_at > utcnow() + REFRESH_MARGIN:
                return decrypt(connection.access_token_encrypted)
        return self._refresh(rejected=None)

    def refreshed_after(self, rejected: str) -> str:
        return self._refresh(rejected=rejected)

    def _load(self, session: Session) -> QboConnection:
        connection = session.scalar(select(QboConnection).where(QboConnection.firm_id == self.firm_id))
        if connection is None or connection.state != "connected" or not connection.refresh_token_encrypted:
            reason = connection.state_reason if connection is not None else None
            raise ReconnectNeeded(reason or "QuickBooks is not connected")
        return connection

    def _refresh(self, *, rejected: str | None) -> str:
        with Session(db.engine) as session:
            realm = self._load(session).realm_id
        lock = get_redis().lock(f"qbo:token-refresh:{realm}", timeout=self.lock_timeout,
                                blocking_timeout=self.wait_timeout)
        if not lock.acquire():
            raise TransientError("timed out waiting for another process to refresh the QuickBooks token")
        try:
            with Session(db.engine) as session:
                connection = self._load(session)
                current = decrypt(connection.access_token_encrypted)
                if rejected is not None and current != rejected:
                    return current  # another process refreshed while we waited
                if rejected is None and connection.access_token_expires_at and \
                        connection.access_token_expires_at > utcnow() + REFRESH_MARGIN:
                    return current
                client = auth_client()
                issued_at = utcnow()
                try:
                    client.refresh(refresh_token=decrypt(connection.refresh_token_encrypted))
                except AuthClientError as exc:
                    error = _oauth_error(exc)
                    if error in ("invalid_grant", "invalid_client"):
                        connection.state = "needs_reconnect"
                        connection.state_reason = ("QuickBooks no longer accepts this app's authorisation "
                                                   f"({error}); an owner needs to reconnect.")
                        session.commit()
                        log.warning("firm=%s realm=%s refresh refused: %s", self.firm_id, realm, error)
                        raise ReconnectNeeded(connection.state_reason, status=400) from None
                    raise TransientError(f"token refresh failed ({error})", status=exc.status_code) from None
                except ReconnectNeeded:
                    raise
                except Exception as exc:
                    raise TransientError(f"token refresh failed ({type(exc).__name__})") from None
                _store_tokens(connection, client, issued_at)
                session.commit()
                self.refreshes += 1
                log.info("firm=%s realm=%s access token refreshed", self.firm_id, realm)
                return client.access_token
        finally:
            try:
                lock.release()
            except Exception:  # lock expired while refreshing: the next caller re-checks anyway
                pass


# --- what the connection's faults say -------------------------------------------------------------

#: Connection states beyond connected / disconnected / needs_reconnect.
SUBSCRIPTION_ENDED = "subscription_ended"


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def note_fault(firm_id: int, error: QboError) -> str | None:
    """Record on the connection what a connection-level fault says about it (reconnect needed,
    subscription inactive, throttled by Intuit, read quota exhausted) and commit; returns why the
    sync pauses, or None when the fault is not about the connection."""
    connection = get_connection(firm_id)
    if connection is None:
        return None
    words = "; ".join(p for p in (error.message, error.detail) if p)[:400]
    if isinstance(error, ReadQuotaExhausted):
        connection.reads_blocked_until = _naive(next_month_start())
        ReadMeter(get_redis(decode=False)).block_until_next_month(connection.realm_id)
        reason = "QuickBooks' monthly read allowance is used up; reads resume on the 1st"
    elif isinstance(error, LimiterTimeout):
        return None  # our own limiter's queue, not Intuit
    elif isinstance(error, RateLimited):
        wait = max(float(error.retry_after or 0), 60.0)
        connection.throttled_until = utcnow() + dt.timedelta(seconds=wait)
        reason = "QuickBooks is throttling this app; the sync resumes shortly"
    elif isinstance(error, SubscriptionEnded):
        connection.state = SUBSCRIPTION_ENDED
        connection.state_reason = words or error.code
        reason = "the QuickBooks subscription is inactive"
    elif isinstance(error, (AuthFailed, Forbidden, ReconnectNeeded)):
        if connection.state == "connected":
            connection.state = "needs_reconnect"
            connection.state_reason = words or str(error)[:400]
        reason = "QuickBooks needs reconnecting"
    else:
        return None
    db.session.commit()
    log.warning("firm=%s connection fault %s: %s", firm_id, type(error).__name__, reason)
    return reason


def reads_blocked(connection: QboConnection | None) -> bool:
    """Whether Intuit refused this month's reads (until the 1st of next month)."""
    return bool(connection is not None and connection.reads_blocked_until
                and connection.reads_blocked_until > utcnow())


def reads_this_month(connection: QboConnection | None) -> int:
    """CorePlus calls this calendar month: the live Redis count, or what the database kept."""
    if connection is None or not connection.realm_id:
        return 0
    month = month_of()
    kept = connection.reads_this_month if connection.reads_month == month else 0
    try:
        live = ReadMeter(get_redis(decode=False)).reads(connection.realm_id, month)
    except Exception:  # Redis down: the page still shows what the database kept
        live = 0
    return max(kept or 0, live)


def persist_reads(firm_id: int) -> int:
    """Copy this month's read count from Redis to the connection (and back, after Redis lost it)."""
    connection = get_connection(firm_id)
    if connection is None or not connection.realm_id:
        return 0
    month = month_of()
    meter = ReadMeter(get_redis(decode=False))
    kept = connection.reads_this_month if connection.reads_month == month else 0
    live = meter.reads(connection.realm_id, month)
    if live < (kept or 0):
        meter.seed(connection.realm_id, month, kept)
    connection.reads_month, connection.reads_this_month = month, max(kept or 0, live)
    if connection.reads_blocked_until and connection.reads_blocked_until <= utcnow():
        connection.reads_blocked_until = None
    db.session.commit()
    return connection.reads_this_month


# --- Intuit's Disconnect URL ------------------------------------------------------------------------


def disconnected_in_quickbooks(realm_id: str | None) -> bool:
    """Intuit opened our Disconnect URL for `realm_id`: the customer disconnected the app inside
    QuickBooks (My Apps -> Disconnect; qbo-2025-2026.md §1.2). The call carries only the realm
    and no signature, so it is checked with Intuit before anything changes: the connection is
    marked disconnected only if its refresh token is now refused (a disconnect revokes it).
    Returns whether the connection was marked."""
    if not realm_id or not str(realm_id).isdigit():
        return False
    connection = db.session.scalar(select(QboConnection).where(QboConnection.realm_id == str(realm_id),
                                                               QboConnection.state != "disconnected"))
    if connection is None or not connection.refresh_token_encrypted:
        return False
    lock = get_redis().lock(f"qbo:token-refresh:{connection.realm_id}", timeout=60, blocking_timeout=30)
    if not lock.acquire():
        return False
    try:
        return _check_disconnected(connection, realm_id)
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile
            pass


def _check_disconnected(connection: QboConnection, realm_id: str) -> bool:
    db.session.refresh(connection)  # another process may have rotated the refresh token
    if connection.state == "disconnected" or not connection.refresh_token_encrypted:
        return False
    client = auth_client()
    try:
        client.refresh(refresh_token=decrypt(connection.refresh_token_encrypted))
    except AuthClientError as exc:
        if _oauth_error(exc) not in ("invalid_grant", "invalid_client"):
            return False  # Intuit could not say: leave the connection as it is
        connection.access_token_encrypted = connection.refresh_token_encrypted = None
        connection.access_token_expires_at = connection.refresh_token_expires_at = None
        connection.state = "disconnected"
        connection.state_reason = "The app was disconnected inside QuickBooks."
        audit(connection.firm_id, None, "quickbooks.disconnected_in_quickbooks", None, realm_id=realm_id)
        db.session.commit()
        return True
    except Exception as exc:
        log.warning("disconnect check for realm %s failed: %s", realm_id, type(exc).__name__)
        return False
    # Still authorised: a forged or stale call. Keep the rotated tokens the check just got.
    _store_tokens(connection, client, utcnow())
    db.session.commit()
    return False


def client_for_firm(firm_id: int, **kwargs):
    """A QboClient for the firm's connected company (raises ReconnectNeeded when not connected)."""
    connection = get_connection(firm_id)
    if connection is None or connection.state != "connected":
        raise ReconnectNeeded("QuickBooks is not connected")
    redis = get_redis(decode=False)
    meter = ReadMeter(redis)
    if reads_blocked(connection) and meter.blocked_until(connection.realm_id) is None:
        meter.block_until_next_month(connection.realm_id)  # Redis lost it; the database kept it
    return QboClient(connection.realm_id, api_base(current_app.config), ConnectionTokens(firm_id),
                     redis=redis, meter=meter, **kwargs)
