"""Roles, firms and secrets at the edges the other suites don't reach: every action route refuses
each role that lacks the right, firm A can't see or act on firm B's errors and jobs, and tokens never
reach a log or the database in clear, even through a sync that refreshes them.
(CSRF on every POST: tests/test_csrf.py; webhook signatures: tests/quickbooks/changes/test_webhooks.py.)"""
import logging

import pytest
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.quickbooks import connection as qconn
from qbo.quickbooks.models import QboConnection
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_api_key, make_firm, make_user, sign_in


def _error(firm, case="account-no-match"):
    account = make_account(firm)
    error = problems.record(firm.id, "account", account.id, case, message="No customer named so.")
    db.session.commit()
    return error


# (method, url, body, roles that may) for every route that acts; {error} is an open error's id.
API_ACTIONS = [
    ("/api/v1/sync/errors/{error}/actions", {"action": "skip"}, {"owner", "admin", "staff"}),
    ("/api/v1/sync/bulk", {"action": "create_missing_customers"}, {"owner"}),
    ("/api/v1/sync/run", {}, {"owner", "admin", "staff"}),
    ("/api/v1/accounts", {"name": "New client"}, {"owner", "admin", "staff"}),
]


@pytest.mark.parametrize("role", ["owner", "admin", "staff", "viewer"])
@pytest.mark.parametrize("path,body,allowed", API_ACTIONS)
def test_it_refuses_each_api_action_to_a_role_without_the_right(client, app, role, path, body, allowed):
    user = make_user(role=role)
    error = _error(user.firm)
    response = client.post(path.format(error=error.id), json=body, headers=make_api_key(user))
    if role in allowed:
        assert response.status_code != 403, response.get_json()
    else:
        assert response.status_code == 403


PAGE_ACTIONS = [
    ("/settings/integrations/quickbooks/connect", {"owner"}),
    ("/settings/integrations/quickbooks/disconnect", {"owner"}),
    ("/settings/integrations/quickbooks/sync-settings", {"owner", "admin"}),
    ("/jobs/recalculate-balances", {"owner", "admin", "staff"}),
    ("/accounts/new", {"owner", "admin", "staff"}),
]


@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
@pytest.mark.parametrize("path,allowed", PAGE_ACTIONS)
def test_it_refuses_each_page_action_to_a_role_without_the_right(client, app, role, path, allowed):
    sign_in(client, make_user(role=role))
    response = client.post(path, data={"name": "X", "default_income_account": "Services", "next_invoice_number": "2"})
    assert (response.status_code == 403) == (role not in allowed), response.status_code


def test_it_keeps_firm_bs_errors_and_jobs_from_firm_a(client, app):
    from qbo.core import queue
    from qbo.ledger import jobs as ledger_jobs

    firm_b = make_firm(name="Firm B")
    error_b = _error(firm_b)
    run_b = queue.enqueue("recalculate-balances", ledger_jobs.recalculate_balances, firm_b.id)
    owner_a = make_user(make_firm(name="Firm A"), "owner")
    headers = make_api_key(owner_a)
    listed = client.get("/api/v1/sync/errors", headers=headers).get_json()["data"]
    assert error_b.id not in [e["id"] for e in listed]
    for action in ("skip", "resync", "link_customer", "create_customer"):
        response = client.post(f"/api/v1/sync/errors/{error_b.id}/actions", json={"action": action}, headers=headers)
        assert response.status_code == 404
    assert client.get(f"/api/v1/jobs/{run_b.id}", headers=headers).status_code == 404
    sign_in(client, owner_a)
    assert client.get(f"/jobs/{run_b.id}").status_code == 404
    assert client.get("/api/v1/sync/status", headers=headers).get_json()["total"] == 0
    db.session.refresh(error_b)
    assert error_b.status == "open"


def test_it_keeps_tokens_out_of_logs_and_the_database_through_a_sync_that_refreshes(app, qbo_emulator, caplog):
    from qbo.demo import connect_demo_firm
    from qbo.quickbooks.sync.engine import sync_firm

    owner = make_user(role="owner")
    with caplog.at_level(logging.DEBUG):
        connect_demo_firm(owner.firm_id, owner.id)
        make_account(owner.firm, name="Secretive Ltd")
        connection = db.session.scalar(select(QboConnection))
        first = (qconn.decrypt(connection.access_token_encrypted), qconn.decrypt(connection.refresh_token_encrypted))
        connection.access_token_expires_at = utcnow()  # the sync must refresh first
        db.session.commit()
        assert sync_firm(owner.firm_id).created == 1
    db.session.refresh(connection)
    now = (qconn.decrypt(connection.access_token_encrypted), qconn.decrypt(connection.refresh_token_encrypted))
    assert now != first
    stored = " ".join(str(v) for v in (connection.access_token_encrypted, connection.refresh_token_encrypted))
    for token in (*first, *now):
        assert token not in caplog.text
        assert token not in stored


# --- issue 15: headers, the API's customer search, a poll that vanishes under a webhook ------------


def test_it_sends_anti_framing_and_other_security_headers(client, app):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_it_keeps_signed_in_pages_and_api_answers_out_of_caches(client, app):
    owner = make_user(role="owner")
    assert client.get("/api/v1/invoices", headers=make_api_key(owner)).headers["Cache-Control"] == "no-store"
    sign_in(client, owner)
    assert client.get("/invoices/").headers["Cache-Control"] == "no-store"


def test_it_lets_a_viewer_key_search_no_quickbooks_customers(client, app):
    viewer = make_user(role="viewer")
    response = client.get("/api/v1/sync/customers?q=Acme", headers=make_api_key(viewer))
    assert response.status_code == 403


def test_it_queues_a_poll_when_the_one_it_would_follow_has_just_vanished(app, monkeypatch):
    from rq.job import Job

    from qbo.quickbooks import jobs as quickbooks_jobs

    firm = make_firm()
    assert quickbooks_jobs.enqueue_poll(firm.id) is True
    real_fetch = Job.fetch

    def fetch_then_finish(cls, job_id, *args, **kwargs):
        job = real_fetch(job_id, *args, **kwargs)
        job.delete()  # the poll finishes (result_ttl=0: its job is gone) right after it was looked up
        return job

    monkeypatch.setattr(Job, "fetch", classmethod(fetch_then_finish))
    assert quickbooks_jobs.enqueue_poll(firm.id) is True  # a new poll, not an InvalidJobOperation (a 500)
