"""QboClient: HTTP to the QuickBooks Online Accounting API v3, one method per operation.

Our own thin layer over `requests` (qbo-client-libraries.md §4: python-quickbooks has no timeouts
or retries, misclassifies faults and rotates tokens behind the app's back). What every call gets:
`minorversion=75`, `Accept: application/json`, connect/read timeouts, a slot from the per-realm
limiter, a deterministic `requestid` on writes, retries with backoff for 429/5xx/timeouts/dropped
connections, one token refresh on a 401, and faults parsed into `qbo.errors.QboError`.

References: qbo-api-reference.md (cited as ref §N) and
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
"""
from __future__ import annotations

import email.utils
import json
import random
import time
import uuid
from datetime import datetime, timezone
from typing import Iterator, Protocol

import requests

from .errors import (
    AmbiguousWrite,
    AuthFailed,
    QboError,
    RateLimited,
    ReadQuotaExhausted,
    TransientError,
    parse_fault,
    scrub,
)
from .limiter import RealmLimiter
from .meter import ReadMeter

MAX_REQUESTID = 50        # ref §1
MAX_BATCH_REQUESTID = 36  # ref §1: on /batch, and then each bId is <= 10
MAX_BID = 10
MAX_BATCH_ITEMS = 30      # ref §3: hard max 30; more gets 1040
MAX_PAGE = 1000           # ref §3/§5: MAXRESULTS max 1000
THROTTLE_WAIT = 60.0      # ref §3: after a 429, wait 60 s before retrying

# Fixed forever: changing it would give every logical write a new id and let a retry write twice.
_REQUESTID_NAMESPACE = uuid.UUID("6f1d3c0e-7a51-4a8e-9d5e-2f3b8c1a9e47")

# Payment, SalesReceipt and BillPayment are voided by a sparse update with include=void;
# an Invoice by operation=void (ref §1).
_VOID_BY_UPDATE = {"payment", "salesreceipt", "billpayment"}


class TokenSource(Protocol):
    def access_token(self) -> str:
        """A valid access token (the source refreshes before expiry)."""

    def refreshed_after(self, rejected: str) -> str:
        """Called once on a 401 with the token QBO rejected; returns a new one; raises
        ReconnectNeeded if the connection must be re-authorised."""


