import json

import pytest
from sqlalchemy import select, text

from emulator import faults as F
from qbo.core.db import db
from qbo.quickbooks.api.errors import parse_fault
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.problems.catalogue import recognise
from qbo.quickbooks.sync.preflight import check
from tests.factories import make_firm, make_invoice, make_payment, make_user


def rows(firm):
    return db.session.scalars(select(SyncError).where(SyncError.firm_id == firm.id).order_by(SyncError.id)).all()


def test_it_opens_an_error_under_the_records_category(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    error = problems.record(firm.id, "invoice", invoice.id, "duplicate-doc-number", code="6140",
                            message="Duplicate Document Number Error")
    db.session.flush()
    assert (error.status, error.category, error.occurrences, error.qbo_code) == ("open", "invoices", 1, "6140")


def test_it_bumps_a_repeat_instead_of_adding_a_row(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    first = problems.record(firm.id, "invoice", invoice.id, "string-length", message="old")
    db.session.commit()
    seen = first.last_seen
    again = problems.record(firm.id, "invoice", invoice.id, "string-length", message="new")
    db.session.commit()
    assert again.id == first.id and again.occurrences == 2 and again.message == "new"
    assert again.last_seen >= seen and len(rows(firm)) == 1


def test_it_keeps_one_row_per_case(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    problems.record(firm.id, "invoice", invoice.id, "string-length")
    problems.record(firm.id, "invoice", invoice.id, "invalid-item-ref")
    assert [e.case for e in problems.open_errors(firm.id, "invoice", invoice.id)] == ["string-length",
                                                                                       "invalid-item-ref"]


def test_it_records_a_recognised_fault_with_qbos_words(app):
    firm = make_firm()
    payment = make_payment(firm)
    body = F.business("The Amount Received (plus credits) can't be less than the selected charges")
    found = recognise(parse_fault(400, json.dumps(body.body())), record_type="payment")
    error = problems.record_fault(firm.id, "payment", payment.id, found)
    assert (error.case, error.category, error.qbo_code) == ("credit-exceeds-balance", "payments", "6000")
    assert error.detail.startswith("Business Validation Error: The Amount Received")


def test_it_records_preflight_problems_one_row_per_case(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    found = check("invoice", {"DocNumber": "9" * 22, "PrivateNote": "p" * 4001, "Line": []})
    errors = problems.record_problems(firm.id, "invoice", invoice.id, found)
    by_case = {e.case: e for e in errors}
    assert set(by_case) == {"string-length", "required-field"}
    assert by_case["string-length"].element == "DocNumber, PrivateNote"
    assert "Invoice number (DocNumber)" in by_case["string-length"].message


def test_it_resolves_open_errors_and_counts_them(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    problems.record(firm.id, "invoice", invoice.id, "string-length")
    problems.record(firm.id, "invoice", invoice.id, "invalid-item-ref")
    assert problems.resolve(firm.id, "invoice", invoice.id, cases=["string-length"]) == 1
    assert problems.resolve(firm.id, "invoice", invoice.id, resolution="resynced") == 1
    assert problems.open_errors(firm.id, "invoice", invoice.id) == []
    assert {e.resolution for e in rows(firm)} == {"fixed", "resynced"}


def test_it_opens_a_new_row_when_a_resolved_problem_comes_back(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    problems.record(firm.id, "invoice", invoice.id, "string-length")
    problems.resolve(firm.id, "invoice", invoice.id)
    again = problems.record(firm.id, "invoice", invoice.id, "string-length")
    db.session.flush()
    assert again.occurrences == 1 and [e.status for e in rows(firm)] == ["resolved", "open"]


def test_it_keeps_a_skipped_error_skipped_until_the_record_changes(app):
    firm = make_firm()
    user = make_user(firm)
    invoice = make_invoice(firm)
    error = problems.record(firm.id, "invoice", invoice.id, "duplicate-doc-number")
    problems.skip(error, user.id)
    again = problems.record(firm.id, "invoice", invoice.id, "duplicate-doc-number")
    assert again.id == error.id and again.status == "skipped" and again.occurrences == 2
    assert problems.open_errors(firm.id, "invoice", invoice.id) == []
    assert (error.resolved_by_id, error.resolution) == (user.id, "skipped")


def test_it_brings_a_skipped_problem_back_after_the_record_changes(app):
    firm = make_firm()
    user = make_user(firm)
    invoice = make_invoice(firm)
    skipped = problems.record(firm.id, "invoice", invoice.id, "duplicate-doc-number")
    problems.skip(skipped, user.id)
    assert problems.lift_skips(firm.id, "invoice", invoice.id) == 1
    back = problems.record(firm.id, "invoice", invoice.id, "duplicate-doc-number")
    db.session.flush()
    assert back.id != skipped.id and back.status == "open"
    assert (skipped.status, skipped.resolution, skipped.resolved_by_id) == ("skipped", "skip_lifted", user.id)


def test_it_does_not_commit(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    problems.record(firm.id, "invoice", invoice.id, "string-length")
    db.session.rollback()
    assert rows(firm) == []


def test_it_refuses_a_second_open_row_for_the_same_record_and_case(app):
    """The partial unique index uq_sync_errors_open makes a race leave one open row, not two."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    firm = make_firm()
    invoice = make_invoice(firm)
    for _ in range(2):
        db.session.add(SyncError(firm_id=firm.id, record_type="invoice", record_id=invoice.id,
                                 case="string-length", category="invoices"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_it_turns_a_lost_insert_race_into_a_bump(app, monkeypatch):
    # The partial unique index uq_sync_errors_open makes the worker that loses the race get an
    # IntegrityError on insert; it must count its sighting on the winner's row instead.
    firm = make_firm()
    invoice = make_invoice(firm)
    winner = problems.record(firm.id, "invoice", invoice.id, "string-length")
    db.session.commit()
    real_bump, calls = problems._bump, []

    def blind_first_look(conditions, values):
        calls.append(1)
        return None if len(calls) <= 2 else real_bump(conditions, values)  # didn't see the winner yet

    monkeypatch.setattr(problems, "_bump", blind_first_look)
    loser = problems.record(firm.id, "invoice", invoice.id, "string-length")
    db.session.commit()
    assert loser.id == winner.id and loser.occurrences == 2 and len(rows(firm)) == 1


def test_it_refuses_an_unknown_case(app):
    firm = make_firm()
    with pytest.raises(ValueError):
        problems.record(firm.id, "invoice", 1, "no-such-case")


def test_it_records_the_cases_severity(app):
    firm = make_firm()
    invoice = make_invoice(firm)
    warning = problems.record(firm.id, "invoice", invoice.id, "line-description-fallback")
    error = problems.record(firm.id, "invoice", invoice.id, "string-length")
    db.session.flush()
    assert (warning.severity, error.severity) == ("warning", "error")
