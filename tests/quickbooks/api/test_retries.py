"""Retries, backoff, the 60-second throttle rule and token refresh (ref §2, §3). Sleeps are recorded by
the `sleeps` fixture, never slept."""
import email.utils
from datetime import datetime, timedelta, timezone

import pytest
import requests
from requests.adapters import HTTPAdapter

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import AuthFailed, DuplicateName, RateLimited, ReconnectNeeded, TransientError
from tests.quickbooks.api.qbo_testing import inject, requests_log

THROTTLE_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Fault type="SERVICE">'
                '<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429'
                '</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>')


class ThrottleOnce(HTTPAdapter):
    """The emulator's verbatim responses can't carry headers, so a Retry-After is added here: the
    first request is answered with a 429 (or `status`) + Retry-After, the rest go to the emulator
    over HTTP."""

    def __init__(self, retry_after, status=429):
        super().__init__()
        self.retry_after = retry_after
        self.status = status
        self.throttled = False

    def send(self, request, **kwargs):
        if self.throttled:
            return super().send(request, **kwargs)
        self.throttled = True
        response = requests.Response()
        response.status_code, response.url, response.request = self.status, request.url, request
        response.headers["Retry-After"] = self.retry_after
        if self.status == 429:
            response.headers["Content-Type"] = "application/xml"
            response._content = THROTTLE_XML.encode()
        else:
            response.headers["Content-Type"] = "text/html"
            response._content = b"<html><title>503 Service Unavailable</title></html>"
        return response


def test_it_retries_5xx_with_backoff_then_succeeds(qbo, emu, sleeps):
    """ref §2: 10000 SystemFault (HTTP 500) is transient; jittered backoff, then the answer."""
    inject(emu, match={"operation": "read"}, times=2, code="10000")
    assert qbo.preferences()
    assert len(sleeps) == 2 and all(0 < s <= 30 for s in sleeps)


def test_it_waits_60_seconds_after_a_429(qbo, emu, sleeps):
    """ref §3 (conf M): after a 429, wait 60 s before retrying (the XML 3001 has no Retry-After)."""
    inject(emu, match={"operation": "read"}, times=1, code="3001")
    assert qbo.preferences()
    assert sleeps == [60.0]


@pytest.mark.parametrize("retry_after, waited", [("120", 120.0), ("5", 60.0)])
def test_it_honours_retry_after_but_never_waits_less_than_60_seconds(emu, tokens, sleeps,
                                                                     retry_after, waited):
    """ref §3: the stricter of Retry-After and the 60-second rule."""
    session = requests.Session()
    session.mount("http://", ThrottleOnce(retry_after))
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, session=session, sleep=sleeps.append)
    assert qbo.preferences()
    assert sleeps == [waited]


def test_it_honours_retry_after_as_an_http_date_on_a_503(emu, tokens, sleeps):
    """RFC 9110: Retry-After is delta-seconds or an HTTP date; a 503 waits at least that long."""
    when = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    session = requests.Session()
    session.mount("http://", ThrottleOnce(when, status=503))
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, session=session, sleep=sleeps.append)
    assert qbo.preferences()
    assert len(sleeps) == 1 and 85 < sleeps[0] <= 90


def test_it_never_retries_a_validation_fault(qbo, emu, sleeps):
    """ref §2: 6240 Duplicate Name is a 400 ValidationFault: the same body would fail again."""
    inject(emu, match={"entity": "customer"}, times=1, code="6240")
    with pytest.raises(DuplicateName):
        qbo.create("Customer", {"DisplayName": "Dup"}, request_id="dup-1")
    assert sleeps == [] and len(requests_log(emu, "/customer")) == 1


def test_it_gives_up_after_max_retries(emu, tokens, sleeps):
    """The ceiling: 1 attempt + max_retries, then the transient error goes to the caller."""
    inject(emu, match={"operation": "read"}, times=None, code="10000")
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, max_retries=2, sleep=sleeps.append)
    with pytest.raises(TransientError) as caught:
        qbo.preferences()
    assert caught.value.status == 500 and len(requests_log(emu, "/preferences")) == 3


def test_it_stops_when_the_next_wait_would_pass_max_wait(emu, tokens, sleeps):
    """The ceiling on total waiting: a second 60 s throttle wait would pass max_wait=100."""
    inject(emu, match={"operation": "read"}, times=None, code="3001")
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, max_wait=100, sleep=sleeps.append)
    with pytest.raises(RateLimited) as caught:
        qbo.preferences()
    assert sleeps == [60.0] and caught.value.retry_after == 60.0


def test_it_retries_a_read_timeout(emu, tokens, sleeps):
    """A read that times out is retried (status None: no answer came)."""
    inject(emu, match={"operation": "read"}, times=1, delay_ms=800)
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, timeout=(2, 0.3), sleep=sleeps.append)
    assert qbo.preferences() and len(sleeps) == 1


def test_it_refreshes_once_on_401_then_succeeds(qbo, emu, tokens):
    """ref §9: access tokens last 1 h; an expired one gets 3200 (401) and one refresh fixes it."""
    expired = tokens.access_token()
    emu.control("POST", "/clock", json={"advance_seconds": 3601}).raise_for_status()
    assert qbo.company_info()
    assert tokens.rejected == [expired]


def test_it_raises_auth_failed_on_a_second_401(qbo, emu, tokens):
    """A 401 after a fresh token is not a token problem: one refresh, then AuthFailed."""
    inject(emu, match={"operation": "read"}, times=2, code="3200")
    with pytest.raises(AuthFailed) as caught:
        qbo.preferences()
    assert caught.value.status == 401 and caught.value.code == "3200" and len(tokens.rejected) == 1


def test_it_lets_reconnect_needed_through(qbo, emu, tokens):
    """ref §9: invalid_grant is not retryable; the token source's ReconnectNeeded reaches the caller."""
    tokens.pair["refresh_token"] = "superseded-refresh-token"
    emu.control("POST", "/clock", json={"advance_seconds": 3601}).raise_for_status()
    with pytest.raises(ReconnectNeeded):
        qbo.preferences()
