"""What the connected QuickBooks company is: its region, tax mode, home currency, multicurrency,
custom transaction numbers, class and location tracking, and its sales tax codes.

Read from CompanyInfo, Preferences and the TaxCode/TaxRate lists once at connect (reads are
metered, qbo-2025-2026 §1.1), kept in `QboCompany`, and read again only when CDC reports that
Preferences changed. A change that matters (multicurrency, tax mode, custom numbers...) is kept in
`changes` for the connection card and raised on the desk as `company-settings-changed`.

Which tax rules apply is decided by `CompanyInfo.Country` (qbo-2025-2026 §2.1, minimul/qbo_api#85):
US companies with `Preferences.TaxPrefs.PartnerTaxEnabled` use automated sales tax (AST), other US
companies the older manual sales tax; every other country puts a TaxCodeRef on each sales line.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from qbo.accounts.models import Firm
from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks.models import QboCompany

log = logging.getLogger("qbo.company")

# CompanyInfo.Country: QBO reads back ISO 3-letter codes since 2025 ("USA"), older answers and
# the emulator use 2 letters or the English name (qbo-2025-2026 §1.2).
_COUNTRIES = {"US": "US", "USA": "US", "UNITED STATES": "US", "GB": "GB", "GBR": "GB", "UK": "GB",
              "UNITED KINGDOM": "GB", "CA": "CA", "CAN": "CA", "CANADA": "CA", "AU": "AU",
              "AUS": "AU", "AUSTRALIA": "AU"}
# The settings the sync depends on, as the connection card and the desk name them.
WATCHED = ("region", "tax_mode", "home_currency", "multicurrency", "custom_txn_numbers",
           "class_tracking", "location_tracking")


def region_of(country: str | None) -> str:
    return _COUNTRIES.get((country or "").strip().upper(), "other")


def facts(company_info: dict, preferences: dict) -> dict:
    """The snapshot's settings from a CompanyInfo and a Preferences object."""
    country = company_info.get("Country") or (company_info.get("CompanyAddr") or {}).get("Country")
    region = region_of(country)
    tax_prefs = preferences.get("TaxPrefs") or {}
    if region == "US":
        tax_mode = "ast" if tax_prefs.get("PartnerTaxEnabled") else \
            "manual" if tax_prefs.get("UsingSalesTax") else "none"
    else:
        tax_mode = "non_us"
    currency = preferences.get("CurrencyPrefs") or {}
    accounting = preferences.get("AccountingInfoPrefs") or {}
    home = (currency.get("HomeCurrency") or {}).get("value") or {"GB": "GBP", "CA": "CAD", "AU": "AUD"}.get(region, "USD")
    return {
        "country": (country or "")[:3] or None,
        "region": region,
        "tax_mode": tax_mode,
        "home_currency": home,
        "multicurrency": bool(currency.get("MultiCurrencyEnabled")),
        "custom_txn_numbers": bool((preferences.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers")),
        "class_tracking": bool(accounting.get("ClassTrackingPerTxn") or accounting.get("ClassTrackingPerTxnLine")),
        "class_per_line": bool(accounting.get("ClassTrackingPerTxnLine")),
        "location_tracking": bool(accounting.get("TrackDepartments")),
    }


def tax_codes(client) -> list[dict]:
    """The company's sales tax codes with their rates and total percent (inactive ones included,
    marked, so a mapping to one can say why it no longer works)."""
    rates = {r["Id"]: r for r in client.query_all("TaxRate", "Active IN (true, false)")}
    out = []
    for code in client.query_all("TaxCode", "Active IN (true, false)"):
        details = ((code.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
        parts = []
        for detail in details:
            ref = (detail.get("TaxRateRef") or {}).get("value")
            rate = rates.get(ref) or {}
            parts.append({"id": ref, "name": rate.get("Name") or (detail.get("TaxRateRef") or {}).get("name"),
                          "percent": _pct(Decimal(str(rate.get("RateValue", 0))))})
        out.append({"id": str(code["Id"]), "name": code.get("Name", ""), "active": code.get("Active", True) is not False,
                    "sales": bool(parts), "percent": _pct(sum((Decimal(p["percent"]) for p in parts), Decimal("0"))),
                    "rates": parts})
    return sorted(out, key=lambda c: (not c["active"], c["name"].lower()))


def _names(client, entity: str) -> list[dict]:
    """The active classes or locations (Department), by full name, for the firm to choose from."""
    found = [{"id": str(r["Id"]), "name": r.get("FullyQualifiedName") or r.get("Name", "")}
             for r in client.query_all(entity)]
    return sorted(found, key=lambda r: r["name"].lower())


def apply_tracking(payload: dict, ctx) -> None:
    """The firm's class and location on a sales document, when the company tracks them
    (class per line or per transaction, as its Preferences say)."""
    snapshot, firm = ctx.company, ctx.firm
    if snapshot is None:
        return
    if snapshot.location_tracking and firm.qbo_location_id:
        payload["DepartmentRef"] = {"value": firm.qbo_location_id}
    if snapshot.class_tracking and firm.qbo_class_id:
        if snapshot.class_per_line:
            for entry in payload.get("Line", []):
                if "SalesItemLineDetail" in entry:
                    entry["SalesItemLineDetail"]["ClassRef"] = {"value": firm.qbo_class_id}
        else:
            payload["ClassRef"] = {"value": firm.qbo_class_id}


def set_tracking(firm: Firm, snapshot: QboCompany | None, class_id: str | None, location_id: str | None) -> dict:
    """Store the firm's class and location choice; returns per-field errors (nothing stored then)."""
    errors = {}
    classes = {c["id"] for c in (snapshot.classes if snapshot else []) or []}
    locations = {c["id"] for c in (snapshot.locations if snapshot else []) or []}
    if class_id and class_id not in classes:
        errors["qbo_class_id"] = [_("is not an active class of the QuickBooks company")]
    if location_id and location_id not in locations:
        errors["qbo_location_id"] = [_("is not an active location of the QuickBooks company")]
    if not errors:
        firm.qbo_class_id, firm.qbo_location_id = class_id or None, location_id or None
    return errors


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


def get(firm_id: int) -> QboCompany | None:
    return db.session.scalar(select(QboCompany).where(QboCompany.firm_id == firm_id))


def refresh(firm_id: int, client, *, realm_id: str, company_info: dict | None = None,
            preferences: dict | None = None, codes: bool = True) -> QboCompany:
    """Read the company's settings (and, with `codes`, its tax codes) and store the snapshot; what
    changed since the last one is added to `changes`. `company_info={}` keeps the known country
    (a Preferences change seen by CDC costs one read). The caller commits."""
    snapshot = get(firm_id)
    changed: list[dict] = []
    if company_info == {} and snapshot is not None and snapshot.realm_id == realm_id:
        company_info = {"Country": snapshot.country}  # CDC said Preferences changed: the country did not
    company_info = company_info if company_info else client.company_info()
    preferences = preferences if preferences is not None else client.preferences()
    new = facts(company_info, preferences)
    now = utcnow()
    if snapshot is None or snapshot.realm_id != realm_id:
        snapshot = snapshot or QboCompany(firm_id=firm_id, changes=[], tax_codes=[])
        snapshot.changes = []
        db.session.add(snapshot)
    else:
        changed = [{"at": now.isoformat(timespec="seconds") + "Z", "setting": key,
                    "before": getattr(snapshot, key), "after": value}
                   for key, value in new.items() if key in WATCHED and getattr(snapshot, key) != value]
        if changed:
            snapshot.changes = (list(snapshot.changes or []) + changed)[-20:]
            log.info("firm=%s QuickBooks settings changed: %s", firm_id, [c["setting"] for c in changed])
            codes = codes or any(c["setting"] in ("tax_mode", "region") for c in changed)
    snapshot.realm_id = realm_id
    for key, value in new.items():
        setattr(snapshot, key, value)
    if codes:
        snapshot.tax_codes = tax_codes(client)
    tracking_on = {c["setting"] for c in changed if c["after"] is True}
    if codes or "class_tracking" in tracking_on:
        snapshot.classes = _names(client, "Class") if new["class_tracking"] else []
    if codes or "location_tracking" in tracking_on:
        snapshot.locations = _names(client, "Department") if new["location_tracking"] else []
    snapshot.read_at = now
    firm = db.session.get(Firm, firm_id)
    # US sales tax is worked out on each rate's taxable total; elsewhere per line (qbo/ledger/tax.py).
    firm.tax_rounding = "document" if new["region"] == "US" else "line"
    firm.currency = new["home_currency"]  # the ledger's amounts are in the company's home currency
    db.session.flush()
    if changed:
        announce(firm, changed)
    return snapshot


def announce(firm: Firm, changed: list[dict]) -> None:
    """Act on settings changed in QuickBooks before the next push meets them: records held back by
    multicurrency being off go again once it is on; documents waiting to be sent get the
    `company-settings-changed` warning when the tax mode or the numbering changed under them."""
    from qbo.quickbooks.models import QboLink, SyncError
    from qbo.quickbooks.problems import rows as problems
    from qbo.quickbooks.sync.marking import mark_pending

    settings = {c["setting"]: c for c in changed}
    if settings.get("multicurrency", {}).get("after") is True:
        held = db.session.execute(select(SyncError.record_type, SyncError.record_id).where(
            SyncError.firm_id == firm.id, SyncError.case == "multicurrency-off", SyncError.status == "open")).all()
        for record_type, record_id in held:
            mark_pending(firm.id, record_type, record_id)
    words, facts = [], []  # English for the API; the facts word the row for each reader
    if "tax_mode" in settings:
        facts.append({"setting": "tax_mode", "before": settings["tax_mode"]["before"],
                      "after": settings["tax_mode"]["after"]})
        words.append(f"the sales tax setting changed from {settings['tax_mode']['before']} to "
                     f"{settings['tax_mode']['after']}: the tax codes were read again; check the mapping on the Tax "
                     "screen")
    if settings.get("custom_txn_numbers", {}).get("after") is True and not firm.sync_invoice_numbers:
        facts.append({"setting": "custom_txn_numbers"})
        words.append("custom transaction numbers were turned on, so QuickBooks no longer numbers invoices itself: "
                     "turn on \"Sync invoice number with QuickBooks Online\" or the invoices arrive without a number")
    if not words:
        return
    message = "In QuickBooks, " + "; ".join(words) + "."
    waiting = db.session.execute(select(QboLink.record_type, QboLink.record_id).where(
        QboLink.firm_id == firm.id, QboLink.record_type.in_(("invoice", "credit_note")),
        QboLink.status.in_(("pending", "error")), QboLink.excluded.is_(False))).all()
    for record_type, record_id in waiting:
        problems.record(firm.id, record_type, record_id, "company-settings-changed", message=message,
                        facts={"kind": "settings-changed", "changes": facts})


def snapshot_json(snapshot: QboCompany | None) -> dict | None:
    """The snapshot as the API shows it."""
    if snapshot is None:
        return None
    return {"realm_id": snapshot.realm_id, "country": snapshot.country, "region": snapshot.region,
            "tax_mode": snapshot.tax_mode, "home_currency": snapshot.home_currency,
            "multicurrency": snapshot.multicurrency, "custom_txn_numbers": snapshot.custom_txn_numbers,
            "class_tracking": snapshot.class_tracking, "class_per_line": snapshot.class_per_line,
            "location_tracking": snapshot.location_tracking, "classes": snapshot.classes,
            "locations": snapshot.locations,
            "tax_codes": snapshot.tax_codes, "changes": snapshot.changes,
            "read_at": snapshot.read_at.isoformat(timespec="seconds") + "Z"}
