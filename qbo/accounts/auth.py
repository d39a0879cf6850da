"""Sign-in rules: password check with throttling of repeated failures (counted in Redis, so it
holds across processes), API key issue and lookup, and the safe `next` redirect."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from qbo.accounts.models import ApiKey, User
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.core.redis import get_redis


class SignInLocked(Exception):
    pass


def _keys(email: str, ip: str) -> list[str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [f"signin:fail:email:{digest}", f"signin:fail:ip:{ip}"]


def authenticate(email: str, password: str, ip: str) -> User | None:
    """The user for these credentials, None when wrong; SignInLocked after too many failures."""
    r = get_redis()
    limit = current_app.config["SIGN_IN_MAX_FAILURES"]
    keys = _keys(email, ip)
    # The per-IP budget is wider so one office behind a single address is not locked out together.
    if int(r.get(keys[0]) or 0) >= limit or int(r.get(keys[1]) or 0) >= limit * 4:
        raise SignInLocked()
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is not None and user.active and user.check_password(password):
        r.delete(keys[0])
        user.last_sign_in_at = utcnow()
        return user
    pipe = r.pipeline()
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, current_app.config["SIGN_IN_LOCK_SECONDS"])
    pipe.execute()
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
    key.last_used_at = utcnow()
    return key.user
