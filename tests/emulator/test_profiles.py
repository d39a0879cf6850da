"""Company profiles (issue 16 (1)): a company as a new QBO company of its region has it."""

import pytest
import requests

from emulator import create_app
from emulator.__main__ import parse_args
from emulator.testing import QboHttp

REGIONS = [
    # profile, CompanyInfo.Country, address Country (qbo-2025-2026 §1.2), home currency, AST
    ("us-ast", "US", "USA", "USD", True),
    ("us-manual-tax", "US", "USA", "USD", False),
    ("uk-vat", "GB", "GBR", "GBP", False),
    ("ca-gst-hst", "CA", "CAN", "CAD", False),
    ("au-gst", "AU", "AUS", "AUD", False),
]


@pytest.mark.parametrize("profile,country,iso,currency,ast", REGIONS, ids=[r[0] for r in REGIONS])
def test_it_creates_a_company_of_each_profile(emu, profile, country, iso, currency, ast):
    """qbo-2025-2026 §2.1 (PartnerTaxEnabled marks AST; Country decides the method), §2.3 (home currency)."""
    realm = emu.control("POST", "/companies", json={"profile": profile}).json()["realm_id"]
    qbo = QboHttp(emu, realm)
    info = qbo.get("/companyinfo/1").json()["CompanyInfo"]
    prefs = qbo.get("/preferences").json()["Preferences"]
    assert info["Country"] == country and info["CompanyAddr"]["Country"] == iso
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": currency}}
    assert prefs["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": ast}
    assert emu.control("GET", f"/companies/{realm}").json()["profile"] == profile
    accounts = {a["Name"]: a for a in emu.control("GET", f"/companies/{realm}/Account").json()}
    assert accounts["Checking"]["CurrencyRef"]["value"] == currency


@pytest.mark.parametrize("profile", ["uk-vat", "ca-gst-hst", "au-gst", "us-manual-tax"])
def test_it_gives_a_region_its_tax_codes_rates_and_agencies(emu, profile):
    """qbo-2025-2026 §2.1: non-US lines need a real TaxCode; pre-2017 US companies have manual codes."""
    realm = emu.control("POST", "/companies", json={"profile": profile}).json()["realm_id"]
    qbo = QboHttp(emu, realm)
    codes = qbo.query("select * from TaxCode").json()["QueryResponse"]["TaxCode"]
    assert codes and all(c["SalesTaxRateList"] or c["PurchaseTaxRateList"] for c in codes)
    assert qbo.query("select * from TaxRate").json()["QueryResponse"]["TaxRate"]
    assert qbo.query("select * from TaxAgency").json()["QueryResponse"]["TaxAgency"]


def test_it_refuses_an_unknown_profile(emu):
    """Issue 16 (1): the five profiles only."""
    assert emu.control("POST", "/companies", json={"profile": "fr-tva"}).status_code == 400


def test_it_gives_the_default_company_an_address_without_sales_tax(qbo_http):
    """README: the default us-ast company is in Oregon (no sales tax), so invoice totals equal their lines."""
    info = qbo_http.get("/companyinfo/1").json()["CompanyInfo"]
    assert info["CompanyAddr"]["CountrySubDivisionCode"] == "OR"
    invoice = qbo_http.invoice(qbo_http.customer()["Id"], 100,
                               Line=[{"Amount": 100, "DetailType": "SalesItemLineDetail",
                                      "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "TAX"}}}])
    assert invoice["TotalAmt"] == 100 and invoice["TxnTaxDetail"] == {"TotalTax": 0}


def test_it_takes_the_default_company_profile_from_create_app_and_the_command_line():
    """Issue 16 (1): create_app(profile=...) and --company-profile."""
    app = create_app(profile="uk-vat")
    assert app.emulator.store.company(app.emulator.default_realm)["profile"] == "uk-vat"
    assert parse_args(["--company-profile", "ca-gst-hst"]).company_profile == "ca-gst-hst"
    assert parse_args([]).company_profile == "us-ast"


def test_it_lets_a_person_sign_up_for_a_new_company_on_the_authorize_page(emu):
    """Issue 16 (1): the authorize page offers a new company of a chosen profile."""
    params = {"client_id": "emulator-client-id", "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
              "redirect_uri": "http://127.0.0.1:9/cb", "state": "s"}
    page = requests.get(emu.base_url + "/connect/oauth2", params=params, timeout=5)
    assert 'value="au-gst"' in page.text
    answer = requests.post(emu.base_url + "/connect/oauth2", data=dict(params, realm_id="new", profile="au-gst",
                                                                         decision="allow"),
                           allow_redirects=False, timeout=5)
    realm = answer.headers["Location"].split("realmId=")[1].split("&")[0]
    assert emu.control("GET", f"/companies/{realm}").json()["profile"] == "au-gst"