def request_id_for(*parts) -> str:
    """A requestid for one logical write, e.g. (firm_id, "invoice", 42, "create", version).

    The same parts give the same id in every process and on every retry, so QBO replays the first
    answer instead of writing twice (ref §1). It is a UUID5 (SHA-1 of the parts): 36 characters,
    within both the 50-character limit and the 36 allowed on /batch.
    """
    if not parts:
        raise ValueError("request_id_for needs at least one part")
    return str(uuid.uuid5(_REQUESTID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _was_sent(exc: requests.RequestException) -> bool:
    """False only when the request surely never reached QBO (refused or timed-out connect)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    text = repr(reason)
    return not ("NewConnectionError" in text or "NameResolutionError" in text)


def _quote(value) -> str:
    """A value in QBO's query language: strings in single quotes, ' and \\ escaped (ref §5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class QboClient:
    """One realm's QBO API. Make one per job or worker: it holds one `requests.Session`."""

    def __init__(self, realm_id: str, api_base: str, tokens: TokenSource, *, redis=None,
                 limiter: RealmLimiter | None = None, minorversion: int = 75,
                 timeout: tuple[float, float] = (5, 30), session: requests.Session | None = None,
                 max_retries: int = 4, max_wait: float = 180.0, backoff: float = 1.0,
                 sleep=time.sleep, meter: ReadMeter | None = None):
        self.realm_id = str(realm_id)
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self.limiter = limiter if limiter is not None else (RealmLimiter(redis) if redis else None)
        self.minorversion = minorversion
        self.timeout = timeout
        self.session = session or requests.Session()
        self.max_retries = max_retries  # retries after the first attempt
        self.max_wait = max_wait        # total seconds of backoff before giving up
        self.backoff = backoff
        self.sleep = sleep
        # Intuit meters reads (CorePlus) per realm and month: counted here, in one place, so no
        # read escapes the count (qbo-2025-2026.md §1.1).
        if meter is None and redis is not None:
            meter = ReadMeter(redis)
        self.meter = meter

    # -- plumbing ---------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.api_base}/company/{self.realm_id}/{path.lstrip('/')}"

    @property
    def _minute(self) -> float:
        """A QBO minute in real seconds: shorter when the limiter runs a compressed time_scale."""
        return THROTTLE_WAIT / (self.limiter.time_scale if self.limiter else 1.0)

    def _delay(self, error: QboError, retry: int) -> float:
        if isinstance(error, RateLimited):
            # Retry-After when given, but never less than the documented 60 s after a 429
            # (ref §3, conf M): retrying sooner is counted and throttled again.
            return max(error.retry_after or 0.0, self._minute)
        # Exponential backoff with full jitter (the AWS architecture blog's "full jitter"), but not
        # sooner than a 503's Retry-After.
        backoff = random.uniform(0, min(30.0, self.backoff * 2 ** retry)) + self.backoff * 0.1
        return max(backoff, error.retry_after or 0.0)

    def _request(self, method: str, path: str, *, params: dict | None = None, body=None,
                 data: str | None = None, content_type: str = "application/json",
                 request_id: str | None = None, batch: bool = False, metered: bool | None = None) -> dict:
        params = dict(params or {})
        write = method == "POST" and path != "query"
        # CorePlus: every GET (read, CDC, CompanyInfo, Preferences, reports) and every query.
        metered = (method == "GET" or path == "query") if metered is None else metered
        if metered and self.meter is not None:
            until = self.meter.blocked_until(self.realm_id)
            if until is not None:
                # Intuit would refuse it anyway, and a refused read may still count: don't send.
                raise ReadQuotaExhausted(
                    f"QuickBooks' monthly read allowance is used up until {until:%Y-%m-%d}; "
                    "nothing was sent", status=429)
        if write:
            if not request_id:
                raise ValueError("every write needs a request_id (see request_id_for)")
            limit = MAX_BATCH_REQUESTID if batch else MAX_REQUESTID
            if len(request_id) > limit:
                raise ValueError(f"request_id is {len(request_id)} chars; QBO allows {limit} here")
            params["requestid"] = request_id
        params["minorversion"] = self.minorversion
        payload = data if data is not None else (json.dumps(body) if body is not None else None)
        token = self.tokens.access_token()
        refreshed = False
        maybe_written = False  # some attempt sent the write and got no answer
        retries, waited = 0, 0.0
        while True:
            error = None
            headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = content_type
            try:
                lease = self.limiter.acquire(self.realm_id, batch=batch) if self.limiter else None
            except QboError as exc:
                if maybe_written:
                    raise AmbiguousWrite(str(exc), retry_after=exc.retry_after) from exc
                raise
            if metered and self.meter is not None:
                self.meter.count(self.realm_id)
            try:
                response = self.session.request(method, self.url(path), params=params,
                                                data=payload, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                # No answer: status None. After a write was sent we can't know if it happened.
                ambiguous = write and _was_sent(exc)
                maybe_written = maybe_written or ambiguous
                cls = AmbiguousWrite if ambiguous else TransientError
                error = cls(f"QBO {method} {path}: {type(exc).__name__}: {scrub(str(exc), (token,))}")
                response = None
            finally:
                if lease is not None:
                    lease.release()
            if response is not None:
                tid = response.headers.get("intuit_tid")
                error = parse_fault(
                    response.status_code, response.text, response.headers.get("Content-Type", ""),
                    intuit_tid=tid, secrets=(token,),
                    retry_after=_retry_after_seconds(response.headers.get("Retry-After")))
                if error is None:
                    try:
                        return response.json()
                    except ValueError:
                        error = TransientError(f"QBO {response.status_code}: answer is not JSON",
                                               status=response.status_code, intuit_tid=tid,
                                               raw=scrub(response.text[:4096], (token,)))
                if isinstance(error, ReadQuotaExhausted) and self.meter is not None:
                    self.meter.block_until_next_month(self.realm_id)
                if isinstance(error, AuthFailed) and not refreshed:
                    # One refresh per call: a second 401 with a fresh token is not a token problem.
                    token = self.tokens.refreshed_after(token)
                    refreshed = True
                    continue
            if not isinstance(error, (TransientError, RateLimited)) or isinstance(error, AuthFailed):
                raise error
            delay = self._delay(error, retries)
            if isinstance(error, RateLimited) and self.limiter:
                # Every worker of the realm holds off, not just this one, retry or not (ref §3).
                self.limiter.pause(self.realm_id, delay)
            if retries >= self.max_retries or waited + delay > self.max_wait:
                if isinstance(error, RateLimited) and error.retry_after is None:
                    error.retry_after = delay
                if maybe_written and not isinstance(error, AmbiguousWrite):
                    # An earlier attempt's write may have landed even though this one failed.
                    raise AmbiguousWrite(str(error), status=error.status,
                                         fault_type=error.fault_type, errors=error.errors,
                                         intuit_tid=error.intuit_tid, raw=error.raw) from error
                raise error
            retries += 1
            waited += delay
            # The same requestid goes again: if the write happened, QBO replays its answer (ref §1).
            self.sleep(delay)

    @staticmethod
    def _entity(answer: dict, entity: str) -> dict:
        if entity in answer:
            return answer[entity]
        # Entity names are case-sensitive in answers; accept what came if the caller's case differs.
        for key, value in answer.items():
            if key.lower() == entity.lower() and isinstance(value, dict):
                return value
        raise QboError(f"QBO answer has no {entity}", status=200, raw=json.dumps(answer)[:4096])

    # -- entities ---------------------------------------------------------------------------------

    def create(self, entity: str, body: dict, *, request_id: str) -> dict:
        """Create one record; returns it with its Id and SyncToken "0".
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#create-an-invoice"""
        answer = self._request("POST", entity.lower(), body=body, request_id=request_id)
        return self._entity(answer, entity)

    def read(self, entity: str, id: str) -> dict:
        """Read one record by Id.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#read-an-invoice"""
        return self._entity(self._request("GET", f"{entity.lower()}/{id}"), entity)

    def update(self, entity: str, body: dict, *, request_id: str) -> dict:
        """Full update: `body` carries Id and SyncToken, and any writable field left out is reset.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#full-update-an-invoice"""
        if not body.get("Id") or body.get("SyncToken") is None:
            raise ValueError("an update needs Id and SyncToken")
        body = dict(body, sparse=False)
        return self._entity(self._request("POST", entity.lower(), body=body, request_id=request_id),
                            entity)

    def sparse_update(self, entity: str, id: str, sync_token: str, fields: dict, *,
                      request_id: str) -> dict:
        """Change only `fields` (ref §1: sparse=true; others keep their values).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#sparse-update-an-invoice"""
        body = dict(fields, Id=str(id), SyncToken=str(sync_token), sparse=True)
        return self._entity(self._request("POST", entity.lower(), body=body, request_id=request_id),
                            entity)

    def delete(self, entity: str, id: str, sync_token: str, *, request_id: str) -> dict:
        """Hard-delete a transaction; returns {"Id", "status": "Deleted"}. Name lists can't be
        deleted (use deactivate).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#delete-an-invoice"""
        body = {"Id": str(id), "SyncToken": str(sync_token)}
        answer = self._request("POST", entity.lower(), params={"operation": "delete"}, body=body,
                               request_id=request_id)
        return self._entity(answer, entity)

    def void(self, entity: str, id: str, sync_token: str, *, request_id: str) -> dict:
        """Void a transaction: Invoice by operation=void; Payment, SalesReceipt and BillPayment by a
        sparse update with include=void (ref §1).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#void-an-invoice"""
        path = entity.lower()
        body = {"Id": str(id), "SyncToken": str(sync_token)}
        if path in _VOID_BY_UPDATE:
            params = {"operation": "update", "include": "void"}
            body["sparse"] = True
        else:
            params = {"operation": "void"}
        answer = self._request("POST", path, params=params, body=body, request_id=request_id)
        return self._entity(answer, entity)

    def deactivate(self, entity: str, id: str, sync_token: str, *, request_id: str) -> dict:
        """Make a name-list record (Customer, Item, Account, ...) inactive: they can't be deleted
        (ref §1).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#sparse-update-a-customer"""
        return self.sparse_update(entity, id, sync_token, {"Active": False}, request_id=request_id)

    # -- queries ----------------------------------------------------------------------------------

    def query(self, sql: str) -> list[dict]:
        """Run one query; returns the records (empty list for no hits). Sent as a POST with an
        application/text body, so long WHERE clauses don't hit URL limits (ref §5).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries"""
        answer = self._request("POST", "query", data=sql, content_type="application/text")
        block = answer.get("QueryResponse") or {}
        return next((v for v in block.values() if isinstance(v, list)), [])

    def query_all(self, entity: str, where: str | None = None, page_size: int = MAX_PAGE,
                  order_by: str = "Id") -> Iterator[dict]:
        """Every record matching `where`, page by page over STARTPOSITION (1-based) and MAXRESULTS
        (at most 1000, ref §5). Ordered by `order_by` so pages don't shift between requests.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries#pagination"""
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE} (ref §3)")
        base = f"SELECT * FROM {entity}" + (f" WHERE {where}" if where else "")
        if order_by:
            base += f" ORDERBY {order_by}"
        start = 1
        while True:
            page = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {page_size}")
            yield from page
            if len(page) < page_size:
                return
            start += page_size

    def count(self, entity: str, where: str | None = None) -> int:
        """SELECT COUNT(*): the number of matching records (ref §5: `totalCount`).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries"""
        sql = f"SELECT COUNT(*) FROM {entity}" + (f" WHERE {where}" if where else "")
        answer = self._request("POST", "query", data=sql, content_type="application/text")
        return int((answer.get("QueryResponse") or {}).get("totalCount", 0))

    quote = staticmethod(_quote)

    # -- batch and CDC ----------------------------------------------------------------------------

    def batch(self, items: list[dict], *, request_id: str) -> dict[str, dict | QboError]:
        """Up to 30 operations in one request. Each item is {"bId", "operation", "entity", "body"}
        or {"bId", "query"}; returns {bId: record | QueryResponse | QboError}, matched by bId
        because QBO runs items in any order (ref §7).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch"""
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1..{MAX_BATCH_ITEMS} items (ref §3), not {len(items)}")
        requests_, bids = [], []
        for n, item in enumerate(items, 1):
            bid = str(item.get("bId") or f"b{n}")
            if len(bid) > MAX_BID or bid in bids:
                raise ValueError(f"bId {bid!r}: must be unique and at most {MAX_BID} chars (ref §1)")
            bids.append(bid)
            if "query" in item:
                requests_.append({"bId": bid, "Query": item["query"]})
            else:
                requests_.append({"bId": bid, "operation": item["operation"],
                                  item["entity"]: item["body"]})
        # A batch that queries is a read; one that only writes is not (Core calls are free).
        answer = self._request("POST", "batch", body={"BatchItemRequest": requests_},
                               request_id=request_id, batch=True,
                               metered=any("Query" in r for r in requests_))
        results: dict[str, dict | QboError] = {}
        for response in answer.get("BatchItemResponse") or []:
            bid = str(response.get("bId"))
            fault = response.get("Fault") or response.get("fault")
            if fault is not None:
                # Classified as if answered alone (a SystemFault item is worth retrying whatever
                # its status, a ValidationFault is not), but the status is the batch's: 200.
                error = parse_fault(400, json.dumps({"Fault": fault}), "application/json")
                error.status = 200
                results[bid] = error
                continue
            if "QueryResponse" in response:
                results[bid] = response["QueryResponse"]
                continue
            results[bid] = next((v for k, v in response.items() if k != "bId"), {})
        for bid in bids:
            # An item QBO didn't answer: we can't tell whether it ran.
            results.setdefault(bid, AmbiguousWrite(f"batch item {bid} got no answer"))
        return results

    def cdc(self, entities: list[str], changed_since: datetime) -> dict[str, list[dict]]:
        """Records of `entities` changed since `changed_since` (at most 30 days back, 1000 objects,
        ref §6). Deleted transactions come as stubs with status "Deleted".
        `changed_since` must be timezone-aware: python-quickbooks drops the offset of a datetime
        (qbo-client-libraries.md §2), which silently shifts the window by the UTC offset.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/changedatacapture"""
        if changed_since.tzinfo is None or changed_since.utcoffset() is None:
            raise ValueError("changed_since must be timezone-aware (e.g. datetime.now(timezone.utc))")
        params = {"entities": ",".join(entities),
                  "changedSince": changed_since.isoformat(timespec="seconds")}
        answer = self._request("GET", "cdc", params=params)
        found: dict[str, list[dict]] = {name: [] for name in entities}
        for block in answer.get("CDCResponse") or []:
            for query_response in block.get("QueryResponse") or []:
                for key, value in query_response.items():
                    if isinstance(value, list):
                        found.setdefault(key, []).extend(value)
        return found

    # -- company ----------------------------------------------------------------------------------

    def company_info(self) -> dict:
        """The company's name, address, country and fiscal year.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo"""
        return self._entity(self._request("GET", f"companyinfo/{self.realm_id}"), "CompanyInfo")

    def preferences(self) -> dict:
        """Company preferences, e.g. SalesFormsPrefs.CustomTxnNumbers (decides DocNumber, ref §4).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/preferences"""
        return self._entity(self._request("GET", "preferences"), "Preferences")

    def exchange_rate(self, source_currency: str, as_of: str | None = None) -> dict:
        """Home-currency units per unit of `source_currency` on `as_of` (YYYY-MM-DD; today if
        None); the API does not fill ExchangeRate in itself (qbo-2025-2026 §2.3).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/exchangerate"""
        params = {"sourcecurrencycode": source_currency, **({"asofdate": as_of} if as_of else {})}
        return self._entity(self._request("GET", "exchangerate", params=params), "ExchangeRate")

    def accounts(self, include_inactive: bool = False) -> list[dict]:
        """The chart of accounts; active ones only unless `include_inactive` (a plain SELECT
        returns active name-list records only, ref §5).
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account"""
        return list(self.query_all("Account", "Active IN (true, false)" if include_inactive else None))

    def payment_methods(self, include_inactive: bool = False) -> list[dict]:
        """Payment methods (Type CREDIT_CARD or NON_CREDIT_CARD); active ones unless
        `include_inactive`.
        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/paymentmethod"""
        where = "Active IN (true, false)" if include_inactive else None
        return list(self.query_all("PaymentMethod", where))
