"""The firm's QuickBooks sync settings: validation and update."""
from __future__ import annotations

from flask_babel import gettext as _

from qbo.accounts.models import Firm
from qbo.core.audit import audit
from qbo.ledger import validation as v
from qbo.ledger.records import PAYMENT_METHODS, ValidationFailed

BOOLEAN_SETTINGS = ("sync_invoice_numbers", "create_customers_automatically", "admins_manage_connection")
ACCOUNT_SETTINGS = ("deposit_account_qbo_id", "card_account_qbo_id", "fee_expense_account_qbo_id")


def update_settings(firm: Firm, form: dict, *, user_id: int, may_change_connection_rights: bool,
                    company: dict | None = None) -> None:
    """Validate every field, then store them all; raises ValidationFailed naming each bad field.

    `company` is the cached QuickBooks company (qbo.company_cache): chosen accounts must exist
    there with the right type, mapped payment methods must exist. Fields absent from the form
    keep their value."""
    errors = v.Errors()
    clean = {
        "sync_start_date": v.date(form, "sync_start_date", errors),
        "default_income_account": v.text(form, "default_income_account", errors, required=True, max_length=100),
        "fallback_item_name": _item_name(form, errors),
        "invoice_number_prefix": v.text(form, "invoice_number_prefix", errors, max_length=10) or "",
        "next_invoice_number": v.integer_id(form, "next_invoice_number", errors, required=True),
    }
    if "stuck_after_minutes" in form:
        clean["stuck_after_minutes"] = _minutes(form, "stuck_after_minutes", errors)
    if "approval_threshold" in form:
        clean["approval_threshold"] = _threshold(form, "approval_threshold", errors)
    if clean["fallback_item_name"] is None:
        clean.pop("fallback_item_name")  # absent from the form: keeps its value
    for name in BOOLEAN_SETTINGS:
        # Absent keeps the setting; the form sends a hidden "off" before each checkbox, so an
        # unticked box is present ("off") and a ticked one sends "off" and "on".
        if name in form:
            values = form.getlist(name) if hasattr(form, "getlist") else [form.get(name)]
            clean[name] = any(value in ("on", "true", "1", True) for value in values)
    if not may_change_connection_rights:
        clean.pop("admins_manage_connection", None)
    for name in ACCOUNT_SETTINGS:
        if name in form:
            clean[name] = _account(form, name, company, errors)
    if any(f"payment_method_map-{m}" in form for m in PAYMENT_METHODS):
        clean["payment_method_map"] = _payment_methods(form, company, errors)
    if errors:
        raise ValidationFailed(dict(errors))
    changed = sorted(field for field, value in clean.items() if getattr(firm, field) != value)
    for field in changed:
        setattr(firm, field, clean[field])
    audit(firm.id, user_id, "settings.updated", None, fields=changed)


STUCK_MINUTES = (1, 7 * 24 * 60)  # a minute to a week


def _minutes(form, name: str, errors) -> int | None:
    """How long a record may stay pending before it counts as stuck: whole minutes, 1 to 10080."""
    value = str(form.get(name) or "").strip()
    low, high = STUCK_MINUTES
    if not value.isdigit() or not low <= int(value) <= high:
        errors.add(name, _("must be a whole number of minutes from %(low)s to %(high)s", low=low, high=high))
        return None
    return int(value)


APPROVAL_THRESHOLD = (1, 999)  # the desk counts up to 999 ("999+")


def _threshold(form, name: str, errors) -> int | None:
    """How many records one desk action may touch before it waits for the owner: 1 to 999."""
    value = str(form.get(name) or "").strip()
    low, high = APPROVAL_THRESHOLD
    if not value.isdigit() or not low <= int(value) <= high:
        errors.add(name, _("must be a whole number of records from %(low)s to %(high)s", low=low, high=high))
        return None
    return int(value)


def _account(form, name: str, company: dict | None, errors) -> str | None:
    from qbo.quickbooks.company_cache import ACCOUNT_TYPES

    value = (form.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 40:
        errors.add(name, _("must be a QuickBooks account"))
        return None
    if company is not None:
        account = next((a for a in company.get("accounts", []) if a["id"] == value), None)
        if account is None:
            errors.add(name, _("is not an account of the connected QuickBooks company"))
        elif account.get("type") not in ACCOUNT_TYPES[name]:
            errors.add(name, _("must be an account of type %(types)s, not %(type)s",
                               types=_(" or ").join(ACCOUNT_TYPES[name]), type=account.get("type")))
    return value


def _payment_methods(form, company: dict | None, errors) -> dict:
    known = {m["id"] for m in (company or {}).get("payment_methods", [])}
    mapping = {}
    for method in PAYMENT_METHODS:
        value = (form.get(f"payment_method_map-{method}") or "").strip()
        if not value:
            continue
        if not value.isdigit() or (company is not None and value not in known):
            errors.add(f"payment_method_map-{method}", _("is not a payment method of the QuickBooks company"))
            continue
        mapping[method] = value
    return mapping


def _item_name(form, errors) -> str | None:
    """The QuickBooks item lines without a service are booked on (found by name, else created)."""
    if "fallback_item_name" not in form:
        return None
    value = v.text(form, "fallback_item_name", errors, required=True, max_length=100)
    if value and any(c in value for c in ":\t\n\r"):
        # QBO refuses these in names (ref §4: a colon separates sub-items).
        errors.add("fallback_item_name", _("must not contain a colon, a tab or a line break"))
    return value or ""
