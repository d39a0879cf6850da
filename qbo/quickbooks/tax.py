"""Sales tax on the way to QuickBooks: which tax code each ledger rate becomes, and the tax part of
an invoice's or credit memo's payload, by the company's tax mode (qbo-2025-2026 §2.1).

- Outside the US every sales line carries a `TaxCodeRef` (QuickBooks refuses a line without one,
  6000 "Make sure all your transactions have a VAT rate"). A ledger rate becomes the code an admin
  chose on the Tax screen, else the one active sales code of the same percent (several: the one
  whose name matches). A line whose rate maps to no code is stopped before anything is sent, as
  `tax-code-missing`. Lines without a rate need a 0% code too (Exempt, FRE...).
- US automated sales tax (AST): lines carry `TAX`/`NON`. "QuickBooks calculates": nothing more is
  sent, and the tax QuickBooks computed is adopted into the ledger after the write. "Use our tax":
  the ledger's tax goes as `TxnTaxDetail.TotalTax` with a `TxnTaxCodeRef`, the only override AST
  honours (Intuit blog 2017-12-11).
- US manual sales tax: `TAX`/`NON` lines, and the mapped code of the document's rate with the
  ledger's tax as `TotalTax`.
Whatever still differs after a sync is the tie-out's `amount-mismatch` case; `mismatch_cause` names
its cause (`mismatch_cause_facts`, worded per reader by the catalogue).
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import delete, select

from qbo.core.audit import audit
from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.ledger.models import CreditNote, Invoice, TaxRate
from qbo.quickbooks.models import QboCompany, QboTaxMapping, SyncError
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.sync.context import Blocked

NONE_KEY = "none"
US_MODES = ("quickbooks", "ours")
# A line without a rate becomes the first of these 0% codes the company has.
NO_TAX_NAMES = ("exempt", "fre", "no vat", "n-t", "zero-rated", "0.0% z", "out of scope")
SALES_DOCS = ("invoice", "credit_note")


def rate_key(rate: TaxRate | None) -> str:
    return f"rate:{rate.id}" if rate is not None else NONE_KEY


def sales_codes(snapshot: QboCompany | None) -> list[dict]:
    """The company's active tax codes usable on sales."""
    return [c for c in (snapshot.tax_codes if snapshot else []) or [] if c.get("active") and c.get("sales")]


def _code_by_id(snapshot: QboCompany | None, code_id: str) -> dict | None:
    return next((c for c in (snapshot.tax_codes if snapshot else []) or [] if c["id"] == str(code_id)), None)


def auto_match(rate: TaxRate | None, snapshot: QboCompany | None) -> dict | None:
    """The code a rate matches on its own: the one active sales code of the same percent, or among
    several, the one whose name matches the rate's. None when there is none, or no clear one."""
    codes = sales_codes(snapshot)
    if rate is None:
        zero = [c for c in codes if Decimal(c["percent"]) == 0]
        for name in NO_TAX_NAMES:
            found = [c for c in zero if c["name"].casefold() == name]
            if found:
                return found[0]
        return zero[0] if len(zero) == 1 else None
    same = [c for c in codes if Decimal(c["percent"]) == rate.percent]
    if len(same) <= 1:
        return same[0] if same else None
    wanted = rate.name.casefold()
    named = [c for c in same if c["name"].casefold() in wanted or wanted in c["name"].casefold()]
    return named[0] if len(named) == 1 else None


def _mappings(firm_id: int) -> dict[str, QboTaxMapping]:
    return {m.rate_key: m for m in db.session.scalars(select(QboTaxMapping).where(QboTaxMapping.firm_id == firm_id))}


def code_for(firm_id: int, rate: TaxRate | None, snapshot: QboCompany | None,
             mappings: dict[str, QboTaxMapping] | None = None) -> dict | None:
    """The QuickBooks tax code a ledger rate (None: no rate) becomes, if any."""
    mappings = _mappings(firm_id) if mappings is None else mappings
    chosen = mappings.get(rate_key(rate))
    if chosen is not None:
        code = _code_by_id(snapshot, chosen.tax_code_id)
        return code if code is not None and code.get("active") and code.get("sales") else None
    return auto_match(rate, snapshot)


