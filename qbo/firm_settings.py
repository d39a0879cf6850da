"""The firm's QuickBooks sync settings: validation and update."""
from __future__ import annotations

from qbo import validation as v
from qbo.ledger import ValidationFailed, audit
from qbo.models import Firm

BOOLEAN_SETTINGS = ("sync_invoice_numbers", "create_customers_automatically", "admins_manage_connection")


def update_settings(firm: Firm, form: dict, *, user_id: int, may_change_connection_rights: bool) -> None:
    """Validate every field, then store them all; raises ValidationFailed naming each bad field."""
    errors = v.Errors()
    clean = {
        "sync_start_date": v.date(form, "sync_start_date", errors),
        "default_income_account": v.text(form, "default_income_account", errors, required=True, max_length=100),
        "invoice_number_prefix": v.text(form, "invoice_number_prefix", errors, max_length=10) or "",
        "next_invoice_number": v.integer_id(form, "next_invoice_number", errors, required=True),
    }
    for name in BOOLEAN_SETTINGS:
        clean[name] = form.get(name) in ("on", "true", "1", True)
    if not may_change_connection_rights:
        clean.pop("admins_manage_connection")
    if errors:
        raise ValidationFailed(dict(errors))
    for field, value in clean.items():
        setattr(firm, field, value)
    audit(firm.id, user_id, "settings.updated", None, fields=sorted(clean))
