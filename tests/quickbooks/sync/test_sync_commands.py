"""`flask qbo sync` and `flask qbo status`, and the API's sync/run and sync/status."""
import json

from tests.factories import make_account, make_api_key, make_invoice


def test_it_syncs_from_the_command_line_and_reports_status(runner, connected, qbo_records):
    make_invoice(connected.firm)
    result = runner.invoke(args=["qbo", "sync", "--firm", str(connected.firm_id), "--wait"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 3  # customer, item, invoice
    status = json.loads(runner.invoke(args=["qbo", "status", "--firm", str(connected.firm_id), "--json"]).output)
    assert status["connection"]["state"] == "connected" and status["total"] == 0
    assert len(qbo_records("Invoice")) == 1


def test_it_runs_a_sync_requested_through_the_api(client, connected, drain, qbo_records):
    connected.firm.create_customers_automatically = False
    make_account(connected.firm, name="Pinecrest Realty")
    headers = make_api_key(connected)
    response = client.post("/api/v1/sync/run", headers=headers)
    assert response.status_code == 202
    drain()
    job = client.get(f"/api/v1/jobs/{response.get_json()['job_id']}", headers=headers).get_json()
    assert job["status"] == "finished"
    status = client.get("/api/v1/sync/status", headers=headers).get_json()
    assert status["counts"]["accounts"] == 1 and status["total"] == 1
    [row] = client.get("/api/v1/sync/errors?category=accounts", headers=headers).get_json()["data"]
    assert row["case"] == "account-no-match" and row["record"]["label"] == "Pinecrest Realty"
    assert set(row["actions"]) >= {"skip", "create_customer", "link_customer"}


def test_it_refuses_sync_run_without_a_connection(client, app):
    from tests.factories import make_user

    headers = make_api_key(make_user(role="owner"))
    assert client.post("/api/v1/sync/run", headers=headers).status_code == 409
    bad = client.get("/api/v1/sync/errors?category=nope", headers=headers)
    assert bad.status_code == 422 and "category" in bad.get_json()["errors"]


def test_it_reports_this_months_metered_reads_in_the_cli_and_the_api(runner, client, connected, drain):
    make_invoice(connected.firm)
    drain(connected.firm_id)
    cli = json.loads(runner.invoke(args=["qbo", "status", "--firm", str(connected.firm_id), "--json"]).output)
    api = client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()
    assert cli["connection"]["reads_this_month"] > 0 and cli["connection"]["read_allowance"] == 500000
    assert api["connection"]["reads_this_month"] == cli["connection"]["reads_this_month"]
    assert api["connection"]["paused"] is None and {"connection", "counts", "total"} <= set(api)
    text = runner.invoke(args=["qbo", "status", "--firm", str(connected.firm_id)]).output
    assert f"Reads this month: {cli['connection']['reads_this_month']} of 500000" in text
