"""The published contract of the JSON API: an OpenAPI 3.1 document for /api/v1, served without a
key at /api/v1/openapi.json (its own blueprint, so the API's key check does not apply).

It is built from the API's own tables (record kinds, writable fields), so a new field appears here
by itself; tests/api/test_contract.py validates it, checks that every route of the `api` blueprint
is in it, and fuzzes the API against it with Schemathesis on SQLite and PostgreSQL.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from qbo.ledger import records as ledger
from qbo.ledger.validation import MAX_RECORD_ID

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ID = {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID}
TEXT = {"type": "string", "maxLength": 200}
DATE = {"type": "string", "format": "date", "examples": ["2026-11-01"]}
AMOUNT = {"type": "string", "pattern": "^[0-9]{1,9}(\\.[0-9]{1,2})?$", "examples": ["100.00"],
          "description": "A decimal written as a string (a JSON number is accepted too)."}
NULLABLE = lambda schema: {"anyOf": [schema, {"type": "null"}]}  # noqa: E731


def _object(properties: dict, required=(), additional=False) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        schema["required"] = list(required)
    return schema


# tax_rate_id: absent or "" takes the service's rate; null or "none" makes the line exempt.
TAX_RATE_REF = {"anyOf": [ID, {"type": "null"}, {"enum": ["", "none"]}]}
EXCHANGE_RATE = NULLABLE({"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,8})?$", "examples": ["1.0825"],
                          "description": "Home-currency units per unit of the document's currency; empty: QuickBooks' rate."})
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR"]}
LINE = _object({"service_id": NULLABLE(ID), "description": NULLABLE(TEXT), "quantity": NULLABLE(AMOUNT),
                "rate": NULLABLE(AMOUNT), "tax_rate_id": TAX_RATE_REF})
ALLOCATION = _object({"invoice_id": ID, "amount": AMOUNT})
CREDIT_ALLOCATION = _object({"credit_note_id": ID, "amount": AMOUNT})


def _list(item: dict) -> dict:
    return {"type": "array", "items": item, "maxItems": 500}


FIELD_SCHEMAS = {
    "accounts": {"name": TEXT, "kind": {"enum": list(ledger.ACCOUNT_KINDS)}, "first_name": NULLABLE(TEXT),
                 "last_name": NULLABLE(TEXT), "company_name": NULLABLE(TEXT),
                 "email": NULLABLE({"type": "string", "format": "email", "maxLength": 100}),
                 "phone": NULLABLE(TEXT), "external_id": NULLABLE(TEXT), "currency": NULLABLE(CURRENCY)},
    "services": {"name": TEXT, "description": NULLABLE(TEXT), "rate": AMOUNT, "income_account": {
                     **NULLABLE(TEXT), "description": "The name of a QuickBooks account (default from settings). "
                     "While the firm is connected and its company's accounts are known, one of its Income "
                     "accounts: any other name is refused (422)."},
                 "taxable": {"type": "boolean"}, "tax_rate_id": TAX_RATE_REF},
    "invoices": {"number": NULLABLE(TEXT), "account_id": ID, "date": DATE, "due_date": NULLABLE(DATE),
                 "description": NULLABLE(TEXT), "lines": _list(LINE), "exchange_rate": EXCHANGE_RATE},
    "credit-notes": {"number": NULLABLE(TEXT), "account_id": ID, "date": DATE, "description": NULLABLE(TEXT),
                     "lines": _list(LINE), "exchange_rate": EXCHANGE_RATE},
    "payments": {"account_id": ID, "date": DATE, "amount": AMOUNT, "method": {"enum": list(ledger.PAYMENT_METHODS)},
                 "processor": NULLABLE(TEXT), "processor_fee": NULLABLE(AMOUNT), "reference": NULLABLE(TEXT),
                 "allocations": _list(ALLOCATION), "credit_allocations": _list(CREDIT_ALLOCATION),
                 "exchange_rate": EXCHANGE_RATE},
    "refunds": {"payment_id": ID, "date": DATE, "amount": AMOUNT, "reason": NULLABLE(TEXT)},
}
REQUIRED = {"accounts": ["name"], "services": ["name"], "invoices": ["account_id", "date"],
            "credit-notes": ["account_id", "date"], "payments": ["account_id", "date", "amount"],
            "refunds": ["payment_id", "date", "amount"]}

ERRORS = _object({"errors": {"type": "object", "additionalProperties": {
    "type": "array", "items": {"type": "string"}, "minItems": 1}}}, ["errors"])
PROBLEM = _object({"error": {"type": "string"}, "message": {"type": "string"}}, ["error"], additional=True)
QUICKBOOKS = _object({"status": {"enum": ["not_synced", "pending", "synced", "error", "unsynced",
                                          "modified_in_qbo", "skipped"]}}, ["status"], additional=True)
RECORD = _object({"id": ID, "quickbooks": QUICKBOOKS}, ["id", "quickbooks"], additional=True)
JOB_STARTED = _object({"job_id": {"type": "string"}}, ["job_id"])


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _answers(ok: dict, *also: int) -> dict:
    """The operation's own answers plus those any API call can get."""
    common = {
        "400": _json(PROBLEM, "The body is not JSON, or is nested too deep."),
        "401": _json(PROBLEM, "No valid API key."),
        "403": _json(PROBLEM, "The key's role may not do this."),
        "413": {"description": "The body is larger than the app accepts."},
        "422": _json(ERRORS, "Each bad field with its reasons; nothing is stored."),
    }
    extra = {
        404: _json(PROBLEM, "No such record in the key's firm."),
        405: _json(PROBLEM, "This record type can't be changed."),
        409: _json(_object({"errors": ERRORS["properties"]["errors"]}, additional=True),
                   "Refused in the record's present state."),
        503: _json(PROBLEM, "QuickBooks did not answer."),
    }
    return {**ok, **common, **{str(code): extra[code] for code in also}}


