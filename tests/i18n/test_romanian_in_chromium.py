"""In Chromium, the demo firm's pages as a Romanian user reads them: no English sentence of the
product's own catalogue (translations/messages.pot) may show. The list is every msgid of three words
or more (each piece between placeholders, tags stripped) whose Romanian translation says otherwise."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.accounts.models import User
from qbo.core.db import db
from qbo.ledger.models import Invoice, Payment
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.changes import cdc
from qbo.quickbooks.connection import get_connection
from qbo.quickbooks.models import QboLink
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{\w*\}|<[^>]+>")


def english_phrases() -> set[str]:
    """The catalogue's English pieces of >= 3 words that Romanian pages must not show."""
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        msgids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with (TRANSLATIONS / "ro" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        romanian = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(f) if m.id}
    phrases = set()
    for msgid in msgids:
        msgstr = romanian.get(msgid)
        msgstr = " ".join(msgstr) if isinstance(msgstr, tuple) else (msgstr or "")
        if not msgstr or msgstr == msgid:
            continue
        for piece in PLACEHOLDER.split(msgid):
            piece = " ".join(piece.split()).strip(" .,:;·—-()\"'")
            if len(piece.split()) >= 3 and piece not in msgstr:
                phrases.add(piece)
    return phrases


# The sentences the sync words for a reader (qbo/quickbooks/problems/catalogue.py's own en/ro
# tables, not gettext): their English pieces, for the rows found before sending (pre-flight
# problems, blocked and waiting records) that the demo puts on the desk.
SYNC_ENGLISH = ("QuickBooks allows at most", "is required by QuickBooks", "QuickBooks needs", "doesn't allow",
                "is not a valid email address", "is not an active account", "doesn't fit QuickBooks' amounts",
                "does not exist in QuickBooks", "Waiting for its", "Waiting for customer", "which was skipped",
                "No QuickBooks customer is named", "No QuickBooks tax code", "multicurrency is off",
                "this record depends on was deleted",
                # Changes seen in QuickBooks (the change poll) and a difference's tax cause (the tie-out).
                "Edited in QuickBooks", "in the ledger", "differ from the ledger",
                "was cleared", "is at version", "the product last wrote", "was not created by the product",
                "Likely cause", "automated sales tax came to", "QuickBooks rounds tax per line",
                "of sales tax where the ledger sent", "of tax and the ledger")

PAGES = [
    *(f"/settings/integrations/quickbooks?tab={tab}"
      for tab in ("accounts", "invoices", "payments", "refunds", "expenses", "services")),
    "/settings/integrations/quickbooks/connection", "/settings/integrations/quickbooks/sync-settings",
    "/settings/integrations/quickbooks/tax", "/settings/integrations/quickbooks/tieout",
    "/quickbooks/history", "/quickbooks/jobs", "/invoices/", "INVOICE", "/profile/",
]


def _people_change_quickbooks(firm_id, qbo_emulator):
    """Someone edits a synced invoice in QuickBooks and types a synced payment in again; the change
    poll puts both on the desk (`modified-in-qbo`, `duplicates-in-qbo`)."""
    realm = get_connection(firm_id).realm_id
    synced = lambda record_type: db.session.scalars(select(QboLink).where(  # noqa: E731
        QboLink.firm_id == firm_id, QboLink.record_type == record_type, QboLink.status == "synced")
        .order_by(QboLink.id)).all()
    invoice = synced("invoice")[0]
    qbo_emulator.control("PATCH", f"/companies/{realm}/Invoice/{invoice.qbo_id}",
                         json={"PrivateNote": "Ajustat de contabil"}).raise_for_status()
    active = {c["Id"] for c in qbo_emulator.control("GET", f"/companies/{realm}/Customer").json() if c.get("Active")}
    customers = {link.record_id: link.qbo_id for link in synced("account") if link.qbo_id in active}
    payment = next(p for p in (db.session.get(Payment, link.record_id) for link in synced("payment"))
                   if p.account_id in customers)
    qbo_emulator.control("POST", f"/companies/{realm}/Payment", json={
        "CustomerRef": {"value": customers[payment.account_id]}, "TotalAmt": float(payment.amount),
        "TxnDate": payment.date.isoformat()}).raise_for_status()
    report = cdc.poll_changes(firm_id)
    assert report.modified >= 1 and report.duplicates >= 1


def test_it_shows_no_english_sentence_of_the_catalogue_to_a_romanian_user(page, live_server, runner,
                                                                            qbo_emulator, drain):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    owner = db.session.scalar(select(User).where(User.email == "owner@northwind.test"))
    reader = make_user(owner.firm, role="owner", language="ro")
    _people_change_quickbooks(owner.firm_id, qbo_emulator)
    quickbooks_jobs.request_tieout(owner.firm_id, owner.id)
    drain()
    invoice = db.session.scalar(select(Invoice).where(Invoice.firm_id == owner.firm_id,
                                                      Invoice.number == "INV-0007"))
    phrases = english_phrases()
    assert len(phrases) > 200  # the list is the catalogue's, not a handful
    phrases |= set(SYNC_ENGLISH)
    page.goto(f"{live_server}/sign-in")
    page.locator("input[name=email]").fill(reader.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_role("heading", name="Facturi")).to_be_visible()
    found, shown = {}, {}
    for path in PAGES:
        path = f"/invoices/{invoice.id}" if path == "INVOICE" else path
        assert page.goto(f"{live_server}{path}").ok, path
        page.wait_for_load_state("networkidle")
        text = " ".join(page.inner_text("body").split())
        english = sorted(p for p in phrases if p in text)
        if english:
            found[path] = english
        shown[path] = text
    assert found == {}
    # The demo's pre-flight rows are on the pages walked, worded in Romanian (their field too).
    assert "Contul de venituri (IncomeAccountRef) „Accounts Receivable (A/R)” este un cont de tip" in \
        shown["/settings/integrations/quickbooks?tab=services"]
    assert "Referința plății (PaymentRefNum)" in shown["/settings/integrations/quickbooks?tab=payments"]
    # What people changed in QuickBooks, in Romanian too.
    assert "Nota internă (PrivateNote) este acum „Ajustat de contabil”" in \
        shown["/settings/integrations/quickbooks?tab=invoices"]
    assert "nu a fost creată de produs" in shown["/settings/integrations/quickbooks?tab=payments"]

    page.goto(f"{live_server}/settings/integrations/quickbooks/tieout")  # desk rows named in Romanian
    expect(page.locator("#main")).to_contain_text("Rândul din birou: Număr")
    expect(page.locator("#main")).not_to_contain_text("Waiting for its")
