"""Intuit webhooks: the body holds ids only (ref §8). It is verified, its realms are looked up,
and a change poll is queued per firm; the poll does the work."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.jobs import enqueue_poll
from qbo.quickbooks.models import QboConnection


class InvalidSignature(Exception):
    """intuit-signature is missing or does not match."""


def signature_for(raw_body: bytes, verifier: str) -> str:
    """intuit-signature: base64(HMAC-SHA256(key=verifier token, message=raw body)) (ref §8)."""
    return base64.b64encode(hmac.new(verifier.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_signature(raw_body: bytes, signature: str | None, verifier: str | None) -> bool:
    if not verifier or not signature:
        return False
    return hmac.compare_digest(signature_for(raw_body, verifier).encode(), signature.strip().encode())


def realms_in(raw_body: bytes) -> set[str]:
    """The realm ids a webhook body names: legacy `eventNotifications` or a CloudEvents array."""
    payload = json.loads(raw_body)
    realms: set[str] = set()
    if isinstance(payload, dict):
        for note in payload.get("eventNotifications") or []:
            if isinstance(note, dict) and note.get("realmId"):
                realms.add(str(note["realmId"]))
    elif isinstance(payload, list):
        for event in payload:
            if isinstance(event, dict) and event.get("intuitaccountid"):
                realms.add(str(event["intuitaccountid"]))
    else:
        raise ValueError("a webhook body is an object (legacy) or an array (CloudEvents)")
    return realms


def handle_webhook(raw_body: bytes, signature: str | None, verifier: str | None) -> int:
    """Verify an Intuit webhook and queue a poll per connected firm it names (one already waiting
    counts); how many firms.
    Raises InvalidSignature (nothing processed) or ValueError (a body that is not JSON)."""
    if not verify_signature(raw_body, signature, verifier):
        raise InvalidSignature("intuit-signature is missing or does not match")
    realms = realms_in(raw_body)
    if not realms:
        return 0
    firm_ids = db.session.scalars(select(QboConnection.firm_id).where(
        QboConnection.realm_id.in_(sorted(realms)), QboConnection.state == "connected")).all()
    for firm_id in firm_ids:
        enqueue_poll(firm_id)
    return len(firm_ids)
