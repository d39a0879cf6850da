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

from qbo.accounts.models import Firm, User
from qbo.core.db import db
from qbo.ledger import records as ledger
from qbo.ledger.models import Service

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

# Clients who signed up after the owner turned automatic customer creation off: no QuickBooks
# customer has their names, so they wait for someone to create them (error case account-no-match).
NEW_CLIENTS = ("Aurora Bistro", "Bluebird Pet Grooming", "Copperleaf Interiors")

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


def connect_demo_firm(firm_id: int, user_id: int, realm_id: str | None = None) -> str:
    """Connect the demo firm to the local emulator through the app's real OAuth code path, acting
    as the owner who clicks Connect on QuickBooks' consent page (choosing company `realm_id` when
    given). Returns the company name."""
    import requests

    from qbo.quickbooks.connection import start_connect
    from qbo.quickbooks.onboarding import finish_connect

    url, state = start_connect(firm_id, user_id)
    page = requests.get(url, timeout=10)
    page.raise_for_status()
    form = _AuthorizeForm()
    form.feed(page.text)
    if realm_id is not None:
        form.fields["realm_id"] = realm_id
    answer = requests.post(urljoin(url, form.action or urlsplit(url).path),
                           data={**form.fields, "decision": "allow"}, allow_redirects=False, timeout=10)
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    connection = finish_connect(firm_id, user_id, state=callback["state"][0], code=callback["code"][0],
                                realm_id=callback["realmId"][0])
    return connection.company_name


# --- the demo's QuickBooks side: a company with a history, so the first look shows every kind of
# problem. Only against the local emulator: its control API plays the people editing QuickBooks.


