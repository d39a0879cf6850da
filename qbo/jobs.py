"""Old RQ paths, kept for one release (README "Upgrading"): RQ stores a job's function by its
dotted path, so jobs queued, scheduled or failed before the layout split still find it here."""
from qbo.ledger.jobs import recalculate_balances  # noqa: F401
from qbo.quickbooks.jobs import run_sync, sync_firm_job  # noqa: F401
