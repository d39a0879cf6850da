"""QboClient against the emulator over real HTTP: one test per operation (ref = qbo-api-reference.md)."""
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest

from qbo.quickbooks.api.client import request_id_for
from qbo.quickbooks.api.errors import AmbiguousWrite, DuplicateName, ObjectNotFound, QboError, StaleSyncToken
from tests.quickbooks.api.qbo_testing import inject, records, requests_log

PACIFIC = timezone(timedelta(hours=-8))


def _line(amount=100):
    return {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}


def _invoice(qbo, name="Acme Ltd", amount=100):
    customer = qbo.create("Customer", {"DisplayName": name}, request_id=request_id_for("c", name))
    return qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(amount)]},
                      request_id=request_id_for("i", name, amount))


def test_it_creates_and_reads_a_customer(qbo):
    """ref §1: create answers the entity with a string Id and SyncToken "0"; read by Id."""
    created = qbo.create("Customer", {"DisplayName": "Acme Ltd"}, request_id=request_id_for("c", 1))
    assert created["SyncToken"] == "0"
    assert qbo.read("Customer", created["Id"])["DisplayName"] == "Acme Ltd"


def test_it_sends_minorversion_75_json_and_requestid(qbo, emu):
    """ref §1: minorversion=75 on every call; requestid on every write."""
    qbo.create("Customer", {"DisplayName": "Wire"}, request_id="rid-1")
    qbo.preferences()
    create, read = requests_log(emu)[-2:]
    assert parse_qs(create["query"])["minorversion"] == ["75"] and create["requestid"] == "rid-1"
    assert parse_qs(read["query"])["minorversion"] == ["75"] and read["requestid"] is None


def test_it_refuses_a_write_without_request_id(qbo):
    with pytest.raises(ValueError):
        qbo.create("Customer", {"DisplayName": "No id"}, request_id="")


def test_it_changes_only_sent_fields_on_sparse_update(qbo):
    """ref §1: sparse:true changes only the fields sent; SyncToken +1."""
    c = qbo.create("Customer", {"DisplayName": "Sparse", "CompanyName": "Keep Me"}, request_id="s-1")
    updated = qbo.sparse_update("Customer", c["Id"], c["SyncToken"], {"Notes": "hello"}, request_id="s-2")
    assert (updated["Notes"], updated["CompanyName"], updated["SyncToken"]) == ("hello", "Keep Me", "1")


def test_it_resets_missing_fields_on_full_update(qbo):
    """ref §1: a full update resets any writable field left out."""
    c = qbo.create("Customer", {"DisplayName": "Full", "CompanyName": "Gone"}, request_id="f-1")
    updated = qbo.update("Customer", {"Id": c["Id"], "SyncToken": c["SyncToken"], "DisplayName": "Full"},
                         request_id="f-2")
    assert "CompanyName" not in updated and updated["SyncToken"] == "1"


def test_it_raises_stale_sync_token_on_5010(qbo):
    """ref §1: a stale SyncToken gets 5010, HTTP 400."""
    c = qbo.create("Customer", {"DisplayName": "Stale"}, request_id="st-1")
    qbo.sparse_update("Customer", c["Id"], "0", {"Notes": "a"}, request_id="st-2")
    with pytest.raises(StaleSyncToken) as caught:
        qbo.sparse_update("Customer", c["Id"], "0", {"Notes": "b"}, request_id="st-3")
    assert caught.value.status == 400 and caught.value.code == "5010"


def test_it_deletes_an_invoice_and_then_reads_610(qbo):
    """ref §1: operation=delete answers status "Deleted"; ref §2 610 afterwards."""
    invoice = _invoice(qbo)
    deleted = qbo.delete("Invoice", invoice["Id"], invoice["SyncToken"], request_id="d-1")
    assert deleted["status"] == "Deleted"
    with pytest.raises(ObjectNotFound):
        qbo.read("Invoice", invoice["Id"])


