"""The control API under /__emulator__/ (docs/api.md §3), plus documented extensions."""

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from . import faults as F
from . import rules as R
from .oauth import issue_tokens, new_grant
from .profiles import PROFILES
from .store import fmt_time

bp = Blueprint("control", __name__, url_prefix="/__emulator__")


def emulator():
    return current_app.extensions["emulator"]


@bp.errorhandler(Exception)
def _json_error(exc):
    """The control API answers JSON, bad input included."""
    if isinstance(exc, HTTPException):
        return jsonify({"error": exc.description}), exc.code
    if isinstance(exc, (TypeError, ValueError, KeyError, AttributeError)):
        return jsonify({"error": f"bad request: {exc}"}), 400
    current_app.logger.exception("emulator control error")
    return jsonify({"error": "internal error"}), 500


def _json():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _error(message, status=400):
    return jsonify({"error": message}), status


def _company_or_404(realm):
    company = emulator().store.company(realm)
    if company is None:
        return None, _error(f"no company {realm}", 404)
    return company, None


def _entity(name):
    return R.ENTITY_PATHS.get(str(name).lower())


def _company_summary(store, company):
    info = store.get(company, "CompanyInfo", "1")["data"]
    prefs = store.get(company, "Preferences", "1")["data"]
    return {"realm_id": company["realm_id"], "name": info["CompanyName"],
            "profile": company.get("profile"),
            "custom_txn_numbers": prefs["SalesFormsPrefs"]["CustomTxnNumbers"],
            "multicurrency": prefs["CurrencyPrefs"]["MultiCurrencyEnabled"],
            "home_currency": prefs["CurrencyPrefs"]["HomeCurrency"]["value"],
            "subscription_active": company.get("subscription_active", True),
            "clock_offset": company.get("clock_offset", 0.0),
            "default": company["realm_id"] == store.state["default_realm"]}


@bp.post("/reset")
def reset():
    emu = emulator()
    emu.store.reset()
    emu.limiter.reset(emu.store.state["limits"])
    emu.dispatcher.clear()
    return jsonify({"realm_id": emu.store.state["default_realm"]})


@bp.get("/companies")
def list_companies():
    store = emulator().store
    with store.lock:
        return jsonify([_company_summary(store, c) for c in store.state["companies"].values()])


@bp.post("/companies")
def create_company():
    store = emulator().store
    body = _json()
    realm = body.get("realm_id")
    if realm is not None and not str(realm).isdigit():
        return _error("realm_id must be digits")
    if realm is not None and store.company(str(realm)) is not None:
        return _error(f"company {realm} exists", 409)
    profile = body.get("profile")
    if profile is not None and profile not in PROFILES:
        return _error(f"profile must be one of {sorted(PROFILES)}")
    address = body.get("address")
    if address is not None and not (isinstance(address, dict)
                                    and all(isinstance(v, str) for v in address.values())):
        return _error("address must be an object of strings (Line1, City, CountrySubDivisionCode, "
                      "PostalCode, Country)")
    realm = store.create_company(realm, body.get("name"), bool(body.get("custom_txn_numbers")),
                                 profile=profile, address=address)
    return jsonify({"realm_id": realm}), 201


@bp.get("/companies/<realm>")
def show_company(realm):
    company, problem = _company_or_404(realm)
    if problem:
        return problem
    return jsonify(_company_summary(emulator().store, company))


@bp.patch("/companies/<realm>")
def update_company(realm):
    """Extension: {"subscription_active": false} makes every API call answer 6190."""
    store = emulator().store
    company, problem = _company_or_404(realm)
    if problem:
        return problem
    body = _json()
    with store.lock:
        if "subscription_active" in body:
            company["subscription_active"] = bool(body["subscription_active"])
        if "name" in body:
            info = store.get(company, "CompanyInfo", "1")
            info["data"]["CompanyName"] = body["name"]
            store.touch(info, store.now(realm))
        if "custom_txn_numbers" in body:
            _set_custom_numbers(store, company, body["custom_txn_numbers"])
        store.save()
        return jsonify(_company_summary(store, company))


def _set_custom_numbers(store, company, value):
    prefs = store.get(company, "Preferences", "1")
    prefs["data"]["SalesFormsPrefs"]["CustomTxnNumbers"] = bool(value)
    now = store.now(company["realm_id"])
    store.touch(prefs, now)
    store.emit(company["realm_id"], "Preferences", "1", "Update", now)


@bp.patch("/companies/<realm>/preferences")
def update_preferences(realm):
    store = emulator().store
    company, problem = _company_or_404(realm)
    if problem:
        return problem
    body = _json()
    if "multicurrency" in body and not isinstance(body["multicurrency"], bool):
        return _error("multicurrency must be true or false")
    with store.lock:
        prefs = store.get(company, "Preferences", "1")
        currency = prefs["data"]["CurrencyPrefs"]
        if body.get("multicurrency") is False and currency["MultiCurrencyEnabled"]:
            # qbo-2025-2026 §2.3: multicurrency "cannot be turned off once on".
            return _error("multicurrency can't be turned off once it is on", 409)
        if body.get("multicurrency") and not currency["MultiCurrencyEnabled"]:
            # Done as a person does it in QBO's settings; the API can't (CurrencyPrefs is
            # read-only in qbTypesDump).
            currency["MultiCurrencyEnabled"] = True
            now = store.now(realm)
            store.touch(prefs, now)
            store.emit(realm, "Preferences", "1", "Update", now)
        if "custom_txn_numbers" in body:
            _set_custom_numbers(store, company, body["custom_txn_numbers"])
        store.save()
        return jsonify(R.render(store, company, "Preferences", prefs))


