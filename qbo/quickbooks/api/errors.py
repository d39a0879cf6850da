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


class ReadQuotaExhausted(QboError):
    """A 429 that is Intuit's monthly CorePlus read allowance running out (qbo-2025-2026.md §1.1),
    not the per-minute throttle: reads stay refused until the 1st of next month, so it is never
    retried. Told from the throttle by its words (see `is_quota_message`)."""


#: What each kind of fault asks of the sync (`kind_of`):
#: "record"     - this record's problem: a desk row in its category, QBO's Message/Detail shown;
#: "transient"  - retry with backoff, whatever the HTTP status; a desk row only when retries run out;
#: "connection" - the whole connection's problem: pause the sync and say why on the banner.
CONNECTION_LEVEL = (AuthFailed, ReconnectNeeded, Forbidden, SubscriptionEnded, ReadQuotaExhausted)


def kind_of(error: QboError) -> str:
    """"connection", "transient" (RateLimited included) or "record"."""
    if isinstance(error, CONNECTION_LEVEL):
        return "connection"
    if isinstance(error, (TransientError, RateLimited)):
        return "transient"
    return "record"


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


# The gateway's Message carries its own code and status: "message=ThrottleExceeded;
# errorCode=003001; statusCode=429" (ref §2); the code is the number without its leading zeros.
_GATEWAY_CODE = re.compile(r"errorCode\s*=\s*0*(\d+)", re.I)
_GATEWAY_STATUS = re.compile(r"statusCode\s*[=:]\s*(\d{3})", re.I)


def _code_from_message(code, message: str) -> str | None:
    if code not in (None, ""):
        return str(code)
    match = _GATEWAY_CODE.search(message or "")
    return match.group(1) if match else None


def _entry_from_dict(error: dict) -> QboFaultEntry:
    # Data-service keys are Message/Detail/code/element; the gateway's are all lower-case.
    lower = {str(k).lower(): v for k, v in error.items()}
    message = _text(lower.get("message"))
    return QboFaultEntry(
        code=_code_from_message(lower.get("code"), message),
        message=message,
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


def _salvage_xml(text: str) -> tuple[str | None, list[QboFaultEntry]] | None:
    """QuickBooks' words from XML that does not parse (cut off, or with a stray `&`): each
    `<Error code=..>` with its Message and Detail, read by pattern instead of lost as raw XML."""
    if not re.search(r"<(?:\w+:)?Fault\b", text):
        return None
    type_match = re.search(r"<(?:\w+:)?Fault\b[^>]*\btype=[\"']([^\"']*)", text)
    entries = []
    for block in re.finditer(r"<(?:\w+:)?Error\b([^>]*)>(.*?)(?:</(?:\w+:)?Error>|$)", text, re.S):
        attrs, inner = block.group(1), block.group(2)

        def child(name):
            found = re.search(rf"<(?:\w+:)?{name}>(.*?)(?:</(?:\w+:)?{name}>|<|$)", inner, re.S | re.I)
            return unescape(found.group(1)).strip() if found else ""

        code = re.search(r"\bcode=[\"']([^\"']*)", attrs)
        element = re.search(r"\belement=[\"']([^\"']*)", attrs)
        message = child("Message")
        entries.append(QboFaultEntry(code=_code_from_message(code.group(1) if code else None, message),
                                     message=message, detail=child("Detail"),
                                     element=element.group(1) if element else None))
    return (type_match.group(1) if type_match else None), entries


def _fault_from_xml(text: str) -> tuple[str | None, list[QboFaultEntry]] | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return _salvage_xml(text)
    fault = root if _local(root.tag) == "Fault" else next(
        (el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    entries = []
    for error in (el for el in fault if _local(el.tag) == "Error"):
        children = {_local(c.tag).lower(): (c.text or "").strip() for c in error}
        message = children.get("message", "")
        entries.append(QboFaultEntry(code=_code_from_message(error.get("code"), message), message=message,
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
    words = " ".join(f"{e.message} {e.detail}" for e in entries)
    cls = classify(status, fault_type, [e.code for e in entries], words)
    return cls(message, status=status, fault_type=fault_type, errors=entries, intuit_tid=intuit_tid,
               raw=scrub(text[:RAW_LIMIT], secrets), retry_after=retry_after)


# How the monthly read allowance's 429 is told from the per-minute throttle's (README "Intuit's
# read quota"): the throttle says "ThrottleExceeded" / "request limit was reached. Try again
# later"; Intuit's texts for the Builder-tier cap speak of a monthly quota or plan limit
# (qbo-2025-2026.md §1.1: "blocked until the following month"). Only a 429 (or a 3001) whose words
# say month, quota, CorePlus or plan counts as the quota.
_QUOTA_WORDS = re.compile(r"quota|month|coreplus|builder tier|plan limit|usage limit|api usage", re.I)
_TRANSIENT_WORDS = re.compile(r"try again later|temporarily unavailable|service unavailable", re.I)


def is_quota_message(text: str) -> bool:
    """Whether a throttling fault's words say the monthly read allowance ran out."""
    return bool(_QUOTA_WORDS.search(text or ""))


def classify(status: int | None, fault_type: str | None, codes: list[str | None],
             words: str = "") -> type[QboError]:
    """Which subclass a fault is, from its status, type, codes and words (ref §2's table).

    The HTTP status is not trusted alone: QuickBooks answers faults with 200, a SystemFault with
    400, and the gateway repeats the real status inside its Message ("statusCode=401")."""
    codes = {c for c in codes if c}
    kind = (fault_type or "").lower()
    said = _GATEWAY_STATUS.search(words or "")
    said_status = int(said.group(1)) if said else None
    effective = status if status is not None and status not in (200, 400) or said_status is None \
        else said_status
    gateway = {c for c in codes if len(c) == 4 and c.startswith("3")}
    if (effective == 429 or status == 429 or "3001" in codes) and is_quota_message(words):
        return ReadQuotaExhausted
    # The code decides before the status: a throttle said statusCode=403 before 2016 (ref §2), and
    # gateway faults have come with 500.
    if codes & {"3200", "100", "120"} or any(c.startswith("32") for c in gateway):
        return AuthFailed
    if "3100" in codes or any(c.startswith("31") for c in gateway):
        return Forbidden
    if "3001" in codes or any(c.startswith("30") for c in gateway):
        return RateLimited
    if effective == 401 or kind == "authenticationfault":
        return AuthFailed
    if effective == 403 or kind == "authorizationfault":
        return Forbidden
    if effective == 429 or status == 429:
        return RateLimited
    if "6190" in codes:
        return SubscriptionEnded
    if "5010" in codes:
        return StaleSyncToken
    if "6240" in codes:
        return DuplicateName
    if "610" in codes:
        return ObjectNotFound
    if effective is None:
        return TransientError
    # A SystemFault is QuickBooks' own trouble whatever status it came with (400 and 200 are seen),
    # and so is a fault that says to try again later, or the 10000 application error.
    if kind == "systemfault" or "10000" in codes or _TRANSIENT_WORDS.search(words or ""):
        return TransientError
    # "Unsupported Operation" has come back as an HTTP 500 with a ValidationFault (ref §1): a
    # retry would fail the same way, so only a 5xx that is not a validation fault is transient.
    if effective >= 500 and kind != "validationfault":
        return TransientError
    return ValidationError
