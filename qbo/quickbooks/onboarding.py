"""Finishing a connect: the connection is stored, the whole ledger is marked for the first sync
(a reconnect marks only what is missing), and that sync is enqueued after the commit."""
from __future__ import annotations

from qbo.core.db import db
from qbo.quickbooks import connection
from qbo.quickbooks.jobs import after_ledger_change
from qbo.quickbooks.models import QboConnection
from qbo.quickbooks.sync.marking import mark_all


def finish_connect(firm_id: int, user_id: int, *, state: str | None, code: str | None,
                   realm_id: str | None, error: str | None = None) -> QboConnection:
    """The OAuth callback, end to end (raises connection.ConnectError with a message for the person)."""
    connected = connection.finish_connect(firm_id, user_id, state=state, code=code, realm_id=realm_id, error=error)
    mark_all(firm_id)
    db.session.commit()
    after_ledger_change(firm_id)
    return connected
