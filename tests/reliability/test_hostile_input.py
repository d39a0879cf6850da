"""Hostile input to every page and HTMX route (found by walking the URL map), and one named test per
input class that once gave a 500 (issue 15): ids beyond the id column, pages beyond the integers,
NUL bytes, lone surrogates, huge exponents, deeply nested JSON, non-ASCII digits in row keys."""
import io
import logging
import os
import re
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from qbo.core.db import db
from qbo.quickbooks.changes import webhooks
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_api_key, make_invoice, make_user, sign_in

BIG_IDS = [2**31, 2**63, 2**64, 10**30]
HOSTILE = ["\x00", "a\x00b", "\ud800", "x\udfffy", "1E+999999999", "1e-999999999", "NaN", "-Infinity", "²",
           "١٢", "9" * 400, "%0a", "\r\nSet-Cookie: x=1", "=HYPERLINK(\"x\")", "-0", "+5", " 7 ", "0x1f",
           "[" * 200, "'; DROP TABLE users; --", "../../etc/passwd", "<script>", ""]
hostile_ints = st.sampled_from([0, -1, 1, 2**31 - 1, -2**31, *BIG_IDS, -2**63 - 1]) | st.integers()
hostile_text = st.sampled_from(HOSTILE) | st.text(max_size=12)
hostile_value = hostile_ints.map(str) | hostile_text
# FUZZ_BUDGET=10 (README "Security") multiplies the example count for a longer run; 1 is `make test`.
BUDGET = int(os.environ.get("FUZZ_BUDGET", "1"))
EXAMPLES = 15 * BUDGET  # per route and method: about 12 s (SQLite) to 25 s (PostgreSQL) for every page and fragment
PARAMS = ["page", "per_page", "user", "index", "tab", "case", "status", "jobs", "field", "q", "group", "action",
          "record_type", "next", "payment_id", "state", "code", "realmId", "error"]
FORM_KEYS = ["action", "case", "tab", "language", "email", "password", "name", "amount", "date", "account_id",
             "lines-0-quantity", "lines-²-quantity", "lines-١-rate", "allocations-0-amount", "action-1",
             f"action-{2**31}", f"group-account-{2**63}", "qbo_id-1", "next_invoice_number",
             "default_income_account", "sync_invoice_numbers", "payment_method_map-card"]


def _encode(pairs) -> bytes:
    """What a browser sends: UTF-8 percent-encoded (a lone surrogate as its raw UTF-8-ish bytes)."""
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in pairs).encode()


def _path_value(converter, draw):
    if converter == "IdConverter":
        return str(draw(hostile_ints))
    return quote(draw(hostile_text).encode("utf-8", "surrogatepass"), safe="") or "x"


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.sign_out") or rule.endpoint.split(".")[0] in ("api", "webhooks", "openapi"):
            continue  # the API has its own contract fuzzing (tests/api); the webhook its own tests
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


@st.composite
def _requests(draw, rule, method):
    path = rule.rule
    for name, converter in rule._converters.items():
        conv = type(converter).__name__
        value = draw(st.sampled_from(sorted(converter.items))) if conv == "AnyConverter" else _path_value(conv, draw)
        path = re.sub(rf"<[^>]*\b{name}>", value, path)
    query = draw(st.lists(st.tuples(st.sampled_from(PARAMS) | hostile_text, hostile_value), max_size=4))
    form = draw(st.lists(st.tuples(st.sampled_from(FORM_KEYS) | hostile_text, hostile_value), max_size=6))
    htmx = draw(st.booleans())
    return path, _encode(query), _encode(form), htmx


@pytest.fixture
def owner_client(app, client):
    owner = make_user(role="owner")
    make_invoice(owner.firm)
    sign_in(client, owner)
    return client, owner


def test_it_answers_every_page_and_htmx_route_without_a_500(app, owner_client):
    client, _ = owner_client
    routes = list(_routes(app))
    assert len(routes) > 25

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(rule, method, data):
        path, query, form, htmx = data.draw(_requests(rule, method))
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.open(path, method=method, query_string=query.decode(), data=form, headers=headers,
                               content_type="application/x-www-form-urlencoded")
        db.session.rollback()
        assert response.status_code < 500, (method, path, query, form, response.status_code)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    seen: dict[int, int] = {}
    started = time.perf_counter()
    for rule, method in routes:
        run(rule, method)
    print(f"{len(routes)} routes, {sum(seen.values())} requests in {time.perf_counter() - started:.1f} s"
          f" (FUZZ_BUDGET={BUDGET})", sorted(seen.items()))
    assert {200, 404, 422} <= set(seen)  # pages answered, and refused ids and fields, were both reached


