"""A record's QuickBooks status, derived in one place from its link, its open errors and its
dependencies (issue 12, part 6), and kept true after the product's own writes."""
from sqlalchemy import select

from qbo.core.db import db
from qbo.desk import jobs as desk_jobs
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import cdc
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.record_status import quickbooks_state
from tests.factories import make_invoice


def _link(record_type, record_id):
    return db.session.scalar(select(QboLink).where(QboLink.record_type == record_type,
                                                   QboLink.record_id == record_id))


def _open(case):
    return {(e.record_type, e.record_id) for e in db.session.scalars(
        select(SyncError).where(SyncError.case == case, SyncError.status == "open"))}


def _person_deletes(qbo_emulator, entity, qbo_id):
    qbo_emulator.control("DELETE", f"/companies/{qbo_emulator.realm_id}/{entity}/{qbo_id}",
                         params={"force": "true"}).raise_for_status()


def _poll(firm_id, drain):
    quickbooks_jobs.enqueue_poll(firm_id)
    drain()


def _deleted_service(connected, drain, qbo_emulator):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    service_id = invoice.lines[0].service_id
    _person_deletes(qbo_emulator, "Item", _link("service", service_id).qbo_id)
    _poll(connected.firm_id, drain)
    return invoice, service_id


def test_it_says_an_invoice_whose_service_was_deleted_is_not_synced(connected, drain, qbo_emulator):
    invoice, _ = _deleted_service(connected, drain, qbo_emulator)
    state = quickbooks_state(invoice)
    assert _link("invoice", invoice.id).status == "synced"  # its own copy is still in QuickBooks
    assert state["status"] == "dependency_deleted"
    assert "service" in state["status_text"] and "deleted in QuickBooks" in state["status_text"]


def test_it_closes_the_dependents_errors_when_the_service_is_back(connected, drain, qbo_emulator):
    invoice, service_id = _deleted_service(connected, drain, qbo_emulator)
    [error] = [e for e in db.session.scalars(select(SyncError).where(
        SyncError.case == "unsynced", SyncError.record_type == "service", SyncError.status == "open"))]
    desk_jobs.request_action(connected, error, "resync")
    drain()
    assert _open("unsynced") == set()
    assert quickbooks_state(invoice)["status"] == "synced"


def test_it_reports_no_change_in_quickbooks_after_its_own_resync(connected, drain, qbo_emulator, qbo_records):
    invoice, service_id = _deleted_service(connected, drain, qbo_emulator)
    for again in (False, True):  # the same service deleted twice, each time brought back by a Resync
        if again:
            _person_deletes(qbo_emulator, "Item", _link("service", service_id).qbo_id)
            _poll(connected.firm_id, drain)
        desk_jobs.request_record_resync(connected, "invoice", invoice.id)
        drain()
        [item] = [i for i in qbo_records("Item") if i["Id"] == _link("service", service_id).qbo_id]
        assert _link("service", service_id).sync_token == item["SyncToken"] and item["Active"] is True
    report = cdc.poll_changes(connected.firm_id)
    assert (report.modified, report.unsynced) == (0, 0) and _open("modified-in-qbo") == set()


def test_it_follows_the_service_brought_back_from_its_own_page(connected, drain, qbo_emulator):
    invoice, service_id = _deleted_service(connected, drain, qbo_emulator)
    assert ("invoice", invoice.id) in _open("unsynced")
    desk_jobs.request_record_resync(connected, "service", service_id)  # the service's panel, not the invoice's
    drain()
    assert _open("unsynced") == set()
    assert quickbooks_state(invoice)["status"] == "synced"


def test_it_follows_a_customer_linked_again(connected, drain, qbo_emulator, qbo_records):
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    _person_deletes(qbo_emulator, "Customer", _link("account", invoice.account_id).qbo_id)
    _poll(connected.firm_id, drain)
    assert quickbooks_state(invoice)["status"] == "dependency_deleted"
    qbo_emulator.control("PATCH", f"/companies/{qbo_emulator.realm_id}/Customer/{_link('account', invoice.account_id).qbo_id}",
                         json={"Active": True}).raise_for_status()
    [error] = [e for e in db.session.scalars(select(SyncError).where(SyncError.record_type == "account"))]
    desk_jobs.request_action(connected, error, "resync")
    drain()
    assert _open("unsynced") == set() and quickbooks_state(invoice)["status"] == "synced"


def test_it_says_an_invoice_waits_for_a_customer_in_error():
    from qbo.quickbooks.record_status import Dependency, LinkState, derive

    status = derive(LinkState("synced"), set(), [Dependency("account", "Harbor View Cafe", "error")])
    assert status.status == "waiting"
    assert status.text == "Waiting for its customer “Harbor View Cafe”, which has a QuickBooks error."
    assert derive(LinkState("synced"), {"line-description-fallback"}, []).status == "synced"
    assert derive(LinkState("error", "Refused"), {"qbo-fault"}, []).status == "error"


def test_it_words_the_engines_english_reason_for_a_romanian_reader(app):
    from flask_babel import force_locale

    from qbo.quickbooks.record_status import LinkState, derive

    refused = LinkState("error", 'Account name (DisplayName) "Smith: John" contains a colon')
    waiting = LinkState("pending", "Waiting for its customer \"Acme\", which was skipped")
    with force_locale("ro"):
        assert derive(refused, {"string-length"}, []).text == "O valoare depășește limitele QuickBooks"
        assert (derive(waiting, {"waiting-for-dependency"}, []).status, derive(waiting, set(), []).text) == (
            "waiting", "Așteaptă ceva de care depinde.")
    assert derive(refused, {"string-length"}, []).text == refused.reason  # English: the engine's own words


def test_it_shows_the_same_status_on_the_list_the_page_and_the_panel(connected, drain, qbo_emulator, client):
    from tests.factories import sign_in

    invoice, _ = _deleted_service(connected, drain, qbo_emulator)
    sign_in(client, connected)
    listed = client.get("/invoices/").get_data(as_text=True)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    panel = client.get(f"/quickbooks/records/invoice/{invoice.id}").get_data(as_text=True)
    for html in (listed, page, panel):
        assert "qbo-dependency_deleted" in html and "Dependency deleted in QuickBooks" in html
    assert "was deleted in QuickBooks." in page and ">Synced<" not in listed
