"""Sales tax as QBO computes it, per company profile (qbo-2025-2026 §2.1; issue 16 (2)).

- us-ast (automated sales tax): lines carry TAX/NON only; the rate comes from the ship-to address
  (the transaction's ShipAddr, else the customer's, else the company's) through
  profiles.AST_RATES; a TxnTaxCodeRef sent is checked but ignored, unless it comes with
  TxnTaxDetail.TotalTax, which is then honoured and spread across the rates.
- us-manual-tax: lines carry TAX/NON; TxnTaxDetail.TxnTaxCodeRef picks the code (and its rates);
  without one no tax is charged; a TotalTax sent is honoured the same way.
- uk-vat, ca-gst-hst, au-gst: every sales line needs a TaxCodeRef to an active sales code (6000
  "Make sure all your transactions have a VAT rate before you save." otherwise); tax is computed
  per line and per rate, rounded half-up per line, and summed into one TaxLine per rate.

A US line without a TaxCodeRef is taxable when its item is (`Item.Taxable`). Discount lines don't
reduce the taxable amount. Purchases: codes are checked (active, purchase kind), no tax computed.
"""

from decimal import ROUND_HALF_UP, Decimal

from . import faults as F
from .profiles import PROFILES, ast_rates
from .refs import resolve

CENT = Decimal("0.01")
GLOBAL_TAX = {"TaxExcluded", "TaxInclusive", "NotApplicable"}


def spec_of(company):
    """The company's profile, or None for a company from a data file written before profiles."""
    return PROFILES.get(company.get("profile"))


def is_us(company):
    spec = spec_of(company)
    return spec is None or spec["country"] == "US"


def _round(d):
    return Decimal(d).quantize(CENT, rounding=ROUND_HALF_UP)


def _rates_of(ctx, code_wrapper, kind="SalesTaxRateList"):
    """[(TaxRate wrapper, percent)] of a TaxCode's sales (or purchase) rates."""
    out = []
    for detail in (code_wrapper["data"].get(kind) or {}).get("TaxRateDetail") or []:
        rate = ctx.lookup("TaxRate", detail["TaxRateRef"]["value"])
        if rate is not None:
            out.append((rate, Decimal(str(rate["data"]["RateValue"]))))
    return out


def _code(ctx, ref, element, kind):
    """Resolve a TaxCodeRef to a real code of the right kind (sales or purchase)."""
    code = resolve(ctx, "TaxCode", ref, element)
    if code is None:
        return None  # a US pseudo-code
    list_name = "SalesTaxRateList" if kind == "sales" else "PurchaseTaxRateList"
    if not (code["data"].get(list_name) or {}).get("TaxRateDetail"):
        # QBO refuses a purchase-only code on a sale (and the reverse); the code and wording are
        # not documented: stricter, refused with 6000 and our text.
        other = "purchases" if kind == "sales" else "sales"
        raise F.business(f"The tax code {code['data']['Name']} can only be used on {other}.", element)
    return code


def _tax_lines(per_rate):
    """One TaxLine per rate: {rate id: (wrapper, percent, tax, net)} (qbo-2025-2026 §2.1)."""
    lines = []
    for rate, pct, tax, net in per_rate.values():
        lines.append({"Amount": float(tax), "DetailType": "TaxLineDetail", "TaxLineDetail": {
            "TaxRateRef": {"value": rate["data"]["Id"], "name": rate["data"]["Name"]},
            "PercentBased": True, "TaxPercent": float(pct), "NetAmountTaxable": float(net)}})
    return lines


def _spread(per_rate, total):
    """Honour a sent TotalTax: spread it across the rates by their percent, the last rate
    taking the rounding remainder."""
    items = list(per_rate.items())
    weight = sum((pct for _, (_, pct, _, _) in items), Decimal(0))
    left = total
    for n, (key, (rate, pct, _, net)) in enumerate(items):
        share = left if n == len(items) - 1 else (_round(total * pct / weight) if weight else Decimal(0))
        left -= share
        per_rate[key] = (rate, pct, share, net)


def _address(ctx, data):
    for addr in (data.get("ShipAddr"),):
        if isinstance(addr, dict) and addr.get("CountrySubDivisionCode"):
            return addr
    customer = ctx.lookup("Customer", (data.get("CustomerRef") or {}).get("value") or "")
    if customer is not None:
        addr = customer["data"].get("ShipAddr")
        if isinstance(addr, dict) and addr.get("CountrySubDivisionCode"):
            return addr
    return ctx.store.get(ctx.company, "CompanyInfo", "1")["data"].get("CompanyAddr") or {}


def _ast_code(ctx, addr):
    """The company's AST TaxCode for an address (None where no sales tax is due)."""
    state = (addr.get("CountrySubDivisionCode") or "").upper()
    postcode = str(addr.get("PostalCode") or "")
    parts = ast_rates(state, postcode)
    if not parts:
        return None
    names = [j for j, _ in parts]
    for wrapper in ctx.store.records(ctx.company, "TaxCode").values():
        rates = [d["TaxRateRef"].get("name") for d in
                 (wrapper["data"].get("SalesTaxRateList") or {}).get("TaxRateDetail") or []]
        if rates == names:
            return wrapper
    return None


