"""The second demo firm (issue 17): a London practice connected to a `uk-vat` QuickBooks company
(emulator only), with VAT invoices, one client billed in euros, and a tax rate left unmapped, so
the first look shows the Tax screen and a `tax-code-missing` case to resolve."""
from __future__ import annotations

import datetime as dt
import secrets
import string

from sqlalchemy import select

from qbo.accounts.models import Firm, User
from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger import tax as ledger_tax

VAT_FIRM = "Thames Ledger Partners (demo, UK)"
VAT_ROLES = ("owner", "admin")
CLIENTS = ("Camden Bakery Ltd", "Greenwich Yacht Club", "Hackney Design Studio", "Islington Dental Care")
EURO_CLIENT = "Lyon Textiles SARL"


def seed_vat_firm(base_url: str, *, today: dt.date | None = None) -> dict:
    """Create the UK firm and its company in the emulator at `base_url`, connect them through
    OAuth, fill the ledger and sync it; returns the logins. The caller commits."""
    import requests

    from qbo.demo import connect_demo_firm
    from qbo.quickbooks.sync.engine import sync_firm

    if db.session.scalar(select(Firm).where(Firm.name == VAT_FIRM)) is not None:
        raise RuntimeError("the UK demo firm exists already")
    today = today or dt.date.today()
    control = f"{base_url.rstrip('/')}/__emulator__"
    answer = requests.post(f"{control}/companies", json={"profile": "uk-vat", "name": "Thames Ledger Partners Ltd"},
                           timeout=30)
    answer.raise_for_status()
    realm = answer.json()["realm_id"]
    # A person turned multicurrency on in QuickBooks and added the euro.
    requests.patch(f"{control}/companies/{realm}/preferences", json={"multicurrency": True}, timeout=30).raise_for_status()
    requests.post(f"{control}/companies/{realm}/CompanyCurrency", json={"Code": "EUR"}, timeout=30).raise_for_status()

    firm = Firm(name=VAT_FIRM, invoice_number_prefix="TLP-", currency="GBP")
    db.session.add(firm)
    db.session.flush()
    logins, users = {}, {}
    for role in VAT_ROLES:
        password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        user = User(firm_id=firm.id, email=f"{role}@thames.test", name=f"Thames {role.title()}", role=role)
        user.set_password(password)
        db.session.add(user)
        logins[user.email], users[role] = password, user
    db.session.flush()
    owner = users["owner"]
    db.session.commit()
    connect_demo_firm(firm.id, owner.id, realm_id=realm)

    def save(slug, data):
        return ledger.save(ledger.KINDS[slug], firm, data, user_id=owner.id)

    standard = ledger_tax.save_rate(firm, {"name": "VAT standard", "percent": "20"}, user_id=owner.id)
    reduced = ledger_tax.save_rate(firm, {"name": "VAT reduced", "percent": "5"}, user_id=owner.id)
    # Two 0% codes in QuickBooks (0.0% Z and Exempt): this one is left for an admin to map.
    zero = ledger_tax.save_rate(firm, {"name": "Zero-rated exports", "percent": "0"}, user_id=owner.id)
    bookkeeping = save("services", {"name": "Monthly bookkeeping", "rate": "380.00", "tax_rate_id": standard.id})
    vat_return = save("services", {"name": "VAT return", "rate": "150.00", "tax_rate_id": standard.id})
    energy = save("services", {"name": "Energy-saving advice", "rate": "90.00", "tax_rate_id": reduced.id})
    exports = save("services", {"name": "Export documentation", "rate": "210.00", "tax_rate_id": zero.id})
    filing = save("services", {"name": "Companies House filing fee", "rate": "13.00"})  # no VAT: exempt line

    accounts = [save("accounts", {"name": name, "company_name": name}) for name in CLIENTS]
    for i, account in enumerate(accounts):
        lines = [{"service_id": bookkeeping.id, "quantity": "1"}, {"service_id": filing.id, "quantity": "1"}]
        if i % 2:
            lines.append({"service_id": energy.id, "quantity": "2"})
        invoice = save("invoices", {"account_id": account.id, "date": (today - dt.timedelta(days=30 - i)).isoformat(),
                                    "lines": lines})
        if i < 2:
            save("payments", {"account_id": account.id, "date": (today - dt.timedelta(days=10 - i)).isoformat(),
                              "amount": str(invoice.total), "method": "ach",
                              "allocations": [{"invoice_id": invoice.id, "amount": str(invoice.total)}]})
    save("invoices", {"account_id": accounts[2].id, "date": (today - dt.timedelta(days=5)).isoformat(),
                      "lines": [{"service_id": exports.id, "quantity": "1"}, {"service_id": vat_return.id, "quantity": "1"}]})
    euro = save("accounts", {"name": EURO_CLIENT, "company_name": EURO_CLIENT, "currency": "EUR"})
    invoice = save("invoices", {"account_id": euro.id, "date": (today - dt.timedelta(days=12)).isoformat(),
                                "lines": [{"service_id": bookkeeping.id, "quantity": "1", "rate": "450.00"}]})
    save("payments", {"account_id": euro.id, "date": (today - dt.timedelta(days=2)).isoformat(),
                      "amount": str(invoice.total), "method": "ach",
                      "allocations": [{"invoice_id": invoice.id, "amount": str(invoice.total)}]})
    db.session.commit()
    sync_firm(firm.id)
    return logins