def test_it_voids_an_invoice_with_operation_void(qbo, emu):
    """ref §1: Invoice voids by operation=void."""
    invoice = _invoice(qbo)
    voided = qbo.void("Invoice", invoice["Id"], invoice["SyncToken"], request_id="v-1")
    assert voided["TotalAmt"] == 0
    assert parse_qs(requests_log(emu, "/invoice")[-1]["query"])["operation"] == ["void"]


def test_it_voids_a_payment_with_update_include_void(qbo, emu):
    """ref §1: Payment voids by operation=update&include=void with a sparse body."""
    invoice = _invoice(qbo)
    payment = qbo.create("Payment", {"CustomerRef": invoice["CustomerRef"], "TotalAmt": 100},
                         request_id="p-1")
    qbo.void("Payment", payment["Id"], payment["SyncToken"], request_id="p-2")
    query = parse_qs(requests_log(emu, "/payment")[-1]["query"])
    assert (query["operation"], query["include"]) == (["update"], ["void"])
    assert [p for p in records(emu, "Payment") if p["Id"] == payment["Id"]][0]["voided"] is True


def test_it_deactivates_a_name_list_record(qbo):
    """ref §1: name lists can't be deleted; Active:false instead, and plain queries skip them (§5)."""
    c = qbo.create("Customer", {"DisplayName": "Retired"}, request_id="a-1")
    assert qbo.deactivate("Customer", c["Id"], c["SyncToken"], request_id="a-2")["Active"] is False
    assert qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Retired'") == []


def test_it_pages_through_startposition_and_maxresults(qbo, emu):
    """ref §5: STARTPOSITION is 1-based, MAXRESULTS per page; every record once."""
    for n in range(5):
        qbo.create("Customer", {"DisplayName": f"Page {n}"}, request_id=f"pg-{n}")
    found = list(qbo.query_all("Customer", "DisplayName LIKE 'Page%'", page_size=2))
    assert sorted(c["DisplayName"] for c in found) == [f"Page {n}" for n in range(5)]
    assert len(requests_log(emu, "/query")) == 3  # 2 + 2 + 1


def test_it_counts_and_quotes_apostrophes(qbo):
    """ref §5: COUNT(*) gives totalCount; an apostrophe is escaped with a backslash."""
    qbo.create("Customer", {"DisplayName": "O'Brien"}, request_id="q-1")
    assert qbo.count("Customer", f"DisplayName = {qbo.quote(chr(39).join(['O', 'Brien']))}") == 1
    assert qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'") == []


def test_it_matches_batch_results_by_bid(qbo):
    """ref §7: items run in any order and are answered by bId: entity, Fault or QueryResponse."""
    qbo.create("Customer", {"DisplayName": "Taken"}, request_id="b-0")
    items = [{"bId": f"ok{n}", "operation": "create", "entity": "Customer",
              "body": {"DisplayName": f"Batch {n}"}} for n in range(5)]
    items += [{"bId": "dup", "operation": "create", "entity": "Customer", "body": {"DisplayName": "Taken"}},
              {"bId": "q", "query": "SELECT * FROM Customer WHERE DisplayName = 'Taken'"}]
    results = qbo.batch(items, request_id=request_id_for("firm", "batch", 1))
    assert [results[f"ok{n}"]["DisplayName"] for n in range(5)] == [f"Batch {n}" for n in range(5)]
    assert isinstance(results["dup"], DuplicateName) and results["dup"].code == "6240"
    assert results["q"]["Customer"][0]["DisplayName"] == "Taken"


def test_it_refuses_more_than_30_batch_items(qbo):
    """ref §3: batch hard max 30 items."""
    with pytest.raises(ValueError):
        qbo.batch([{"query": "SELECT * FROM Customer"}] * 31, request_id="b")


