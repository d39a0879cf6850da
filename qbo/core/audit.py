"""The audit log: every write a person (or a job on their behalf) makes, with who and what."""
from __future__ import annotations

from qbo.core.db import db
from qbo.core.models import AuditEvent


def audit(firm_id: int, user_id: int | None, action: str, record=None, **detail) -> None:
    """Add an audit event to the session (the caller commits it with the change it describes)."""
    db.session.add(AuditEvent(firm_id=firm_id, user_id=user_id, action=action,
                              record_type=getattr(record, "record_type", None),
                              record_id=getattr(record, "id", None), detail=detail or None))