def screen(firm_id: int, snapshot: QboCompany | None) -> list[dict]:
    """The Tax screen's rows: each active ledger rate, plus lines without a rate outside the US,
    with the code chosen, the code matched automatically and the one that applies."""
    mappings = _mappings(firm_id)
    rows = []
    targets: list[TaxRate | None] = list(ledger_tax.rates(firm_id))
    if snapshot is None or snapshot.tax_mode == "non_us":
        targets.append(None)
    for rate in targets:
        chosen = mappings.get(rate_key(rate))
        rows.append({"key": rate_key(rate), "rate": rate,
                     "chosen": _code_by_id(snapshot, chosen.tax_code_id) if chosen else None,
                     "chosen_id": chosen.tax_code_id if chosen else None,
                     "automatic": auto_match(rate, snapshot),
                     "applies": code_for(firm_id, rate, snapshot, mappings)})
    return rows


class MappingInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid tax mapping")
        self.errors = errors


def save_mappings(firm, form: dict, snapshot: QboCompany | None, *, user_id: int | None) -> int:
    """Store the admin's choices (`map-<rate key>` = a tax code id, or "" for automatic), then mark
    every document stopped by `tax-code-missing` pending again; returns how many. The caller
    commits, then enqueues the sync."""
    keys = {row["key"] for row in screen(firm.id, snapshot)}
    codes = {c["id"]: c for c in sales_codes(snapshot)}
    errors = {}
    wanted = {}
    for field, value in form.items():
        if not field.startswith("map-"):
            continue
        key, value = field[4:], (value or "").strip()
        if key not in keys:
            errors[field] = [_("is not one of the firm's tax rates")]
        elif value and value not in codes:
            errors[field] = [_("is not an active sales tax code of the QuickBooks company")]
        elif value and snapshot.tax_mode != "ast" and Decimal(codes[value]["percent"]) != _percent_of(firm.id, key):
            # QuickBooks computes the tax from the code's own rates: a code of another percent
            # would charge the client something else than the ledger shows.
            errors[field] = [_("is %(code)s%%, not the rate's %(rate)s%%: QuickBooks would charge another tax",
                               code=codes[value]["percent"], rate=f"{_percent_of(firm.id, key).normalize():f}")]
        else:
            wanted[key] = value
    if errors:
        raise MappingInvalid(errors)
    existing = _mappings(firm.id)
    for key, code_id in wanted.items():
        row = existing.get(key)
        if not code_id:
            if row is not None:
                db.session.execute(delete(QboTaxMapping).where(QboTaxMapping.id == row.id))
            continue
        if row is None:
            row = QboTaxMapping(firm_id=firm.id, rate_key=key)
            db.session.add(row)
        row.tax_code_id, row.tax_code_name, row.chosen_by_id = code_id, codes[code_id]["name"], user_id
    audit(firm.id, user_id, "quickbooks.tax_mapping_saved", None, mappings=wanted)
    db.session.flush()
    return resync_blocked(firm.id)


def _percent_of(firm_id: int, key: str) -> Decimal:
    rate = ledger_tax.get_rate(firm_id, key.removeprefix("rate:")) if key != NONE_KEY else None
    return rate.percent if rate is not None else Decimal("0")


def resync_blocked(firm_id: int) -> int:
    """Mark the documents held by an open `tax-code-missing` pending again (the sync checks them
    afresh, before sending anything)."""
    from qbo.quickbooks.sync.marking import mark_pending  # marking imports the sync modules, which import this

    blocked = db.session.execute(select(SyncError.record_type, SyncError.record_id).where(
        SyncError.firm_id == firm_id, SyncError.case == "tax-code-missing", SyncError.status == "open")).all()
    for record_type, record_id in blocked:
        mark_pending(firm_id, record_type, record_id)
    return len(blocked)


