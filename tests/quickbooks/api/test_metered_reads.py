"""Intuit's metered CorePlus reads (qbo-2025-2026.md §1.1), counted by the client per realm and month."""
import json

import pytest

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import ReadQuotaExhausted, TransientError
from qbo.quickbooks.api.meter import ReadMeter, month_of
from tests.quickbooks.api.qbo_testing import inject, requests_log
from tests.quickbooks.api.test_fault_contract import ROWS


@pytest.fixture
def metered(emu, tokens, redis_db, sleeps):
    client = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, meter=ReadMeter(redis_db),
                       sleep=sleeps.append)
    yield client
    client.session.close()


def _quota(emu):
    row = next(r for r in ROWS if r[0] == "quota-429")
    inject(emu, match={"operation": "query"}, times=1,
           response={"status": 429, "body": json.dumps(row[2]), "content_type": "application/json"})


def test_it_counts_reads_and_queries_but_not_writes(metered, emu):
    customer = metered.create("Customer", {"DisplayName": "Metered"}, request_id="metered-1")
    metered.read("Customer", customer["Id"])
    metered.query("SELECT * FROM Customer")
    metered.preferences()
    assert metered.meter.reads(emu.realm_id, month_of()) == 3


def test_it_counts_a_batch_only_when_it_queries(metered, emu):
    metered.batch([{"bId": "b1", "operation": "create", "entity": "Customer", "body": {"DisplayName": "B1"}}],
                  request_id="metered-b1")
    assert metered.meter.reads(emu.realm_id) == 0
    metered.batch([{"bId": "q1", "query": "SELECT * FROM Customer"}], request_id="metered-b2")
    assert metered.meter.reads(emu.realm_id) == 1


def test_it_never_retries_the_quota_and_sends_no_read_after_it(metered, emu, sleeps):
    _quota(emu)
    with pytest.raises(ReadQuotaExhausted):
        metered.query("SELECT * FROM Customer")
    assert sleeps == [] and metered.meter.blocked_until(emu.realm_id) is not None
    sent = len(requests_log(emu))
    with pytest.raises(ReadQuotaExhausted):
        metered.read("Customer", "1")
    assert len(requests_log(emu)) == sent
    assert metered.create("Customer", {"DisplayName": "Still written"}, request_id="metered-w")["Id"]


@pytest.mark.parametrize("name", ["10000-systemfault-400", "systemfault-200", "try-again-later-400"])
def test_it_retries_a_system_fault_whatever_its_status(metered, emu, sleeps, name):
    row = next(r for r in ROWS if r[0] == name)
    inject(emu, match={"operation": "read"}, times=1,
           response={"status": row[1], "body": json.dumps(row[2]), "content_type": "application/json"})
    assert metered.preferences()["Id"] and len(sleeps) == 1


def test_it_gives_up_on_a_system_fault_after_its_retries(emu, tokens):
    client = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, max_retries=2, sleep=lambda s: None)
    row = next(r for r in ROWS if r[0] == "10000-systemfault-400")
    inject(emu, match={"operation": "read"}, times=3,
           response={"status": 400, "body": json.dumps(row[2]), "content_type": "application/json"})
    with pytest.raises(TransientError) as caught:
        client.preferences()
    assert caught.value.fault_type == "SystemFault" and "try again" in caught.value.detail
