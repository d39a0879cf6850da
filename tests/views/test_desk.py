"""The errors desk's views: page vs HTMX fragment, Vary, permissions (403 with nothing changed),
Submit validation, CSV, bulk requests, the banner, the record panel, history and jobs."""
import csv
import io

import pytest
from sqlalchemy import func, insert, select

from qbo.core.db import db
from qbo.core.models import JobRun, utcnow
from qbo.core.queue import get_queue
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import BulkRequest, SyncError
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_invoice, make_payment, make_user, sign_in

SETTINGS = "/settings/integrations/quickbooks"


def _error(firm, case="account-no-match", record=None, **kw):
    record = record or make_account(firm, name=kw.pop("name", None) or "Nova Fitness")
    error = problems.record(firm.id, record.record_type, record.id, case, **kw)
    db.session.commit()
    return error


def _signed_in(client, role="owner", firm=None):
    return _as(client, make_user(firm, role=role))


def _as(client, user):
    """Sign in as `user`; the app context of the test outlives requests, so forget Flask-Login's
    cached user of the previous one."""
    from flask import g

    g.pop("_login_user", None)
    sign_in(client, user)
    g.pop("_login_user", None)
    return user


def _jobs():
    return db.session.scalar(select(func.count()).select_from(JobRun))


def test_it_shows_tabs_with_counts_and_the_row(client, app):
    user = _signed_in(client)
    _error(user.firm, message="No customer named Nova Fitness")
    page = client.get(SETTINGS).get_data(as_text=True)
    assert 'role="tablist"' in page and 'id="tab-accounts"' in page and 'aria-selected="true"' in page
    assert 'data-count="1"' in page and "Nova Fitness" in page
    assert "Why this happens / How to fix it" in page and 'aria-label="Action for Nova Fitness"' in page
    assert '<option value="create_customer">Create new customer</option>' in page


