"""Issue 16 done-when: python-quickbooks (unpatched, a dev dependency) creates a taxed invoice in
each company profile and a foreign-currency invoice against the emulator (qbo-2025-2026 §2.1, §2.3)."""

import uuid
import warnings
from decimal import ROUND_HALF_UP, Decimal

import pytest
from quickbooks import QuickBooks
from quickbooks.objects.account import Account
from quickbooks.objects.base import Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.tax import TxnTaxDetail
from quickbooks.objects.taxcode import TaxCode

NYC = {"Line1": "1 Broadway", "City": "New York", "CountrySubDivisionCode": "NY", "PostalCode": "10004"}


def _client(emu, realm, monkeypatch):
    from intuitlib.client import AuthClient

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    tokens = emu.connect(realm_id=realm)
    auth = AuthClient("emulator-client-id", "emulator-client-secret", "http://127.0.0.1:9/callback",
                      environment=emu.discovery_url, access_token=tokens["access_token"],
                      refresh_token=tokens["refresh_token"], realm_id=realm)

    class EmulatorQuickBooks(QuickBooks):
        api_url_v3 = sandbox_api_url_v3 = emu.base_url + "/v3"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return EmulatorQuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm,
                                  minorversion=75)


def _ref(value):
    ref = Ref()
    ref.value = value
    return ref


def _customer(qb, **fields):
    customer = Customer()
    customer.DisplayName = f"Buyer {uuid.uuid4().hex[:8]}"
    for key, value in fields.items():
        setattr(customer, key, value)
    return customer.save(qb=qb)


def _item(qb, taxable):
    item = Item()
    item.Name, item.Type, item.Taxable = f"Service {uuid.uuid4().hex[:6]}", "Service", taxable
    item.IncomeAccountRef = Account.filter(AccountType="Income", qb=qb)[0].to_ref()
    return item.save(qb=qb)


def _line(item, amount, code):
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty, line.SalesItemLineDetail.UnitPrice = 1, amount
    line.SalesItemLineDetail.TaxCodeRef = _ref(code)
    return line


def _cents(value):
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# (profile, company address, line code ("TAX" or a tax code's name), the invoice's code (US
# manual tax), rate, amounts, tax rounded per line)
PROFILES = [
    ("us-ast", NYC, "TAX", None, "0.08875", ["100", "40"], False),
    ("us-manual-tax", None, "TAX", "Santa Clara", "0.09125", ["100", "40"], False),
    ("uk-vat", None, "20.0% S", None, "0.20", ["10.03", "10.03"], True),
    ("ca-gst-hst", None, "HST ON", None, "0.13", ["10.05", "10.05"], True),
    ("au-gst", None, "GST", None, "0.10", ["10.05", "10.05"], True),
]


@pytest.mark.parametrize("profile, address, line_code, txn_code, rate, amounts, per_line", PROFILES,
                         ids=[p[0] for p in PROFILES])
def test_it_lets_python_quickbooks_create_a_taxed_invoice_in_each_profile(
        emu, monkeypatch, profile, address, line_code, txn_code, rate, amounts, per_line):
    """§2.1: AST from the company address (NYC 8.875%), the manual code's rates on the taxable sum,
    and outside the US a TaxCodeRef per line, rounded half-up per line."""
    company = {"profile": profile} | ({"address": address} if address else {})
    qb = _client(emu, emu.control("POST", "/companies", json=company).json()["realm_id"], monkeypatch)
    codes = {c.Name: c.Id for c in TaxCode.filter(qb=qb)} | {"TAX": "TAX"}
    item, amounts = _item(qb, taxable=profile.startswith("us")), [Decimal(a) for a in amounts]
    invoice = Invoice()
    invoice.CustomerRef = _customer(qb).to_ref()
    invoice.Line = [_line(item, float(a), codes[line_code]) for a in amounts]
    if txn_code:
        invoice.TxnTaxDetail = TxnTaxDetail()
        invoice.TxnTaxDetail.TxnTaxCodeRef, invoice.TxnTaxDetail.TotalTax = _ref(codes[txn_code]), None
    saved = invoice.save(qb=qb)
    rate = Decimal(rate)
    tax = sum(_cents(a * rate) for a in amounts) if per_line else _cents(sum(amounts) * rate)
    assert tax > 0 and Decimal(str(saved.TxnTaxDetail.TotalTax)) == tax
    assert Decimal(str(saved.TotalAmt)) == sum(amounts) + tax


def test_it_lets_python_quickbooks_bill_a_foreign_customer_in_its_currency(emu, monkeypatch):
    """§2.3: multicurrency on (a person's switch), EUR added; the customer's CurrencyRef fixes the
    invoice's; HomeTotalAmt = TotalAmt x ExchangeRate."""
    assert emu.control("PATCH", f"/companies/{emu.realm_id}/preferences", json={"multicurrency": True}).status_code == 200
    assert emu.control("POST", f"/companies/{emu.realm_id}/CompanyCurrency", json={"Code": "EUR"}).status_code == 201
    qb = _client(emu, emu.realm_id, monkeypatch)
    customer = _customer(qb, CurrencyRef=_ref("EUR"))
    invoice = Invoice()
    invoice.CustomerRef, invoice.CurrencyRef, invoice.ExchangeRate = customer.to_ref(), _ref("EUR"), 1.25
    invoice.Line = [_line(_item(qb, taxable=False), 80, "NON")]
    saved = invoice.save(qb=qb)
    assert (customer.CurrencyRef.value, saved.CurrencyRef.value, saved.TotalAmt) == ("EUR", "EUR", 80)
    assert (saved.ExchangeRate, saved.HomeTotalAmt) == (1.25, 100)
    assert Invoice.get(saved.Id, qb=qb).HomeTotalAmt == 100
