"""qbo.desk at the query level: the cases open in a tab (a skip-scan with capped counts) and the
errors grouped behind one client account's missing QuickBooks customer."""
from sqlalchemy import insert

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.desk import tabs as desk
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_firm, make_invoice, make_payment, make_user


def _open_errors(firm, n, category="invoices", case="qbo-fault", record_type="invoice", first_id=1, **kw):
    """n open errors inserted with bulk SQL, as the bench and a busy sync leave them."""
    now = utcnow()
    db.session.execute(insert(SyncError), [
        {"firm_id": firm.id, "record_type": record_type, "record_id": first_id + i, "case": case,
         "category": category, "message": "QuickBooks refused it.", "first_seen": now, "last_seen": now,
         "status": "open", "severity": "error", "severity_rank": 2, **kw} for i in range(n)])
    db.session.commit()


def test_it_lists_the_cases_open_in_a_tab_with_their_counts(app):
    firm = make_firm()
    _open_errors(firm, 3)
    _open_errors(firm, 1, case="string-length", first_id=100)
    _open_errors(firm, 1, case="duplicate-doc-number", first_id=200, status="resolved")
    _open_errors(firm, 2, category="payments", record_type="payment")
    _open_errors(make_firm(), 1, case="required-field")
    assert desk.cases_in(firm.id, "invoices") == [("qbo-fault", 3), ("string-length", 1)]
    assert desk.cases_in(firm.id, "refunds") == []


def test_it_counts_a_case_only_up_to_999_plus_one(app):
    firm = make_firm()
    _open_errors(firm, 1005)
    assert desk.cases_in(firm.id, "invoices") == [("qbo-fault", 1000)]


def test_it_groups_the_errors_behind_an_accounts_missing_customer_across_tabs(app):
    user = make_user()
    account = make_account(user.firm, name="Orchard Pediatrics")
    invoice = make_invoice(user.firm, account=account)
    payment = make_payment(user.firm, invoice=invoice)
    root = problems.record(user.firm_id, "account", account.id, "unsynced", element="CustomerRef")
    problems.record(user.firm_id, "invoice", invoice.id, "customer-deleted")
    problems.record(user.firm_id, "payment", payment.id, "customer-deleted")
    problems.record(user.firm_id, "invoice", invoice.id, "unsynced", element="Line.SalesItemLineDetail.ItemRef")
    db.session.commit()
    rows, _, groups = desk.tab_page(user, "invoices")
    [group] = groups.values()
    assert (group.account_name, group.size, group.root) == ("Orchard Pediatrics", 3, root)
    assert sorted(r.error.case for r in rows if r.group == group.key) == ["customer-deleted"]


def _account_behind(errors: int):
    """A firm's client account with `errors` invoices failing for its missing customer."""
    firm = make_firm()
    account = make_account(firm)
    for _ in range(errors):
        problems.record(firm.id, "invoice", make_invoice(firm, account=account).id, "customer-deleted")
    db.session.commit()
    return firm, account


def test_it_reads_a_groups_errors_up_to_a_cap_for_a_page_and_all_of_them_for_its_fix(app):
    firm, account = _account_behind(3)
    assert desk.account_groups(firm.id, {account.id}, cap=2)[f"account-{account.id}"].size == 2
    assert desk.group_by_key(firm.id, f"account-{account.id}").size == 3


def test_it_finds_no_group_of_another_firm_or_of_a_malformed_key(app):
    firm, account = _account_behind(2)
    assert desk.group_by_key(make_firm().id, f"account-{account.id}") is None
    assert desk.group_by_key(firm.id, f"account-{account.id}; drop") is None


def test_it_caps_a_groups_size_and_its_others_like_the_desks_counts():
    def group(n):
        return desk.Group("account-1", 1, "Orchard Pediatrics", errors=[object()] * n)

    assert (group(3).size, group(3).others) == (3, 2)
    assert (group(1000).size, group(1000).others) == (1000, 999)  # 1,000 errors: "999+", "999"
    assert (group(desk.GROUP_CAP).size, group(desk.GROUP_CAP).others) == (1000, 1000)  # "999+" both
