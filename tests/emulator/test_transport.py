"""Transport: requestid, minorversion, Accept, intuit_tid (ref §1)."""

from emulator.testing import fault_of


def test_it_replays_the_original_response_for_a_repeated_requestid(qbo_http, emu):
    """ref §1 requestid replay: same id -> original response, no second write."""
    first = qbo_http.post("/customer", {"DisplayName": "Once"}, {"requestid": "sync-cust-1"})
    second = qbo_http.post("/customer", {"DisplayName": "Once"}, {"requestid": "sync-cust-1"})
    assert second.status_code == 200
    assert second.json()["Customer"] == first.json()["Customer"]
    names = [c["DisplayName"] for c in emu.control("GET", f"/companies/{qbo_http.realm_id}/Customer").json()]
    assert names.count("Once") == 1


def test_it_keeps_requestids_per_company(qbo_http, emu):
    """ref §1: requestid must be unique per company (so another company runs it)."""
    from emulator.testing import QboHttp
    other = QboHttp(emu, emu.control("POST", "/companies", json={}).json()["realm_id"])
    qbo_http.post("/customer", {"DisplayName": "Twin"}, {"requestid": "same-id"})
    response = other.post("/customer", {"DisplayName": "Twin"}, {"requestid": "same-id"})
    assert response.json()["Customer"]["Id"] and response.status_code == 200


def test_it_refuses_a_requestid_over_50_chars(qbo_http):
    """ref §1: requestid at most 50 chars (the fault is ours: stricter)."""
    response = qbo_http.post("/customer", {"DisplayName": "Long"}, {"requestid": "r" * 51})
    assert response.status_code == 400 and fault_of(response)["element"] == "requestid"


def test_it_refuses_a_batch_requestid_over_36_chars(qbo_http):
    """ref §1: 36 chars on /batch."""
    response = qbo_http.post("/batch", {"BatchItemRequest": []}, {"requestid": "r" * 37})
    assert response.status_code == 400


def test_it_accepts_any_minorversion(qbo_http):
    """ref §1: minorversion 1-74 ignored, 75 floor and default."""
    assert qbo_http.get("/preferences", {"minorversion": 4}).status_code == 200
    assert qbo_http.get("/preferences", {"minorversion": 75}).status_code == 200


def test_it_answers_xml_without_accept_json(qbo_http):
    """ref §1: the default response is XML; JSON needs Accept: application/json."""
    response = qbo_http.get("/preferences", headers={"Authorization": "Bearer " + qbo_http.token})
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.text.startswith("<?xml") and "<Preferences domain=\"QBO\" sparse=\"false\">" in response.text


def test_it_sends_intuit_tid_on_responses(qbo_http):
    """ref §1: responses carry an intuit_tid header (faults too)."""
    assert qbo_http.get("/preferences").headers.get("intuit_tid")
    assert qbo_http.get("/invoice/999").headers.get("intuit_tid")


def test_it_logs_api_requests(qbo_http, emu):
    """api.md §3 GET /__emulator__/requests?since=N -> {seq, method, path, query, requestid, status, at}."""
    qbo_http.post("/customer", {"DisplayName": "Logged"}, {"requestid": "log-1"})
    log = emu.control("GET", "/requests?since=0").json()
    entry = log[-1]
    assert entry["method"] == "POST" and entry["path"].endswith("/customer")
    assert entry["requestid"] == "log-1" and entry["status"] == 200
    assert {"seq", "query", "at"} <= set(entry)
    assert emu.control("GET", f"/requests?since={entry['seq']}").json() == []
