"""The demo firm: four users (one per role) and a realistic ledger for a small accounting practice."""
from __future__ import annotations

import datetime as dt
import random
import secrets
import string
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

from sqlalchemy import select

from qbo import ledger
from qbo.db import db
from qbo.models import Firm, User

DEMO_FIRM = "Northwind Accounting (demo)"
ROLES = ("owner", "admin", "staff", "viewer")

CLIENTS = [
    ("Acme Dental Group", "company"), ("Baker & Sons Bakery", "company"), ("Cedar Creek Farms", "company"),
    ("Delta Logistics LLC", "company"), ("Evergreen Yoga Studio", "company"), ("Falcon Roofing", "company"),
    ("Greenleaf Landscaping", "company"), ("Harbor View Cafe", "company"), ("Ion Labs Inc", "company"),
    ("Juniper Architects", "company"), ("Keystone Plumbing", "company"), ("Lumen Photography", "company"),
    ("Maple Street Books", "company"), ("Nova Fitness", "company"), ("Orchard Pediatrics", "company"),
    ("Pinecrest Realty", "company"), ("Quarry Stoneworks", "company"), ("Riverbend Vet Clinic", "company"),
    ("Summit Law Partners", "company"), ("Tidewater Marine", "company"), ("Union Square Dental", "company"),
    ("Vista Travel Co", "company"), ("Willow Tree Daycare", "company"), ("Xeno Robotics", "company"),
    ("John Doe", "individual"), ("Maria Popescu", "individual"), ("Andrei Ionescu", "individual"),
    ("Elena Georgescu", "individual"), ("Sam Rivera", "individual"), ("Priya Patel", "individual"),
    ("Chen Wei", "individual"), ("Olivia Brown", "individual"),
]

SERVICES = [
    ("Monthly bookkeeping", "Categorising transactions and reconciling accounts", "450.00"),
    ("Payroll processing", "Per pay run, up to 10 employees", "120.00"),
    ("Annual tax return", "Business income tax return preparation", "1200.00"),
    ("Personal tax return", "Individual return with up to two schedules", "350.00"),
    ("Sales tax filing", "Quarterly sales tax return", "175.00"),
    ("Advisory hour", "Consulting on cash flow and planning", "180.00"),
    ("Year-end close", "Adjusting entries and financial statements", "900.00"),
    ("Catch-up bookkeeping", "Per month of backlog", "300.00"),
]


def seed(*, rng_seed: int = 7, today: dt.date | None = None) -> dict:
    """Create the demo firm if it is missing; return its users' emails and passwords."""
    if db.session.scalar(select(Firm).where(Firm.name == DEMO_FIRM)) is not None:
        raise RuntimeError("the demo firm exists already")
    rng = random.Random(rng_seed)
    today = today or dt.date.today()
    firm = Firm(name=DEMO_FIRM, sync_invoice_numbers=True, create_customers_automatically=True)
    db.session.add(firm)
    db.session.flush()
    logins = {}
    for role in ROLES:
        password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        user = User(firm_id=firm.id, email=f"{role}@northwind.test", name=f"Demo {role.title()}", role=role)
        user.set_password(password)
        db.session.add(user)
        logins[user.email] = password
    db.session.flush()
    owner_id = db.session.scalar(select(User.id).where(User.email == "owner@northwind.test"))

    def save(slug, data):
        return ledger.save(ledger.KINDS[slug], firm, data, user_id=owner_id)

    accounts = []
    for name, kind in CLIENTS:
        data = {"name": name, "kind": kind, "email": name.lower().replace(" ", ".").replace("&", "and") + "@example.com"}
        if kind == "individual":
            data["first_name"], data["last_name"] = name.split(" ", 1)
        else:
            data["company_name"] = name
        accounts.append(save("accounts", data))
    services = [save("services", {"name": n, "description": d, "rate": r}) for n, d, r in SERVICES]

    invoices = []
    for i in range(60):
        account = accounts[i % len(accounts)]
        date = today - dt.timedelta(days=rng.randint(1, 150))
        lines = []
        for _ in range(rng.randint(1, 3)):
            service = rng.choice(services)
            lines.append({"service_id": service.id, "quantity": str(rng.choice([1, 1, 1, 2, 3])),
                          "rate": str(service.rate)})
        if i % 17 == 0:  # a line typed by hand, without a service
            lines.append({"description": "Courier and filing fees", "quantity": "1", "rate": "35.00"})
        invoices.append(save("invoices", {
            "account_id": account.id, "date": date.isoformat(),
            "due_date": (date + dt.timedelta(days=30)).isoformat(),
            "description": f"Services for {date:%B %Y}" if i % 3 == 0 else None, "lines": lines}))

    credits = []
    for i in range(6):
        account = accounts[10 + i * 3]
        credits.append(save("credit-notes", {
            "account_id": account.id, "date": (today - dt.timedelta(days=20 + i)).isoformat(),
            "description": "Goodwill credit", "lines": [
                {"description": "Courtesy discount", "quantity": "1", "rate": str(rng.choice([25, 50, 75]))}]}))

    payments = []
    for invoice in invoices[:40]:
        amount = invoice.total if rng.random() < 0.8 else (invoice.total / 2).quantize(Decimal("0.01"))
        method = rng.choice(["card", "card", "card", "ach", "check"])
        data = {"account_id": invoice.account_id, "amount": str(amount), "method": method,
                "date": (invoice.date + dt.timedelta(days=rng.randint(1, 20))).isoformat(),
                "allocations": [{"invoice_id": invoice.id, "amount": str(amount)}]}
        if method == "card":
            # Stripe's US card pricing: 2.9% + 30 cents.
            data["processor"] = "stripe"
            data["processor_fee"] = str((amount * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01")))
        payments.append(save("payments", data))

    for credit in credits[:3]:
        invoice = next(i for i in invoices[40:] if i.account_id == credit.account_id)
        payment_amount = invoice.total - credit.total
        save("payments", {"account_id": invoice.account_id, "amount": str(payment_amount), "method": "ach",
                          "date": today.isoformat(),
                          "allocations": [{"invoice_id": invoice.id, "amount": str(invoice.total)}],
                          "credit_allocations": [{"credit_note_id": credit.id, "amount": str(credit.total)}]})

    for payment in payments[:5]:
        save("refunds", {"payment_id": payment.id, "date": max(payment.date, today - dt.timedelta(days=3)).isoformat(),
                         "amount": str((payment.amount / 4).quantize(Decimal("0.01"))),
                         "reason": "Partial refund: service scope reduced"})
    return logins


class _AuthorizeForm(HTMLParser):
    """Reads the fields of the consent form on the (emulated) QuickBooks authorize page."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("name") and (attrs.get("type") == "hidden" or "checked" in attrs):
            self.fields[attrs["name"]] = attrs.get("value", "")


def connect_demo_firm(firm_id: int, user_id: int) -> str:
    """Connect the demo firm to the local emulator through the app's real OAuth code path, acting
    as the owner who clicks Connect on QuickBooks' consent page. Returns the company name."""
    import requests

    from qbo.connection import finish_connect, start_connect

    url, state = start_connect(firm_id, user_id)
    page = requests.get(url, timeout=10)
    page.raise_for_status()
    form = _AuthorizeForm()
    form.feed(page.text)
    answer = requests.post(urljoin(url, form.action or urlsplit(url).path),
                           data={**form.fields, "decision": "allow"}, allow_redirects=False, timeout=10)
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    connection = finish_connect(firm_id, user_id, state=callback["state"][0], code=callback["code"][0],
                                realm_id=callback["realmId"][0])
    return connection.company_name
