"""Issue 18, the desk as firm staff meet it: notes stay off the desk, warnings have their own
filter and one acknowledge, and the actions offered fit the record."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import AuditEvent
from qbo.desk import actions
from qbo.desk import tabs as desk
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_invoice, make_payment, make_user


def _note_and_warning_and_error(firm):
    invoice = make_invoice(firm)
    note = problems.record(firm.id, "invoice", invoice.id, "description-to-memo")
    warning = problems.record(firm.id, "invoice", invoice.id, "line-description-fallback")
    error = problems.record(firm.id, "invoice", invoice.id, "qbo-fault", code="6000", message="Refused")
    db.session.commit()
    return note, warning, error


def test_it_keeps_notes_off_the_desks_rows_and_cases(app):
    user = make_user()
    note, warning, error = _note_and_warning_and_error(user.firm)
    rows, pagination, _ = desk.tab_page(user, "invoices")
    assert {r.error.id for r in rows} == {warning.id, error.id} and pagination.total == 2
    assert "description-to-memo" not in dict(desk.cases_in(user.firm_id, "invoices"))


def test_it_filters_a_tab_to_warnings_or_errors(app):
    user = make_user()
    note, warning, error = _note_and_warning_and_error(user.firm)
    assert [r.error.id for r in desk.tab_page(user, "invoices", severity="warning")[0]] == [warning.id]
    assert [r.error.id for r in desk.tab_page(user, "invoices", severity="error")[0]] == [error.id]


def test_it_acknowledges_every_warning_of_a_tab_at_once_and_audits_it(app):
    user = make_user()
    note, warning, error = _note_and_warning_and_error(user.firm)
    assert desk.acknowledge_warnings(user, "invoices") == 1
    assert (warning.status, warning.resolution, warning.resolved_by_id) == ("resolved", "acknowledged", user.id)
    assert error.status == "open" and note.status == "open"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "quickbooks.warnings.acknowledged"))
    assert event.detail == {"category": "invoices", "count": 1}


def test_it_refuses_acknowledging_to_a_role_that_may_not_act(app):
    viewer = make_user(role="viewer")
    _, warning, _ = _note_and_warning_and_error(viewer.firm)
    try:
        desk.acknowledge_warnings(viewer, "invoices")
    except PermissionError:
        pass
    else:
        raise AssertionError("a viewer acknowledged warnings")
    assert warning.status == "open"


def test_it_never_offers_linking_a_customer_on_a_payment(app):
    user = make_user()
    payment = make_payment(user.firm)
    account = make_account(user.firm, name="Juniper")
    on_payment = problems.record(user.firm_id, "payment", payment.id, "customer-deleted")
    on_account = problems.record(user.firm_id, "account", account.id, "customer-deleted")
    db.session.commit()
    assert "link_customer" not in actions.allowed_actions(user, on_payment)
    assert "link_customer" in actions.allowed_actions(user, on_account)


def test_it_groups_the_errors_behind_a_deleted_service(app):
    user = make_user()
    first = make_invoice(user.firm)
    service_id = first.lines[0].service_id
    invoices = [first] + [make_invoice(user.firm, account=first.account, lines=[
        {"service_id": service_id, "quantity": "1", "rate": "10.00"}]) for _ in range(2)]
    root = problems.record(user.firm_id, "service", service_id, "unsynced")
    for invoice in invoices:
        problems.record(user.firm_id, "invoice", invoice.id, "invalid-item-ref", element="Line.SalesItemLineDetail.ItemRef")
    db.session.commit()
    rows, _, groups = desk.tab_page(user, "invoices")
    group = groups[f"service-{service_id}"]
    assert (group.record_type, group.size, group.root) == ("service", 4, root)
    assert {r.group for r in rows} == {group.key}
    assert desk.group_by_key(user.firm_id, group.key).size == 4


def test_it_groups_the_rows_waiting_for_one_invoice(app):
    user = make_user()
    invoice = make_invoice(user.firm)
    own = problems.record(user.firm_id, "invoice", invoice.id, "qbo-fault", code="6000", message="Refused")
    for amount in ("100.00", "200.00"):
        payment = make_payment(user.firm, invoice=invoice, amount=amount,
                               allocations=[{"invoice_id": invoice.id, "amount": amount}])
        problems.record_waiting(user.firm_id, "payment", payment.id, ("invoice", invoice.id), "error", "Waits")
    db.session.commit()
    group = desk.group_by_key(user.firm_id, f"invoice-{invoice.id}")
    assert (group.size, group.root, group.name) == (3, own, invoice.label)


def _case_on_invoices(firm, n, case="invalid-item-ref"):
    for _ in range(n):
        problems.record(firm.id, "invoice", make_invoice(firm).id, case)
    db.session.commit()


def test_it_runs_a_small_bulk_resync_without_the_owner_and_asks_above_the_threshold(app):
    staff = make_user(role="staff")
    _case_on_invoices(staff.firm, 2)
    waiting, run = desk.request_bulk(staff, "resync_case", "invalid-item-ref")
    assert waiting is None and run is not None
    staff.firm.approval_threshold = 1
    db.session.commit()
    waiting, run = desk.request_bulk(staff, "resync_case", "invalid-item-ref")
    assert waiting is not None and waiting.status == "pending" and run is None


def test_it_always_asks_the_owner_to_create_customers_in_bulk(app):
    staff = make_user(role="staff")
    problems.record(staff.firm_id, "account", make_account(staff.firm).id, "account-no-match")
    db.session.commit()
    waiting, run = desk.request_bulk(staff, "create_missing_customers", None)
    assert waiting is not None and run is None


def test_it_refuses_a_group_fix_above_the_threshold_to_staff_but_not_below(app):
    staff = make_user(role="staff")
    account = make_account(staff.firm, name="Orchard")
    problems.record(staff.firm_id, "account", account.id, "unsynced", element="CustomerRef")
    for _ in range(3):
        problems.record(staff.firm_id, "invoice", make_invoice(staff.firm, account=account).id, "customer-deleted")
    db.session.commit()
    form = {f"group-account-{account.id}": "resync"}
    staff.firm.approval_threshold = 3
    db.session.commit()
    try:
        desk.submit(staff, form)
    except desk.SubmitRefused as refused:
        assert "needs the owner's approval" in str(refused)
    else:
        raise AssertionError("a fix of 4 records ran without the owner")
    staff.firm.approval_threshold = 4
    db.session.commit()
    assert len(desk.submit(staff, form)) == 4


def test_it_proposes_the_next_number_free_in_the_ledger_and_in_quickbooks(app):
    from qbo.quickbooks import company_cache

    user = make_user()
    invoice = make_invoice(user.firm, number="INV-0001")
    make_invoice(user.firm, number="INV-0002")
    company_cache.store(user.firm_id, {"doc_numbers": ["INV-0001", "INV-0003"]})
    problems.record(user.firm_id, "invoice", invoice.id, "duplicate-doc-number", code="6140")
    db.session.commit()
    [row] = desk.tab_page(user, "invoices")[0]
    assert row.proposed_number == "INV-0004"


def test_it_gives_an_edited_invoice_whose_number_is_cleared_the_next_free_number(app):
    from qbo.ledger import records as ledger
    from qbo.quickbooks import company_cache

    user = make_user()
    invoice = make_invoice(user.firm)
    duplicate = invoice.number
    company_cache.store(user.firm_id, {"doc_numbers": [duplicate, "INV-0002"]})
    ledger.save(ledger.KINDS["invoices"], user.firm, {"number": ""}, record=invoice)
    db.session.commit()
    assert invoice.number not in (duplicate, "INV-0002") and invoice.number == "INV-0003"
    kept = invoice.number
    ledger.save(ledger.KINDS["invoices"], user.firm, {"date": "2026-11-02"}, record=invoice)
    assert invoice.number == kept  # a field not sent keeps its value


def test_it_words_a_line_without_a_service_for_the_document_type_in_romanian(app):
    from qbo.quickbooks.problems import catalogue
    from tests.factories import make

    user = make_user(language="ro")
    invoice = make_invoice(user.firm)
    credit = make("credit-notes", user.firm, account_id=invoice.account_id, date="2026-11-03",
                  lines=[{"description": "Typed by hand", "quantity": "1", "rate": "10.00"}])
    on_credit = problems.record(user.firm_id, "credit_note", credit.id, "line-description-fallback",
                                detail=catalogue.fallback_detail([{"line": 1, "amount": "10.00", "item": "Services",
                                                                   "description": "Typed by hand"}]))
    on_invoice = problems.record(user.firm_id, "invoice", invoice.id, "line-description-fallback")
    db.session.commit()
    credit_text = catalogue.explain_error(on_credit, "ro")
    assert "O linie a notei de credit" in credit_text and "factur" not in credit_text
    assert "O linie a facturii nu are" in catalogue.explain_error(on_invoice, "ro")
    assert "A line of this credit note has" in catalogue.localised(on_credit.case, "en", "credit_note").explanation
    rows = {r.error.id: r for r in desk.tab_page(user, "invoices", language="ro")[0]}
    assert "factur" not in rows[on_credit.id].case.explanation
