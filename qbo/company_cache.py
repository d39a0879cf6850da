"""Old RQ path, kept for one release (README "Upgrading"); the code is in qbo.quickbooks."""
from qbo.quickbooks.jobs import refresh_company as refresh  # noqa: F401
