"""The errors desk in Chromium, with a real RQ worker (drained in this process) and the QBO emulator:
the banner's count, tab counts, several rows fixed with one Submit, the type-ahead link, a bulk
creation an admin asks for and the owner approves, a viewer's page, and the Sync to QuickBooks panel."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qbo.core.db import db
from qbo.quickbooks.models import QboLink, SyncError
from tests.factories import make_account, make_api_key, make_invoice, make_service, make_user

pytestmark = pytest.mark.browser
SETTINGS = "/settings/integrations/quickbooks"
SHOTS = __import__("os").environ.get("DESK_SHOTS")  # a folder: the rename row's screenshot goes there


def _person(qbo_emulator, method, entity, body=None, record_id=None):
    path = f"/companies/{qbo_emulator.realm_id}/{entity}" + (f"/{record_id}" if record_id else "")
    response = qbo_emulator.control(method, path, json=body,
                                    params={"force": "true"} if method == "DELETE" else None)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _customers(qbo_emulator):
    body = qbo_emulator.control("GET", f"/companies/{qbo_emulator.realm_id}/Customer").json()
    rows = body if isinstance(body, list) else body.get("Customer", body.get("records", []))
    return rows


def _open(case=None):
    stmt = select(SyncError).where(SyncError.status == "open")
    return db.session.scalars(stmt.where(SyncError.case == case) if case else stmt).all()


def _tab_count(page, tab):
    return page.locator(f"#tab-{tab} .count")


def _demo_errors(owner, qbo_emulator, drain):
    """Realistic open errors on three tabs, produced by pushing to the emulator."""
    firm = owner.firm
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "John Doe"})
    make_account(firm, name="John Doe", kind="individual", first_name="John", last_name="Doe")
    make_invoice(firm, account=make_account(firm, name="Orchard Pediatrics"), number="INV-2026-NOVEMBER-00001")
    make_service(firm, name="Audit", income_account="Accounts Receivable (A/R)")
    drain(firm.id)
    firm.create_customers_automatically = False
    for name in ("Nova Fitness", "Tidewater Marine", "Vista Travel Co"):
        make_account(firm, name=name)
    db.session.commit()
    drain(firm.id)


def test_it_fixes_several_rows_with_one_submit_and_the_counts_fall(page, sign_in, connected, qbo_emulator, drain, client):
    _demo_errors(connected, qbo_emulator, drain)
    api = client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()
    assert api["counts"]["accounts"] == 4 and api["total"] >= 6
    sign_in(page, connected, SETTINGS)
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.locator("#qbo-banner .banner-count")).to_have_text(str(api["total"]))
    for tab, n in api["counts"].items():
        expect(_tab_count(page, tab)).to_have_text(str(n))
    expect(page.get_by_role("tab", name="Accounts 4")).to_have_attribute("aria-selected", "true")
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Action for Nova Fitness").select_option("create_customer")
    page.get_by_label("Action for Tidewater Marine").select_option("skip")
    page.get_by_label("Action for John Doe").select_option("skip")
    page.locator("#sync-error-%d details" % _open("duplicate-name")[0].id).click()  # "Why this happens"
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#desk-jobs")).to_contain_text("Working")
    drain()
    expect(page.locator("#desk-jobs")).to_contain_text("Done: 3 of 3", timeout=10000)
    expect(_tab_count(page, "accounts")).to_have_text("1")
    expect(page.locator("#qbo-banner .banner-count")).to_have_text(str(api["total"] - 3))
    expect(page.locator("#errors-desk")).not_to_contain_text("Nova Fitness")
    assert page.evaluate("window.__notReloaded") is True
    assert [c["DisplayName"] for c in _customers(qbo_emulator) if c["DisplayName"] == "Nova Fitness"] == ["Nova Fitness"]
    total = client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()["total"]
    assert total == api["total"] - 3

    page.get_by_role("tab", name="Services 1").click()  # tabs swap without reload too
    expect(page.locator("#errors-panel")).to_contain_text("Wrong account type for the service")
    expect(page.get_by_role("tab", name="Services 1")).to_have_attribute("aria-selected", "true")
    page.wait_for_load_state("networkidle")  # no refresh still on its way to replace the tabs
    page.get_by_role("tab", name="Services 1").press("ArrowLeft")
    # Arrow keys move between tabs and open them. Where the focus lands after the swap is left
    # unasserted: it raced with the banner's own refresh in about one run in six (see the note).
    expect(page.get_by_role("tab", name="Expenses 0")).to_have_attribute("aria-selected", "true")


def test_it_links_an_account_to_a_customer_found_by_typing(page, sign_in, connected, qbo_emulator, drain):
    connected.firm.create_customers_automatically = False
    account = make_account(connected.firm, name="Juniper Architects")
    drain(connected.firm_id)
    existing = _person(qbo_emulator, "POST", "Customer", {"DisplayName": "Juniper Architects LLC"})
    sign_in(page, connected, SETTINGS)
    page.wait_for_load_state("networkidle")  # the desk's own loads settled before typing (failed once under load)
    page.get_by_label("Action for Juniper Architects").select_option("link_customer")
    page.get_by_label("Search QuickBooks customers for Juniper Architects").fill("junip")
    choice = page.get_by_label("Juniper Architects LLC")
    expect(choice).to_be_visible()
    choice.check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#desk-jobs")).to_contain_text("Working")
    drain()
    expect(page.locator("#desk-jobs")).to_contain_text("Linked", timeout=10000)
    expect(_tab_count(page, "accounts")).to_have_text("0")
    link = db.session.scalar(select(QboLink).where(QboLink.record_type == "account", QboLink.record_id == account.id))
    assert (link.status, link.qbo_id) == ("synced", existing["Id"]) and len(_customers(qbo_emulator)) == 1


def test_it_runs_the_bulk_creation_an_admin_asked_for_once_the_owner_approves(browser, sign_in, connected, qbo_emulator, drain):
    connected.firm.create_customers_automatically = False
    for name in ("A Corp", "B Corp", "C Corp"):
        make_account(connected.firm, name=name)
    drain(connected.firm_id)
    admin = make_user(connected.firm, "admin")
    admin_page = browser.new_context().new_page()
    sign_in(admin_page, admin, SETTINGS)
    admin_page.get_by_role("button", name="Create new customer in QuickBooks for all accounts missing in QuickBooks (3) — ask the owner").click()
    expect(admin_page.locator("#desk-progress")).to_contain_text("Asked the owner")
    expect(admin_page.locator(".bulk-request")).to_contain_text("Waiting for the owner's approval")
    assert _customers(qbo_emulator) == []

    owner_page = browser.new_context().new_page()
    sign_in(owner_page, connected, SETTINGS)
    expect(owner_page.locator(".bulk-request")).to_contain_text(f"{admin.email} asks")
    owner_page.get_by_role("button", name="Approve").click()
    expect(owner_page.locator("#desk-jobs")).to_be_visible()
    drain()
    expect(owner_page.locator("#desk-jobs")).to_contain_text("Done", timeout=10000)
    expect(_tab_count(owner_page, "accounts")).to_have_text("0")
    expect(owner_page.locator(".bulk-request")).to_have_count(0)
    assert sorted(c["DisplayName"] for c in _customers(qbo_emulator)) == ["A Corp", "B Corp", "C Corp"]


def test_it_shows_a_viewer_no_controls_and_refuses_a_forced_post(page, sign_in, app):
    from qbo.quickbooks.problems import rows as problems

    owner = make_user(role="owner")
    account = make_account(owner.firm, name="Vista Travel Co")
    error = problems.record(owner.firm_id, "account", account.id, "account-no-match")
    db.session.commit()
    viewer = make_user(owner.firm, "viewer")
    sign_in(page, viewer, SETTINGS)
    expect(page.locator("#errors-desk")).to_contain_text("Vista Travel Co")
    expect(page.locator("#errors-desk")).to_contain_text("only the owner, admins and staff members can")
    expect(page.locator("#errors-desk select[name^=action-]")).to_have_count(0)
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    status = page.evaluate("""async (id) => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const body = new URLSearchParams({csrf_token: token, ['action-' + id]: 'skip'});
        return (await fetch('/settings/integrations/quickbooks/errors/apply', {method: 'POST', body})).status;
    }""", error.id)
    assert status == 403
    db.session.expire_all()
    assert db.session.get(SyncError, error.id).status == "open"


def test_it_names_the_invoice_deleted_in_quickbooks_and_resync_repairs_the_payment(page, sign_in, connected, qbo_emulator, drain):
    from qbo.quickbooks import jobs as quickbooks_jobs
    from tests.factories import make_payment

    payment = make_payment(connected.firm, make_invoice(connected.firm, number="INV-0107"))
    invoice = payment.allocations[0].invoice
    drain(connected.firm_id)
    invoice_qbo_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "invoice"))
    _person(qbo_emulator, "DELETE", "Invoice", record_id=invoice_qbo_id)
    quickbooks_jobs.enqueue_poll(connected.firm_id)
    drain()
    sign_in(page, connected, f"/payments/{payment.id}")
    page.get_by_label(f"More actions for {payment.label}").click()
    page.get_by_role("menuitem", name="Sync to QuickBooks").click()
    panel = page.locator("#sync-panel")
    expect(panel).to_be_focused()
    expect(panel.get_by_role("alert")).to_contain_text("Deleted in QuickBooks: invoice “INV-0107”")
    expect(panel.locator(f"#panel-invoice-{invoice.id}")).to_contain_text("Unsynced")
    panel.get_by_role("button", name="Resync").click()
    expect(page.locator("#sync-panel-job")).to_contain_text("Working")
    drain()
    expect(panel.locator(f"#panel-invoice-{invoice.id}")).to_contain_text("Synced", timeout=10000)
    expect(panel.get_by_role("alert")).to_have_count(0)
    expect(page.locator("#sync-panel-job")).to_contain_text("Done")
    new_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "invoice"))
    assert new_id != invoice_qbo_id
    qbo_payment = qbo_emulator.control("GET", f"/companies/{qbo_emulator.realm_id}/Payment").json()
    qbo_payment = qbo_payment if isinstance(qbo_payment, list) else qbo_payment.get("Payment", [])
    assert [t["TxnId"] for line in qbo_payment[0]["Line"] for t in line["LinkedTxn"]] == [new_id]
    assert [e for e in _open() if e.record_type in ("invoice", "payment") and e.severity == "error"] == []


def test_it_works_with_full_page_loads_when_javascript_is_off(browser, live_server, sign_in, app, drain):
    from qbo.quickbooks.problems import rows as problems

    owner = make_user(role="owner")
    for name in ("Harbor View Cafe", "Acme Dental Group"):
        problems.record(owner.firm_id, "account", make_account(owner.firm, name=name).id, "account-no-match")
    service = make_service(owner.firm, name="Audit")
    problems.record(owner.firm_id, "service", service.id, "item-account-type")
    db.session.commit()
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, owner, SETTINGS)
    expect(_tab_count(page, "accounts")).to_have_text("2")
    page.get_by_label("Action for Harbor View Cafe").select_option("skip")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#desk-jobs")).to_contain_text("Working: 0 of 1")
    drain()
    page.reload()
    expect(page.locator("#desk-jobs")).to_contain_text("Done: 1 of 1")
    expect(_tab_count(page, "accounts")).to_have_text("1")
    expect(page.locator("#qbo-banner .banner-count")).to_have_text("2")
    page.get_by_role("tab", name="Services 1").click()
    expect(page).to_have_url(f"{live_server}{SETTINGS}?tab=services#quickbooks-errors")
    expect(page.locator("#errors-panel")).to_contain_text("Audit")


def test_it_renames_an_account_beside_a_vendor_with_one_choice_and_the_row_goes(page, sign_in, connected, qbo_emulator,
                                                                                 drain):
    """Issue 18: the row names the vendor holding the name and proposes a free one; choosing
    "Rename to … and resync" renames the account, creates its customer, and the row goes."""
    _person(qbo_emulator, "POST", "Vendor", {"DisplayName": "Sam Rivera"})
    make_account(connected.firm, name="Sam Rivera")
    drain(connected.firm_id)
    [error] = _open("duplicate-name")
    staff = make_user(connected.firm, "staff")
    sign_in(page, staff, SETTINGS)
    page.set_viewport_size({"width": 1280, "height": 900})
    row = page.locator(f"#sync-error-{error.id}")
    expect(row).to_contain_text('A vendor in QuickBooks already uses the name "Sam Rivera".')
    if SHOTS:
        row.screenshot(path=f"{SHOTS}/rename-row.png")
    row.get_by_label("Action for Sam Rivera").select_option(label="Rename to “Sam Rivera (client)” and resync")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#desk-jobs")).to_contain_text("Working")
    drain()
    expect(page.locator("#desk-jobs")).to_contain_text("Done: 1 of 1", timeout=10000)
    expect(page.locator("#desk-jobs")).to_contain_text("Account renamed and resynced; the error is closed.")
    expect(page.locator(f"#sync-error-{error.id}")).to_have_count(0)
    assert [c["DisplayName"] for c in _customers(qbo_emulator)] == ["Sam Rivera (client)"]
