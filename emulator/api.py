"""The QBO Accounting API v3: /v3/company/<realm>/... (ref §1, §2, §5, §6, §7)."""

import gc
import json
import random
import socket
import time
import uuid
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, current_app, request

from . import faults as F
from . import query as Q
from . import rules as R
from .store import fmt_time

bp = Blueprint("qbo_api", __name__)

MAX_REQUESTID = 50
MAX_BATCH_REQUESTID = 36
MAX_BID = 10
MAX_BATCH_ITEMS = 30
CDC_WINDOW = 30 * 86400
CDC_CAP = 1000
# CorePlus calls, metered per realm and month (qbo-2025-2026.md §1.1): reads, queries, CDC (and
# CompanyInfo/Preferences, which are GETs). Writes are Core: free. Queries inside a batch are
# metered one by one in _batch_item.
METERED = ("read", "query", "cdc")
REQUESTIDS_KEPT = 5000  # how long QBO keeps them is not documented (ref "Could not confirm" 3)


def emulator():
    return current_app.extensions["emulator"]


class Call:
    """What one request is, as far as auth, limits and fault matching need to know."""

    def __init__(self, realm, rest):
        self.realm = realm
        self.parts = [p for p in rest.split("/") if p]
        self.entity_path = self.parts[0] if self.parts else ""
        self.method = request.method
        self.body = None
        self.operation = None

    def classify(self):
        path = self.entity_path
        if path in ("query", "batch", "cdc"):
            self.operation = path
            return
        op = request.args.get("operation")
        if self.method == "GET":
            self.operation = "read"
        elif op == "delete":
            self.operation = "delete"
        elif op == "void" or (op == "update" and "void" in _includes()):
            self.operation = "void"
        else:
            body = self.json_body()
            self.operation = "update" if isinstance(body, dict) and body.get("Id") else "create"

    def json_body(self):
        if self.body is None:
            raw = request.get_data(as_text=True)
            try:
                self.body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                self.body = ValueError
        return None if self.body is ValueError else self.body


def _includes():
    return {v.strip().lower() for v in request.args.get("include", "").split(",") if v.strip()}


# -- rendering ----------------------------------------------------------------------------------

def _xml(value, name):
    if isinstance(value, list):
        return "".join(_xml(v, name) for v in value)
    if isinstance(value, dict):
        if name == "Fault":
            errors = "".join(
                f"<Error code={quoteattr(str(e.get('code', '')))}"
                + (f" element={quoteattr(str(e['element']))}" if e.get("element") is not None else "")
                + f"><Message>{escape(str(e.get('Message', '')))}</Message>"
                f"<Detail>{escape(str(e.get('Detail', '')))}</Detail></Error>"
                for e in value.get("Error", []))
            return f"<Fault type={quoteattr(value.get('type', ''))}>{errors}</Fault>"
        # QBO writes domain and sparse as attributes of the entity element.
        attrs = "".join(f" {k}={quoteattr(str(value[k]).lower() if isinstance(value[k], bool) else str(value[k]))}"
                        for k in ("domain", "sparse") if k in value)
        inner = "".join(_xml(v, k) for k, v in value.items()
                        if v is not None and k not in ("domain", "sparse"))
        return f"<{name}{attrs}>{inner}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def qbo_response(body, status, now):
    """JSON when the client asks for it; QBO's default is XML (ref §1)."""
    tid = request.environ.setdefault("emulator.tid", str(uuid.uuid4()))
    if "json" in request.headers.get("Accept", "").lower():
        payload = dict(body, time=fmt_time(now, ms=True))
        response = Response(json.dumps(payload), status, mimetype="application/json")
    else:
        inner = "".join(_xml(v, k) for k, v in body.items())
        text = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
                f'time="{fmt_time(now, ms=True)}">{inner}</IntuitResponse>')
        response = Response(text, status, mimetype="application/xml")
    response.headers["intuit_tid"] = tid
    return response