def _id_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _links(slug: str) -> dict:
    """What a client can do next with a record it created (OpenAPI links; Schemathesis follows
    them in its stateful run)."""
    by_id = {"record_id": "$response.body#/id"}
    return {name: {"operationId": f"{name}-{slug}", "parameters": by_id}
            for name in ("show", "update", "delete", "exclude")}


def _record_paths(slug: str, kind) -> dict:
    fields = FIELD_SCHEMAS[slug]
    create = _object(fields, REQUIRED[slug])
    update = _object(fields)
    one = [_id_parameter("record_id")]
    record = _json(RECORD, "The record, with its QuickBooks state.")
    page = _object({"data": {"type": "array", "items": RECORD}, "page": {"type": "integer"},
                    "per_page": {"type": "integer"}, "total": {"type": "integer"}},
                   ["data", "page", "per_page", "total"])
    patch = ({"operationId": f"update-{slug}", "requestBody": _body(update),
              "responses": _answers({"200": record}, 404)} if kind.updatable else
             {"operationId": f"update-{slug}", "description": f"{kind.label} records can't be changed.",
              "requestBody": _body({"type": "object"}), "responses": _answers({}, 404, 405)})
    return {
        f"/{slug}": {
            "get": {"operationId": f"list-{slug}", "parameters": [
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID}},
                {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
                "responses": _answers({"200": _json(page, "One page, oldest first.")})},
            "post": {"operationId": f"create-{slug}", "requestBody": _body(create),
                     "responses": _answers({"201": {**record, "links": _links(slug)}})},
        },
        f"/{slug}/{{record_id}}": {
            "parameters": one,
            "get": {"operationId": f"show-{slug}", "responses": _answers({"200": record}, 404)},
            "patch": patch,
            "delete": {"operationId": f"delete-{slug}",
                       "responses": _answers({"204": {"description": "Deleted."}}, 404, 409)},
        },
        f"/{slug}/{{record_id}}/quickbooks": {
            "parameters": one,
            "put": {"operationId": f"exclude-{slug}",
                    "requestBody": _body(_object({"do_not_sync": {"type": "boolean"}}, ["do_not_sync"])),
                    "responses": _answers({"200": record}, 404)},
        },
    }


# README "JSON API" describes the result's rows; the contract holds the envelope.
TIEOUT = _object({"job_id": {"type": "string"}, "status": {"type": "string"},
                  "done": {"type": ["integer", "null"]}, "total": {"type": ["integer", "null"]},
                  "result": {"type": ["object", "null"]}, "result_job_id": {"type": ["string", "null"]}},
                 ["job_id", "status", "result"])


