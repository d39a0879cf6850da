"""The control API of docs/api.md §3."""

import time

import pytest
import requests

from emulator.testing import fault_of, live_emulator


def test_it_resets_to_one_fresh_default_company(emu, qbo_http):
    """api.md §3 POST /reset: forget everything; one fresh default company."""
    qbo_http.customer("Gone Soon")
    emu.control("POST", "/companies", json={})
    assert emu.control("POST", "/reset").json()["realm_id"] == emu.realm_id
    assert len(emu.control("GET", "/companies").json()) == 1
    assert emu.control("GET", f"/companies/{emu.realm_id}/Customer").json() == []


def test_it_creates_a_company_with_custom_numbers(emu):
    """api.md §3 POST /companies {realm_id, name, custom_txn_numbers} -> {realm_id}."""
    response = emu.control("POST", "/companies", json={"realm_id": "4620816365000001", "name": "Two",
                                                       "custom_txn_numbers": True})
    assert response.status_code == 201 and response.json() == {"realm_id": "4620816365000001"}
    summary = emu.control("GET", "/companies/4620816365000001").json()
    assert summary["custom_txn_numbers"] is True and summary["name"] == "Two"


def test_it_lists_records_including_deleted_ones_marked(emu, qbo_http):
    """api.md §3 GET /companies/<realm>/<Entity>: inactive and deleted included, deleted marked."""
    invoice = qbo_http.invoice(qbo_http.customer()["Id"])
    qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, {"operation": "delete"})
    records = emu.control("GET", f"/companies/{emu.realm_id}/Invoice").json()
    assert records[0]["status"] == "Deleted" and records[0]["TotalAmt"] == 100


def test_it_creates_as_a_person_under_qbo_rules(emu, qbo_http):
    """api.md §3: a person's create follows QBO's rules (6240) unless force."""
    qbo_http.customer("Jo")
    path = f"/companies/{emu.realm_id}/Customer"
    refused = emu.control("POST", path, json={"DisplayName": "Jo"})
    assert refused.status_code == 400 and fault_of(refused)["code"] == "6240"
    forced = emu.control("POST", path, json={"DisplayName": "Jo", "force": True})
    assert forced.status_code == 201


def test_it_edits_as_a_person_advancing_synctoken(emu, qbo_http):
    """api.md §3 PATCH: SyncToken and LastUpdatedTime advance, so the app's next update gets 5010."""
    customer = qbo_http.customer("Editable")
    edited = emu.control("PATCH", f"/companies/{emu.realm_id}/Customer/{customer['Id']}", json={"Notes": "by hand"})
    assert edited.json()["SyncToken"] == "1"
    stale = qbo_http.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "app"})
    assert fault_of(stale)["code"] == "5010"


def test_it_deletes_as_a_person(emu, qbo_http):
    """api.md §3 DELETE: a transaction is deleted, a name-list record made inactive."""
    customer = qbo_http.customer("Bye")
    payment = qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 1})
    emu.control("DELETE", f"/companies/{emu.realm_id}/Payment/{payment['Id']}")
    assert fault_of(qbo_http.get(f"/payment/{payment['Id']}"))["code"] == "610"
    emu.control("DELETE", f"/companies/{emu.realm_id}/Customer/{customer['Id']}?force=true")
    assert qbo_http.get(f"/customer/{customer['Id']}").json()["Customer"]["Active"] is False


def test_it_injects_a_realistic_fault_by_code(emu, qbo_http):
    """api.md §3 faults: match by method/entity/operation, `times`, code -> realistic fault."""
    emu.control("POST", "/faults", json={"match": {"method": "POST", "entity": "customer", "operation": "create"},
                                         "times": 1, "code": "6240"})
    assert fault_of(qbo_http.post("/customer", {"DisplayName": "Z"}))["code"] == "6240"
    assert qbo_http.post("/customer", {"DisplayName": "Z"}).status_code == 200