class _Person:
    """Someone editing the emulated QuickBooks company by hand (emulator control API)."""

    def __init__(self, base_url: str, realm_id: str):
        import requests

        self.http = requests.Session()
        self.url = f"{base_url.rstrip('/')}/__emulator__/companies/{realm_id}"

    def __call__(self, method: str, entity: str, body: dict | None = None, record_id: str | None = None) -> dict:
        response = self.http.request(method, f"{self.url}/{entity}" + (f"/{record_id}" if record_id else ""),
                                     json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def find(self, entity: str, **match) -> dict | None:
        rows = self.http.get(f"{self.url}/{entity}", timeout=30).json()
        return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def play_history(firm_id: int, owner_id: int, base_url: str) -> dict:
    """Give the connected demo firm a past: a first sync with a few realistic problems, then people
    changing things in QuickBooks, then new work in the ledger. Returns the open error counts."""
    from qbo.accounts.models import Firm
    from qbo.ledger.models import Account, Invoice, Payment
    from qbo.quickbooks.connection import get_connection
    from qbo.quickbooks.problems.counts import error_counts
    from qbo.quickbooks.sync.engine import sync_firm

    firm = db.session.get(Firm, firm_id)
    person = _Person(base_url, get_connection(firm_id).realm_id)

    def save(slug, data, record=None):
        return ledger.save(ledger.KINDS[slug], firm, data, record=record, user_id=owner_id)

    # Before the first sync, QuickBooks already holds a few things typed by hand.
    person("POST", "Vendor", {"DisplayName": "Sam Rivera"})            # a contractor, and a client too
    walk_in = person("POST", "Customer", {"DisplayName": "Walk-in Customer"})
    item = person.find("Item", Name="Services") or person("POST", "Item", {"Name": "Consulting", "Type": "Service"})
    person("POST", "Invoice", {"CustomerRef": {"value": walk_in["Id"]}, "DocNumber": "INV-0007",
                               "Line": [{"Amount": 90, "DetailType": "SalesItemLineDetail",
                                         "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 90}}]})
    # A service filed under the receivables account, and fees pointed at the bank account.
    save("services", {"name": "Bookkeeping clean-up", "rate": "95.00", "income_account": "Accounts Receivable (A/R)"})
    checking = person.find("Account", Name="Checking")
    firm.card_account_qbo_id = checking["Id"] if checking else None
    # Stripe charge ids are longer than the 21 characters QBO keeps in a payment's reference.
    for payment in db.session.scalars(select(Payment).where(Payment.firm_id == firm_id, Payment.processor == "stripe").limit(3)):
        payment.reference = f"ch_3Qx{payment.id:04d}Lk2eZvKYlo2C1a2b3c4d"
        from qbo.quickbooks.sync.marking import mark_record

        mark_record(payment)
    db.session.commit()
    sync_firm(firm_id)

    # Since then, people changed QuickBooks: a client's customer deleted (made inactive) and an
    # invoice paid by hand in QuickBooks.
    from qbo.quickbooks.models import QboLink

    def qbo_id(record_type, record_id):
        return db.session.scalar(select(QboLink.qbo_id).where(QboLink.firm_id == firm_id, QboLink.record_type == record_type,
                                                              QboLink.record_id == record_id))

    # QBO refuses to deactivate a customer with an open balance (fault 6220), so the deleted one is
    # a client who has paid everything and has a payment to refund.
    orchard = None
    customers = {c["Id"]: c for c in person.http.get(f"{person.url}/Customer", timeout=30).json()}
    for account in db.session.scalars(select(Account).where(Account.firm_id == firm_id).order_by(Account.id)):
        customer = customers.get(qbo_id("account", account.id))
        has_payment = db.session.scalar(select(Payment.id).where(Payment.account_id == account.id).limit(1))
        if customer and not customer.get("Balance") and has_payment:
            person("DELETE", "Customer", record_id=customer["Id"])
            orchard = account
            break
    open_invoice = db.session.scalars(select(Invoice).where(Invoice.firm_id == firm_id, Invoice.deleted_at.is_(None))
                                      .order_by(Invoice.id.desc())).first()
    paid_by_hand = next((i for i in db.session.scalars(select(Invoice).where(Invoice.firm_id == firm_id)
                                                        .order_by(Invoice.id.desc()))
                         if i.balance > 0 and qbo_id("invoice", i.id) and i.account_id != getattr(orchard, "id", None)), None)
    if paid_by_hand is not None:
        person("POST", "Payment", {"CustomerRef": {"value": qbo_id("account", paid_by_hand.account_id)},
                                   "TotalAmt": float(paid_by_hand.balance),
                                   "Line": [{"Amount": float(paid_by_hand.balance),
                                             "LinkedTxn": [{"TxnId": qbo_id("invoice", paid_by_hand.id), "TxnType": "Invoice"}]}]})

    # New work in the ledger, synced on top of that.
    today = dt.date.today()
    if orchard is not None:
        service = db.session.scalars(select(Service).where(Service.firm_id == firm_id)).first()
        invoice = save("invoices", {"account_id": orchard.id, "date": today.isoformat(),
                                    "lines": [{"service_id": service.id, "quantity": "1"}]})
        payment = save("payments", {"account_id": orchard.id, "date": today.isoformat(), "amount": str(invoice.total),
                                    "method": "ach", "allocations": [{"invoice_id": invoice.id, "amount": str(invoice.total)}]})
        old_payment = db.session.scalars(select(Payment).where(Payment.account_id == orchard.id, Payment.id != payment.id)).first()
        if old_payment is not None:
            save("refunds", {"payment_id": old_payment.id, "date": today.isoformat(), "amount": "10.00",
                             "reason": "Duplicate charge"})
    if paid_by_hand is not None:
        save("payments", {"account_id": paid_by_hand.account_id, "date": today.isoformat(),
                          "amount": str(paid_by_hand.balance), "method": "check",
                          "allocations": [{"invoice_id": paid_by_hand.id, "amount": str(paid_by_hand.balance)}]})
    # After the first sync the owner turned automatic customer creation off; since then three new
    # clients were billed, and they wait for their customers in QuickBooks.
    firm.create_customers_automatically = False
    service = db.session.scalars(select(Service).where(Service.firm_id == firm_id).order_by(Service.id)).first()
    for name in NEW_CLIENTS:
        account = save("accounts", {"name": name, "company_name": name,
                                    "email": name.lower().replace(" ", ".") + "@example.com"})
        save("invoices", {"account_id": account.id, "date": today.isoformat(),
                          "lines": [{"service_id": service.id, "quantity": "1"}]})
    db.session.commit()
    sync_firm(firm_id)
    _ask_owner_to_create_customers(firm_id)
    return error_counts(firm_id)


def _ask_owner_to_create_customers(firm_id: int) -> None:
    """The staff member asks for "Create new customer for all accounts missing": creating customers
    in bulk waits for the owner (README "Approval"), so the owner signs in to a request to approve."""
    from qbo.desk.tabs import request_bulk

    staff = db.session.scalar(select(User).where(User.firm_id == firm_id, User.role == "staff"))
    if staff is not None:
        request_bulk(staff, "create_missing_customers", None)
