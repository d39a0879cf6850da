"""The company's lists kept between sync runs, since every read is metered (qbo-2025-2026.md §1.1)."""
from qbo.core.db import db
from qbo.core.redis import get_redis
from qbo.ledger import records as ledger
from qbo.quickbooks import company_cache
from qbo.quickbooks.changes import cdc
from tests.factories import make_account, make_invoice


def _reads_since(emu, seq):
    log = emu.control("GET", "/requests").json()
    return [r for r in log if r["seq"] > seq and (r["method"] == "GET" or r["path"].endswith("/query"))]


def _last_seq(emu):
    return max((r["seq"] for r in emu.control("GET", "/requests").json()), default=0)


def test_it_sends_an_edit_without_reading_anything(connected, drain, qbo_emulator):
    account = make_account(connected.firm, name="Cached Lists Ltd")
    make_invoice(connected.firm, account=account)
    drain(connected.firm_id)
    seq = _last_seq(qbo_emulator)
    ledger.save(ledger.KINDS["accounts"], connected.firm, {"name": "Cached Lists Renamed Ltd"}, record=account)
    db.session.commit()
    drain(connected.firm_id)
    assert _reads_since(qbo_emulator, seq) == []


def test_it_drops_the_chart_of_accounts_when_a_poll_sees_an_account_change(connected, drain, qbo_emulator):
    make_invoice(connected.firm)
    drain(connected.firm_id)
    key = f"qbo:company:{connected.firm_id}:list:accounts"
    assert get_redis().exists(key)
    qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Account",
                         json={"Name": "New Fees", "AccountType": "Expense"}).raise_for_status()
    cdc.poll_changes(connected.firm_id)
    assert not get_redis().exists(key)
    assert company_cache.cached_list(connected.firm_id, "accounts", lambda: [{"Id": "x"}]) == [{"Id": "x"}]


def test_it_ends_a_refresh_with_quickbooks_words_instead_of_failing_the_job(connected, qbo_emulator):
    import json

    from sqlalchemy import select

    from qbo.quickbooks.models import QboConnection
    from tests.quickbooks.api.test_fault_contract import ROWS

    row = next(r for r in ROWS if r[0] == "3100-gateway-403")
    qbo_emulator.control("POST", "/faults", json={"match": {"operation": "query"}, "times": 3, "response": {
        "status": 403, "body": json.dumps(row[2]), "content_type": "application/json"}}).raise_for_status()
    result = company_cache.refresh(connected.firm_id)
    assert result["code"] == "3100" and "ApplicationAuthorizationFailed" in result["error"]
    assert db.session.scalar(select(QboConnection.state)) == "needs_reconnect"


def test_it_numbers_the_next_invoice_past_one_quickbooks_took_since_the_company_was_read(connected, qbo_emulator):
    company_cache.refresh(connected.firm_id)
    assert company_cache.get(connected.firm_id)["doc_numbers"] == []
    customer = qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Customer",
                                    json={"DisplayName": "Walk-in"}).json()
    qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Invoice", json={  # typed in QuickBooks
        "CustomerRef": {"value": customer["Id"]}, "DocNumber": "INV-0001",
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 10}}]}).raise_for_status()
    cdc.poll_changes(connected.firm_id)
    assert make_invoice(connected.firm).number == "INV-0002"