def gateway_response(fault):
    response = Response(fault.body, fault.status, content_type=fault.content_type)
    response.headers["intuit_tid"] = request.environ.setdefault("emulator.tid", str(uuid.uuid4()))
    return response


# -- the pipeline -------------------------------------------------------------------------------

@bp.route("/v3/company/<realm>", defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route("/v3/company/<realm>/<path:rest>", methods=["GET", "POST"])
def dispatch(realm, rest):
    emu = emulator()
    store = emu.store
    call = Call(realm, rest)
    # Counted on arrival, before anything waits for the store's lock (a long batch holds it): QBO's
    # gateway counts a request when it comes in (ref §3), and counting it after the wait would
    # bunch requests that were sent well apart into one window. Every attempt counts, even one
    # that fails to authenticate (stricter).
    broken = emu.limiter.enter(realm, call.entity_path == "batch")
    entry = store.log_request({"method": request.method, "path": request.path,
                               "query": request.query_string.decode(),
                               "requestid": request.args.get("requestid"), "status": None,
                               "at": fmt_time(store.now())})
    try:
        _authenticate(emu, realm)
        call.classify()
        if broken:
            entry["throttled_by"] = broken
            raise F.throttled(fmt_time(store.now(realm), ms=True))
        if call.operation in METERED and not store.spend_read(realm):
            raise F.read_quota_exhausted()
        response = _handle(emu, call)
    except F.GatewayFault as fault:
        response = gateway_response(fault)
    except F.QboFault as fault:
        response = qbo_response(fault.body(), fault.status, store.now(realm))
    except Exception:
        # An emulator bug must still look like QBO: a 500 SystemFault, logged for us.
        current_app.logger.exception("emulator error on %s", request.path)
        response = qbo_response(F.system_fault().body(), 500, store.now(realm))
    finally:
        emu.limiter.leave(realm)
    entry["status"] = response.status_code
    return response


def _authenticate(emu, realm):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise F.auth_failed(None)
    token = header[len("Bearer "):].strip()
    if not (20 <= len(token) <= 4096):
        raise F.auth_failed("Malformed bearer token: too short or too long")
    oauth = emu.store.state["oauth"]
    record = oauth["access"].get(token)
    if record is None or oauth["grants"].get(record["grant"], {}).get("revoked", True):
        raise F.auth_failed(None)
    if emu.store.now(record["realm"]) >= record["expires_at"]:
        raise F.auth_failed(f"Token expired: {token}")
    if record["realm"] != realm or emu.store.company(realm) is None:
        raise F.wrong_realm()


def _matching_faults(emu, call, entity=None, operation=None):
    """Consume and return the injected faults that match this request (or batch item)."""
    matched = []
    with emu.store.lock:
        for rule in list(emu.store.state["faults"]):
            m = rule.get("match") or {}
            if m.get("method") and m["method"].upper() != call.method:
                continue
            if m.get("realm") and str(m["realm"]) != call.realm:
                continue
            if m.get("entity") and m["entity"].lower() != (entity or call.entity_path).lower():
                continue
            if m.get("operation") and m["operation"].lower() != (operation or call.operation):
                continue
            if entity is not None and not rule.get("code"):
                continue  # inside a batch only coded faults apply, per item
            matched.append(rule)
            if rule.get("times") is not None:
                rule["times"] -= 1
                if rule["times"] <= 0:
                    emu.store.state["faults"].remove(rule)
            if rule.get("code") or rule.get("response"):
                break  # one answer per request: later rules wait for the next request
        if matched:
            emu.store.save()
    return matched


def _handle(emu, call):
    store = emu.store
    realm = call.realm
    company = store.company(realm)
    if not company.get("subscription_active", True):
        # Stricter: reads are refused too, and with 400 (QBO has also sent it with 200).
        raise F.subscription_ended()
    drop = False
    for rule in _matching_faults(emu, call):
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if rule.get("code"):
            raise F.for_code(rule["code"], fmt_time(store.now(realm), ms=True))
        if rule.get("response"):
            spec = rule["response"]
            body = spec.get("body", "")
            if not isinstance(body, str):
                body = json.dumps(body)
            response = Response(body, int(spec.get("status", 200)),
                                content_type=spec.get("content_type", "application/json"))
            response.headers["intuit_tid"] = request.environ.setdefault("emulator.tid", str(uuid.uuid4()))
            return response
        if rule.get("drop_after_commit"):
            drop = True
    request_id = request.args.get("requestid")
    if request_id is not None:
        limit = MAX_BATCH_REQUESTID if call.operation == "batch" else MAX_REQUESTID
        if len(request_id) > limit:
            # The limit is documented (ref §1), the fault is not: stricter, refused.
            raise F.string_length("requestid", limit, len(request_id))
    with store.lock:
        kept = store.state["requestids"].setdefault(realm, {})
        if request_id and request.method == "POST" and request_id in kept:
            # A repeat returns the original response without running the write (ref §1). What a
            # reused id with another body gets is unknown ("Could not confirm" 3): the original.
            # Only successful answers are kept, so a retry after a fault runs again.
            original = kept[request_id]
            response = qbo_response(original["body"], original["status"], store.now(realm))
        else:
            body, events = _route(emu, call, company)
            now = store.now(realm)
            if request_id and request.method == "POST":
                kept[request_id] = {"status": 200, "body": body}
                while len(kept) > REQUESTIDS_KEPT:
                    kept.pop(next(iter(kept)))
            if events or (request_id and request.method == "POST"):
                store.save()  # the write and its requestid reach the data file together
                # What a write leaves behind (records, kept answers) lives until replaced, and
                # Python's cyclic collector re-walking all of it stalled the whole process for
                # 130 ms at 17,500 records and more beyond: requests sent well apart then arrive
                # together and break the 10/s limit, which QBO's gateway would not see. Freezing
                # moves what is alive now out of the collector's way; reference counting still
                # frees it when it is dropped.
                gc.freeze()
            response = qbo_response(body, 200, now)
            for entity, record_id, operation in events:
                store.emit(realm, entity, record_id, operation, now)
    if drop:
        return _dropped(response)
    return response


def _dropped(response):
    """The write is committed; now break the connection without answering."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return response

    def broken():
        # Other WSGI servers abort the connection when the body iterator fails.
        raise ConnectionAbortedError("emulator: drop_after_commit")
        yield b""  # pragma: no cover

    return Response(broken(), 200, mimetype="application/json")


def _route(emu, call, company):
    """Run one API call. Returns (body, events) where events are (entity, id, operation)."""
    store = emu.store
    now = store.now(call.realm)
    path = call.entity_path
    if path == "query":
        if request.method == "GET":
            text = request.args.get("query", "")
        else:
            ctype = request.headers.get("Content-Type", "")
            if not ctype.startswith(("application/text", "text/plain")):
                # ref §5: a query sent by POST uses an application/text body.
                raise F.query_parse("Request body must be sent as application/text")
            text = request.get_data(as_text=True)
        return {"QueryResponse": Q.run(store, company, text)}, []
    if path == "cdc" and request.method == "GET":
        return _cdc(store, company, now), []
    if path == "batch" and request.method == "POST":
        return _batch(emu, call, company, now)
    if path == "exchangerate":
        return _exchange_rate(store, company, now, call)
    entity = R.ENTITY_PATHS.get(path)
    if entity is None:
        raise F.unsupported(f"{request.method} /{path}")  # unknown path: 500 (ref §2)
    if request.method == "GET":
        if entity == "Preferences" and len(call.parts) == 1:
            record_id = "1"
        elif len(call.parts) == 2:
            record_id = call.parts[1]
            if entity == "CompanyInfo" and record_id == call.realm:
                record_id = "1"
        else:
            raise F.unsupported("GET")
        if not record_id.isdigit():
            raise F.invalid_id(record_id)
        wrapper = store.get(company, entity, record_id)
        if wrapper is None:
            raise F.not_found()  # ref "Could not confirm" 7: 400 with 610 assumed
        if wrapper["deleted"]:
            raise F.not_found(deleted=True)
        return {entity: R.render(store, company, entity, wrapper)}, []
    body = call.json_body()
    if body is None:
        raise F.QboFault("500", "Unsupported Operation",
                         "Request has invalid or unsupported property", "")
    ctx = R.Ctx(store, company, now, include=_includes())
    events = []
    if call.operation == "delete":
        wrapper = R.delete(ctx, entity, body)
        out = {entity: {"Id": wrapper["data"]["Id"], "domain": "QBO", "status": "Deleted"}}
        events.append((entity, wrapper["data"]["Id"], "Delete"))
    elif call.operation == "void":
        if request.args.get("operation") == "void" and entity != "Invoice":
            raise F.unsupported("Void")  # Payment voids through operation=update&include=void
        if request.args.get("operation") == "update" and entity not in ("Payment", "SalesReceipt"):
            raise F.unsupported("Void")
        wrapper = R.void(ctx, entity, body)
        out = {entity: R.render(store, company, entity, wrapper)}
        events.append((entity, wrapper["data"]["Id"], "Void"))
    elif request.args.get("operation") not in (None, "update", "create"):
        raise F.unsupported(request.args.get("operation").capitalize())
    else:
        wrapper, operation = R.save(ctx, entity, body)
        out = {entity: R.render(store, company, entity, wrapper)}
        events.append((entity, wrapper["data"]["Id"], operation))
    return out, events


def _exchange_rate(store, company, now, call):
    """GET /exchangerate?sourcecurrencycode=EUR[&asofdate=YYYY-MM-DD] (qbo-2025-2026 §2.3, the
    call WordCamp PR #1325 reads); POST /exchangerate sets a rate for a date."""
    from . import currency as C
    from .store import company_date
    ctx = R.Ctx(store, company, now)
    home = C.home(ctx)
    if request.method == "GET":
        code = (request.args.get("sourcecurrencycode") or "").upper()
        as_of = request.args.get("asofdate") or company_date(now)
    else:
        body = call.json_body()
        if not isinstance(body, dict):
            raise F.required("ExchangeRate")
        body = body.get("ExchangeRate", body)
        code = str(body.get("SourceCurrencyCode") or "").upper()
        as_of = body.get("AsOfDate") or company_date(now)
        if body.get("Rate") in (None, ""):
            raise F.required("Rate")
        rate = R.dec(body["Rate"], "Rate")
        if rate <= 0:
            raise F.business("The exchange rate must be greater than 0.", "Rate")
        if code and code != home:
            company.setdefault("exchange_rates", {}).setdefault(code, {})[str(as_of)] = float(rate)
        store.save()
    if not code:
        raise F.required("sourcecurrencycode")
    rate = C.rate_on(ctx, code, str(as_of))
    if rate is None:
        raise F.not_found()  # a currency QBO has no rate for: stricter, 610
    record = {"SourceCurrencyCode": code, "TargetCurrencyCode": home, "Rate": float(rate),
              "AsOfDate": str(as_of), "domain": "QBO", "sparse": False, "SyncToken": "0",
              "MetaData": {"LastUpdatedTime": fmt_time(now)}}
    return {"ExchangeRate": record}, []


def _batch(emu, call, company, now):
    store = emu.store
    body = call.json_body()
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise F.required("BatchItemRequest")
    if len(items) > MAX_BATCH_ITEMS:
        raise F.batch_too_big(len(items))
    order = list(range(len(items)))
    # Items are independent and their order is not guaranteed (ref §7): they run in a random
    # order, and no item can see a record another item of this batch created.
    random.shuffle(order)
    hidden = set()
    responses, events = [], []
    for index in order:
        item = items[index] if isinstance(items[index], dict) else {}
        answer = {"bId": item.get("bId")}
        try:
            answer.update(_batch_item(emu, call, company, now, item, hidden, events))
        except F.QboFault as fault:
            answer["Fault"] = fault.body()["Fault"]
        except Exception:
            current_app.logger.exception("emulator error in a batch item")
            answer["Fault"] = F.system_fault().body()["Fault"]
        responses.append(answer)
    return {"BatchItemResponse": responses}, events


def _batch_item(emu, call, company, now, item, hidden, events):
    store = emu.store
    bid = item.get("bId")
    if bid is None:
        raise F.required("bId")
    # ref §1: with a requestid on /batch (<=36) each bId is <=10 (they make one key together);
    # without a requestid, longer bIds (python-quickbooks sends uuid4s) are accepted.
    if request.args.get("requestid") is not None and len(str(bid)) > MAX_BID:
        raise F.string_length("bId", MAX_BID, len(str(bid)))
    if "Query" in item:
        if not store.spend_read(call.realm):
            raise F.read_quota_exhausted()
        for rule in _matching_faults(emu, call, "query", "query"):
            raise F.for_code(rule["code"], fmt_time(now, ms=True))
        return {"QueryResponse": Q.run(store, company, item["Query"])}
    entity = next((k for k in item if k in R.ENTITIES), None)
    operation = item.get("operation")
    if entity is None:
        raise F.unsupported("batch item without an entity")
    if operation not in ("create", "update", "delete"):
        if operation is None:
            raise F.required("operation")
        raise F.unsupported(str(operation))
    for rule in _matching_faults(emu, call, entity.lower(), operation):
        fault = F.for_code(rule["code"], fmt_time(now, ms=True))
        if isinstance(fault, F.QboFault):
            raise fault
    ctx = R.Ctx(store, company, now, hidden=hidden)
    payload = item[entity]
    if operation == "delete":
        wrapper = R.delete(ctx, entity, payload)
        events.append((entity, wrapper["data"]["Id"], "Delete"))
        return {entity: {"Id": wrapper["data"]["Id"], "domain": "QBO", "status": "Deleted"}}
    if operation == "update" and (not isinstance(payload, dict) or not payload.get("Id")):
        raise F.required("Id")
    if operation == "create" and isinstance(payload, dict) and payload.get("Id"):
        payload = {k: v for k, v in payload.items() if k not in ("Id", "SyncToken")}
    wrapper, op = R.save(ctx, entity, payload)
    if op == "Create":
        hidden.add((entity, wrapper["data"]["Id"]))
    events.append((entity, wrapper["data"]["Id"], op))
    return {entity: R.render(store, company, entity, wrapper)}


def _cdc(store, company, now):
    names = [n.strip() for n in request.args.get("entities", "").split(",") if n.strip()]
    if not names:
        raise F.required("entities")
    since_text = request.args.get("changedSince")
    if not since_text:
        raise F.required("changedSince")
    since = Q._as_time(since_text)
    if since is None:
        raise F.query_invalid(f"changedSince {since_text} is not a valid date time")
    if since < now - CDC_WINDOW:
        # ref §3: look-back is at most 30 days; the answer beyond is unknown ("Could not
        # confirm" 5): stricter, refused.
        raise F.query_invalid("changedSince must be within the last 30 days")
    for name in names:
        # ref §6: CDC does not support TaxAgency, TaxCode, TaxRate.
        if name not in R.ENTITIES or name in ("TaxAgency", "TaxCode", "TaxRate"):
            raise F.query_invalid(f"Invalid entity name for CDC: {name}")
    found = []
    for name in names:
        for wrapper in store.records(company, name).values():
            if wrapper["updated"] >= since:
                found.append((wrapper["updated"], name, wrapper))
    found.sort(key=lambda t: (t[0], int(t[2]["data"]["Id"])))
    found = found[:CDC_CAP]  # at most 1,000 objects per response, across all entities (ref §3)
    apps = R.applications(store, company)
    blocks = []
    for name in names:
        records = [R.render(store, company, name, w, apps) for _, n, w in found if n == name]
        if records:
            blocks.append({name: records, "startPosition": 1, "maxResults": len(records)})
        else:
            blocks.append({})
    return {"CDCResponse": [{"QueryResponse": blocks}]}
