"""QBO webhooks: /webhooks/intuit (filled in by the drift work)."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
