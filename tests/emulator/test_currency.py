"""Currencies (issue 16 (3); qbo-2025-2026 §2.3)."""

from emulator.testing import fault_of

LINE = {"Amount": 100, "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 100}}


def _multicurrency(emu, *codes):
    assert emu.control("PATCH", f"/companies/{emu.realm_id}/preferences", json={"multicurrency": True}).status_code == 200
    for code in codes:
        assert emu.control("POST", f"/companies/{emu.realm_id}/CompanyCurrency", json={"Code": code}).status_code == 201


def test_it_refuses_a_foreign_customer_while_multicurrency_is_off(qbo_http):
    """§2.3: multicurrency is off by default; a foreign currency is refused (6000, M)."""
    response = qbo_http.post("/customer", {"DisplayName": "Euro Co", "CurrencyRef": {"value": "EUR"}})
    assert (fault_of(response)["code"], fault_of(response)["element"]) == ("6000", "CurrencyRef")


def test_it_never_turns_multicurrency_off_again(emu, qbo_http):
    """§2.3: multicurrency "cannot be turned off once on"."""
    _multicurrency(emu)
    assert emu.control("PATCH", f"/companies/{emu.realm_id}/preferences", json={"multicurrency": False}).status_code == 409
    assert qbo_http.get("/preferences").json()["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True


def test_it_adds_currencies_only_once_multicurrency_is_on(emu, qbo_http):
    """§2.3: the CompanyCurrency list; a currency before multicurrency is on: 6000."""
    assert fault_of(qbo_http.post("/companycurrency", {"Code": "EUR"}))["code"] == "6000"
    _multicurrency(emu)
    currency = qbo_http.create("CompanyCurrency", {"Code": "EUR"})
    assert currency["Name"] == "Euro" and currency["Active"] is True
    assert fault_of(qbo_http.post("/companycurrency", {"Code": "EUR"}))["code"] == "6240"


def test_it_bills_a_customer_in_its_currency_at_rate_1_unless_sent(emu, qbo_http):
    """§2.3: "if omitted, it is stored as 1" (WordCamp PR #1325); HomeTotalAmt = TotalAmt x ExchangeRate."""
    _multicurrency(emu, "EUR")
    customer = qbo_http.customer("Euro Co", CurrencyRef={"value": "EUR"})
    invoice = qbo_http.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [LINE]})
    assert invoice["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    assert invoice["ExchangeRate"] == 1 and invoice["HomeTotalAmt"] == 100
    sent = qbo_http.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [LINE], "ExchangeRate": 1.1})
    assert sent["HomeTotalAmt"] == 110


def test_it_fills_the_days_rate_for_a_person(emu, qbo_http):
    """Issue 16 (3): in QBO's screens the rate comes from the rate table (built-in EUR->USD 1.08)."""
    _multicurrency(emu, "EUR")
    customer = qbo_http.customer("Euro Co", CurrencyRef={"value": "EUR"})
    invoice = emu.control("POST", f"/companies/{emu.realm_id}/Invoice",
                          json={"CustomerRef": {"value": customer["Id"]}, "Line": [LINE]}).json()
    assert invoice["ExchangeRate"] == 1.08 and invoice["HomeTotalAmt"] == 108


def test_it_answers_and_sets_exchange_rates(emu, qbo_http):
    """§2.3: GET /exchangerate?sourcecurrencycode=&asofdate= (WordCamp PR #1325); home units per foreign unit."""
    rate = qbo_http.get("/exchangerate", {"sourcecurrencycode": "EUR"}).json()["ExchangeRate"]
    assert (rate["SourceCurrencyCode"], rate["TargetCurrencyCode"], rate["Rate"]) == ("EUR", "USD", 1.08)
    qbo_http.post("/exchangerate", {"SourceCurrencyCode": "EUR", "Rate": 1.2, "AsOfDate": "2026-01-01"})
    later = qbo_http.get("/exchangerate", {"sourcecurrencycode": "EUR", "asofdate": "2026-02-01"}).json()
    assert later["ExchangeRate"]["Rate"] == 1.2


def test_it_never_changes_a_customers_currency(emu, qbo_http):
    """§2.3: "one currency, read-only after creation" (stricter than 'after its first transaction')."""
    _multicurrency(emu, "EUR")
    customer = qbo_http.customer("Home Co")
    response = qbo_http.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                           "CurrencyRef": {"value": "EUR"}})
    assert (fault_of(response)["code"], fault_of(response)["element"]) == ("6000", "CurrencyRef")


def test_it_refuses_two_foreign_currencies_in_one_transaction(emu, qbo_http):
    """§2.3: "You can only use one foreign currency per transaction" (Expensify#53932)."""
    _multicurrency(emu, "EUR", "GBP")
    customer = qbo_http.customer("Euro Co", CurrencyRef={"value": "EUR"})
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [LINE],
                                          "CurrencyRef": {"value": "GBP"}})
    assert fault_of(response)["Detail"] == "Business Validation Error: You can only use one foreign currency per transaction."


def test_it_refuses_a_currency_not_enabled(emu, qbo_http):
    """Issue 16 (3): multicurrency on but the currency not added: 6000."""
    _multicurrency(emu)
    assert fault_of(qbo_http.post("/customer", {"DisplayName": "Yen Co", "CurrencyRef": {"value": "JPY"}}))["code"] == "6000"


def test_it_keeps_a_home_currency_account_for_a_foreign_purchase(emu, qbo_http):
    """§2.3: "The currency of the account must be either in home currency or the transaction currency"."""
    _multicurrency(emu, "EUR", "GBP")
    euro_bank = emu.control("POST", f"/companies/{emu.realm_id}/Account",
                            json={"Name": "Euro Bank", "AccountType": "Bank", "CurrencyRef": {"value": "EUR"}}).json()
    body = {"PaymentType": "Cash", "AccountRef": {"value": euro_bank["Id"]}, "CurrencyRef": {"value": "GBP"},
            "Line": [{"Amount": 5, "DetailType": "AccountBasedExpenseLineDetail",
                      "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo_http.account_id("Merchant Fees")}}}]}
    assert fault_of(qbo_http.post("/purchase", body))["code"] == "6000"
    euro = qbo_http.create("Purchase", dict(body, CurrencyRef={"value": "EUR"}, ExchangeRate=1.1))
    assert euro["HomeTotalAmt"] == 5.5