@bp.get("/companies/<realm>/<name>")
def list_records(realm, name):
    store = emulator().store
    company, problem = _company_or_404(realm)
    if problem:
        return problem
    entity = _entity(name)
    if entity is None:
        return _error(f"unknown entity {name}", 404)
    with store.lock:
        apps = R.applications(store, company)
        out = []
        for wrapper in store.records(company, entity).values():
            record = R.render(store, company, entity, dict(wrapper, deleted=False), apps)
            if wrapper["deleted"]:
                record["status"] = "Deleted"  # deleted ones are marked
            if wrapper.get("voided"):
                record["voided"] = True
            out.append(record)
        return jsonify(out)


def _person_write(realm, name, action):
    emu = emulator()
    store = emu.store
    company, problem = _company_or_404(realm)
    if problem:
        return None, problem
    entity = _entity(name)
    if entity is None:
        return None, _error(f"unknown entity {name}", 404)
    body = _json()
    force = bool(body.pop("force", False)) or request.args.get("force") in ("1", "true")
    with store.lock:
        now = store.now(realm)
        ctx = R.Ctx(store, company, now, strict=not force)
        try:
            wrapper, operation = action(ctx, entity, body)
        except F.QboFault as fault:
            return None, (jsonify(fault.body()), fault.status)
        store.save()
        store.emit(realm, entity, wrapper["data"]["Id"], operation, now)
        record = R.render(store, company, entity, dict(wrapper, deleted=False))
        if wrapper["deleted"]:
            record["status"] = "Deleted"
        return record, None


@bp.post("/companies/<realm>/<name>")
def person_create(realm, name):
    """Create a record as a person would in QBO's screens (QBO's rules apply unless force)."""
    def action(ctx, entity, body):
        body = {k: v for k, v in body.items() if k not in ("Id", "SyncToken")}
        if entity in R.SINGLETONS:
            raise F.unsupported("Create")
        return R.save(ctx, entity, body, person=True)

    record, problem = _person_write(realm, name, action)
    return problem or (jsonify(record), 201)


@bp.patch("/companies/<realm>/<name>/<record_id>")
def person_edit(realm, name, record_id):
    def action(ctx, entity, body):
        body = dict(body, Id=record_id, sparse=True)
        body.pop("SyncToken", None)
        return R.save(ctx, entity, body, person=True)

    record, problem = _person_write(realm, name, action)
    return problem or jsonify(record)


@bp.delete("/companies/<realm>/<name>/<record_id>")
def person_delete(realm, name, record_id):
    """Delete a transaction, or make a name-list record inactive, as a person."""
    def action(ctx, entity, body):
        if entity in R.DELETABLE:
            return R.delete(ctx, entity, {"Id": record_id}, person=True), "Delete"
        if entity in R.NAME_LISTS:
            return R.save(ctx, entity, {"Id": record_id, "Active": False, "sparse": True},
                          person=True)
        raise F.unsupported("Delete")

    record, problem = _person_write(realm, name, action)
    return problem or jsonify(record)


# -- faults, limits, webhooks, requests, clock, tokens -------------------------------------------

@bp.post("/faults")
def add_fault():
    store = emulator().store
    body = _json()
    if not any(body.get(k) for k in ("code", "response", "drop_after_commit", "delay_ms")):
        return _error("give one of code, response, drop_after_commit, delay_ms")
    with store.lock:
        store.state["fault_seq"] += 1
        # `times` defaults to 1; an explicit null means every matching request.
        times = body.get("times", 1)
        rule = {"id": store.state["fault_seq"], "match": body.get("match") or {},
                "times": int(times) if times is not None else None}
        for key in ("code", "response", "drop_after_commit", "delay_ms"):
            if body.get(key) is not None:
                rule[key] = str(body[key]) if key == "code" else body[key]
        store.state["faults"].append(rule)
        store.save()
    return jsonify(rule), 201


@bp.get("/faults")
def list_faults():
    return jsonify(emulator().store.state["faults"])


@bp.delete("/faults")
def clear_faults():
    store = emulator().store
    with store.lock:
        store.state["faults"] = []
        store.save()
    return jsonify({"cleared": True})


@bp.get("/limits")
def show_limits():
    return jsonify(emulator().store.state["limits"])


