"""Sign-in rules: password check with throttling of repeated failures (exponential backoff counted
in Redis, so it holds across processes; known devices exempt), API key issue and lookup, and the
safe `next` redirect."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from qbo.accounts.models import ApiKey, User
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.core.redis import get_redis


class SignInThrottled(Exception):
    """Too many recent failures for this e-mail or from this client: wait `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = max(int(retry_after), 1)



def _email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _keys(email: str, ip: str) -> dict[str, tuple[str, str, int]]:
    """(failure counter, wait-until key, free failures) for the account and for the client."""
    free = current_app.config["SIGN_IN_FREE_FAILURES"]
    digest = _email_digest(email)
    return {"email": (f"signin:fail:email:{digest}", f"signin:wait:email:{digest}", free),
            # One office behind one address gets a wider budget before it is slowed down.
            "ip": (f"signin:fail:ip:{ip}", f"signin:wait:ip:{ip}", free * 4)}


def backoff_seconds(failures: int, free: int) -> int:
    """0 within the free failures, then base * 2**n seconds, capped."""
    if failures < free:
        return 0
    base = current_app.config["SIGN_IN_BACKOFF_BASE_SECONDS"]
    cap = current_app.config["SIGN_IN_BACKOFF_CAP_SECONDS"]
    return min(base * 2 ** min(failures - free, 30), cap)


# --- known devices: a signed cookie set at a successful sign-in ------------------------------------

def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def known_device_token(email: str) -> str:
    """The cookie value that marks this browser as one that signed in to `email` before."""
    return _device_serializer().dumps({"e": _email_digest(email)})


def is_known_device(token: str | None, email: str) -> bool:
    if not token:
        return False
    max_age = current_app.config["KNOWN_DEVICE_DAYS"] * 86400
    try:
        data = _device_serializer().loads(token, max_age=max_age)
    except BadData:
        return False
    return isinstance(data, dict) and hmac.compare_digest(str(data.get("e", "")), _email_digest(email))


# --- the password check ------------------------------------------------------------------------------

_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made the way real ones are, so an unknown e-mail costs the same work as a known one."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY_HASHES[method]


def authenticate(email: str, password: str, ip: str, *, device: str | None = None) -> User | None:
    """The user for these credentials, None when wrong.

    Failures slow further attempts down (SignInThrottled, exponential backoff with a cap) per
    e-mail and per client address, counted in Redis so it holds across processes. Nothing locks an
    account: a browser holding the known-device cookie of this e-mail (`device`) is never slowed,
    so an attacker guessing a password can't keep its owner out."""
    r = get_redis()
    keys = _keys(email, ip)
    if not is_known_device(device, email):
        waits = [r.pttl(wait_key) for _, wait_key, _ in keys.values()]
        longest = max(waits)
        if longest > 0:
            raise SignInThrottled((longest + 999) // 1000)
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    # The same hash work whether or not the e-mail exists (no answer by timing).
    matches = user.check_password(password) if user is not None else check_password_hash(_dummy_hash(), password)
    if user is not None and user.active and matches:
        counter, wait_key, _ = keys["email"]
        r.delete(counter, wait_key)
        user.last_sign_in_at = utcnow()
        return user
    window = current_app.config["SIGN_IN_FAILURE_WINDOW_SECONDS"]
    pipe = r.pipeline()
    for counter, _, _ in keys.values():
        pipe.incr(counter)
        pipe.expire(counter, window)
    counts = pipe.execute()[::2]
    for (counter, wait_key, free), failures in zip(keys.values(), counts):
        delay = backoff_seconds(int(failures), free)
        if delay:
            r.set(wait_key, "1", ex=delay)
    return None


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths; anything else (//evil, https://evil, \\evil) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(user: User, label: str = "") -> str:
    """Store a new key for `user` and return it; it is shown once and only its digest is kept."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    db.session.add(ApiKey(firm_id=user.firm_id, user_id=user.id, prefix=prefix,
                          digest=_digest(secret), label=label))
    return f"qsk_{prefix}_{secret}"


LAST_USE_PRECISION = dt.timedelta(minutes=1)  # how exact an API key's "last used" is


def user_for_api_key(raw: str | None) -> User | None:
    if not raw or not raw.startswith("qsk_") or raw.count("_") < 2:
        return None
    _, prefix, secret = raw.split("_", 2)
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.digest, _digest(secret)):
        return None
    if not key.user.active or key.user.firm_id != key.firm_id:
        return None
    now = utcnow()
    # Written at most once a minute: a write per request made every API call a writer, and on
    # SQLite concurrent calls then queued behind each other's commit for a timestamp.
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_PRECISION:
        key.last_used_at = now
    return key.user
