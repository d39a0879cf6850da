"""The API's tax and currency fields (issue 17; api.md, extended)."""
from tests.factories import make_api_key, make_user


def test_it_creates_a_tax_rate_and_a_taxed_invoice(client, app):
    headers = make_api_key(make_user(role="owner"))
    rate = client.post("/api/v1/tax-rates", json={"name": "VAT", "percent": "20"}, headers=headers).get_json()
    service = client.post("/api/v1/services", json={"name": "Audit", "rate": "10.05", "tax_rate_id": rate["id"]},
                          headers=headers).get_json()
    account = client.post("/api/v1/accounts", json={"name": "Acme", "currency": "EUR"}, headers=headers).get_json()
    invoice = client.post("/api/v1/invoices", headers=headers, json={
        "account_id": account["id"], "date": "2026-11-02", "exchange_rate": "1.08",
        "lines": [{"service_id": service["id"], "quantity": "1"}]}).get_json()
    assert service["taxable"] is True and account["currency"] == "EUR"
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == ("10.05", "2.01", "12.06")
    assert invoice["lines"][0]["tax_rate_id"] == rate["id"] and invoice["exchange_rate"] == "1.08"


def test_it_names_the_field_of_a_bad_rate(client, app):
    headers = make_api_key(make_user(role="owner"))
    answer = client.post("/api/v1/tax-rates", json={"name": "", "percent": "abc"}, headers=headers)
    assert answer.status_code == 422 and set(answer.get_json()["errors"]) == {"name", "percent"}
    viewer = make_api_key(make_user(role="viewer"))
    assert client.post("/api/v1/tax-rates", json={"name": "X", "percent": "1"}, headers=viewer).status_code == 403


def test_it_shows_the_company_in_the_sync_status(client, connected):
    body = client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()
    assert body["company"]["tax_mode"] == "ast" and body["company"]["home_currency"] == "USD"


def test_the_cli_adds_a_rate_and_shows_its_code(runner, connect_company):
    owner = connect_company("uk-vat")
    result = runner.invoke(args=["qbo", "tax-rates", "--firm", str(owner.firm_id), "--add", "VAT", "--percent", "20"])
    assert result.exit_code == 0, result.output
    assert "VAT (20%)" in result.output and "-> 20.0% S (automatic)" in result.output
    bad = runner.invoke(args=["qbo", "tax-rates", "--firm", str(owner.firm_id), "--add", "X", "--percent", "abc"])
    assert bad.exit_code != 0 and "percent must be a number" in bad.output