# --- one named regression test per input class -----------------------------------------------------


@pytest.mark.parametrize("big", BIG_IDS)
def test_it_404s_a_record_id_beyond_the_id_column_in_a_url(owner_client, big):
    client, _ = owner_client
    for path in (f"/invoices/{big}", f"/invoices/{big}/edit", f"/quickbooks/records/invoice/{big}"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/settings/integrations/quickbooks/bulk/{big}/approve").status_code == 404


def test_it_404s_a_record_id_beyond_the_id_column_in_the_api(app, client):
    headers = make_api_key(make_user(role="owner"))
    for big in BIG_IDS:
        assert client.get(f"/api/v1/invoices/{big}", headers=headers).status_code == 404
        assert client.delete(f"/api/v1/invoices/{big}", headers=headers).status_code == 404
        assert client.post(f"/api/v1/sync/errors/{big}/actions", json={"action": "skip"},
                           headers=headers).status_code == 404


def test_it_ignores_desk_form_keys_naming_ids_beyond_the_id_column(owner_client):
    client, owner = owner_client
    account = make_account(owner.firm)
    problems.record(owner.firm_id, "account", account.id, "account-no-match")
    db.session.commit()
    response = client.post("/settings/integrations/quickbooks/errors/apply",
                           data={"tab": "accounts", f"action-{2**31}": "skip", f"action-{2**63}": "skip",
                                 f"group-account-{2**63}": "create_customer"})
    assert response.status_code < 500
    assert db.session.scalar(select(func.count()).select_from(SyncError).where(SyncError.status == "open")) == 1


def test_it_refuses_a_history_user_filter_beyond_the_id_column(owner_client):
    client, _ = owner_client
    response = client.get(f"/quickbooks/history?user={2**63}")
    assert response.status_code == 422 and "user" in response.get_data(as_text=True)


PAGED = ["/accounts/", "/invoices/", "/quickbooks/history", "/quickbooks/jobs", "/settings/integrations/quickbooks"]


@pytest.mark.parametrize("page", [str(2**31), str(2**63), str(10**30), "-" + str(2**63)])
def test_it_refuses_a_page_number_beyond_the_integers_on_every_paged_list(owner_client, page):
    client, owner = owner_client
    for path in PAGED:
        response = client.get(path, query_string={"page": page})
        assert response.status_code == 422 and "page" in response.get_data(as_text=True), path
    headers = make_api_key(owner)
    for path in ("/api/v1/invoices", "/api/v1/sync/errors"):
        response = client.get(path, query_string={"page": page}, headers=headers)
        assert response.status_code == 422 and "page" in response.get_json()["errors"], path


def test_it_refuses_a_nul_byte_in_a_query_string_naming_the_parameter(owner_client):
    client, _ = owner_client
    response = client.get("/quickbooks/history", query_string={"action": "sync\x00"})
    assert response.status_code == 422 and "action" in response.get_data(as_text=True)


def test_it_refuses_a_nul_byte_in_a_form_field_naming_it(owner_client):
    client, _ = owner_client
    response = client.post("/accounts/new", data={"name": "Acme\x00"})
    assert response.status_code == 422 and "name" in response.get_data(as_text=True)


def test_it_refuses_a_nul_byte_in_the_sign_in_email(app, client):
    response = client.post("/sign-in", data={"email": "a\x00@example.test", "password": "x"})
    assert response.status_code == 422 and "email" in response.get_data(as_text=True)


def test_it_refuses_a_lone_surrogate_in_a_json_text_field_naming_it(app, client):
    headers = {**make_api_key(make_user(role="owner")), "Content-Type": "application/json"}
    response = client.post("/api/v1/accounts", data=b'{"name": "Acme \\ud800"}', headers=headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["name"]
    response = client.post("/api/v1/invoices", data=b'{"lines": [{"description": "\\udfff"}]}', headers=headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["lines[0].description"]


@pytest.mark.parametrize("case", [["account-no-match"], {"a": 1}, 7, True])
def test_it_refuses_a_bulk_action_case_that_is_not_text_naming_it(app, client, case):
    headers = make_api_key(make_user(role="owner"))  # found by FUZZ_BUDGET=10: a list case gave a 500
    for action in ("resync_case", "create_missing_customers"):
        response = client.post("/api/v1/sync/bulk", json={"action": action, "case": case}, headers=headers)
        assert response.status_code == 422 and response.get_json()["errors"] == {"case": ["must be text"]}


def test_it_refuses_a_tax_rate_name_already_used_whatever_its_letters(app, client):
    headers = make_api_key(make_user(role="owner"))  # found by FUZZ_BUDGET=10: SQLite's lower() skips "Ï"
    for name in ("Ïle TVA", "TVA 𰪏"):
        assert client.post("/api/v1/tax-rates", json={"name": name, "percent": "4"}, headers=headers).status_code == 201
        again = client.post("/api/v1/tax-rates", json={"name": name, "percent": "5"}, headers=headers)
        assert again.status_code == 422 and again.get_json()["errors"] == {"name": ["is already used by another tax rate"]}
    assert len(client.get("/api/v1/tax-rates", headers=headers).get_json()["data"]) == 2


@pytest.mark.parametrize("amount", ["1E+999999999", "1e-999999999", "9" * 100, "1E+31"])
def test_it_refuses_an_amount_with_a_huge_exponent_or_too_many_digits(app, client, amount):
    owner = make_user(role="owner")
    account = make_account(owner.firm)
    response = client.post("/api/v1/payments", json={"account_id": account.id, "date": "2026-11-01",
                                                     "amount": amount, "method": "card"},
                           headers=make_api_key(owner))
    assert response.status_code == 422 and response.get_json()["errors"]["amount"] == ["must be a number"]


def test_it_refuses_json_nested_100000_deep_in_the_api(app, client):
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/api/v1/accounts", data=body, headers={**make_api_key(make_user(role="owner")),
                                                                   "Content-Type": "application/json"})
    assert response.status_code == 400


def test_it_refuses_a_signed_webhook_nested_100000_deep(app, client):
    app.config["QBO_WEBHOOK_VERIFIER"] = "verifier"
    body = b'{"eventNotifications": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/webhooks/intuit", data=body,
                           headers={"intuit-signature": webhooks.signature_for(body, "verifier")})
    assert response.status_code == 400