def test_it_injects_a_verbatim_response(emu, qbo_http):
    """api.md §3: "response": {status, body, content_type} returned verbatim."""
    emu.control("POST", "/faults", json={"match": {"entity": "invoice"}, "times": 2,
                                         "response": {"status": 503, "body": "<html>down</html>",
                                                      "content_type": "text/html"}})
    response = qbo_http.get("/invoice/1")
    assert response.status_code == 503 and response.text == "<html>down</html>"
    emu.control("DELETE", "/faults")
    assert qbo_http.get("/invoice/1").status_code == 400


def test_it_drops_the_connection_after_commit(emu, qbo_http):
    """api.md §3 drop_after_commit: the write happens, the answer never arrives; requestid replays it."""
    emu.control("POST", "/faults", json={"match": {"entity": "customer"}, "drop_after_commit": True})
    with pytest.raises(requests.ConnectionError):
        qbo_http.post("/customer", {"DisplayName": "Ghost"}, {"requestid": "ghost-1"})
    assert [c["DisplayName"] for c in emu.control("GET", f"/companies/{emu.realm_id}/Customer").json()] == ["Ghost"]
    retry = qbo_http.post("/customer", {"DisplayName": "Ghost"}, {"requestid": "ghost-1"})
    assert retry.status_code == 200 and retry.json()["Customer"]["DisplayName"] == "Ghost"


def test_it_delays_a_response(emu, qbo_http):
    """api.md §3 delay_ms."""
    emu.control("POST", "/faults", json={"match": {"operation": "read"}, "delay_ms": 300})
    started = time.monotonic()
    qbo_http.get("/preferences")
    assert time.monotonic() - started >= 0.3


def test_it_matches_faults_by_realm(emu, qbo_http):
    """api.md §3 faults match on realm."""
    emu.control("POST", "/faults", json={"match": {"realm": "1"}, "code": "10000"})
    assert qbo_http.get("/preferences").status_code == 200


def test_it_moves_the_clock(emu):
    """api.md §3 POST /clock {advance_seconds}."""
    before = emu.control("GET", "/clock").json()["epoch"]
    after = emu.control("POST", "/clock", json={"advance_seconds": 86400}).json()["epoch"]
    assert after - before >= 86400


def test_it_survives_a_restart_with_a_data_file(tmp_path):
    """Issue 3: --data PATH keeps the demo's QuickBooks side across restarts (tokens too)."""
    path = str(tmp_path / "qbo.json")
    with live_emulator(data_path=path, limits=False) as first:
        tokens = first.tokens()
        requests.post(first.api_url() + "/customer", json={"DisplayName": "Persisted"},
                      headers=first.headers(tokens["access_token"]), timeout=5)
        realm = first.realm_id
    with live_emulator(data_path=path, limits=False) as second:
        assert second.realm_id == realm
        response = requests.get(second.api_url() + "/customer/1", headers=second.headers(tokens["access_token"]), timeout=5)
        assert response.json()["Customer"]["DisplayName"] == "Persisted"


def test_it_keeps_a_fault_for_every_match_with_times_null(emu, qbo_http):
    """api.md §3 faults `times` (null here: every matching request)."""
    emu.control("POST", "/faults", json={"match": {"operation": "read"}, "times": None, "code": "10000"})
    assert [qbo_http.get("/preferences").status_code for _ in range(3)] == [500, 500, 500]
    assert emu.control("GET", "/faults").json()[0]["times"] is None


def test_it_applies_qbo_rules_to_a_person_deactivating_a_customer(emu, qbo_http):
    """ref §1 non-zero balance (6220) applies to a person too unless force."""
    customer = qbo_http.customer()
    qbo_http.invoice(customer["Id"])
    refused = emu.control("DELETE", f"/companies/{emu.realm_id}/Customer/{customer['Id']}")
    assert refused.status_code == 400 and fault_of(refused)["code"] == "6220"
