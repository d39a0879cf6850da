"""QBO faults as one exception type, whatever shape QuickBooks answered in.

QuickBooks answers errors in at least five shapes (qbo-api-reference.md §2): the data-service
`{"Fault":{"Error":[...],"type":...}}`, the gateway's lower-case `{"fault":{"error":[...]}}` with an
epoch-ms time, XML (`<Fault>` bare or inside `<IntuitResponse>`; the throttle comes as XML even to
JSON requests), HTML pages from proxies, and empty bodies. A 200 may still carry a Fault. All of them
become a `QboError` keeping the HTTP status, the fault type, *every* Error entry and `intuit_tid`;
the subclass tells the caller what to do next (retry, refresh, reconnect, show the user).

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import unescape

RAW_LIMIT = 4096

# The gateway echoes the rejected token back ("Token expired: <tok>", ref §2), so bodies are
# scrubbed before they are kept: a token must never reach a log, a page or an error message.
_TOKEN_PATTERNS = [
    re.compile(r"(Token expired:\s*)[^\s\"'<,;]+", re.I),
    re.compile(r"(Bearer\s+)[^\s\"'<,;]+", re.I),
]


@dataclass(frozen=True)
class QboFaultEntry:
    """One `Error` of a Fault; `code` is a string, or None when QBO left it out."""

    code: str | None
    message: str
    detail: str
    element: str | None


class QboError(Exception):
    """Any failed QBO call: HTTP status (None when no answer came), fault type, every Error entry,
    intuit_tid, and the (truncated, token-free) raw body."""

    def __init__(self, message: str | None = None, *, status: int | None = None,
                 fault_type: str | None = None, errors: list[QboFaultEntry] | tuple = (),
                 intuit_tid: str | None = None, raw: str = "", retry_after: float | None = None):
        self.status = status
        self.fault_type = fault_type
        self.errors = list(errors)
        self.intuit_tid = intuit_tid
        self.raw = raw
        self.retry_after = retry_after
        super().__init__(message or self._describe())

    @property
    def code(self) -> str | None:
        return self.errors[0].code if self.errors else None

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors if e.code]

    @property
    def message(self) -> str:
        return self.errors[0].message if self.errors else ""

    @property
    def detail(self) -> str:
        return self.errors[0].detail if self.errors else ""

    @property
    def element(self) -> str | None:
        return self.errors[0].element if self.errors else None

    def _describe(self) -> str:
        head = f"QBO {self.status if self.status is not None else 'no answer'}"
        if self.fault_type:
            head += f" {self.fault_type}"
        parts = [head]
        for e in self.errors:
            parts.append(" ".join(p for p in (e.code, e.message, e.detail and f"({e.detail})") if p))
        if self.intuit_tid:
            parts.append(f"intuit_tid={self.intuit_tid}")
        return "; ".join(parts)


class AuthFailed(QboError):
    """401 (3200 token rejected, 100, 120): the access token was refused even after a refresh."""


class ReconnectNeeded(QboError):
    """The refresh token is dead (invalid_grant): a person has to connect QuickBooks again.
    Raised by the token source, not by the client."""


class Forbidden(QboError):
    """403 / 3100: wrong realm, wrong scope, or sandbox keys against production."""


class RateLimited(QboError):
    """429 / 3001 ThrottleExceeded. `retry_after` is how long to wait (seconds) before trying again."""


class LimiterTimeout(RateLimited):
    """Our own per-realm limiter could not admit the request in time; nothing was sent."""


class TransientError(QboError):
    """5xx, timeouts, dropped connections (status None). Safe to retry later with the same
    requestid."""

    #: True when a write was sent and no answer came back: it may or may not have happened.
    write_may_have_happened = False


class AmbiguousWrite(TransientError):
    """A write was sent and no answer ever came back, even after retrying with the same requestid:
    look the record up (DocNumber or external key) before creating it again (ref §1)."""

    write_may_have_happened = True


class ValidationError(QboError):
    """4xx business or validation fault (2xxx, 6xxx, ...): retrying the same body won't help."""


class ObjectNotFound(ValidationError):
    """610: the record (or one it points at) was deleted or made inactive in QBO."""


class DuplicateName(ValidationError):
    """6240: the name is already used (Customer, Vendor and Employee share one namespace)."""


