"""Sales tax in the ledger: the firm's tax rates, the rate each line carries, and the net, tax and
gross of a document, rounded the way QuickBooks rounds them in the firm's region.

Outside the US QuickBooks computes tax per line and rounds each line half-up, then sums
(qbo-2025-2026 §2.1, "Tax is computed and rounded per line"); US sales tax is computed on the
taxable total of each rate. The firm's `tax_rounding` says which ("line" or "document"); the
QuickBooks side sets it from the company it is connected to. Nothing here knows about QuickBooks.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from qbo.accounts.models import Firm
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.ledger import validation as v
from qbo.ledger.models import TaxRate

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDINGS = ("line", "document")


class TaxRateInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid tax rate")
        self.errors = errors


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_tax(line) -> Decimal:
    """The tax of one line on its own, rounded half-up (what QuickBooks shows outside the US)."""
    rate = line.tax_rate
    if rate is None:
        return ZERO
    return half_up(line.amount * rate.percent / 100)


def tax_by_rate(doc, rounding: str | None = None) -> dict[int, tuple[Decimal, Decimal]]:
    """{tax rate id: (taxable net, tax)} of a document, rounded per line or per rate."""
    rounding = rounding or _rounding_of(doc)
    out: dict[int, tuple[Decimal, Decimal]] = {}
    for line in doc.lines:
        if line.tax_rate is None:
            continue
        net, tax = out.get(line.tax_rate.id, (ZERO, ZERO))
        out[line.tax_rate.id] = (net + line.amount, tax + (line_tax(line) if rounding == "line" else ZERO))
    if rounding == "document":
        rates = {line.tax_rate.id: line.tax_rate for line in doc.lines if line.tax_rate is not None}
        out = {rid: (net, half_up(net * rates[rid].percent / 100)) for rid, (net, _) in out.items()}
    return out


def computed_tax(doc, rounding: str | None = None) -> Decimal:
    """The ledger's own tax for a document, before anything QuickBooks computed."""
    return sum((tax for _, tax in tax_by_rate(doc, rounding).values()), ZERO)


def document_tax(doc) -> Decimal:
    """The document's tax: QuickBooks' figure when the firm adopted it, else the ledger's."""
    if getattr(doc, "adopted_tax", None) is not None:
        return doc.adopted_tax
    return computed_tax(doc)


def _rounding_of(doc) -> str:
    firm = db.session.get(Firm, doc.firm_id) if doc.firm_id is not None else None
    return firm.tax_rounding if firm is not None and firm.tax_rounding in ROUNDINGS else "line"


# --- the firm's rates -------------------------------------------------------------------------------


def rates(firm_id: int, *, include_inactive: bool = False) -> list[TaxRate]:
    stmt = select(TaxRate).where(TaxRate.firm_id == firm_id)
    if not include_inactive:
        stmt = stmt.where(TaxRate.active.is_(True))
    return list(db.session.scalars(stmt.order_by(TaxRate.percent.desc(), TaxRate.name)))


def get_rate(firm_id: int, rate_id) -> TaxRate | None:
    try:
        rate_id = int(rate_id)
    except (TypeError, ValueError):
        return None
    rate = db.session.get(TaxRate, rate_id)
    return rate if rate is not None and rate.firm_id == firm_id else None


def save_rate(firm: Firm, data: dict, *, record: TaxRate | None = None, user_id=None) -> TaxRate:
    """Create or edit a tax rate (name unique in the firm, percent 0-100); raises TaxRateInvalid."""
    errors = v.Errors()
    name = v.text(data, "name", errors, required=True, max_length=100)
    percent = v.decimal(data, "percent", errors, required=True, places=4, minimum=ZERO,
                        maximum=Decimal("100"))
    if name is not None:
        stmt = select(TaxRate.id).where(TaxRate.firm_id == firm.id, func.lower(TaxRate.name) == name.lower())
        if record is not None:
            stmt = stmt.where(TaxRate.id != record.id)
        if db.session.scalar(stmt.limit(1)) is not None:
            errors.add("name", _("is already used by another tax rate"))
    if errors:
        raise TaxRateInvalid(dict(errors))
    if record is None:
        record = TaxRate(firm_id=firm.id, active=True)
        db.session.add(record)
    record.name, record.percent = name, percent
    try:
        db.session.flush()
    except IntegrityError as exc:
        # The unique (firm_id, name) index refused it: a writer that checked at the same moment, or a
        # name the lower() check missed (SQLite's lower() folds ASCII only). The same 422 as the check.
        db.session.rollback()
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint != "uq_tax_rates_firm_id" and "tax_rates.firm_id, tax_rates.name" not in str(exc.orig):
            raise
        raise TaxRateInvalid({"name": [_("is already used by another tax rate")]}) from exc
    audit(firm.id, user_id, "tax_rate.saved", None, tax_rate_id=record.id, name=name, percent=str(percent))
    return record


def rate_json(rate: TaxRate) -> dict:
    return {"id": rate.id, "name": rate.name, "percent": f"{rate.percent.normalize():f}", "active": rate.active}


def amounts_json(doc) -> dict:
    """Net, tax and gross of a document, as the API shows them."""
    return {"net": str(doc.net), "tax": str(doc.tax), "gross": str(doc.total),
            "tax_adopted_from_quickbooks": doc.adopted_tax is not None}


# --- what services and lines carry ----------------------------------------------------------------

_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no", "")


def _flag(data: dict, field: str, errors: v.Errors) -> bool | None:
    value = data.get(field)
    if value is None or isinstance(value, bool):
        return value
    if str(value).strip().lower() in _TRUE:
        return True
    if str(value).strip().lower() in _FALSE:
        return False
    errors.add(field, _("must be true or false"))
    return None


def _rate_ref(firm: Firm, data: dict, field: str, errors: v.Errors) -> TaxRate | None:
    rate_id = v.integer_id(data, field, errors)
    if rate_id is None:
        return None
    rate = get_rate(firm.id, rate_id)
    if rate is None or not rate.active:
        errors.add(field, _("is not one of the firm's tax rates"))
        return None
    return rate


def service_treatment(firm: Firm, data: dict, errors: v.Errors) -> dict:
    """A service's tax treatment: `taxable`, and `tax_rate_id`, the rate its lines default to
    (giving a rate makes the service taxable; an untaxed service has none)."""
    rate = _rate_ref(firm, data, "tax_rate_id", errors)
    taxable = _flag(data, "taxable", errors)
    if taxable is None:
        taxable = rate is not None
    if not taxable:
        rate = None
    return {"taxable": bool(taxable), "tax_rate_id": rate.id if rate else None}


def line_rate(firm: Firm, line: dict, service, errors: v.Errors) -> int | None:
    """The tax rate of a line: the one sent (null or "none": no tax, an exempt line); when none is
    sent (absent or ""), its service's."""
    value = line.get("tax_rate_id", "")
    if value is None or value == "none":
        return None  # an exempt line (a form's "No tax")
    if not (isinstance(value, str) and value.strip() == ""):
        rate = _rate_ref(firm, line, "tax_rate_id", errors)
        return rate.id if rate else None
    if service is not None and service.taxable and service.tax_rate_id is not None:
        return service.tax_rate_id
    return None
