"""Contract: every fault shape QuickBooks is documented (or was seen) to answer, replayed verbatim by
the emulator on every call path, becomes one QboError of the right kind.

Each row cites where its shape comes from: qbo-api-reference.md (ref §N, which cites Intuit's
"error codes" page https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
and the SDK issues quoting real bodies) or qbo-2025-2026.md. A row whose body is our own
reconstruction says so.
"""
import datetime as dt
import json

import pytest

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import (
    AuthFailed,
    DuplicateName,
    Forbidden,
    ObjectNotFound,
    QboError,
    RateLimited,
    ReadQuotaExhausted,
    StaleSyncToken,
    SubscriptionEnded,
    TransientError,
    ValidationError,
    kind_of,
)
from tests.quickbooks.api.qbo_testing import inject

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
INTUIT_NS = '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-26T01:00:00.000-08:00">'


def gateway(code, name, status, detail=None, kind="SERVICE"):
    """ref §2 gateway shape: lower-case keys, epoch-ms time, the real status inside Message."""
    return {"warnings": None, "intuitObject": None, "fault": {"error": [{
        "message": f"message={name}; errorCode=00{code}; statusCode={status}", "detail": detail,
        "code": str(code), "element": None}], "type": kind}, "report": None, "queryResponse": None,
        "batchItemResponse": [], "attachableResponse": [], "syncErrorResponse": None,
        "requestId": None, "time": 1633520295688, "status": None, "cdcresponse": []}


def data_service(code, message, detail, kind="ValidationFault", element=None):
    """ref §2 data-service shape: Fault.Error[] with a string code."""
    error = {"Message": message, "Detail": detail, "code": code}
    if element is not None:
        error["element"] = element
    return {"Fault": {"Error": [error], "type": kind}, "time": "2017-09-29T09:17:31.892-07:00"}