class StaleSyncToken(ValidationError):
    """5010: someone changed the record since our SyncToken; read it again before updating."""


class SubscriptionEnded(QboError):
    """6190: the company's subscription ended or billing failed (may come with HTTP 200)."""


# -- parsing --------------------------------------------------------------------------------------

def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove bearer tokens from a body or message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


def _text(value) -> str:
    return "" if value is None else str(value)


def _entry_from_dict(error: dict) -> QboFaultEntry:
    # Data-service keys are Message/Detail/code/element; the gateway's are all lower-case.
    lower = {str(k).lower(): v for k, v in error.items()}
    code = lower.get("code")
    return QboFaultEntry(
        code=None if code in (None, "") else str(code),
        message=_text(lower.get("message")),
        detail=_text(lower.get("detail")),
        element=None if lower.get("element") is None else str(lower["element"]),
    )


def _fault_from_json(body) -> tuple[str | None, list[QboFaultEntry]] | None:
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or []
    if isinstance(errors, dict):
        errors = [errors]
    entries = [_entry_from_dict(e) for e in errors if isinstance(e, dict)]
    return fault.get("type") or fault.get("Type"), entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fault_from_xml(text: str) -> tuple[str | None, list[QboFaultEntry]] | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    fault = root if _local(root.tag) == "Fault" else next(
        (el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    entries = []
    for error in (el for el in fault if _local(el.tag) == "Error"):
        children = {_local(c.tag).lower(): (c.text or "") for c in error}
        code = error.get("code")
        entries.append(QboFaultEntry(code=code or None, message=children.get("message", ""),
                                     detail=children.get("detail", ""), element=error.get("element")))
    return fault.get("type"), entries


def _html_title(text: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if match:
        return " ".join(unescape(match.group(1)).split()) or None
    return None


def parse_fault(status: int | None, text: str, content_type: str = "", *, intuit_tid: str | None = None,
                secrets: tuple[str, ...] = (), retry_after: float | None = None) -> QboError | None:
    """The QboError for an answer, or None when it is a success (a 2xx without a Fault)."""
    text = text or ""
    stripped = text.lstrip()
    fault_type, entries, found = None, [], False
    if stripped.startswith(("{", "[")):
        try:
            parsed = _fault_from_json(json.loads(stripped))
        except ValueError:
            parsed = None
        if parsed is not None:
            (fault_type, entries), found = parsed, True
    elif stripped.startswith("<"):
        parsed = _fault_from_xml(stripped)
        if parsed is not None:
            (fault_type, entries), found = parsed, True
    if not found and status is not None and 200 <= status < 300:
        return None
    entries = [QboFaultEntry(e.code, scrub(e.message, secrets), scrub(e.detail, secrets), e.element)
               for e in entries]
    message = None
    if not found:
        # An HTML page from a proxy or load balancer, an empty body, or JSON that is no Fault.
        title = _html_title(text) if "<" in stripped[:200] else None
        snippet = title or " ".join(stripped[:200].split()) or "empty body"
        message = f"QBO {status}: {scrub(snippet, secrets)}"
        if intuit_tid:
            message += f"; intuit_tid={intuit_tid}"
    cls = classify(status, fault_type, [e.code for e in entries])
    return cls(message, status=status, fault_type=fault_type, errors=entries, intuit_tid=intuit_tid,
               raw=scrub(text[:RAW_LIMIT], secrets), retry_after=retry_after)


def classify(status: int | None, fault_type: str | None, codes: list[str | None]) -> type[QboError]:
    """Which subclass a fault is, from its status, type and codes (ref §2's table)."""
    codes = {c for c in codes if c}
    if status == 401 or codes & {"3200", "100", "120"}:
        return AuthFailed
    if status == 403 or "3100" in codes:
        return Forbidden
    if status == 429 or "3001" in codes:
        return RateLimited
    if "6190" in codes:
        return SubscriptionEnded
    if "5010" in codes:
        return StaleSyncToken
    if "6240" in codes:
        return DuplicateName
    if "610" in codes:
        return ObjectNotFound
    if status is None:
        return TransientError
    # "Unsupported Operation" has come back as an HTTP 500 with a ValidationFault (ref §1): a
    # retry would fail the same way, so only a 5xx that is not a validation fault is transient.
    if status >= 500 and (fault_type or "").lower() != "validationfault":
        return TransientError
    return ValidationError