@bp.put("/limits")
def set_limits():
    emu = emulator()
    body = _json()
    allowed = {"enabled", "per_minute", "per_second", "concurrent", "batch_per_minute", "time_scale"}
    unknown = set(body) - allowed
    if unknown:
        return _error(f"unknown keys: {sorted(unknown)}")
    for key in allowed - {"enabled"}:
        if key in body and (isinstance(body[key], bool) or not isinstance(body[key], (int, float))):
            return _error(f"{key} must be a number")
    if "time_scale" in body and not body["time_scale"] > 0:
        return _error("time_scale must be > 0")
    with emu.store.lock:
        emu.store.state["limits"].update(body)
        emu.limiter.reset(emu.store.state["limits"])
        emu.store.save()
    return jsonify(emu.store.state["limits"])


@bp.get("/read-quota")
def show_read_quota():
    store = emulator().store
    with store.lock:
        return jsonify({**store.state.setdefault("read_quota", {"per_month": None, "realms": {}}),
                        "used": store.state.setdefault("reads_used", {})})


@bp.put("/read-quota")
def set_read_quota():
    """{"per_month": N or null, "realm_id"?}: the monthly CorePlus allowance, for every realm or
    one (null: unlimited, the default)."""
    store = emulator().store
    body = _json()
    unknown = set(body) - {"per_month", "realm_id"}
    if unknown:
        return _error(f"unknown keys: {sorted(unknown)}")
    limit = body.get("per_month")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        return _error("per_month must be a whole number >= 0 or null")
    realm = body.get("realm_id")
    if realm is not None and store.company(str(realm)) is None:
        return _error(f"no company {realm}", 404)
    with store.lock:
        quota = store.state.setdefault("read_quota", {"per_month": None, "realms": {}})
        if realm is None:
            quota["per_month"] = limit
        elif limit is None:
            quota["realms"].pop(str(realm), None)
        else:
            quota["realms"][str(realm)] = limit
        store.save()
    return show_read_quota()


@bp.get("/oauth")
def show_oauth():
    """Extension: how the token endpoint behaves."""
    return jsonify(emulator().store.state["oauth_settings"])


@bp.put("/oauth")
def set_oauth():
    """Extension: {"strict_refresh_tokens": true} makes every refresh rotate the refresh token and
    kills the replaced one at once (stricter than QBO, for tests); false is QBO's behaviour."""
    store = emulator().store
    body = _json()
    unknown = set(body) - {"strict_refresh_tokens"}
    if unknown:
        return _error(f"unknown keys: {sorted(unknown)}")
    if "strict_refresh_tokens" in body and not isinstance(body["strict_refresh_tokens"], bool):
        return _error("strict_refresh_tokens must be true or false")
    with store.lock:
        store.state["oauth_settings"].update(body)
        store.save()
    return jsonify(store.state["oauth_settings"])


@bp.put("/webhooks")
def set_webhooks():
    store = emulator().store
    body = _json()
    if not body.get("url"):
        return _error("url is required")
    fmt = body.get("format", "legacy")
    if fmt not in ("legacy", "cloudevents"):
        return _error("format is legacy or cloudevents")
    with store.lock:
        store.state["webhooks"] = {"url": body["url"], "verifier_token": body.get("verifier_token", ""),
                                   "format": fmt}
        store.save()
    return jsonify(store.state["webhooks"])


@bp.get("/webhooks")
def show_webhooks():
    emu = emulator()
    with emu.dispatcher.cond:
        deliveries = list(emu.dispatcher.deliveries)
    return jsonify({"config": emu.store.state["webhooks"], "deliveries": deliveries})


@bp.delete("/webhooks")
def clear_webhooks():
    store = emulator().store
    with store.lock:
        store.state["webhooks"] = None
        store.save()
    return jsonify({"cleared": True})


@bp.get("/requests")
def list_requests():
    store = emulator().store
    since = request.args.get("since", 0, type=int)
    with store.lock:
        return jsonify([dict(e) for e in store.request_log if e["seq"] > since])


@bp.get("/clock")
def show_clock():
    store = emulator().store
    realm = request.args.get("realm_id")
    return jsonify({"now": fmt_time(store.now(realm)), "epoch": store.now(realm),
                    "offset_seconds": store.state["clock_offset"]})


@bp.post("/clock")
def advance_clock():
    store = emulator().store
    body = _json()
    realm = body.get("realm_id")
    if realm is not None and store.company(str(realm)) is None:
        return _error(f"no company {realm}", 404)
    store.advance_clock(float(body.get("advance_seconds", 0)), str(realm) if realm else None)
    return jsonify({"now": fmt_time(store.now(realm)), "epoch": store.now(realm),
                    "offset_seconds": store.state["clock_offset"]})


@bp.post("/tokens")
def test_tokens():
    """Test-only shortcut: a token pair for a realm without the authorize/token round trip."""
    store = emulator().store
    body = _json()
    realm = str(body.get("realm_id") or store.state["default_realm"])
    if store.company(realm) is None:
        return _error(f"no company {realm}", 404)
    with store.lock:
        grant = new_grant(store, realm, store.client_id)
        tokens = issue_tokens(store, grant)
        store.save()
    return jsonify(dict(tokens, realm_id=realm)), 201
