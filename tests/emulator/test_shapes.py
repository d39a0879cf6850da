"""Shapes (issue 16 (5)): no null properties anywhere, every Preferences section, ISO countries."""

import pytest

from emulator.rules import ENTITIES


def _nulls(value, path=""):
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in _nulls(v, path + "[]")]
    return []


def _one_of_each(qbo_http):
    customer = qbo_http.customer("Walker")
    invoice = qbo_http.invoice(customer["Id"], 50)
    qbo_http.credit_memo(customer["Id"], 10)
    qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 50,
                                "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    qbo_http.create("Vendor", {"DisplayName": "Supplier"})
    qbo_http.create("Employee", {"GivenName": "Emma", "FamilyName": "Ployee"})
    qbo_http.create("Class", {"Name": "Retail"})
    qbo_http.create("Department", {"Name": "Downtown"})
    line = {"Amount": 5, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 5}}
    qbo_http.create("SalesReceipt", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    qbo_http.create("RefundReceipt", {"CustomerRef": {"value": customer["Id"]}, "Line": [line],
                                      "DepositToAccountRef": {"value": qbo_http.account_id("Checking")}})
    qbo_http.create("Purchase", {"PaymentType": "Cash", "AccountRef": {"value": qbo_http.account_id("Checking")},
                                 "Line": [{"Amount": 3, "DetailType": "AccountBasedExpenseLineDetail",
                                           "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo_http.account_id("Merchant Fees")}}}]})


def test_it_returns_no_null_property_on_any_entity_or_singleton(emu, qbo_http):
    """ref §1: "Empty properties are left out"; walks every entity the emulator holds."""
    _one_of_each(qbo_http)
    for entity in sorted(ENTITIES):
        records = emu.control("GET", f"/companies/{emu.realm_id}/{entity}").json()
        for record in records:
            assert _nulls(record) == [], (entity, _nulls(record))
            if entity in ("CompanyInfo", "Preferences"):
                answer = qbo_http.get(f"/{entity.lower()}/1").json()[entity]
            else:
                answer = qbo_http.get(f"/{entity.lower()}/{record['Id']}").json()[entity]
            assert _nulls(answer) == [], (entity, _nulls(answer))


def test_it_returns_every_preferences_section(qbo_http):
    """qbTypesDump Preferences: the sections QBO returns, TaxPrefs and CurrencyPrefs included."""
    prefs = qbo_http.get("/preferences").json()["Preferences"]
    for section in ("AccountingInfoPrefs", "ProductAndServicesPrefs", "SalesFormsPrefs", "EmailMessagesPrefs",
                    "VendorAndPurchasesPrefs", "TimeTrackingPrefs", "TaxPrefs", "CurrencyPrefs", "OtherPrefs",
                    "ReportPrefs"):
        assert prefs[section], section
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}


@pytest.mark.parametrize("sent", ["United States", "US"])
def test_it_returns_company_address_country_as_iso_code(qbo_http, sent):
    """qbo-2025-2026 §1.2: Country in CompanyAddr/LegalAddr is read back as "USA"; Lat/Long dropped."""
    info = qbo_http.get("/companyinfo/1").json()["CompanyInfo"]
    address = dict(info["CompanyAddr"], Country=sent, Lat="45.5", Long="-122.6")
    updated = qbo_http.create("CompanyInfo", {"Id": "1", "SyncToken": info["SyncToken"], "sparse": True,
                                              "CompanyAddr": address, "LegalAddr": address})
    assert updated["CompanyAddr"]["Country"] == "USA" and updated["LegalAddr"]["Country"] == "USA"
    assert "Lat" not in updated["CompanyAddr"] and "Long" not in updated["CompanyAddr"]


def test_it_keeps_currency_and_tax_preferences_read_only_to_the_api(qbo_http):
    """qbTypesDump: CurrencyPrefs and TaxPrefs are read-only; what the API sends is overwritten."""
    prefs = qbo_http.get("/preferences").json()["Preferences"]
    updated = qbo_http.create("Preferences", {"Id": "1", "SyncToken": prefs["SyncToken"], "sparse": True,
                                              "CurrencyPrefs": {"MultiCurrencyEnabled": True},
                                              "TaxPrefs": {"PartnerTaxEnabled": False}})
    assert updated["CurrencyPrefs"]["MultiCurrencyEnabled"] is False
    assert updated["TaxPrefs"]["PartnerTaxEnabled"] is True
