"""Clients billed in another currency (issue 17), against the emulator's multicurrency rules."""
from decimal import Decimal

from sqlalchemy import select

from qbo.core.db import db
from qbo.ledger import tax as ledger_tax
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make, make_account, make_service


def _foreign_invoice(firm, **extra):
    vat = ledger_tax.save_rate(firm, {"name": "VAT", "percent": "20"})
    account = make_account(firm, name="Bruxelles SA", currency="EUR")
    return make("invoices", firm, account_id=account.id, date="2026-11-02", **extra,
                lines=[{"service_id": make_service(firm, tax_rate_id=vat.id).id, "quantity": "1", "rate": "100.00"}])


def _eur_company(connect_company, qbo_emulator):
    owner = connect_company("uk-vat", multicurrency=True)
    qbo_emulator.control("POST", f"/companies/{owner.realm_id}/CompanyCurrency", json={"Code": "EUR"}).raise_for_status()
    return owner


def _errors(record_type):
    return [e.case for e in db.session.scalars(select(SyncError).where(
        SyncError.record_type == record_type, SyncError.status == "open"))]


def test_it_syncs_a_foreign_invoice_and_its_payment_at_quickbooks_rate(connect_company, qbo_emulator, drain,
                                                                        qbo_records):
    owner = _eur_company(connect_company, qbo_emulator)
    invoice = _foreign_invoice(owner.firm)
    make("payments", owner.firm, account_id=invoice.account_id, date="2026-11-10", amount="120.00",
         method="ach", allocations=[{"invoice_id": invoice.id, "amount": "120.00"}])
    drain(owner.firm_id)
    assert all(l.status == "synced" for l in db.session.scalars(select(QboLink))), _errors("invoice")
    rate = Decimal(str(_qbo_rate(qbo_emulator, owner.realm_id, "2026-11-02")))
    [customer] = qbo_records("Customer", owner.realm_id)
    [qbo_invoice] = qbo_records("Invoice", owner.realm_id)
    [qbo_payment] = qbo_records("Payment", owner.realm_id)
    db.session.refresh(invoice)
    assert customer["CurrencyRef"]["value"] == "EUR" and qbo_invoice["CurrencyRef"]["value"] == "EUR"
    assert invoice.exchange_rate == rate and Decimal(str(qbo_invoice["ExchangeRate"])) == rate
    assert Decimal(str(qbo_invoice["TotalAmt"])) == invoice.total and qbo_invoice["Balance"] == 0
    assert qbo_payment["CurrencyRef"]["value"] == "EUR" and Decimal(str(qbo_payment["ExchangeRate"])) > 0


def _qbo_rate(qbo_emulator, realm, day):
    import requests

    tokens = qbo_emulator.tokens(realm)
    answer = requests.get(f"{qbo_emulator.api_url(realm)}/exchangerate", headers=qbo_emulator.headers(tokens["access_token"]),
                          params={"sourcecurrencycode": "EUR", "asofdate": day}, timeout=10)
    return answer.json()["ExchangeRate"]["Rate"]


def test_it_sends_the_rate_typed_in_the_ledger(connect_company, qbo_emulator, drain, qbo_records):
    owner = _eur_company(connect_company, qbo_emulator)
    _foreign_invoice(owner.firm, exchange_rate="0.8512")
    drain(owner.firm_id)
    assert qbo_records("Invoice", owner.realm_id)[0]["ExchangeRate"] == 0.8512


def test_it_explains_a_foreign_client_when_multicurrency_is_off(connect_company, qbo_emulator, drain, qbo_records):
    owner = connect_company("uk-vat")
    _foreign_invoice(owner.firm)
    drain(owner.firm_id)
    assert _errors("account") == ["multicurrency-off"] and qbo_records("Customer", owner.realm_id) == []
    message = db.session.scalar(select(SyncError.message).where(SyncError.case == "multicurrency-off"))
    assert "EUR" in message and "can't be turned off" in message


def test_it_names_a_currency_missing_from_the_company_list(connect_company, drain, qbo_records):
    owner = connect_company("uk-vat", multicurrency=True)
    _foreign_invoice(owner.firm)
    drain(owner.firm_id)
    assert _errors("account") == ["currency-not-enabled"] and qbo_records("Customer", owner.realm_id) == []


def test_it_suggests_a_new_name_for_a_customer_in_another_currency(connect_company, qbo_emulator, drain):
    owner = _eur_company(connect_company, qbo_emulator)
    qbo_emulator.control("POST", f"/companies/{owner.realm_id}/Customer",
                         json={"DisplayName": "Bruxelles SA"}).raise_for_status()  # in GBP
    _foreign_invoice(owner.firm)
    drain(owner.firm_id)
    assert _errors("account") == ["customer-currency-differs"]
    message = db.session.scalar(select(SyncError.message).where(SyncError.case == "customer-currency-differs"))
    assert '"Bruxelles SA (EUR)"' in message


def test_it_books_a_foreign_payments_fee_in_the_home_currency_at_its_rate(connect_company, qbo_emulator, drain,
                                                                           qbo_records):
    owner = _eur_company(connect_company, qbo_emulator)
    invoice = _foreign_invoice(owner.firm)
    make("payments", owner.firm, account_id=invoice.account_id, date="2026-11-10", amount="120.00", method="card",
         processor="stripe", processor_fee="3.78", exchange_rate="0.85",
         allocations=[{"invoice_id": invoice.id, "amount": "120.00"}])
    drain(owner.firm_id)
    [purchase] = qbo_records("Purchase", owner.realm_id)
    assert purchase["Line"][0]["Amount"] == 3.21 and "EUR 3.78 at 0.85" in purchase["Line"][0]["Description"]
    assert qbo_records("Payment", owner.realm_id)[0]["ExchangeRate"] == 0.85