def set_us_mode(firm, mode: str, *, user_id: int | None) -> None:
    """The firm's choice for US automated sales tax; every sales document is sent again with it."""
    if mode not in US_MODES:
        raise MappingInvalid({"us_sales_tax": [_("must be one of: %(choices)s", choices=", ".join(US_MODES))]})
    if firm.us_sales_tax == mode:
        return
    from qbo.quickbooks.sync.marking import mark_pending

    firm.us_sales_tax = mode
    audit(firm.id, user_id, "quickbooks.us_sales_tax_changed", None, mode=mode)
    for model, record_type in ((Invoice, "invoice"), (CreditNote, "credit_note")):
        for record_id in db.session.scalars(select(model.id).where(model.firm_id == firm.id, model.deleted_at.is_(None))):
            mark_pending(firm.id, record_type, record_id)


# --- the payload -------------------------------------------------------------------------------------


def _describe(code: dict) -> str:
    return f"{code['name']} ({code['percent']}%)"


def _missing(rate: TaxRate | None, snapshot: QboCompany, mapped_inactive: bool) -> Blocked:
    what = f"the rate \"{rate.name}\" ({rate.percent.normalize():f}%)" if rate is not None else "lines without a tax rate"
    codes = ", ".join(_describe(c) for c in sales_codes(snapshot)) or "none"
    why = " The code chosen for it is inactive in QuickBooks or no longer exists." if mapped_inactive else ""
    return Blocked("tax-code-missing",
                   f"No QuickBooks tax code for {what}.{why} QuickBooks has: {codes}. Choose one in "
                   "Settings > Integrations > QuickBooks > Tax, or create a tax code with that rate in "
                   "QuickBooks, then resync.",
                   field="tax_rate_id", value=rate.name if rate is not None else None, kind="no-tax-code",
                   rate=rate.name if rate is not None else None,
                   percent=f"{rate.percent.normalize():f}" if rate is not None else None,
                   codes=[_describe(c) for c in sales_codes(snapshot)], inactive=mapped_inactive)


def _code_or_reread(ctx, firm_id: int, rate, snapshot: QboCompany, mappings) -> dict | None:
    """The rate's code; when there is none, the company's tax codes are read once more in this
    sync run (TaxCode is not in CDC, ref §6): someone may just have created the code in QuickBooks."""
    code = code_for(firm_id, rate, snapshot, mappings)
    if code is None and not getattr(ctx, "tax_codes_reread", False):
        from qbo.quickbooks import company

        ctx.tax_codes_reread = True
        snapshot.tax_codes = company.tax_codes(ctx.client)
        code = code_for(firm_id, rate, snapshot, mappings)
    return code


def apply_to_payload(payload: dict, doc, ctx) -> None:
    """Add the tax part to an invoice's or credit memo's payload (lines in the order of doc.lines);
    raises Blocked("tax-code-missing") before anything is sent when a rate maps to no code."""
    snapshot = ctx.company
    if snapshot is None or snapshot.tax_mode == "none":
        return
    pairs = [(entry, line) for entry, line in zip(payload.get("Line", []), doc.lines)
             if entry.get("DetailType") == "SalesItemLineDetail"]
    mappings = _mappings(doc.firm_id)
    if snapshot.tax_mode == "non_us":
        for entry, line in pairs:
            code = _code_or_reread(ctx, doc.firm_id, line.tax_rate, snapshot, mappings)
            if code is None:
                raise _missing(line.tax_rate, snapshot, rate_key(line.tax_rate) in mappings)
            entry["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code["id"]}
        payload["GlobalTaxCalculation"] = "TaxExcluded"
        return
    # US: TAX/NON lines; the ledger's tax as an override unless QuickBooks calculates (AST).
    for entry, line in pairs:
        entry["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX" if line.tax_rate is not None else "NON"}
    taxed = [line.tax_rate for _, line in pairs if line.tax_rate is not None]
    if not taxed or (snapshot.tax_mode == "ast" and ctx.firm.us_sales_tax == "quickbooks"):
        return
    code = _code_or_reread(ctx, doc.firm_id, taxed[0], snapshot, mappings)
    if code is None and snapshot.tax_mode == "ast":
        # AST checks the code exists and ignores it (Intuit blog 2017-12-11): any active one will do.
        code = next(iter(sales_codes(snapshot)), None)
    if code is None:
        raise _missing(taxed[0], snapshot, rate_key(taxed[0]) in mappings)
    payload["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": code["id"]},
                               "TotalTax": float(ledger_tax.computed_tax(doc))}


