"""error-cases duplicate-name on a client account, end to end (issue 18): QuickBooks' 6240 names no
holder (ref §1 table row 6240), so the product looks it up (customer, active or not; vendor;
employee), says who in both languages, and offers the fix: Rename to a name free on both sides, or
Reactivate the same-named inactive customer and link it. Set up through the emulator's control API,
pushed and acted on through the API and a real worker."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger.models import Account
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems.catalogue import explain_error
from tests.factories import make_account, make_api_key, make_user
from tests.quickbooks.sync.test_cases import _act, _open, _person


def _customers(qbo_records):
    return sorted((c["DisplayName"], c.get("Active")) for c in qbo_records("Customer"))


def test_it_names_a_vendor_holding_the_name_and_renames_the_account_on_request(connected, drain, client, qbo_emulator,
                                                                             qbo_records):
    vendor = _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "Sam Rivera"})
    account = make_account(connected.firm, name="Sam Rivera")
    drain(connected.firm_id)
    [error] = _open()
    assert error.facts == {"holder": "vendor", "holder_active": True, "holder_id": vendor["Id"], "name": "Sam Rivera",
                           "proposed_name": "Sam Rivera (client)"}
    assert explain_error(error, "en").startswith('A vendor in QuickBooks already uses the name "Sam Rivera".')
    assert explain_error(error, "ro").startswith("Un furnizor din QuickBooks folosește deja numele „Sam Rivera”.")
    headers = make_api_key(make_user(connected.firm, "staff"))
    [shown] = client.get("/api/v1/sync/errors", headers=headers).get_json()["data"]
    assert shown["proposed_name"] == "Sam Rivera (client)" and "reactivate_customer" not in shown["actions"]
    job = _act(client, headers, error, "rename_customer", drain)
    assert job["result"] == {"outcome": "renamed and resynced", "error_status": "resolved"}
    assert db.session.get(Account, account.id).name == "Sam Rivera (client)"
    assert _customers(qbo_records) == [("Sam Rivera (client)", True)] and len(qbo_records("Vendor")) == 1
    assert _open() == []


def test_it_proposes_the_first_name_free_in_the_ledger_and_in_quickbooks(connected, drain, qbo_emulator):
    _person(qbo_emulator, "POST", "Employee", {"DisplayName": "Ana Pop", "GivenName": "Ana", "FamilyName": "Pop"})
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "ana pop (client)", "Active": False})
    make_account(connected.firm, name="Ana Pop (client 2)")
    make_account(connected.firm, name="Ana Pop")
    drain(connected.firm_id)
    [error] = _open()
    assert (error.facts["holder"], error.facts["proposed_name"]) == ("employee", "Ana Pop (client 3)")
    assert explain_error(error, "ro").startswith("Un angajat din QuickBooks folosește deja numele „Ana Pop”.")


def test_it_reactivates_the_inactive_customer_holding_the_name_and_links_it(connected, drain, client, qbo_emulator,
                                                                           qbo_records):
    held = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Dana Cole"})
    _person(qbo_emulator, "DELETE", "Customer", record_id=held["Id"])  # made inactive by a person
    account = make_account(connected.firm, name="Dana Cole")
    drain(connected.firm_id)
    [error] = _open()
    assert error.facts == {"holder": "customer", "holder_active": False, "holder_id": held["Id"], "name": "Dana Cole"}
    assert explain_error(error, "en").startswith('An inactive customer in QuickBooks already uses the name "Dana Cole".')
    assert explain_error(error, "ro").startswith("Un client inactiv din QuickBooks folosește deja numele „Dana Cole”.")
    job = _act(client, make_api_key(connected), error, "reactivate_customer", drain)
    assert job["result"] == {"outcome": "reactivated and linked", "error_status": "resolved"}
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "account", QboLink.record_id == account.id))
    assert (link.status, link.qbo_id) == ("synced", held["Id"])
    assert _customers(qbo_records) == [("Dana Cole", True)] and _open() == []


def test_it_leaves_one_row_when_create_new_customer_is_refused_and_renames_on_request(connected, drain, client,
                                                                                      qbo_emulator, qbo_records):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Lee Park")
    drain(connected.firm_id)
    [missing] = _open()
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "Lee Park"})
    headers = make_api_key(connected)
    job = _act(client, headers, missing, "create_customer", drain)
    assert job["result"] == {"outcome": "refused by QuickBooks (duplicate-name)", "error_status": "resolved"}
    [error] = _open()
    assert (error.case, error.facts["holder"], error.facts["proposed_name"]) == ("duplicate-name", "vendor", "Lee Park (client)")
    assert (db.session.get(SyncError, missing.id).status, missing.resolution) == ("resolved", "superseded")
    job = _act(client, headers, error, "rename_customer", drain)
    assert job["result"]["outcome"] == "renamed and customer created"
    assert db.session.get(Account, account.id).name == "Lee Park (client)"
    assert _customers(qbo_records) == [("Lee Park (client)", True)] and _open() == []


def test_it_refuses_to_rename_to_a_name_taken_in_the_ledger_meanwhile(connected, drain, client, qbo_emulator, qbo_records):
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "Ivo Dan"})
    account = make_account(connected.firm, name="Ivo Dan")
    drain(connected.firm_id)
    [error] = _open()
    connected.firm.sync_accounts_scope = "with_activity"  # the newcomer stays out of QuickBooks
    make_account(connected.firm, name="ivo dan (client)")
    job = _act(client, make_api_key(connected), error, "rename_customer", drain)
    assert job["result"]["outcome"].startswith("refused: another account in the ledger is called “Ivo Dan (client)”")
    assert job["result"]["error_status"] == "open" and db.session.get(Account, account.id).name == "Ivo Dan"
    assert qbo_records("Customer") == []


def test_it_keeps_the_row_generic_when_quickbooks_does_not_answer_the_lookup(connected, drain, client, qbo_emulator):
    connected.firm.create_customers_automatically = False
    make_account(connected.firm, name="Mia Roe")
    drain(connected.firm_id)
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "Mia Roe"})
    qbo_emulator.control("POST", "/faults", json={"match": {"operation": "query"}, "times": None,
                                                  "code": "4001"}).raise_for_status()
    job = _act(client, make_api_key(connected), _open()[0], "create_customer", drain)
    assert job["status"] == "finished" and job["result"]["outcome"] == "refused by QuickBooks (duplicate-name)"
    [error] = _open()
    assert error.facts == {"name": "Mia Roe"}
    assert explain_error(error, "en").startswith('A customer, vendor or employee in QuickBooks already uses the name "Mia Roe".')


def test_it_finds_inactive_customers_to_link_and_linking_one_reactivates_it(connected, drain, client, qbo_emulator,
                                                                            qbo_records):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Orla Finch")
    drain(connected.firm_id)
    active = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Orla Finch Studio"})
    gone = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Orla Finch Ltd"})
    _person(qbo_emulator, "DELETE", "Customer", record_id=gone["Id"])
    headers = make_api_key(connected)
    found = client.get("/api/v1/sync/customers?q=orla", headers=headers).get_json()["data"]
    assert [(c["id"], c["active"]) for c in found] == [(active["Id"], True), (gone["Id"], False)]
    job = _act(client, headers, _open()[0], "link_customer", drain, qbo_id=gone["Id"])
    assert job["result"] == {"outcome": "reactivated and linked", "error_status": "resolved"}
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "account", QboLink.record_id == account.id))
    assert link.qbo_id == gone["Id"] and ("Orla Finch Ltd", True) in _customers(qbo_records) and _open() == []
