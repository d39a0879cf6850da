"""Old RQ paths, kept for one release (README "Upgrading"); the code is in qbo.quickbooks.changes."""
from qbo.quickbooks.jobs import poll_changes_job, schedule_polls  # noqa: F401