def test_it_returns_the_errors_fragment_to_htmx(client, app):
    user = _signed_in(client)
    _error(user.firm)
    response = client.get(f"{SETTINGS}?tab=accounts", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="errors-desk"') and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert "HX-Request" in client.get(SETTINGS).headers["Vary"]


def test_it_filters_a_tab_by_case(client, app):
    user = _signed_in(client)
    _error(user.firm, name="Alpha")
    _error(user.firm, case="duplicate-name", name="Beta", code="6240", message="Duplicate Name Exists Error")
    page = client.get(f"{SETTINGS}?tab=accounts&case=duplicate-name", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Beta" in page and ">Alpha<" not in page


def _open_errors(firm, n, category="invoices", case="qbo-fault", record_type="invoice"):
    """n open errors inserted with bulk SQL, as a busy sync leaves them (no ledger rows behind them)."""
    now = utcnow()
    db.session.execute(insert(SyncError), [
        {"firm_id": firm.id, "record_type": record_type, "record_id": i + 1, "case": case, "category": category,
         "message": "QuickBooks refused it.", "first_seen": now, "last_seen": now, "status": "open",
         "severity": "error", "severity_rank": 2} for i in range(n)])
    db.session.commit()


def test_it_says_99_plus_on_a_tab_badge_and_counts_the_rows_on_the_tabs_page(client, app):
    user = _signed_in(client)
    _open_errors(user.firm, 120)
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-count="100">99+</span>' in page and "Page 1 of 5 · 120 rows" in page


def test_it_says_999_plus_for_a_case_its_bulk_action_and_the_pager_past_999(client, app):
    user = _signed_in(client)
    _open_errors(user.firm, 1001, case="customer-deleted")
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Customer deleted in QuickBooks (999+)</option>" in page and "more than 999 rows" in page
    assert "Resync for all entities with this error: " in page and "(999+)</button>" in page


def test_it_paginates_a_tab(client, app):
    user = _signed_in(client)
    for n in range(27):
        _error(user.firm, name=f"Client {n:02d}")
    first = client.get(f"{SETTINGS}?tab=accounts", headers={"HX-Request": "true"}).get_data(as_text=True)
    second = client.get(f"{SETTINGS}?tab=accounts&page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count('class="sev-error') == 25
    assert second.count('class="sev-error') == 2


def test_it_shows_a_viewer_no_controls_and_who_can_act(client, app):
    owner = make_user(role="owner")
    _error(owner.firm)
    _signed_in(client, "viewer", owner.firm)
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "Nova Fitness" in page and "<select name=\"action-" not in page and ">Submit<" not in page
    assert "only the owner, admins and staff members can" in page and "approval of the owner" in page


HELD_BY_A_VENDOR = {"holder": "vendor", "holder_active": True, "holder_id": "7", "name": "Sam Rivera",
                    "proposed_name": "Sam Rivera (client)"}


@pytest.mark.parametrize("role,shown", [("staff", True), ("viewer", False)])
def test_it_shows_the_proposed_name_and_its_rename_only_to_whoever_may_act(client, app, role, shown):
    owner = make_user(role="owner")
    _error(owner.firm, case="duplicate-name", name="Sam Rivera", code="6240", message="Duplicate Name Exists Error",
           facts=HELD_BY_A_VENDOR)
    _signed_in(client, role, owner.firm)
    page = client.get(f"{SETTINGS}?tab=accounts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "A vendor in QuickBooks already uses the name &#34;Sam Rivera&#34;." in page
    assert ('<option value="rename_customer">Rename to “Sam Rivera (client)” and resync</option>' in page) is shown
    assert ("“Sam Rivera (client)” is free in the ledger and in QuickBooks" in page) is shown


def test_it_offers_to_reactivate_the_inactive_customer_holding_the_name(client, app):
    user = _signed_in(client, "staff")
    _error(user.firm, case="duplicate-name", name="Dana Cole", code="6240", message="Duplicate Name Exists Error",
           facts={"holder": "customer", "holder_active": False, "holder_id": "9", "name": "Dana Cole"})
    page = client.get(f"{SETTINGS}?tab=accounts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<option value="reactivate_customer">Reactivate “Dana Cole” in QuickBooks and link</option>' in page
    assert "rename_customer" not in page and "An inactive customer in QuickBooks already uses" in page


@pytest.mark.parametrize("path,data", [
    ("/errors/apply", {"action-{id}": "skip"}),
    ("/bulk", {"action": "create_missing_customers"}),
])
def test_it_refuses_a_forced_post_from_a_viewer(client, app, path, data):
    owner = make_user(role="owner")
    error = _error(owner.firm)
    _signed_in(client, "viewer", owner.firm)
    form = {k.format(id=error.id): v for k, v in data.items()}
    assert client.post(SETTINGS + path, data=form).status_code == 403
    db.session.expire_all()
    assert error.status == "open" and _jobs() == 0 and db.session.scalar(select(func.count()).select_from(BulkRequest)) == 0


def test_it_enqueues_one_job_per_chosen_row_and_returns_the_progress_fragment(client, app):
    user = _signed_in(client)
    a, b = _error(user.firm, name="Alpha"), _error(user.firm, name="Beta")
    _error(user.firm, name="Gamma")
    response = client.post(f"{SETTINGS}/errors/apply", headers={"HX-Request": "true"},
                           data={"tab": "accounts", f"action-{a.id}": "skip", f"action-{b.id}": "create_customer"})
    assert response.status_code == 202 and 'id="desk-jobs"' in response.get_data(as_text=True)
    assert "load delay:1s" in response.get_data(as_text=True)
    assert sorted(r.kind for r in db.session.scalars(select(JobRun))) == ["action-create_customer", "action-skip"]


def test_it_enqueues_nothing_when_a_link_has_no_customer_chosen(client, app):
    user = _signed_in(client)
    a, b = _error(user.firm, name="Alpha"), _error(user.firm, name="Beta")
    response = client.post(f"{SETTINGS}/errors/apply", headers={"HX-Request": "true"},
                           data={f"action-{a.id}": "skip", f"action-{b.id}": "link_customer"})
    assert "Nothing was applied" in response.get_data(as_text=True) and _jobs() == 0


def test_it_redirects_after_submit_without_javascript(client, app):
    user = _signed_in(client)
    error = _error(user.firm)
    response = client.post(f"{SETTINGS}/errors/apply", data={"tab": "accounts", f"action-{error.id}": "skip"})
    assert response.status_code == 302 and "jobs=action-skip-" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="desk-jobs"' in page


def test_it_triggers_a_refresh_when_the_jobs_are_done(client, app):
    user = _signed_in(client)
    run = JobRun(id="action-skip-x", firm_id=user.firm_id, kind="action-skip", status="finished",
                 result={"outcome": "skipped"})
    db.session.add(run)
    db.session.commit()
    response = client.get(f"{SETTINGS}/errors/progress?jobs=action-skip-x", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "qbo-errors-changed" in response.headers["HX-Trigger"] and "hx-trigger" not in body
    assert "Skipped." in body


def test_it_exports_the_tab_as_csv(client, app):
    user = _signed_in(client)
    _error(user.firm, name="=HYPERLINK(evil)")
    _error(user.firm, name="Beta")
    response = client.get(f"{SETTINGS}/errors.csv?tab=accounts")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["record"] for r in rows) == ["'=HYPERLINK(evil)", "Beta"]
    assert {r["case"] for r in rows} == {"account-no-match"}


def test_it_lets_an_admin_ask_for_bulk_creation_and_the_owner_approve(client, app):
    owner = make_user(role="owner")
    _error(owner.firm)
    admin = _signed_in(client, "admin", owner.firm)
    response = client.post(f"{SETTINGS}/bulk", data={"action": "create_missing_customers"}, headers={"HX-Request": "true"})
    assert "Asked the owner" in response.get_data(as_text=True) and _jobs() == 0
    [request] = db.session.scalars(select(BulkRequest)).all()
    assert (request.status, request.requested_by_id) == ("pending", admin.id)
    assert client.post(f"{SETTINGS}/bulk/{request.id}/approve").status_code == 403
    owner_client = app.test_client()
    _as(owner_client, owner)
    assert admin.email in owner_client.get(SETTINGS).get_data(as_text=True)
    assert owner_client.post(f"{SETTINGS}/bulk/{request.id}/approve", headers={"HX-Request": "true"}).status_code == 202
    db.session.expire_all()
    assert request.status == "approved" and db.session.get(JobRun, request.job_run_id).kind == "bulk-create_missing_customers"


def test_it_lets_the_owner_decline_a_bulk_request(client, app):
    owner = make_user(role="owner")
    admin = make_user(owner.firm, role="admin")
    request = BulkRequest(firm_id=owner.firm_id, action="create_missing_customers", requested_by_id=admin.id)
    db.session.add(request)
    db.session.commit()
    sign_in(client, owner)
    client.post(f"{SETTINGS}/bulk/{request.id}/decline")
    db.session.expire_all()
    assert request.status == "declined" and _jobs() == 0


def test_it_renders_the_banner_partial_with_the_api_count(client, app):
    from qbo.quickbooks.problems.counts import sync_status

    user = _signed_in(client)
    _error(user.firm)
    _error(user.firm, case="line-description-fallback", record=make_invoice(user.firm))  # a warning
    response = client.get("/quickbooks/banner", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="qbo-banner"') and "HX-Request" in response.headers["Vary"]
    assert f'data-count="{sync_status(user.firm_id)["total"]}"' in body and 'data-count="1"' in body


def test_it_shows_the_sync_panel_as_page_or_fragment(client, app):
    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    page = client.get(f"/quickbooks/records/invoice/{invoice.id}")
    fragment = client.get(f"/quickbooks/records/invoice/{invoice.id}", headers={"HX-Request": "true"})
    assert "<html" in page.get_data(as_text=True) and "Sync to QuickBooks" in page.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="sync-panel"') and invoice.account.name in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_it_hides_another_firms_record_panel(client, app):
    _signed_in(client)
    other = make_invoice(make_user(role="owner").firm)
    assert client.get(f"/quickbooks/records/invoice/{other.id}").status_code == 404


def test_it_offers_the_sync_menu_on_invoices(client, app):
    user = _signed_in(client)
    invoice = make_invoice(user.firm)
    assert "Sync to QuickBooks" in client.get("/invoices/").get_data(as_text=True)
    assert "Sync to QuickBooks" in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)


def test_it_filters_the_history(client, app):
    user = _signed_in(client)
    from qbo.core.audit import audit

    audit(user.firm_id, user.id, "quickbooks.skip", None, outcome="skipped")
    audit(user.firm_id, user.id, "settings.updated", None, fields=["x"])
    db.session.commit()
    body = client.get("/quickbooks/history?action=quickbooks.", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Skipped an error" in body and "Changed the sync settings" not in body


def test_it_lists_failed_jobs_for_admins_only(client, app):
    admin = _signed_in(client, "admin")
    db.session.add(JobRun(id="sync-x", firm_id=admin.firm_id, kind="sync", status="failed", result={"error": "Boom"}))
    db.session.commit()
    body = client.get("/quickbooks/jobs").get_data(as_text=True)
    assert "sync-x" in body or "Boom" in body
    assert ">Retry<" in body
    staff_client = app.test_client()
    _signed_in(staff_client, "staff", admin.firm)
    assert staff_client.get("/quickbooks/jobs").status_code == 403


def test_it_refuses_an_account_of_the_wrong_type_in_settings(client, app):
    from qbo.quickbooks import company_cache

    user = _signed_in(client)
    company_cache.store(user.firm_id, {"accounts": [{"id": "35", "name": "Checking", "type": "Bank"},
                                                    {"id": "41", "name": "Visa", "type": "Credit Card"}],
                                       "payment_methods": [{"id": "3", "name": "ACH", "type": "NON_CREDIT_CARD"}],
                                       "doc_numbers": ["INV-0041", "INV-0043"], "refreshed_at": "2026-11-26T00:00:00"})
    page = client.get(f"{SETTINGS}/sync-settings").get_data(as_text=True)
    assert ">Visa (Credit Card)</option>" in page and "next free number is <strong>44</strong>" in page
    form = {"default_income_account": "Services", "next_invoice_number": "1", "card_account_qbo_id": "35",
            "payment_method_map-ach": "3"}
    response = client.post(f"{SETTINGS}/sync-settings", data=form)
    assert response.status_code == 422 and "must be an account of type Credit Card" in response.get_data(as_text=True)
    form["card_account_qbo_id"] = "41"
    assert client.post(f"{SETTINGS}/sync-settings", data=form).status_code == 302
    db.session.expire_all()
    assert user.firm.card_account_qbo_id == "41" and user.firm.payment_method_map == {"ach": "3"}


def test_it_groups_errors_behind_one_deleted_customer_and_fixes_them_together(client, app):
    user = _signed_in(client)
    account = make_account(user.firm, name="Orchard Pediatrics")
    first, second = make_invoice(user.firm, account=account), make_invoice(user.firm, account=account)
    e1 = _error(user.firm, case="customer-deleted", record=first, message="Invalid Customer")
    e2 = _error(user.firm, case="customer-deleted", record=second, message="Invalid Customer")
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="group-account-{account.id}"' in page and "is behind 2 open errors" in page
    assert "Create new customer, then resync the 1 other record" in page
    response = client.post(f"{SETTINGS}/errors/apply", headers={"HX-Request": "true"},
                           data={f"group-account-{account.id}": "create_customer", f"action-{e2.id}": "skip"})
    assert response.status_code == 202
    runs = db.session.scalars(select(JobRun).order_by(JobRun.created_at)).all()
    assert [r.kind for r in runs] == ["action-create_customer", "action-resync"]  # the group's fix wins


def test_it_fixes_a_root_cause_with_its_errors_in_other_tabs(client, app):
    user = _signed_in(client)
    account = make_account(user.firm, name="Orchard Pediatrics")
    invoice = make_invoice(user.firm, account=account)
    _error(user.firm, record=account)  # account-no-match: the root, on the Accounts tab
    _error(user.firm, case="customer-deleted", record=invoice, message="Invalid Customer")
    _error(user.firm, case="customer-deleted", record=make_payment(user.firm, invoice=invoice), message="Invalid Customer")
    page = client.get(f"{SETTINGS}?tab=invoices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "is behind 3 open errors (1 on this tab)" in page
    client.post(f"{SETTINGS}/errors/apply", headers={"HX-Request": "true"},
                data={f"group-account-{account.id}": "create_customer"})
    runs = db.session.scalars(select(JobRun).order_by(JobRun.created_at)).all()
    assert [r.kind for r in runs] == ["action-create_customer", "action-resync", "action-resync"]


def test_it_says_so_when_quickbooks_cannot_be_searched(client, app):
    user = _signed_in(client)
    error = _error(user.firm)
    response = client.get(f"{SETTINGS}/customers?field=qbo_id-{error.id}&q=nova")  # not connected
    assert response.status_code == 200 and "QuickBooks did not answer the search" in response.get_data(as_text=True)
    assert client.get(f"{SETTINGS}/customers?field=evil&q=nova").status_code == 400


def test_it_marks_an_inactive_customer_in_the_search(client, connected, qbo_emulator):
    _as(client, connected)
    error = _error(connected.firm, name="Orla Finch")
    for name, active in (("Orla Finch Ltd", False), ("Orla Finch Studio", True)):
        qbo_emulator.control("POST", f"/companies/{qbo_emulator.realm_id}/Customer",
                             json={"DisplayName": name, "Active": active}).raise_for_status()
    body = client.get(f"{SETTINGS}/customers?field=qbo_id-{error.id}&q=orla").get_data(as_text=True)
    assert body.index("Orla Finch Studio</label>") < body.index('Orla Finch Ltd <span class="hint">(inactive)</span>')
    assert "Linking an inactive customer makes it active again in QuickBooks." in body


def test_it_reads_the_company_accounts_in_a_job_and_offers_them_by_type(client, app, qbo_emulator):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from qbo.demo import connect_demo_firm
    from qbo.quickbooks import company_cache

    user = _signed_in(client)
    connect_demo_firm(user.firm_id, user.id)
    make_invoice(user.firm, number="INV-0007")
    client.get(f"{SETTINGS}/sync-settings")  # the page asks for the company's facts; the request itself never calls QBO
    assert company_cache.get(user.firm_id) is None
    quickbooks_jobs.enqueue_sync(user.firm_id)
    queue = get_queue()
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
    company_cache.forget_lock(user.firm_id)
    quickbooks_jobs.request_company_refresh(user.firm_id)
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
    page = client.get(f"{SETTINGS}/sync-settings").get_data(as_text=True)
    assert ">Visa Card (Credit Card)</option>" in page and ">Checking (Bank)</option>" in page
    assert ">Merchant Fees (Expense)</option>" in page
    assert "up to INV-0007" in page and "next free number is <strong>8</strong>" in page


def test_it_retries_a_failed_job_from_the_jobs_page(client, app):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from qbo.quickbooks import company_cache

    owner = _signed_in(client)
    run = quickbooks_jobs.request_company_refresh(owner.firm_id, owner.id)  # fails: QuickBooks is not connected
    queue = get_queue()
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "failed"
    assert "ReconnectNeeded" in client.get("/quickbooks/jobs").get_data(as_text=True)
    client.post(f"/quickbooks/jobs/{run.id}/retry")
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "queued" and run.id in queue.job_ids


def test_it_answers_the_banner_poll_empty_once_signed_out(client, app):
    response = client.get("/quickbooks/banner", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.get_data(as_text=True) == ""


def test_it_makes_a_customer_deleted_in_quickbooks_active_again_on_resync(client, app, qbo_emulator):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from qbo.core.queue import get_queue
    from qbo.demo import connect_demo_firm
    from qbo.quickbooks import jobs as quickbooks_jobs
    from qbo.quickbooks.models import QboLink

    def drain():
        queue = get_queue()
        SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()

    user = _signed_in(client)
    connect_demo_firm(user.firm_id, user.id)
    invoice = make_invoice(user.firm, account=make_account(user.firm, name="Orchard Pediatrics"))
    quickbooks_jobs.enqueue_sync(user.firm_id)
    drain()
    customer_id = db.session.scalar(select(QboLink.qbo_id).where(QboLink.record_type == "account"))
    qbo_emulator.control("DELETE", f"/companies/{qbo_emulator.realm_id}/Customer/{customer_id}",
                         params={"force": "true"}).raise_for_status()
    quickbooks_jobs.enqueue_poll(user.firm_id)
    drain()
    panel = client.get(f"/quickbooks/records/invoice/{invoice.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Deleted in QuickBooks: account “Orchard Pediatrics”" in panel
    assert client.post(f"/quickbooks/records/invoice/{invoice.id}/resync", headers={"HX-Request": "true"}).status_code == 202
    drain()
    customer = qbo_emulator.control("GET", f"/companies/{qbo_emulator.realm_id}/Customer").json()
    customer = customer if isinstance(customer, list) else customer.get("Customer", [])
    assert [(c["Id"], c["Active"]) for c in customer] == [(customer_id, True)]
    assert db.session.scalars(select(SyncError).where(SyncError.status == "open", SyncError.severity == "error")).all() == []
    panel = client.get(f"/quickbooks/records/invoice/{invoice.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Deleted in QuickBooks" not in panel and "Unsynced" not in panel

