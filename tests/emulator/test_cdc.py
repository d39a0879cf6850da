"""Change data capture (ref §6, §3)."""

from datetime import datetime, timedelta, timezone

from emulator.testing import QboHttp, fault_of

SINCE = "2026-01-01T00:00:00-08:00"


def _cdc(qbo_http, entities, since):
    return qbo_http.get("/cdc", {"entities": entities, "changedSince": since})


def _recent(emu):
    return emu.control("GET", "/clock").json()["now"]


def test_it_returns_changed_records_per_entity(qbo_http, emu):
    """ref §6: {"CDCResponse":[{"QueryResponse":[{"Customer":[...]},{"Invoice":[...]}]}]}."""
    since = _recent(emu)
    customer = qbo_http.customer()
    qbo_http.invoice(customer["Id"])
    blocks = _cdc(qbo_http, "Customer,Invoice", since).json()["CDCResponse"][0]["QueryResponse"]
    assert blocks[0]["Customer"][0]["Id"] == customer["Id"]
    assert len(blocks[1]["Invoice"]) == 1


def test_it_returns_deleted_transactions_as_stubs(qbo_http, emu):
    """ref §6: a deleted transaction is {"domain","status":"Deleted","Id","MetaData":{"LastUpdatedTime"}}."""
    since = _recent(emu)
    invoice = qbo_http.invoice(qbo_http.customer()["Id"])
    qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, {"operation": "delete"})
    stub = _cdc(qbo_http, "Invoice", since).json()["CDCResponse"][0]["QueryResponse"][0]["Invoice"][0]
    assert stub["status"] == "Deleted" and stub["Id"] == invoice["Id"] and stub["domain"] == "QBO"
    assert set(stub) == {"domain", "status", "Id", "MetaData"}


def test_it_returns_deactivated_customers_as_normal_objects(qbo_http, emu):
    """ref §6: a deactivated name-list record appears with Active=false (M)."""
    customer = qbo_http.customer()
    since = _recent(emu)
    qbo_http.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    record = _cdc(qbo_http, "Customer", since).json()["CDCResponse"][0]["QueryResponse"][0]["Customer"][0]
    assert record["Active"] is False and "status" not in record


def test_it_refuses_changedsince_older_than_30_days(qbo_http, emu):
    """ref §3: look-back <= 30 days (the fault is unknown: stricter, refused)."""
    emu.control("POST", "/clock", json={"advance_seconds": 31 * 86400})
    response = _cdc(QboHttp(emu), "Customer", SINCE)  # a fresh token on the new clock
    assert response.status_code == 400 and fault_of(response)["code"] == "4001"


def test_it_caps_cdc_at_1000_objects_across_entities(qbo_http, emu):
    """ref §3: at most 1,000 objects per response, counted across all entities."""
    since = _recent(emu)
    batch = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"Bulk {n}"}} for n in range(30)]
    for chunk in range(34):
        for item in batch:
            item["Customer"]["DisplayName"] = f"Bulk {chunk}-{item['bId']}"
        qbo_http.post("/batch", {"BatchItemRequest": batch})
    blocks = _cdc(qbo_http, "Customer,Account", since).json()["CDCResponse"][0]["QueryResponse"]
    total = sum(len(v) for b in blocks for k, v in b.items() if isinstance(v, list))
    assert total == 1000


def test_it_reads_changedsince_offsets(qbo_http, emu):
    """ref §6: timezone-aware timestamps; a later instant in another offset excludes older changes."""
    qbo_http.customer()
    clock = emu.control("GET", "/clock").json()
    later_utc = datetime.fromtimestamp(clock["epoch"] + 5, timezone.utc).isoformat()
    blocks = _cdc(qbo_http, "Customer", later_utc).json()["CDCResponse"][0]["QueryResponse"]
    assert blocks == [{}]
    earlier_utc = datetime.fromtimestamp(clock["epoch"] - 60, timezone(timedelta(hours=2))).isoformat()
    assert _cdc(qbo_http, "Customer", earlier_utc).json()["CDCResponse"][0]["QueryResponse"][0]["Customer"]