@pytest.mark.parametrize("key", ["lines-²-quantity", "lines-١-quantity", "lines-9999-quantity"])
def test_it_reads_only_ascii_digits_as_form_row_numbers(owner_client, key):
    client, owner = owner_client
    account = make_account(owner.firm)
    response = client.post("/invoices/new", data={"account_id": account.id, "date": "2026-11-01", key: "1"})
    assert response.status_code == 422


# --- limits, logs, CSV ---------------------------------------------------------------------------------


def _chunked(size: int):
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk


class _Stream(io.RawIOBase):
    """A chunked request body: no Content-Length, bytes counted as they are read."""

    def __init__(self, size):
        self.chunks, self.read_bytes = _chunked(size), 0

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = next(self.chunks, b"")[:len(buffer)]
        buffer[:len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_it_stops_reading_a_chunked_webhook_body_past_its_limit(app, client):
    stream = _Stream(200 * 1024 * 1024)
    environ = EnvironBuilder(path="/webhooks/intuit", method="POST").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert stream.read_bytes <= 2 * 1024 * 1024  # read up to the limit, not the 200 MiB


def test_it_refuses_any_request_body_over_the_app_limit(owner_client):
    client, _ = owner_client
    response = client.post("/accounts/new", data={"name": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413


def test_it_escapes_control_characters_in_the_request_log(app, client, caplog):
    app.testing = False  # the request line is logged outside tests' propagate mode as well
    with caplog.at_level(logging.INFO, logger="qbo.requests"):
        client.get("/nowhere%0arequest firm=1 user=1 method=GET path=/forged status=200")
    app.testing = True
    lines = [r.getMessage() for r in caplog.records if r.name == "qbo.requests"]
    assert len(lines) == 1 and "\n" not in lines[0] and "\\x0a" in lines[0]


@pytest.mark.parametrize("cell,expected", [
    ("=1+1", "'=1+1"), ("note;=HYPERLINK(\"x\")", "note;'=HYPERLINK(\"x\")"), ("a,+1", "a,'+1"),
    ("tab\t@SUM(A1)", "tab\t'@SUM(A1)"), ("2026-11-01", "2026-11-01"), ("Acme, Inc.", "Acme, Inc."),
])
def test_it_neutralises_a_formula_after_any_csv_separator(cell, expected):
    from qbo.desk.tabs import _safe_cell

    assert _safe_cell(cell) == expected


def test_it_quotes_every_cell_of_the_errors_csv(owner_client):
    client, owner = owner_client
    account = make_account(owner.firm, name="Acme;=cmd")
    problems.record(owner.firm_id, "account", account.id, "account-no-match")
    db.session.commit()
    body = client.get("/settings/integrations/quickbooks/errors.csv?tab=accounts").get_data(as_text=True)
    assert "=cmd" in body and "'=cmd" in body
    assert all(line.startswith('"') for line in body.splitlines() if line)
