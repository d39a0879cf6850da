"""Sales tax as QBO computes it (issue 16 (2); qbo-2025-2026 §2.1)."""

import uuid

from emulator.testing import QboHttp, fault_of


def _company(emu, profile, **extra):
    realm = emu.control("POST", "/companies", json=dict({"profile": profile}, **extra)).json()["realm_id"]
    return QboHttp(emu, realm)


def _line(amount, code=None):
    detail = {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}
    if code is not None:
        detail["TaxCodeRef"] = {"value": code}
    return {"Amount": amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}


def _code_id(qbo, name):
    codes = qbo.query("select * from TaxCode where Active in (true, false)").json()["QueryResponse"]["TaxCode"]
    return next(c["Id"] for c in codes if c["Name"] == name)


def _sale(qbo, lines, **fields):
    customer = qbo.customer(f"Buyer {uuid.uuid4().hex[:8]}")
    return qbo.post("/invoice", dict({"CustomerRef": {"value": customer["Id"]}, "Line": lines}, **fields))


NYC = {"Line1": "1 Broadway", "City": "New York", "CountrySubDivisionCode": "NY", "PostalCode": "10004"}


# -- US, automated sales tax --------------------------------------------------------------------

def test_it_computes_ast_tax_from_the_ship_to_address(emu):
    """§2.1 AST: "chooses the code from the ship-to address"; NYC 4 + 4.5 + 0.375 = 8.875%."""
    qbo = _company(emu, "us-ast")
    invoice = _sale(qbo, [_line(100, "TAX")], ShipAddr=NYC).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 8.88 and invoice["TotalAmt"] == 108.88
    assert [t["TaxLineDetail"]["TaxPercent"] for t in invoice["TxnTaxDetail"]["TaxLine"]] == [4, 4.5, 0.375]


def test_it_computes_ast_tax_from_the_company_address_without_a_ship_to(emu):
    """§2.1 AST: "or the company address when there is none" (CA 940xx: 9.125% in our table)."""
    qbo = _company(emu, "us-ast", address={"City": "Mountain View", "CountrySubDivisionCode": "CA", "PostalCode": "94043"})
    invoice = _sale(qbo, [_line(200, "TAX")]).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 18.25 and invoice["TotalAmt"] == 218.25


def test_it_leaves_non_lines_untaxed_under_ast(emu):
    """ref §4 Invoice: US lines carry TAX/NON; NON is not taxed."""
    qbo = _company(emu, "us-ast")
    invoice = _sale(qbo, [_line(100, "TAX"), _line(50, "NON")], ShipAddr=NYC).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 8.88


