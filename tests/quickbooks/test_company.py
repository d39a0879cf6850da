"""The snapshot of what the connected QuickBooks company is (qbo/quickbooks/company.py)."""
import pytest

from qbo.quickbooks import company


@pytest.mark.parametrize("profile, region, tax_mode, currency", [
    ("us-ast", "US", "ast", "USD"), ("us-manual-tax", "US", "manual", "USD"),
    ("uk-vat", "GB", "non_us", "GBP"), ("ca-gst-hst", "CA", "non_us", "CAD"),
    ("au-gst", "AU", "non_us", "AUD"),
])
def test_it_reads_the_company_at_connect(connect_company, profile, region, tax_mode, currency):
    owner = connect_company(profile)
    snapshot = company.get(owner.firm_id)
    assert (snapshot.region, snapshot.tax_mode, snapshot.home_currency) == (region, tax_mode, currency)
    assert snapshot.realm_id == owner.realm_id and snapshot.multicurrency is False
    assert owner.firm.tax_rounding == ("document" if region == "US" else "line")


def test_it_keeps_the_company_sales_tax_codes_with_their_rates(connect_company):
    owner = connect_company("uk-vat")
    codes = {c["name"]: c for c in company.get(owner.firm_id).tax_codes}
    assert codes["20.0% S"]["percent"] == "20" and codes["20.0% S"]["active"]
    assert codes["17.5% S"]["active"] is False
    assert codes["20.0% RC"]["sales"] is False  # purchases only
