"""Batch (ref §7, §3)."""

from emulator.testing import fault_of


def test_it_answers_each_batch_item_on_its_own(qbo_http):
    """ref §7: HTTP 200 as a whole; each item holds an entity, a Fault or a QueryResponse, with bId."""
    qbo_http.customer("Taken")
    response = qbo_http.post("/batch", {"BatchItemRequest": [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
        {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Taken"}},
        {"bId": "b3", "Query": "select count(*) from Customer"}]})
    assert response.status_code == 200
    items = {i["bId"]: i for i in response.json()["BatchItemResponse"]}
    assert items["b1"]["Customer"]["DisplayName"] == "Fresh"
    assert items["b2"]["Fault"]["Error"][0]["code"] == "6240"
    assert "totalCount" in items["b3"]["QueryResponse"]


def test_it_hides_records_created_in_the_same_batch(qbo_http, monkeypatch):
    """ref §7: an item cannot use an object created by another item in the same batch (run here in
    the given order, so the customer exists before the invoice is tried)."""
    monkeypatch.setattr("emulator.api.random.shuffle", lambda items: None)
    response = qbo_http.post("/batch", {"BatchItemRequest": [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "New Co"}},
        {"bId": "i", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": [
            {"Amount": 1, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]}}]})
    items = {i["bId"]: i for i in response.json()["BatchItemResponse"]}
    assert items["c"]["Customer"]["Id"] == "1"
    assert items["i"]["Fault"]["Error"][0]["code"] == "2500"


def test_it_updates_and_deletes_in_a_batch(qbo_http):
    """ref §7: operation update / delete items."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"])
    response = qbo_http.post("/batch", {"BatchItemRequest": [
        {"bId": "u", "operation": "update", "Customer": {"Id": customer["Id"], "SyncToken": "0",
                                                         "sparse": True, "Notes": "n"}},
        {"bId": "d", "operation": "delete", "Invoice": {"Id": invoice["Id"], "SyncToken": "0"}}]})
    items = {i["bId"]: i for i in response.json()["BatchItemResponse"]}
    assert items["u"]["Customer"]["SyncToken"] == "1"
    assert items["d"]["Invoice"]["status"] == "Deleted"


def test_it_refuses_more_than_30_items(qbo_http):
    """ref §3: hard max 30 items; larger batches get 1040 (status unknown: whole batch refused, 400)."""
    items = [{"bId": str(n), "Query": "select * from Item"} for n in range(31)]
    response = qbo_http.post("/batch", {"BatchItemRequest": items})
    assert response.status_code == 400 and fault_of(response)["code"] == "1040"


def test_it_refuses_a_bid_over_10_chars_with_a_requestid(qbo_http):
    """ref §1: with a requestid on /batch (<=36), each bId <= 10."""
    body = {"BatchItemRequest": [{"bId": "b" * 11, "Query": "select * from Item"}]}
    response = qbo_http.post("/batch", body, {"requestid": "batch-bid"})
    assert response.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "2050"
    assert "QueryResponse" in qbo_http.post("/batch", body).json()["BatchItemResponse"][0]


def test_it_replays_a_batch_for_a_repeated_requestid(qbo_http, emu):
    """ref §1: requestid replay applies to /batch too."""
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Bat"}}]}
    first = qbo_http.post("/batch", body, {"requestid": "batch-1"}).json()
    second = qbo_http.post("/batch", body, {"requestid": "batch-1"}).json()
    assert first["BatchItemResponse"] == second["BatchItemResponse"]
    assert len(emu.control("GET", f"/companies/{qbo_http.realm_id}/Customer").json()) == 1