# (id, HTTP status, body, content type, class, code, kind, source)
ROWS = [
    ("6240-json-400", 400, data_service("6240", "Duplicate Name Exists Error", "The name supplied already "
     "exists. : Another customer, vendor or employee is already using this name.", element=""),
     "application/json", DuplicateName, "6240", "record", "ref §2 data-service shape and table row 6240"),
    ("610-json-400", 400, data_service("610", "Object Not Found", "Object Not Found : Another user has "
     "deleted this transaction."), "application/json", ObjectNotFound, "610", "record", "ref §2 table row 610"),
    ("4000-json-400-no-element", 400, data_service("4000", "Error parsing query", "QueryParserError: "
     "Encountered \" <IDENTIFIER> \"Nmae \"\" at line 1, column 29."), "application/json", ValidationError,
     "4000", "record", "ref §2: element left out on query errors (4000/4002)"),
    ("4001-json-400", 400, data_service("4001", "Invalid query", "QueryValidationError: value 1500 is too "
     "large. Max allowed value is 1000"), "application/json", ValidationError, "4001", "record",
     "ref §2 table row 4001; ref §3 MAXRESULTS"),
    ("500-validationfault-http-500", 500, data_service("500", "Unsupported Operation", "Operation Delete "
     "is not supported."), "application/json", ValidationError, "500", "record",
     "ref §1: operation=delete on a name list gets 500 Unsupported Operation"),
    ("6190-json-200", 200, data_service("6190", "Invalid Company Status", "Subscription period has ended "
     "or been canceled or there was a billing problem : You can't add data to QuickBooks Online Plus "
     "because your trial or subscription period ended."), "application/json", SubscriptionEnded, "6190",
     "connection", "ref §2: 6190 has come back with a 200 (PHP SDK #211)"),
    ("10000-systemfault-400", 400, data_service("10000", "An application error has occurred while "
     "processing your request", "System Failure Error: An unexpected error occurred while accessing or "
     "saving your data. Please wait a few minutes and try again.", kind="SystemFault"), "application/json",
     TransientError, "10000", "transient", "ref §2 type SystemFault; table row 10000"),
    ("systemfault-200", 200, data_service("10000", "An application error has occurred while processing "
     "your request", "System Failure Error", kind="SystemFault"), "application/json", TransientError,
     "10000", "transient", "ref §2: a 200 may still carry a Fault; type SystemFault"),
    ("try-again-later-400", 400, data_service("6000", "A business validation error has occurred while "
     "processing your request", "Business Validation Error: We're experiencing technical difficulties. "
     "Please try again later."), "application/json", TransientError, "6000", "transient",
     "reconstruction: a 'try again later' Detail (issue 14's replayed set)"),
    ("3200-gateway-401", 401, gateway(3200, "AuthenticationFailed", 401, "Token expired: abc",
     "AUTHENTICATION"), "application/json", AuthFailed, "3200", "connection",
     "ref §2 gateway shape (python-quickbooks #250)"),
    ("3200-gateway-500", 500, gateway(3200, "AuthenticationFailed", 401, None, "AUTHENTICATION"),
     "application/json", AuthFailed, "3200", "connection", "ref §2 gateway family; issue 14 saw it with 500"),
    ("3100-gateway-403", 403, gateway(3100, "ApplicationAuthorizationFailed", 403), "application/json",
     Forbidden, "3100", "connection", "ref §2: a 403 has code 3100 and type SERVICE"),
    ("3001-gateway-json-429", 429, gateway(3001, "ThrottleExceeded", 429, "The request limit was reached.  "
     "Try again later"), "application/json", RateLimited, "3001", "transient", "ref §2 table row 3001"),
    ("3001-xml-429", 429, XML_HEAD + INTUIT_NS + '<Fault type="SERVICE"><Error code="3001"><Message>'
     "message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was "
     "reached.  Try again later</Detail></Error></Fault></IntuitResponse>", "application/xml", RateLimited,
     "3001", "transient", "ref §2: throttle as XML even to JSON requests (Java SDK #159)"),
    ("3001-xml-403-pre-2016", 403, '<Fault type="SERVICE"><Error code="3001"><Message>message='
     "ThrottleExceeded; errorCode=003001; statusCode=403</Message><Detail>The request limit was reached."
     "</Detail></Error></Fault>", "text/xml", RateLimited, "3001", "transient",
     "ref §2: before 2016 the same error said statusCode=403"),
    ("3001-xml-no-code-attr", 429, '<Fault type="SERVICE"><Error><Message>message=ThrottleExceeded; '
     "errorCode=003001; statusCode=429</Message><Detail>Try again later</Detail></Error></Fault>",
     "application/xml", RateLimited, "3001", "transient",
     "ref §2: the gateway's code is also inside its Message (errorCode=003001)"),
    ("100-xml-pretty-401", 401, XML_HEAD + "\n" + INTUIT_NS + '\n  <Fault type="AuthenticationFault">\n'
     '    <Error code="100">\n      <Message>General Authentication Error</Message>\n      <Detail>'
     "AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401</Detail>\n    </Error>\n"
     "  </Fault>\n</IntuitResponse>\n", "application/xml", AuthFailed, "100", "connection",
     "ref §2 table row 100 (XML)"),
    ("120-json-401", 401, data_service("120", "Authorization Failure", "AuthorizationFailure: -11014-You "
     "do not have access to use QuickBooks Online Plus.", kind="AuthorizationFault"), "application/json",
     AuthFailed, "120", "connection", "ref §2 table row 120 (the user lost admin)"),
    ("5010-xml-bare-400", 400, '<Fault type="ValidationFault"><Error code="5010" element="SyncToken">'
     "<Message>Stale Object Error</Message><Detail>Stale Object Error : You and Amy were working on this "
     "at the same time.</Detail></Error></Fault>", "text/xml", StaleSyncToken, "5010", "record",
     "ref §2: XML <Fault> bare; table row 5010"),
    ("6000-xml-malformed", 400, XML_HEAD + INTUIT_NS + '<Fault type="ValidationFault"><Error code="6000">'
     "<Message>A business validation error has occurred while processing your request</Message><Detail>"
     "Business Validation Error: You must set a transaction amount.</Detail></Error></Fault",
     "application/xml", ValidationError, "6000", "record", "ref §2 table row 6000, body cut short"),
    ("quota-429", 429, data_service("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
     "Your app has used its monthly CorePlus API quota for this workspace; calls are blocked until the "
     "following month.", kind="SERVICE"), "application/json", ReadQuotaExhausted, "3001", "connection",
     "reconstruction from qbo-2025-2026.md §1.1 ('throttled and an HTTP 429', 'blocked until the "
     "following month'): no published body found"),
    ("html-502", 502, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
     "</body></html>", "text/html", TransientError, None, "transient", "ref §2: HTML pages from proxies"),
    ("empty-503", 503, "", "text/plain", TransientError, None, "transient", "ref §2: empty bodies"),
]


