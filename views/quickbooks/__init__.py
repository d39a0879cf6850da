"""Settings > Integrations > QuickBooks (`/settings/integrations/quickbooks`): one blueprint, its
routes split by section: the connection (connect, callback, disconnect), the page and its sync
settings, and the errors section."""
from flask import Blueprint

bp = Blueprint("quickbooks", __name__, url_prefix="/settings/integrations/quickbooks")

from views.quickbooks import connection, errors, settings, tax, tieout  # noqa: E402,F401  (they add routes to bp)
