"""Throttling (ref §3) answered with 429 and the XML throttle fault (ref §2)."""

import threading
import time

from emulator.testing import QboHttp, fault_of, live_emulator


def _limits(emu, **settings):
    base = {"enabled": True, "per_minute": 500, "per_second": 0, "concurrent": 10,
            "batch_per_minute": 40, "time_scale": 1}
    emu.control("PUT", "/limits", json=dict(base, **settings)).raise_for_status()


def test_it_defaults_to_the_reference_limits(emu):
    """ref §3: 500/min, 10 concurrent, 40 batches/min per realm (10/s as an extension)."""
    with live_emulator() as fresh:
        limits = fresh.control("GET", "/limits").json()
    assert (limits["per_minute"], limits["concurrent"], limits["batch_per_minute"], limits["per_second"]) == (500, 10, 40, 10)
    assert limits["enabled"] is True


def test_it_throttles_per_minute_with_the_xml_fault(emu, qbo_http):
    """ref §3 500 req/min (scaled down here) -> 429; ref §2 throttle as XML even to JSON requests."""
    _limits(emu, per_minute=3, time_scale=60)
    statuses = [qbo_http.get("/preferences").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = qbo_http.get("/preferences")
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert '<Error code="3001">' in throttled.text and "statusCode=429" in throttled.text


def test_it_lets_requests_through_after_a_scaled_minute(emu, qbo_http):
    """api.md §3: time_scale 60 makes a QBO minute last one second."""
    _limits(emu, per_minute=2, time_scale=60)
    qbo_http.get("/preferences")
    qbo_http.get("/preferences")
    assert qbo_http.get("/preferences").status_code == 429
    time.sleep(1.05)
    assert qbo_http.get("/preferences").status_code == 200


def test_it_throttles_above_10_concurrent_requests(emu, qbo_http):
    """ref §3: at most 10 concurrent requests per realm (2 here); beyond comes 429."""
    _limits(emu, concurrent=2)
    emu.control("POST", "/faults", json={"match": {"operation": "read"}, "delay_ms": 400, "times": 3})
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(qbo_http.get("/preferences").status_code))
               for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 429]


def test_it_throttles_batches_per_minute(emu, qbo_http):
    """ref §3: 40 batch req/min per realm (2 here)."""
    _limits(emu, batch_per_minute=2)
    body = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item"}]}
    statuses = [qbo_http.post("/batch", body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_it_counts_batches_toward_the_per_minute_limit(emu, qbo_http):
    """ref §3: batches also count toward the 500/min."""
    _limits(emu, per_minute=2)
    qbo_http.post("/batch", {"BatchItemRequest": []})
    qbo_http.post("/batch", {"BatchItemRequest": []})
    assert qbo_http.get("/preferences").status_code == 429


def test_it_throttles_per_second(emu, qbo_http):
    """ref §3: 10 req/s per realm+app."""
    _limits(emu, per_second=10)
    statuses = [qbo_http.get("/preferences").status_code for _ in range(11)]
    assert statuses.count(429) >= 1


def test_it_can_turn_limits_off(emu, qbo_http):
    """api.md §3: {"enabled": false} turns limits off."""
    _limits(emu, per_minute=1)
    emu.control("PUT", "/limits", json={"enabled": False})
    assert all(qbo_http.get("/preferences").status_code == 200 for _ in range(3))


def test_it_names_the_broken_limit_in_the_request_log(emu, qbo_http):
    """api.md §3 request log: a 429 says which limit it broke (QBO's answer itself doesn't)."""
    _limits(emu, batch_per_minute=1)
    seq = max([r["seq"] for r in emu.control("GET", "/requests").json()], default=0)
    body = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item"}]}
    assert [qbo_http.post("/batch", body).status_code for _ in range(2)] == [200, 429]
    log = emu.control("GET", f"/requests?since={seq}").json()
    assert [r.get("throttled_by") for r in log] == [None, "batch_per_minute"]



def test_it_counts_a_request_when_it_arrives_not_after_a_slow_write(emu, qbo_http):
    """ref §3 (QBO counts at its gateway): a request waiting behind a long write (which holds the
    store's lock) is counted on arrival, so requests sent a window apart never bunch into one."""
    _limits(emu, per_minute=500)
    limiter = emu.app.emulator.limiter
    before = len(limiter.hits[emu.realm_id])
    with emu.app.emulator.store.lock:  # a long write in progress
        waiting = threading.Thread(target=qbo_http.get, args=("/preferences",))
        waiting.start()
        deadline = time.monotonic() + 2
        while len(limiter.hits[emu.realm_id]) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        counted = len(limiter.hits[emu.realm_id]) - before
    waiting.join()
    assert counted == 1


def test_it_meters_reads_per_month_and_keeps_writes_free(emu, qbo_http):
    """qbo-2025-2026 §1.1: CorePlus calls (reads) metered per realm and month, 429 once spent
    ("blocked until the following month"); writes are free."""
    emu.control("PUT", "/read-quota", json={"per_month": 2}).raise_for_status()
    customer = qbo_http.customer("Metered Ltd")
    assert qbo_http.get(f"/customer/{customer['Id']}").status_code == 200
    assert qbo_http.query("select * from Customer").status_code == 200
    refused = qbo_http.get(f"/companyinfo/{qbo_http.realm_id}")
    error = fault_of(refused)
    assert refused.status_code == 429 and error["code"] == "3001" and "monthly CorePlus API quota" in error["Detail"]
    qbo_http.invoice(customer["Id"], 40)  # a write still goes through
    batch = qbo_http.post("/batch", {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]})
    assert batch.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "3001"
    assert list(emu.control("GET", "/read-quota").json()["used"][qbo_http.realm_id].values()) == [2]
    emu.control("POST", "/clock", json={"advance_seconds": 32 * 86400}).raise_for_status()
    assert QboHttp(emu).query("select * from Customer").status_code == 200  # the next month


def test_it_sets_a_read_quota_for_one_realm_only(emu):
    realm = emu.control("POST", "/companies", json={}).json()["realm_id"]
    emu.control("PUT", "/read-quota", json={"per_month": 0, "realm_id": realm}).raise_for_status()
    assert QboHttp(emu, realm).query("select * from Item").status_code == 429
    assert QboHttp(emu).query("select * from Item").status_code == 200
    assert emu.control("PUT", "/read-quota", json={"per_month": -1}).status_code == 400
