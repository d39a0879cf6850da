"""Settings > Integrations > QuickBooks > Tie-out and GET/POST /api/v1/sync/tieout: who may look,
who may start one, the fragment that polls a running job, the result with its desk links."""
import pytest

from qbo.core.db import db
from qbo.quickbooks import jobs as quickbooks_jobs
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.sync.marking import find_link
from tests.factories import make_api_key, make_invoice, make_user, sign_in

PAGE = "/settings/integrations/quickbooks/tieout"
API = "/api/v1/sync/tieout"


def _as(client, user):
    from flask import g

    g.pop("_login_user", None)
    sign_in(client, user)
    g.pop("_login_user", None)
    return user


def _differing(connected, drain):
    """A synced invoice, then one QuickBooks refuses (an open desk row), and a finished tie-out."""
    invoice = make_invoice(connected.firm)
    drain(connected.firm_id)
    refused = make_invoice(connected.firm, account=invoice.account)
    error = SyncError(firm_id=connected.firm_id, record_type="invoice", record_id=refused.id,
                      case="qbo-fault", category="invoices", message="QuickBooks refused it")
    find_link(connected.firm_id, "invoice", refused.id).status = "error"
    db.session.add(error)
    db.session.commit()
    quickbooks_jobs.request_tieout(connected.firm_id)
    drain()
    return error


def test_it_shows_the_result_with_desk_links_to_a_viewer(client, connected, drain):
    error = _differing(connected, drain)
    _as(client, make_user(connected.firm, role="viewer"))
    page = client.get(PAGE).get_data(as_text=True)
    assert "2 differences between the ledger and QuickBooks" in page
    assert f"#sync-error-{error.id}" in page and "Desk row: QuickBooks refused it" in page
    assert "Run a tie-out" not in page  # a viewer may look, not start


def test_it_shows_the_page_in_romanian(client, connected, drain):
    _differing(connected, drain)
    user = make_user(connected.firm, role="staff", language="ro")
    _as(client, user)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Rulează o reconciliere" in page and "2 diferențe între registru și QuickBooks" in page


@pytest.mark.parametrize("role, status", [("viewer", 403), ("staff", 202), ("admin", 202)])
def test_it_lets_staff_and_up_start_one(client, connected, role, status):
    _as(client, make_user(connected.firm, role=role))
    response = client.post(PAGE, headers={"HX-Request": "true"})
    assert response.status_code == status
    if status == 202:
        body = response.get_data(as_text=True)
        assert 'hx-trigger="load delay:1s"' in body and "Waiting for a worker" in body


def test_it_renders_the_fragment_to_htmx_and_stops_polling_when_done(client, connected, drain):
    _differing(connected, drain)
    _as(client, connected)
    response = client.get(PAGE, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert 'id="tieout"' in body and "<html" not in body
    assert "hx-trigger" not in body and "HX-Request" in response.headers["Vary"]


def test_it_links_the_tieout_from_the_settings_page(client, connected):
    _as(client, connected)
    assert PAGE in client.get("/settings/integrations/quickbooks").get_data(as_text=True)


def test_it_starts_one_over_the_api_and_returns_the_result_when_done(client, connected, drain):
    headers = make_api_key(connected)
    assert client.get(API, headers=headers).status_code == 404
    started = client.post(API, headers=headers)
    assert started.status_code == 202 and started.headers["Location"].endswith(API)
    running = client.get(API, headers=headers)
    assert running.status_code == 202 and running.json["job_id"] == started.json["job_id"]
    drain()
    done = client.get(API, headers=headers)
    assert done.status_code == 200 and done.json["status"] == "finished"
    assert done.json["result"]["differences"] == 0 and done.json["result"]["requests"] == 6


def test_it_gives_reasons_and_desk_urls_over_the_api(client, connected, drain):
    error = _differing(connected, drain)
    result = client.get(API, headers=make_api_key(make_user(connected.firm, role="viewer"))).json["result"]
    [item] = [r for m in result["months"] for r in m["records"]]
    assert (item["reason"], item["reason_text"]) == ("error", "Not in QuickBooks: it has a QuickBooks error")
    assert item["desk"]["url"].endswith(f"#sync-error-{error.id}")


def test_it_refuses_a_viewer_starting_one_over_the_api(client, connected):
    response = client.post(API, headers=make_api_key(make_user(connected.firm, role="viewer")))
    assert response.status_code == 403


def test_it_refuses_to_start_without_a_connection(client, app):
    response = client.post(API, headers=make_api_key(make_user(role="owner")))
    assert response.status_code == 409 and "connection" in response.json["errors"]
