"""Sales tax in the ledger (qbo/ledger/tax.py): rates, service treatment, line rates, net/tax/gross."""
from decimal import Decimal

import pytest

from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger import tax
from tests.factories import make, make_account, make_firm, make_service


def _invoice(firm, service, *lines):
    return make("invoices", firm, account_id=make_account(firm).id, date="2026-11-02",
                lines=[{"service_id": service.id, "quantity": "1", "rate": r, **extra} for r, extra in lines])


def test_it_keeps_existing_services_untaxed(app):
    service = make_service(make_firm())
    assert service.taxable is False and service.tax_rate_id is None


def test_it_defaults_a_line_to_its_service_rate_and_lets_a_line_be_exempt(app):
    firm = make_firm()
    vat = tax.save_rate(firm, {"name": "VAT", "percent": "20"})
    service = make_service(firm, tax_rate_id=vat.id)
    invoice = _invoice(firm, service, ("100.00", {}), ("50.00", {"tax_rate_id": None}))
    assert service.taxable and [l.tax_rate_id for l in invoice.lines] == [vat.id, None]
    assert (invoice.net, invoice.tax, invoice.total) == (Decimal("150.00"), Decimal("20.00"), Decimal("170.00"))


def test_it_rounds_per_rate_when_the_firm_rounds_by_document(app):
    firm = make_firm()
    rate = tax.save_rate(firm, {"name": "NY", "percent": "8.875"})
    service = make_service(firm, tax_rate_id=rate.id)
    invoice = _invoice(firm, service, ("10.10", {}), ("10.10", {}))  # 0.896375 each
    assert tax.computed_tax(invoice, "line") == Decimal("1.80")
    assert tax.computed_tax(invoice, "document") == Decimal("1.79")  # 20.20 * 8.875% = 1.79275


def test_it_refuses_another_firms_rate_naming_the_line(app):
    firm, other = make_firm(), make_firm()
    foreign = tax.save_rate(other, {"name": "VAT", "percent": "20"})
    db.session.commit()
    with pytest.raises(ledger.ValidationFailed) as failed:
        _invoice(firm, make_service(firm), ("100.00", {"tax_rate_id": foreign.id}))
    assert failed.value.errors == {"lines[0].tax_rate_id": ["is not one of the firm's tax rates"]}


def test_it_refuses_a_duplicate_name_and_a_percent_over_100(app):
    firm = make_firm()
    tax.save_rate(firm, {"name": "VAT", "percent": "20"})
    with pytest.raises(tax.TaxRateInvalid) as failed:
        tax.save_rate(firm, {"name": "vat", "percent": "120"})
    assert set(failed.value.errors) == {"name", "percent"}


def test_it_shows_net_tax_and_gross_in_json(app):
    firm = make_firm()
    rate = tax.save_rate(firm, {"name": "GST", "percent": "10"})
    invoice = _invoice(firm, make_service(firm, tax_rate_id=rate.id), ("99.95", {}))
    body = ledger.KINDS["invoices"].to_json(invoice)
    assert (body["net"], body["tax"], body["gross"], body["total"]) == ("99.95", "10.00", "109.95", "109.95")
    assert body["lines"][0]["tax"] == "10.00" and body["tax_adopted_from_quickbooks"] is False


def test_it_stores_an_account_currency_and_an_exchange_rate(app):
    firm = make_firm()
    account = make_account(firm, currency="eur")
    invoice = make("invoices", firm, account_id=account.id, date="2026-11-02", exchange_rate="1.0834",
                   lines=[{"service_id": make_service(firm).id, "quantity": "1", "rate": "10.00"}])
    body = ledger.KINDS["invoices"].to_json(invoice)
    assert account.currency == "EUR" and (body["currency"], body["exchange_rate"]) == ("EUR", "1.0834")
    assert make_account(firm, currency="USD").currency is None  # the home currency is stored as none