def _taxable_us(ctx, line):
    detail = line["SalesItemLineDetail"]
    code = (detail.get("TaxCodeRef") or {}).get("value")
    if code is None:
        item = ctx.lookup("Item", (detail.get("ItemRef") or {}).get("value") or "")
        return bool(item and item["data"].get("Taxable"))
    return code == "TAX"


def apply_sales(ctx, entity, data):
    """Fill TxnTaxDetail (TotalTax, TaxLine) and add the tax to TotalAmt."""
    spec = spec_of(ctx.company)
    if spec is None:
        return
    sent = data.get("TxnTaxDetail") if isinstance(data.get("TxnTaxDetail"), dict) else {}
    sent_code = sent.get("TxnTaxCodeRef")
    override = sent.get("TotalTax")
    lines = [line for line in data.get("Line") or [] if line.get("DetailType") == "SalesItemLineDetail"]
    per_rate = {}
    detail = {}
    if spec["country"] == "US":
        for line in lines:
            ref = line["SalesItemLineDetail"].get("TaxCodeRef")
            if ref is not None:
                resolve(ctx, "TaxCode", ref, "Line.SalesItemLineDetail.TaxCodeRef")
                if ctx.strict and ref.get("value") not in ("TAX", "NON"):
                    # ref §4 Invoice: US lines take TAX/NON, not a code of the company.
                    raise F.invalid_reference("Line.SalesItemLineDetail.TaxCodeRef")
        taxable = sum((Decimal(str(line["Amount"])) for line in lines if _taxable_us(ctx, line)),
                      Decimal(0))
        code = None
        if sent_code is not None and ctx.strict:
            code = _code(ctx, sent_code, "TxnTaxDetail.TxnTaxCodeRef", "sales")
        if spec["ast"]:
            code = _ast_code(ctx, _address(ctx, data))
            if sent_code is None:
                override = None  # AST honours TotalTax only with a TxnTaxCodeRef (§2.1)
        for rate, pct in (_rates_of(ctx, code) if code else []):
            per_rate[rate["data"]["Id"]] = (rate, pct, _round(taxable * pct / 100), taxable)
        if code is not None:
            detail["TxnTaxCodeRef"] = {"value": code["data"]["Id"], "name": code["data"]["Name"]}
    else:
        mode = data.setdefault("GlobalTaxCalculation", "TaxExcluded")
        if mode not in GLOBAL_TAX and ctx.strict:
            raise F.invalid_enum("GlobalTaxCalculation", mode)
        if mode == "NotApplicable":
            lines = []
        for line in lines:
            item_detail = line["SalesItemLineDetail"]
            ref = item_detail.get("TaxCodeRef")
            if not ref:
                if not ctx.strict:
                    continue
                # qbo-2025-2026 §2.1: mcp-server#94 (UK), docs.zuper.co (GST/HST).
                raise F.business(f"Make sure all your transactions have a {spec['sales_tax_word']} "
                                 "rate before you save.", "Line.SalesItemLineDetail.TaxCodeRef")
            code = _code(ctx, ref, "Line.SalesItemLineDetail.TaxCodeRef", "sales") if ctx.strict \
                else ctx.lookup("TaxCode", ref.get("value") or "")
            if code is None:
                continue
            amount = Decimal(str(line["Amount"]))
            line_tax = Decimal(0)
            for rate, pct in _rates_of(ctx, code):
                tax = _round(amount * pct / 100)  # per line, half-up (Teachworks; §2.1)
                line_tax += tax
                key = rate["data"]["Id"]
                _, _, so_far, net = per_rate.get(key, (rate, pct, Decimal(0), Decimal(0)))
                per_rate[key] = (rate, pct, so_far + tax, net + amount)
            if mode == "TaxInclusive":
                item_detail["TaxInclusiveAmt"] = float(amount + line_tax)
        if sent_code is not None and ctx.strict:
            code = _code(ctx, sent_code, "TxnTaxDetail.TxnTaxCodeRef", "sales")
            detail["TxnTaxCodeRef"] = {"value": code["data"]["Id"], "name": code["data"]["Name"]}
    total = sum((tax for _, _, tax, _ in per_rate.values()), Decimal(0))
    if override is not None:
        from .rules import dec
        total = _round(dec(override, "TxnTaxDetail.TotalTax"))
        _spread(per_rate, total)
    detail["TotalTax"] = float(total)
    if per_rate:
        detail["TaxLine"] = _tax_lines(per_rate)
    data["TxnTaxDetail"] = detail
    data["TotalAmt"] = float(_round(Decimal(str(data["TotalAmt"])) + total))


def check_purchase_line(ctx, detail, element):
    """A purchase line's TaxCodeRef: an active code with purchase rates (or TAX/NON in the US)."""
    ref = detail.get("TaxCodeRef")
    if ref and ctx.strict:
        _code(ctx, ref, element, "purchase")
