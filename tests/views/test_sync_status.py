"""Records pending and stuck (issue 12, part 4): `qbo status --json` and GET /api/v1/sync/status
count them, and the firm's limit is a sync setting."""
import datetime as dt
import json

from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.core.queue import get_queue
from qbo.quickbooks.models import QboLink
from tests.factories import make_account, make_api_key, make_user, sign_in

SETTINGS = "/settings/integrations/quickbooks"


def _pending_for(connected, *minutes):
    for n, age in enumerate(minutes):
        make_account(connected.firm, name=f"Waiting Client {n}")
    get_queue().empty()  # no worker: they stay pending
    for link, age in zip(db.session.scalars(select(QboLink).order_by(QboLink.id)), minutes):
        link.pending_since = utcnow() - dt.timedelta(minutes=age)
    db.session.commit()


def test_it_counts_pending_and_stuck_records_in_the_cli_and_the_api(connected, client, runner):
    _pending_for(connected, 1, 16, 40)
    out = runner.invoke(args=["qbo", "status", "--firm", str(connected.firm_id), "--json"]).output
    assert (json.loads(out)["pending"], json.loads(out)["stuck"]) == (3, 2)
    body = client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()
    assert (body["pending"], body["stuck"]) == (3, 2)


def test_it_counts_stuck_by_the_firms_own_limit(connected, client):
    _pending_for(connected, 1, 16, 40)
    connected.firm.stuck_after_minutes = 30
    db.session.commit()
    assert client.get("/api/v1/sync/status", headers=make_api_key(connected)).get_json()["stuck"] == 1


def test_it_saves_the_stuck_limit_and_refuses_a_bad_one(client, app):
    user = make_user(role="owner")
    sign_in(client, user)
    form = {"default_income_account": "Services", "next_invoice_number": "1", "stuck_after_minutes": "0"}
    response = client.post(f"{SETTINGS}/sync-settings", data=form)
    assert response.status_code == 422 and "must be a whole number of minutes from 1 to 10080" in response.get_data(as_text=True)
    form["stuck_after_minutes"] = "45"
    assert client.post(f"{SETTINGS}/sync-settings", data=form).status_code == 302
    db.session.expire_all()
    assert user.firm.stuck_after_minutes == 45
    assert 'name="stuck_after_minutes" value="45"' in client.get(f"{SETTINGS}/sync-settings").get_data(as_text=True)
