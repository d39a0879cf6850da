"""/api/v1/tax-rates (issue 17): the firm's sales tax rates, which services and invoice lines
carry (`tax_rate_id`). Routes on the API blueprint, with its authentication and roles."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from views.api import bp


@bp.get("/tax-rates")
def tax_rates_index():
    rates = ledger_tax.rates(g.api_user.firm_id, include_inactive=True)
    return jsonify(data=[ledger_tax.rate_json(r) for r in rates])


@bp.post("/tax-rates")
def tax_rates_create():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(errors={"body": [_("must be a JSON object")]}), 422
    unknown = {k: [_("is not a known field")] for k in data if k not in ("name", "percent")}
    if unknown:
        return jsonify(errors=unknown), 422
    try:
        rate = ledger_tax.save_rate(g.api_user.firm, data, user_id=g.api_user.id)
    except ledger_tax.TaxRateInvalid as invalid:
        db.session.rollback()
        return jsonify(errors=invalid.errors), 422
    db.session.commit()
    return jsonify(ledger_tax.rate_json(rate)), 201
