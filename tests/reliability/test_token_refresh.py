"""Eight workers whose access token expires at the same moment, each making a real QBO call:
one refresh among them, every call answered, and the rotated refresh token still good afterwards
(no invalid_grant). tests/test_connection.py covers the lock itself with `refreshed_after`."""
import multiprocessing

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import connection as qconn
from tests.factories import make_user


def _call_after_expiry(args):
    app_config, firm_id, barrier = args
    from app import create_app

    app = create_app(app_config)
    with app.app_context():
        client = qconn.client_for_firm(firm_id)
        barrier.wait()
        name = client.company_info()["CompanyName"]
        return name, client.tokens.refreshes


def test_it_refreshes_once_for_eight_workers_and_never_meets_invalid_grant(app, app_config, qbo_emulator):
    from qbo.demo import connect_demo_firm

    owner = make_user(role="owner")
    connect_demo_firm(owner.firm_id, owner.id)
    connection = qconn.get_connection(owner.firm_id)
    old_refresh = qconn.decrypt(connection.refresh_token_encrypted)
    connection.access_token_expires_at = utcnow()
    db.session.commit()
    config = {**app_config, "QBO_BASE_URL": qbo_emulator.base_url, "QBO_ENVIRONMENT": "emulator"}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            results = pool.map(_call_after_expiry, [(config, owner.firm_id, barrier)] * 8)
    assert all(name for name, _ in results)
    assert sum(refreshes for _, refreshes in results) == 1
    db.session.refresh(connection)
    assert connection.state == "connected" and connection.state_reason is None
    assert qconn.decrypt(connection.refresh_token_encrypted) != old_refresh
    # The stored (rotated) refresh token is the live one: a later refresh works.
    connection.access_token_expires_at = utcnow()
    db.session.commit()
    tokens = qconn.ConnectionTokens(owner.firm_id)
    assert tokens.access_token() and tokens.refreshes == 1
    db.session.refresh(connection)
    assert connection.state == "connected"
