"""`flask demo seed` against the emulator: connected through OAuth, and the first look at the desk
shows problems in all six categories."""
from qbo.quickbooks.problems.counts import error_counts


def test_it_seeds_a_connected_demo_with_errors_in_every_category(runner, app, qbo_emulator):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "Demo firm connected to QuickBooks company" in result.output
    from sqlalchemy import select

    from qbo.accounts.models import Firm
    from qbo.core.db import db

    firm_id = db.session.scalar(select(Firm.id))
    counts = error_counts(firm_id)
    assert all(counts[c] > 0 for c in counts), counts


def test_it_seeds_a_fresh_database_against_an_emulator_that_kept_an_old_demo(runner, app, qbo_emulator):
    from sqlalchemy import select

    from qbo.accounts.models import Firm
    from qbo.core.db import db
    from qbo.quickbooks.models import QboConnection
    from tests.conftest import _wipe

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    first_realm = db.session.scalar(select(QboConnection.realm_id))
    _wipe(db)  # a new database; the emulator keeps the first demo's company
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0 and "Demo firm connected" in result.output, result.output
    firm = db.session.scalar(select(Firm).where(Firm.name.like("Northwind%")))
    assert db.session.scalar(select(QboConnection.realm_id).where(QboConnection.firm_id == firm.id)) != first_realm
    assert all(n > 0 for n in error_counts(firm.id).values())


def test_it_seeds_a_customer_creation_staff_asked_the_owner_to_approve(runner, app, qbo_emulator):
    from sqlalchemy import select

    from qbo.accounts.models import Firm, User
    from qbo.core.db import db
    from qbo.demo import DEMO_FIRM, NEW_CLIENTS
    from qbo.ledger.models import Account
    from qbo.quickbooks.models import BulkRequest, SyncError

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    firm = db.session.scalar(select(Firm).where(Firm.name == DEMO_FIRM))
    waiting = db.session.scalars(select(BulkRequest).where(BulkRequest.firm_id == firm.id)).all()
    assert [(r.action, r.status, db.session.get(User, r.requested_by_id).role) for r in waiting] == \
        [("create_missing_customers", "pending", "staff")]
    rows = db.session.scalars(select(Account.name).join(SyncError, SyncError.record_id == Account.id).where(
        SyncError.firm_id == firm.id, SyncError.record_type == "account", SyncError.case == "account-no-match",
        SyncError.status == "open")).all()
    assert sorted(rows) == sorted(NEW_CLIENTS) and not firm.create_customers_automatically
