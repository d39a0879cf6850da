"""Any input to the JSON API and the ledger forms gets an answer, never a 500, and a refused write
stores nothing (property-based, Hypothesis; every table's row count is compared before and after)."""
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from qbo.core.db import db
from tests.factories import make, make_api_key, make_invoice, make_payment, make_user, sign_in
from views.api import _FIELDS as FIELDS  # noqa: E402  the API's own list of writable fields

PATCHABLE = [s for s in FIELDS if s != "refunds"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30) | st.sampled_from(["2026-11-01", "2026-02-30", "1", "0", "-5", "12.345", "100.00",
                                                     "card", "company", "individual", "a@b.test", "9" * 40, "1e309"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["service_id", "quantity", "rate", "description",
                                                              "invoice_id", "credit_note_id", "amount", "x"]),
                                             inner, max_size=4), max_leaves=10)


def _bodies(slug):
    keys = st.sampled_from(FIELDS[slug]) | st.text(max_size=8)
    return st.dictionaries(keys, json_values, max_size=6)


def _rows() -> dict:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.fixture
def api(app, client):
    owner = make_user(role="owner")
    invoice = make_invoice(owner.firm)
    payment = make_payment(owner.firm, invoice, amount="100.00", allocations=[{"invoice_id": invoice.id, "amount": "100.00"}])
    credit = make("credit-notes", owner.firm, account_id=invoice.account_id, date="2026-11-02",
                  lines=[{"description": "Credit", "quantity": "1", "rate": "10"}])
    records = {"accounts": invoice.account, "services": invoice.lines[0].service, "invoices": invoice,
               "credit-notes": credit, "payments": payment}
    return client, make_api_key(owner), {k: v.id for k, v in records.items()}, owner


def _check(response, before, created=(200, 201, 204)):
    assert response.status_code in (*created, 400, 401, 403, 404, 409, 422), (response.status_code, response.data[:300])
    if response.status_code == 422:
        errors = response.get_json()["errors"]
        assert errors and all(isinstance(v, list) and v for v in errors.values()), errors
    if response.status_code not in created:
        assert _rows() == before  # nothing half-written


@pytest.mark.parametrize("slug", list(FIELDS))
def test_it_answers_any_create_without_a_500_or_a_half_write(api, slug):
    client, headers, _, _ = api

    @SETTINGS
    @given(body=_bodies(slug) | json_values)
    def run(body):
        before = _rows()
        response = client.post(f"/api/v1/{slug}", json=body, headers=headers)
        _check(response, before)
        db.session.rollback()

    run()


@pytest.mark.parametrize("slug", PATCHABLE)
def test_it_answers_any_update_without_a_500_or_a_half_write(api, slug):
    client, headers, ids, _ = api

    @SETTINGS
    @given(body=_bodies(slug))
    @example(body={"date": [], "account_id": 999999999999})  # beyond PostgreSQL's integer: was a 500
    def run(body):
        before = _rows()
        shown = client.get(f"/api/v1/{slug}/{ids[slug]}", headers=headers).get_json()
        response = client.patch(f"/api/v1/{slug}/{ids[slug]}", json=body, headers=headers)
        _check(response, before)
        if response.status_code == 422:
            assert client.get(f"/api/v1/{slug}/{ids[slug]}", headers=headers).get_json() == shown
        db.session.rollback()

    run()


form_values = st.text(max_size=25) | st.sampled_from(["2026-11-01", "2026-13-40", "0", "-1", "3.999", "1", "abc", ""])


@pytest.mark.parametrize("slug", ["accounts", "services", "invoices", "payments"])
def test_it_answers_any_ledger_form_without_a_500_or_a_half_write(api, slug):
    client, _, _, owner = api
    sign_in(client, owner)
    keys = st.sampled_from(FIELDS[slug] + ("lines-0-description", "lines-0-quantity", "lines-0-rate",
                                           "lines-0-service_id", "allocations-0-invoice_id",
                                           "allocations-0-amount")) | st.text(max_size=8)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(form=st.dictionaries(keys, form_values, max_size=8))
    def run(form):
        before = _rows()
        response = client.post(f"/{slug}/new", data=form)
        assert response.status_code in (200, 302, 303, 400, 422), response.status_code
        if response.status_code not in (302, 303):
            assert _rows() == before
        db.session.rollback()

    run()