def contract() -> dict:
    paths: dict = {}
    for slug, kind in ledger.KINDS.items():
        paths.update(_record_paths(slug, kind))
    started = {"202": _json(JOB_STARTED, "Queued; follow it at /jobs/{job_id}.")}
    paths.update({
        "/jobs/{job_id}": {"get": {
            "operationId": "show-job",
            "parameters": [{"name": "job_id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 64}}],
            "responses": _answers({"200": _json(_object({
                "status": {"enum": ["queued", "started", "finished", "failed"]}, "done": {"type": ["integer", "null"]},
                "total": {"type": ["integer", "null"]}, "result": {}}, ["status"]), "The job's progress.")}, 404)}},
        "/sync/status": {"get": {"operationId": "sync-status", "responses": _answers({"200": _json(_object({
            "connection": {"type": "object"}, "counts": {"type": "object"}, "total": {"type": "integer"}},
            ["connection", "counts", "total"], additional=True), "Connection and open errors.")})}},
        "/sync/errors": {"get": {
            "operationId": "sync-errors",
            "parameters": [{"name": name, "in": "query", "schema": {"type": "string", "maxLength": 40}}
                           for name in ("category", "case", "status")] + [
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID}},
                {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
            "responses": _answers({"200": _json(_object({"data": {"type": "array", "items": {"type": "object"}},
                                                         "page": {"type": "integer"}, "per_page": {"type": "integer"}},
                                                        ["data"]), "One page of QuickBooks errors.")})}},
        "/sync/errors/{error_id}/actions": {"post": {
            "operationId": "sync-error-action", "parameters": [_id_parameter("error_id")],
            "requestBody": _body(_object({"action": {"enum": ["skip", "resync", "create_customer",
                                                              "link_customer", "recreate", "link_invoice",
                                                              "rename_customer", "reactivate_customer"]},
                                          "qbo_id": NULLABLE({"type": "string", "maxLength": 40})}, ["action"])),
            "responses": _answers(started, 404, 409)}},
        "/sync/bulk": {"post": {
            "operationId": "sync-bulk",
            "requestBody": _body(_object({"action": {"enum": ["create_missing_customers", "resync_case"]},
                                          "case": NULLABLE({"type": "string", "maxLength": 40})}, ["action"])),
            "responses": _answers(started, 409)}},
        "/sync/run": {"post": {"operationId": "sync-run", "responses": _answers(started, 409)}},
        "/tax-rates": {
            "get": {"operationId": "list-tax-rates", "responses": _answers({"200": _json(_object(
                {"data": {"type": "array", "items": {"type": "object"}}}, ["data"]), "The firm's tax rates.")})},
            "post": {"operationId": "create-tax-rate",
                     "requestBody": _body(_object({"name": TEXT, "percent": {"type": "string",
                                                                             "pattern": "^[0-9]{1,3}(\\.[0-9]{1,4})?$"}},
                                                  ["name", "percent"])),
                     "responses": _answers({"201": _json({"type": "object"}, "The new rate.")})}},
        "/sync/tieout": {
            "post": {"operationId": "sync-tieout-start", "responses": _answers({"202": _json(_object(
                {"job_id": {"type": "string"}, "status": {"type": "string"}}, ["job_id", "status"]),
                "Queued (or the tie-out already queued or running); follow it with GET.")}, 409)},
            "get": {"operationId": "sync-tieout", "responses": _answers({
                "200": _json(TIEOUT, "The latest finished tie-out."),
                "202": _json(TIEOUT, "One is queued or running; `result` is the previous one.")}, 404)}},
        "/sync/customers": {"get": {
            "operationId": "search-quickbooks-customers",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}}],
            "responses": _answers({"200": _json(_object({"data": {"type": "array", "items": {"type": "object"}}},
                                                        ["data"]), "Matching QuickBooks customers.")}, 409, 503)}},
    })
    return {
        "openapi": "3.1.0",
        "info": {"title": "QuickBooks sync desk API", "version": "1",
                 "description": "Ledger records pushed one way into QuickBooks Online, and the sync's state."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                                      "description": "An API key: flask users create-api-key"}}},
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(contract())
