"""A ledger record's QuickBooks status, as lists, record pages, the panel and the API show it."""
from __future__ import annotations

from qbo.quickbooks.problems.rows import open_errors
from qbo.quickbooks.sync.marking import find_link


def quickbooks_state(record) -> dict:
    """The `quickbooks` block of a record's JSON: its link status, QBO id and open errors."""
    link = find_link(record.firm_id, record.record_type, record.id)
    errors = open_errors(record.firm_id, record.record_type, record.id)
    return {
        "status": link.status if link else "not_synced",
        "qbo_id": link.qbo_id if link else None,
        "errors": [{"id": e.id, "case": e.case, "message": e.message} for e in errors],
    }
