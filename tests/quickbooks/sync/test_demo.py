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