def test_it_ignores_the_tax_code_sent_under_ast(emu):
    """§2.1: AST picks the code itself (PHP SDK#83/#199: "the tax code was ignored")."""
    qbo = _company(emu, "us-ast")
    invoice = _sale(qbo, [_line(100, "TAX")], ShipAddr=NYC,
                    TxnTaxDetail={"TxnTaxCodeRef": {"value": _code_id(qbo, "CA")}}).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 8.88
    assert invoice["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == _code_id(qbo, "NY 100xx")


def test_it_honours_a_sent_total_tax_and_spreads_it_under_ast(emu):
    """§2.1: a sent TxnTaxDetail.TotalTax (with TxnTaxCodeRef) is "honoured and spread across" AST's rates."""
    qbo = _company(emu, "us-ast")
    invoice = _sale(qbo, [_line(100, "TAX")], ShipAddr=NYC,
                    TxnTaxDetail={"TxnTaxCodeRef": {"value": _code_id(qbo, "NY 100xx")}, "TotalTax": 10}).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 10 and invoice["TotalAmt"] == 110
    assert [t["Amount"] for t in invoice["TxnTaxDetail"]["TaxLine"]] == [4.51, 5.07, 0.42]


def test_it_refuses_a_company_tax_code_on_a_us_line(emu):
    """ref §4 Invoice: a US line's TaxCodeRef is TAX or NON; anything else 2500."""
    qbo = _company(emu, "us-ast")
    response = _sale(qbo, [_line(100, _code_id(qbo, "CA"))])
    assert (fault_of(response)["code"], fault_of(response)["element"]) == ("2500", "Line.SalesItemLineDetail.TaxCodeRef")


# -- US, manual sales tax (pre-2017) ------------------------------------------------------------

def test_it_charges_the_rate_of_the_txn_tax_code_in_a_manual_company(emu):
    """§2.1 (Invoice Ninja: US without AST, TxnTaxDetail with the code's rates): 7.25 + 1.875 = 9.125%."""
    qbo = _company(emu, "us-manual-tax")
    invoice = _sale(qbo, [_line(100, "TAX"), _line(40, "NON")],
                    TxnTaxDetail={"TxnTaxCodeRef": {"value": _code_id(qbo, "Santa Clara")}}).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 9.13 and invoice["TotalAmt"] == 149.13


def test_it_charges_no_tax_without_a_txn_tax_code_in_a_manual_company(emu):
    """§2.1: in a manual company the TxnTaxCodeRef picks the rate; none, no tax."""
    qbo = _company(emu, "us-manual-tax")
    assert _sale(qbo, [_line(100, "TAX")]).json()["Invoice"]["TotalAmt"] == 100


def test_it_refuses_an_inactive_tax_code(emu):
    """ref §2 2500 with the "made inactive" text, for a tax code too."""
    qbo = _company(emu, "us-manual-tax")
    response = _sale(qbo, [_line(100, "TAX")], TxnTaxDetail={"TxnTaxCodeRef": {"value": _code_id(qbo, "Old District")}})
    assert fault_of(response)["code"] == "2500" and "made inactive" in fault_of(response)["Detail"]


# -- UK, Canada, Australia ----------------------------------------------------------------------

def test_it_requires_a_vat_rate_on_every_uk_sales_line(emu):
    """§2.1: "Make sure all your transactions have a VAT rate before you save." (6000, mcp-server#94)."""
    qbo = _company(emu, "uk-vat")
    error = fault_of(_sale(qbo, [_line(100, _code_id(qbo, "20.0% S")), _line(10)]))
    assert error["code"] == "6000"
    assert error["Detail"] == "Business Validation Error: Make sure all your transactions have a VAT rate before you save."


def test_it_names_gst_hst_in_canada(emu):
    """§2.1: "the same for GST/HST in Canada" (docs.zuper.co)."""
    qbo = _company(emu, "ca-gst-hst")
    assert "GST/HST rate" in fault_of(_sale(qbo, [_line(100)]))["Detail"]


def test_it_computes_vat_per_line_and_rounds_each_line_half_up(emu):
    """§2.1: tax "computed and rounded per line" (Teachworks): 2 x round(10.03 x 20%) = 4.02, not 4.01."""
    qbo = _company(emu, "uk-vat")
    standard = _code_id(qbo, "20.0% S")
    invoice = _sale(qbo, [_line(10.03, standard), _line(10.03, standard)]).json()["Invoice"]
    detail = invoice["TxnTaxDetail"]
    assert detail["TotalTax"] == 4.02 and invoice["TotalAmt"] == 24.08
    assert detail["TaxLine"][0]["TaxLineDetail"] | {"TaxRateRef": None} == {
        "TaxRateRef": None, "PercentBased": True, "TaxPercent": 20, "NetAmountTaxable": 20.06}
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"


def test_it_fills_one_tax_line_per_rate_of_a_combined_code(emu):
    """§2.1 TaxLine[] with TaxRateRef, TaxPercent, NetAmountTaxable: GST 5% + QST 9.975%."""
    qbo = _company(emu, "ca-gst-hst")
    invoice = _sale(qbo, [_line(100, _code_id(qbo, "GST/QST QC - 9.975"))]).json()["Invoice"]
    assert [(t["TaxLineDetail"]["TaxPercent"], t["Amount"]) for t in invoice["TxnTaxDetail"]["TaxLine"]] == [(5, 5), (9.975, 9.98)]
    assert invoice["TotalAmt"] == 114.98


def test_it_computes_australian_gst(emu):
    """§2.1 non-US: GST 10% per line."""
    qbo = _company(emu, "au-gst")
    assert _sale(qbo, [_line(55, _code_id(qbo, "GST"))]).json()["Invoice"]["TotalAmt"] == 60.5


def test_it_refuses_non_outside_the_us(emu):
    """§2.1: "NON" is not valid outside the US (Invoice Ninja)."""
    qbo = _company(emu, "uk-vat")
    assert fault_of(_sale(qbo, [_line(100, "NON")]))["code"] == "2500"


def test_it_refuses_an_unknown_or_inactive_vat_code(emu):
    """ref §2 2500: unknown id; an inactive code gets the made-inactive text."""
    qbo = _company(emu, "uk-vat")
    assert fault_of(_sale(qbo, [_line(100, "999")]))["element"] == "Line.SalesItemLineDetail.TaxCodeRef"
    assert "made inactive" in fault_of(_sale(qbo, [_line(100, _code_id(qbo, "17.5% S"))]))["Detail"]


def test_it_refuses_a_purchase_only_code_on_a_sale(emu):
    """Issue 16 (2): a code of the wrong kind (stricter: 6000, our wording; no source gives QBO's)."""
    qbo = _company(emu, "uk-vat")
    error = fault_of(_sale(qbo, [_line(100, _code_id(qbo, "20.0% RC"))]))
    assert error["code"] == "6000" and "only be used on purchases" in error["Detail"]


def test_it_accepts_a_purchase_code_on_an_expense_line(emu):
    """qbTypesDump AccountBasedExpenseLineDetail.TaxCodeRef: a purchase code is right there."""
    qbo = _company(emu, "uk-vat")
    purchase = qbo.create("Purchase", {"PaymentType": "Cash", "AccountRef": {"value": qbo.account_id("Checking")},
                                       "Line": [{"Amount": 10, "DetailType": "AccountBasedExpenseLineDetail",
                                                 "AccountBasedExpenseLineDetail": {
                                                     "AccountRef": {"value": qbo.account_id("Merchant Fees")},
                                                     "TaxCodeRef": {"value": _code_id(qbo, "20.0% RC")}}}]})
    assert purchase["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"]["name"] == "20.0% RC"