def call_paths(client):
    """Every kind of call the product makes, each as QuickBooks sees it (emulator match)."""
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    return {
        "create": ({"operation": "create"}, lambda: client.create(
            "Customer", {"DisplayName": "Contract"}, request_id="contract-create")),
        "update": ({"operation": "update"}, lambda: client.sparse_update(
            "Customer", "1", "0", {"Notes": "x"}, request_id="contract-update")),
        "delete": ({"operation": "delete"}, lambda: client.delete("Invoice", "1", "0", request_id="contract-delete")),
        "read": ({"operation": "read", "entity": "customer"}, lambda: client.read("Customer", "1")),
        "query": ({"operation": "query"}, lambda: client.query("SELECT * FROM Customer")),
        "batch": ({"operation": "batch"}, lambda: client.batch(
            [{"bId": "b1", "operation": "create", "entity": "Customer", "body": {"DisplayName": "B"}}],
            request_id="contract-batch")),
        "cdc": ({"operation": "cdc"}, lambda: client.cdc(["Customer"], since)),
        "companyinfo": ({"entity": "companyinfo"}, client.company_info),
        "preferences": ({"entity": "preferences"}, client.preferences),
    }


@pytest.fixture
def once(emu, tokens):
    """A client that doesn't retry, so each test sees the first answer's error."""
    client = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, max_retries=0, sleep=lambda s: None)
    yield client
    client.session.close()


def _body(body):
    return body if isinstance(body, str) else json.dumps(body)


@pytest.mark.parametrize("path", ["create", "update", "delete", "read", "query", "batch", "cdc",
                                  "companyinfo", "preferences"])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_it_turns_every_documented_fault_into_one_error_of_the_right_kind(once, emu, row, path):
    name, status, body, content_type, cls, code, kind, source = row
    match, call = call_paths(once)[path]
    # twice: an authentication fault is retried once after a token refresh
    inject(emu, match=match, times=2, response={"status": status, "body": _body(body), "content_type": content_type})
    with pytest.raises(QboError) as caught:
        call()
    error = caught.value
    assert type(error) is cls, (source, str(error))
    assert (error.code, kind_of(error), error.status) == (code, kind, status)
    if code:
        assert error.message and "<" not in error.message  # QuickBooks' own words, never raw XML


ITEM_ROWS = [r for r in ROWS if not isinstance(r[2], str) and r[1] < 500 or r[0] == "10000-systemfault-400"]


@pytest.mark.parametrize("row", ITEM_ROWS, ids=[r[0] for r in ITEM_ROWS])
def test_it_classifies_a_fault_inside_a_batch_item_alike(once, emu, row):
    """ref §7: a batch answers 200 as a whole; each item holds an entity or a Fault."""
    name, status, body, content_type, cls, code, kind, source = row
    fault = body.get("Fault") or body.get("fault")
    answer = {"BatchItemResponse": [{"bId": "b1", "Fault": fault}], "time": "2026-11-26T01:00:00.000-08:00"}
    inject(emu, match={"operation": "batch"}, times=1,
           response={"status": 200, "body": json.dumps(answer), "content_type": "application/json"})
    result = once.batch([{"bId": "b1", "operation": "create", "entity": "Customer",
                          "body": {"DisplayName": "B"}}], request_id="contract-item")["b1"]
    if cls in (SubscriptionEnded, DuplicateName, ObjectNotFound, StaleSyncToken, ValidationError,
               TransientError, ReadQuotaExhausted, AuthFailed, Forbidden, RateLimited):
        assert isinstance(result, cls) and (result.code, kind_of(result)) == (code, kind), source


def test_it_keeps_quickbooks_words_from_malformed_xml(once, emu):
    row = next(r for r in ROWS if r[0] == "6000-xml-malformed")
    inject(emu, match={"operation": "create"}, times=1,
           response={"status": 400, "body": row[2], "content_type": "application/xml"})
    with pytest.raises(ValidationError) as caught:
        once.create("Invoice", {"Line": []}, request_id="malformed")
    assert caught.value.detail == "Business Validation Error: You must set a transaction amount."