def apply_to_refund(payload: dict, ctx) -> None:
    """A refund receipt's line carries no tax: NON in the US, the no-tax code elsewhere."""
    snapshot = ctx.company
    if snapshot is None or snapshot.tax_mode == "none":
        return
    for entry in payload.get("Line", []):
        detail = entry.get("SalesItemLineDetail")
        if detail is None:
            continue
        if snapshot.tax_mode == "non_us":
            code = _code_or_reread(ctx, ctx.firm.id, None, snapshot, _mappings(ctx.firm.id))
            if code is None:
                raise _missing(None, snapshot, NONE_KEY in _mappings(ctx.firm.id))
            detail["TaxCodeRef"] = {"value": code["id"]}
        else:
            detail["TaxCodeRef"] = {"value": "NON"}


def adopt(record_type: str, doc, entity: dict, ctx) -> None:
    """After a write: in a US AST company where QuickBooks calculates, the ledger adopts the tax
    QuickBooks computed (the invoice says so); otherwise the ledger's own tax stands."""
    if record_type not in SALES_DOCS or doc is None or not isinstance(entity, dict):
        return
    snapshot = ctx.company
    if snapshot is not None and snapshot.tax_mode == "ast" and ctx.firm.us_sales_tax == "quickbooks":
        total_tax = (entity.get("TxnTaxDetail") or {}).get("TotalTax")
        adopted = Decimal(str(total_tax or 0)).quantize(Decimal("0.01"))
        if doc.adopted_tax != adopted:
            doc.adopted_tax = adopted
    elif doc.adopted_tax is not None:
        doc.adopted_tax = None


def mismatch_cause_facts(doc, entity: dict, snapshot: QboCompany | None,
                         us_sales_tax: str = "quickbooks") -> dict | None:
    """Why QuickBooks' total for a synced invoice or credit memo differs from the ledger's, as facts
    in no language ({"kind", "quickbooks", "ledger"}: the two taxes) for the tie-out's
    `amount-mismatch` case; None when the tax explains nothing."""
    theirs_tax = Decimal(str((entity.get("TxnTaxDetail") or {}).get("TotalTax") or 0)).quantize(Decimal("0.01"))
    ours_tax = doc.tax
    if theirs_tax == ours_tax:
        return None
    ast_calculates = snapshot is not None and snapshot.tax_mode == "ast" and us_sales_tax == "quickbooks"
    if ast_calculates and getattr(doc, "adopted_tax", None) is None:
        kind = "ast-not-adopted"  # linked to the copy already in QuickBooks: nothing adopted yet
    elif ast_calculates:
        kind = "ast-recalculated"
    elif snapshot is not None and snapshot.tax_mode in ("ast", "manual"):
        kind = "tax-override"
    elif theirs_tax == ledger_tax.computed_tax(doc, "line"):
        kind = "line-rounding"
    else:
        kind = "tax-rate"
    return {"kind": kind, "quickbooks": str(theirs_tax), "ledger": str(ours_tax)}


def mismatch_cause(doc, entity: dict, snapshot: QboCompany | None, us_sales_tax: str = "quickbooks") -> str | None:
    """`mismatch_cause_facts` in English words (the stored detail and message, for the API and logs)."""
    facts = mismatch_cause_facts(doc, entity, snapshot, us_sales_tax)
    return catalogue.tax_cause_text(facts) if facts else None
