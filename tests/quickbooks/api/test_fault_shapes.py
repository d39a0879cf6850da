"""Every fault shape of ref §2, returned verbatim by the emulator and parsed into one QboError."""
import json

import pytest

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import (
    AuthFailed,
    Forbidden,
    QboError,
    RateLimited,
    StaleSyncToken,
    SubscriptionEnded,
    TransientError,
    ValidationError,
)
from tests.quickbooks.api.qbo_testing import inject


@pytest.fixture
def once(emu, tokens):
    """A client that doesn't retry, so each test sees the first answer's error."""
    return QboClient(emu.realm_id, emu.base_url + "/v3", tokens, max_retries=0, sleep=lambda s: None)


def answer(emu, status, body, content_type="application/json", times=1):
    body = body if isinstance(body, str) else json.dumps(body)
    inject(emu, match={"operation": "read"}, times=times,
           response={"status": status, "body": body, "content_type": content_type})


def test_it_parses_the_data_service_fault_with_two_errors(once, emu):
    """ref §2 data-service shape: Fault.Error[] with string codes; every entry kept."""
    answer(emu, 400, {"Fault": {"Error": [
        {"Message": "Duplicate Name Exists Error", "Detail": "The name supplied already exists.",
         "code": "6240", "element": ""},
        {"Message": "String length is either shorter or longer than supported by specification",
         "Detail": "Min:0 Max:4,000 supported. Supplied length: 4,006", "code": "2050",
         "element": "Notes"}], "type": "ValidationFault"}, "time": "2017-09-29T09:17:31.892-07:00"})
    with pytest.raises(ValidationError) as caught:
        once.preferences()
    e = caught.value
    assert (e.status, e.fault_type, e.code, e.codes) == (400, "ValidationFault", "6240", ["6240", "2050"])
    assert e.errors[1].element == "Notes" and "4,006" in e.errors[1].detail
    assert e.intuit_tid


def test_it_parses_the_gateway_fault_and_hides_the_token(once, emu, tokens):
    """ref §2 gateway shape: lower-case fault.error[], epoch-ms time; Detail echoes the token."""
    token = tokens.access_token()
    body = {"warnings": None, "intuitObject": None, "fault": {"error": [
        {"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
         "detail": f"Token expired: {token}", "code": "3200", "element": None}],
        "type": "AUTHENTICATION"}, "time": 1633520295688, "status": None, "cdcresponse": []}
    answer(emu, 401, body, times=2)
    with pytest.raises(AuthFailed) as caught:
        once.preferences()
    e = caught.value
    assert (e.status, e.fault_type, e.code, e.errors[0].element) == (401, "AUTHENTICATION", "3200", None)
    for secret in (token, tokens.access_token()):
        assert secret not in str(e) and secret not in e.raw and secret not in e.detail


def test_it_parses_a_403_gateway_fault(once, emu):
    """ref §2: a 403 has code 3100 and type SERVICE (wrong realm or scope)."""
    answer(emu, 403, {"fault": {"error": [{"message": "message=ApplicationAuthorizationFailed; "
                                           "errorCode=003100; statusCode=403", "detail": None,
                                           "code": "3100", "element": None}], "type": "SERVICE"}})
    with pytest.raises(Forbidden) as caught:
        once.preferences()
    assert (caught.value.code, caught.value.detail) == ("3100", "")


def test_it_parses_the_xml_throttle_fault(once, emu):
    """ref §2: the throttle comes as XML even to JSON requests, inside IntuitResponse."""
    answer(emu, 429, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-26T01:00:00.000-08:00">'
           '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; '
           'statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail>'
           '</Error></Fault></IntuitResponse>', "application/xml")
    with pytest.raises(RateLimited) as caught:
        once.preferences()
    e = caught.value
    assert (e.status, e.fault_type, e.code, e.retry_after) == (429, "SERVICE", "3001", 60.0)
    assert e.detail == "The request limit was reached.  Try again later"


def test_it_parses_a_bare_xml_fault_with_an_element(once, emu):
    """ref §2: XML bodies (`<Fault type=...><Error code=... element=...>`)."""
    answer(emu, 400, '<Fault type="ValidationFault"><Error code="5010" element="SyncToken">'
           '<Message>Stale Object Error</Message><Detail>Stale Object Error : You and Amy were '
           'working on this at the same time.</Detail></Error></Fault>', "text/xml")
    with pytest.raises(StaleSyncToken) as caught:
        once.preferences()
    assert (caught.value.code, caught.value.element) == ("5010", "SyncToken")


def test_it_parses_an_html_502_page(once, emu):
    """A proxy's HTML error page: transient, no Error entries, its title in the message."""
    answer(emu, 502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 "
           "Bad Gateway</h1></center></body></html>", "text/html")
    with pytest.raises(TransientError) as caught:
        once.preferences()
    e = caught.value
    assert (e.status, e.errors, e.code) == (502, [], None)
    assert "502 Bad Gateway" in str(e) and e.raw.startswith("<html>")


def test_it_parses_an_empty_503(once, emu):
    with pytest.raises(TransientError) as caught:
        answer(emu, 503, "", "text/plain")
        once.preferences()
    assert caught.value.status == 503 and "empty body" in str(caught.value)


def test_it_survives_a_fault_without_a_code(once, emu):
    """python-quickbooks crashes with TypeError here (client-libraries §2)."""
    answer(emu, 400, {"Fault": {"Error": [{"Message": "Something went wrong", "Detail": "no code"}],
                                "type": "ValidationFault"}})
    with pytest.raises(ValidationError) as caught:
        once.preferences()
    assert (caught.value.code, caught.value.codes, caught.value.message) == (None, [], "Something went wrong")


def test_it_raises_on_a_200_that_carries_a_fault(once, emu):
    """ref §2: a 200 may still carry a Fault; 6190 has come back with a 200."""
    answer(emu, 200, {"Fault": {"Error": [{"Message": "Invalid Company Status", "Detail":
                                           "Subscription period has ended", "code": "6190"}],
                                "type": "ValidationFault"}})
    with pytest.raises(SubscriptionEnded) as caught:
        once.preferences()
    assert (caught.value.status, caught.value.code) == (200, "6190")


def test_it_truncates_the_raw_body(once, emu):
    answer(emu, 400, {"Fault": {"Error": [{"Message": "x", "Detail": "y" * 20000, "code": "6000"}]}})
    with pytest.raises(QboError) as caught:
        once.preferences()
    assert len(caught.value.raw) <= 4096 and len(caught.value.detail) == 20000
