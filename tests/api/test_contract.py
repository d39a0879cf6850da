"""The API's published contract (views/openapi.py): a valid OpenAPI 3.1 document, naming every route
of the `api` blueprint, and the API holds to it under Schemathesis's generated requests (valid and
invalid ones) on whichever database the run uses (`make test` runs this file on both): never a 500,
only documented status codes, content types and bodies."""
import os
import re
import time

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qbo.core.db import db
from tests.factories import make, make_api_key, make_invoice, make_payment, make_user
from views.openapi import contract

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# FUZZ_BUDGET=10 (README "Security") multiplies every example count for a longer run; 1 is `make test`.
BUDGET = int(os.environ.get("FUZZ_BUDGET", "1"))
STATEFUL_EXAMPLES = 30 * BUDGET  # scenarios of up to 6 calls each
EXAMPLES = 8 * BUDGET  # per operation and mode: about 35 s for the whole API (43 operations) on one database


def _documented(spec) -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}


def test_it_serves_a_valid_openapi_3_1_document_without_a_key(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.get_json())
    assert response.get_json()["openapi"] == "3.1.0"


def test_it_documents_every_route_of_the_api_blueprint(app):
    documented = _documented(contract())
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        slugs = re.search(r"<any\(([^)]*)\):slug>", rule.rule)
        for slug in re.findall(r'"([^"]+)"', slugs.group(1)) if slugs else [None]:
            concrete = re.sub(r"<any\([^)]*\):slug>", slug, path) if slug else path
            routes |= {(concrete, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and routes - documented == set()
    assert documented - routes == set()  # and nothing documented that isn't served


@pytest.fixture
def seeded(app):
    owner = make_user(role="owner")
    invoice = make_invoice(owner.firm)
    payment = make_payment(owner.firm, invoice, amount="100.00",
                           allocations=[{"invoice_id": invoice.id, "amount": "100.00"}])
    credit = make("credit-notes", owner.firm, account_id=invoice.account_id, date="2026-11-02",
                  lines=[{"description": "Credit", "quantity": "1", "rate": "10"}])
    ids = {"accounts": invoice.account_id, "services": invoice.lines[0].service_id, "invoices": invoice.id,
           "credit-notes": credit.id, "payments": payment.id}
    return make_api_key(owner), ids


def test_it_holds_to_its_contract_under_generated_requests(app, seeded):
    headers, ids = seeded
    schema = schemathesis.openapi.from_dict(contract())
    started, ran, timings, calls, statuses = time.perf_counter(), 0, [], 0, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        op_started = time.perf_counter()
        slug = operation.path.split("/")[1]
        fixed = {"record_id": ids[slug]} if "{record_id}" in operation.path and slug in ids else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)
            if fixed:  # half the time a record that exists, so more than the 404 path is tried
                strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, headers=headers,
                                                                     path_parameters=fixed))

            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                nonlocal calls
                response = case.call(app=app)
                db.session.rollback()
                calls += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label
            ran += 1
        timings.append((round(time.perf_counter() - op_started, 1), operation.label))
    print(sorted(timings, reverse=True)[:8])
    assert ran >= 2 * 25
    print(f"schemathesis: {ran} operation-modes, {calls} requests in {time.perf_counter() - started:.1f} s"
          f" (FUZZ_BUDGET={BUDGET})", sorted(statuses.items()))


def test_it_holds_to_its_contract_across_sequences_of_calls(app, seeded):
    """Stateful: create a record, then show, change, exclude or delete it (the contract's links)."""
    headers, _ = seeded
    seen: set[tuple[str, int]] = set()
    calls = 0
    machine = schemathesis.openapi.from_dict(contract()).as_state_machine()
    # Each scenario starts from the seeded firm: Hypothesis replays scenarios, and a name created by
    # an earlier one (unique per firm) would turn a replayed 201 into a 422 and the replay flaky.
    tables = [t for t in db.metadata.sorted_tables if "id" in t.c and isinstance(t.c.id.type, sa.Integer)]
    before = {t.name: db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0))) for t in tables}

    class AgainstTheApp(machine):
        def teardown(self):
            for t in reversed(tables):
                db.session.execute(t.delete().where(t.c.id > before[t.name]))
            db.session.commit()

        def get_call_kwargs(self, case):
            return {"app": app, "headers": headers}

        def after_call(self, response, case):
            nonlocal calls
            calls += 1
            db.session.rollback()
            seen.add((case.operation.path, response.status_code))
            super().after_call(response, case)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    started = time.perf_counter()
    # derandomize: the same scenarios every run, so whether a link was followed never depends on luck.
    AgainstTheApp.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None,
                                        derandomize=True, database=None,
                                        suppress_health_check=list(HealthCheck)))
    print(f"schemathesis stateful: {calls} requests in {time.perf_counter() - started:.1f} s"
          f" (FUZZ_BUDGET={BUDGET})", sorted(seen))
    # Links were followed: a record created in a scenario was then found by its new id (the creates
    # are generated data, so a run may create nothing valid; then there is nothing to follow).
    created = any(status == 201 for _, status in seen)
    assert not created or any("{record_id}" in path and status in (200, 204) for path, status in seen), sorted(seen)