def test_it_reads_cdc_with_an_offset_timestamp(qbo, emu):
    """ref §6: changedSince with an offset; python-quickbooks drops it (client-libraries §2)."""
    since = datetime.now(PACIFIC) - timedelta(minutes=5)
    c = qbo.create("Customer", {"DisplayName": "Changed"}, request_id="cdc-1")
    changed = qbo.cdc(["Customer", "Invoice"], since)
    assert [x["Id"] for x in changed["Customer"]] == [c["Id"]] and changed["Invoice"] == []
    assert parse_qs(requests_log(emu, "/cdc")[-1]["query"])["changedSince"][0].endswith("-08:00")


def test_it_refuses_a_naive_cdc_timestamp(qbo):
    with pytest.raises(ValueError):
        qbo.cdc(["Customer"], datetime.now())


def test_it_reads_company_info_and_preferences(qbo):
    """ref §4: CompanyInfo at /companyinfo/<realm>; Preferences (CustomTxnNumbers decides DocNumber)."""
    assert qbo.company_info()["CompanyName"]
    assert "CustomTxnNumbers" in qbo.preferences()["SalesFormsPrefs"]


def test_it_lists_active_accounts_unless_asked_for_inactive_too(qbo, emu):
    """ref §5: a plain SELECT returns active name-list records only."""
    emu.control("DELETE", f"/companies/{emu.realm_id}/Account/{_account_id(emu, 'Savings')}")
    assert {"Checking", "Undeposited Funds"} <= {a["Name"] for a in qbo.accounts()}
    assert "Savings" not in {a["Name"] for a in qbo.accounts()}
    assert "Savings" in {a["Name"] for a in qbo.accounts(include_inactive=True)}


def test_it_lists_payment_methods(qbo):
    """ref §4: PaymentMethod Type is CREDIT_CARD or NON_CREDIT_CARD."""
    methods = {m["Name"]: m["Type"] for m in qbo.payment_methods()}
    assert (methods["Visa"], methods["ACH"]) == ("CREDIT_CARD", "NON_CREDIT_CARD")


def _account_id(emu, name):
    return next(a["Id"] for a in records(emu, "Account") if a["Name"] == name)


def test_it_builds_the_same_requestid_for_the_same_write():
    """ref §1: ≤50 chars (≤36 on /batch); same logical write -> same id, across processes."""
    first = request_id_for(7, "invoice", 42, "create", 3)
    assert first == request_id_for("7", "invoice", "42", "create", "3")
    assert first != request_id_for(7, "invoice", 42, "create", 4)
    assert len(first) == 36
    # Pinned: a new namespace or joining rule would make every retry after a deploy write twice.
    assert first == "d87eecae-9735-594a-a0de-0e74a52cf670"


def test_it_replays_a_dropped_create_into_exactly_one_record(qbo, emu, sleeps):
    """ref §1: a repeated requestid returns the original response instead of writing again."""
    inject(emu, match={"entity": "customer", "operation": "create"}, times=1, drop_after_commit=True)
    created = qbo.create("Customer", {"DisplayName": "Exactly Once"}, request_id=request_id_for("x", 1))
    assert [c["Id"] for c in records(emu, "Customer") if c["DisplayName"] == "Exactly Once"] == [created["Id"]]
    assert len(sleeps) == 1 and len(requests_log(emu, "/customer")) == 2


def test_it_raises_ambiguous_write_when_no_answer_ever_comes(qbo, emu):
    """A write sent without an answer may have happened: the caller must look it up first."""
    inject(emu, match={"entity": "customer"}, times=None, drop_after_commit=True)
    with pytest.raises(AmbiguousWrite) as caught:
        qbo.create("Customer", {"DisplayName": "Maybe"}, request_id="maybe-1")
    assert caught.value.write_may_have_happened and caught.value.status is None
    assert [c["DisplayName"] for c in records(emu, "Customer")].count("Maybe") == 1


def test_it_keeps_every_error_entry_and_the_tid(qbo):
    """ref §2: Error[] entries and the intuit_tid header survive into QboError."""
    with pytest.raises(QboError) as caught:
        qbo.read("Invoice", "999999")
    assert caught.value.intuit_tid and caught.value.codes == ["610"]
