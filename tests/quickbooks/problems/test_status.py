"""qbo.status counts that stay cheap at any size: they read at most cap + 1 rows and say so."""
from qbo.core.db import db
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.problems.counts import banner_state_capped, capped_label, error_counts_capped
from tests.factories import make_account, make_firm, make_invoice


def test_it_counts_open_errors_per_category_up_to_the_cap(app):
    firm = make_firm()
    for _ in range(4):
        problems.record(firm.id, "account", make_account(firm).id, "account-no-match")
    problems.record(firm.id, "invoice", make_invoice(firm).id, "line-description-fallback")  # a warning
    db.session.commit()
    counts = error_counts_capped(firm.id, cap=2)
    assert counts == {"accounts": 3, "invoices": 0, "payments": 0, "refunds": 0, "expenses": 0, "services": 0}
    assert banner_state_capped(firm.id, cap=2).open_errors == 3


def test_it_says_plus_past_the_cap():
    assert [capped_label(n) for n in (0, 999, 1000)] == ["0", "999", "999+"]
    assert capped_label(100, 99) == "99+"
