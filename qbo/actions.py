"""Old RQ paths, kept for one release (README "Upgrading"); the code is in qbo.desk."""
from qbo.desk.jobs import run_action, run_bulk  # noqa: F401
