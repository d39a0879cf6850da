"""OAuth 2.0 as Intuit serves it (ref §9): discovery, authorize page, token, revoke."""

import base64
import secrets
from html import escape
from urllib.parse import urlencode, urlparse

from flask import Blueprint, Response, current_app, jsonify, request

from .profiles import DEFAULT_PROFILE, PROFILES

bp = Blueprint("oauth", __name__)

ACCESS_TTL = 3600
REFRESH_TTL = 8726400  # about 101 days, rolling (ref §9)
REFRESH_HARD_CAP = 5 * 365 * 86400  # the late-2025 five-year cap
CODE_TTL = 600
SCOPES = {"com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment", "openid",
          "profile", "email", "phone", "address"}


def emulator():
    return current_app.extensions["emulator"]


def _base():
    return request.host_url.rstrip("/")


@bp.route("/.well-known/openid_configuration")
@bp.route("/.well-known/openid_configuration/")
@bp.route("/.well-known/openid_sandbox_configuration")
@bp.route("/.well-known/openid_sandbox_configuration/")
def discovery():
    base = _base()
    return jsonify({
        "issuer": base + "/op/v1",
        "authorization_endpoint": base + "/connect/oauth2",
        "token_endpoint": base + "/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
        "revocation_endpoint": base + "/v2/oauth2/tokens/revoke",
        "jwks_uri": base + "/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": sorted(SCOPES),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    })


@bp.route("/op/v1/jwks")
def jwks():
    return jsonify({"keys": []})  # id_tokens are not issued (not modelled)


# -- authorize ----------------------------------------------------------------------------------

def _redirect_ok(uri):
    parsed = urlparse(uri or "")
    return parsed.scheme in ("http", "https") and parsed.hostname in ("127.0.0.1", "localhost")


def _back(redirect_uri, **params):
    sep = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": redirect_uri + sep + urlencode(params)})


def _error_page(message, status=400):
    return Response(f"<!doctype html><title>Intuit</title><h1>Something went wrong</h1>"
                    f"<p id='error'>{escape(message)}</p>", status, mimetype="text/html")


def _check_authorize(params):
    """Returns an error response, or None when the request may proceed."""
    store = emulator().store
    if params.get("client_id") != store.client_id:
        return _error_page("invalid_client: unknown client_id")
    redirect_uri = params.get("redirect_uri")
    if not _redirect_ok(redirect_uri):
        # Never redirect to an unregistered URI; any 127.0.0.1/localhost URI counts as registered.
        return _error_page("redirect_uri is not registered for this app")
    state = params.get("state")
    if params.get("response_type") != "code":
        return _back(redirect_uri, error="unsupported_response_type", state=state or "")
    scopes = (params.get("scope") or "").split()
    if not scopes or any(s not in SCOPES for s in scopes):
        return _back(redirect_uri, error="invalid_scope", state=state or "")
    if not state:
        # Intuit requires a state (CSRF token): stricter, refused without one.
        return _back(redirect_uri, error="invalid_request", error_description="state is required")
    return None


@bp.route("/connect/oauth2", methods=["GET"])
def authorize():
    params = request.args
    problem = _check_authorize(params)
    if problem is not None:
        return problem
    store = emulator().store
    companies = sorted(store.state["companies"].values(), key=lambda c: c["realm_id"])
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(params.get(k, ""))}">'
                     for k in ("client_id", "redirect_uri", "response_type", "scope", "state"))
    choices = []
    for n, company in enumerate(companies):
        info = store.get(company, "CompanyInfo", "1")["data"]
        checked = " checked" if company["realm_id"] == store.state["default_realm"] or (
            n == 0 and store.state["default_realm"] not in store.state["companies"]) else ""
        choices.append(
            f'<label><input type="radio" name="realm_id" value="{company["realm_id"]}"{checked}> '
            f'{escape(info["CompanyName"])} <small>({company["realm_id"]})</small></label><br>')
    # A person may also sign up for a new company here, choosing its region (issue 16 (1)).
    options = "".join(f'<option value="{p}">{p}</option>' for p in PROFILES)
    choices.append('<label><input type="radio" name="realm_id" value="new"> A new company: '
                   f'<select name="profile" id="profile">{options}</select></label><br>')
    picker = "<fieldset><legend>Choose a company</legend>" + "".join(choices) + "</fieldset>"
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Connect to QuickBooks "
        "(emulator)</title></head><body><h1>Connect your QuickBooks Online company</h1>"
        f"<p>An app wants access to: {escape(params.get('scope', ''))}</p>"
        f'<form method="post" action="/connect/oauth2">{hidden}{picker}'
        '<button type="submit" name="decision" value="allow" id="connect">Connect</button> '
        '<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>'
        "</form></body></html>")
    return Response(html, mimetype="text/html")


@bp.route("/connect/oauth2", methods=["POST"])
def authorize_decision():
    params = request.form
    problem = _check_authorize(params)
    if problem is not None:
        return problem
    emu = emulator()
    store = emu.store
    redirect_uri, state = params["redirect_uri"], params["state"]
    if params.get("decision") != "allow":
        return _back(redirect_uri, error="access_denied", state=state)
    realm = params.get("realm_id") or store.state["default_realm"]
    if realm == "new":
        if params.get("profile", DEFAULT_PROFILE) not in PROFILES:
            return _error_page("unknown company profile")
        realm = store.create_company(None, "New Company", profile=params.get("profile", DEFAULT_PROFILE))
    if store.company(realm) is None:
        return _error_page("unknown company")
    code = "AB11" + secrets.token_urlsafe(24)
    with store.lock:
        store.state["oauth"]["codes"][code] = {
            "client_id": params["client_id"], "redirect_uri": redirect_uri, "realm": realm,
            "scope": params.get("scope"), "expires_at": store.now(realm) + CODE_TTL,
            "used": False, "grant": None}
        store.save()
    return _back(redirect_uri, code=code, state=state, realmId=realm)


# -- token --------------------------------------------------------------------------------------

def _client_credentials():
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return None, None
        return client_id, secret
    return request.form.get("client_id"), request.form.get("client_secret")


def _oauth_error(error, description=None, status=400):
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    return response


# A refresh returns the same refresh token for about 24 hours ("the value of refresh token can
# change every 24-26 hour period", Intuit staff on intuit/oauth-jsclient#74; "rotated every
# 24-26hrs", IntuitDeveloper/oauth2-nodejs#2; ref §9 Rotation), its x_refresh_token_expires_in
# counting down meanwhile (oauth-jsclient#74: 8721385 < 8726400). "Your previous refresh tokens
# expire 24 hours after you receive a new one" (Intuit's README, quoted in both issues).
ROTATE_AFTER = 24 * 3600
REPLACED_GRACE = 24 * 3600


def strict_refresh_tokens(store):
    return bool(store.state.get("oauth_settings", {}).get("strict_refresh_tokens"))


def issue_tokens(store, grant_id, superseding=None):
    """A fresh access token and refresh token for a grant (the test shortcut uses it too)."""
    oauth = store.state["oauth"]
    grant = oauth["grants"][grant_id]
    now = store.now(grant["realm"])
    access = _new_access(store, grant_id)
    refresh = "RT1-" + secrets.token_hex(4) + "-H0-" + secrets.token_hex(20)
    refresh_expires = min(now + REFRESH_TTL, grant["created_at"] + REFRESH_HARD_CAP)
    oauth["refresh"][refresh] = {"grant": grant_id, "expires_at": refresh_expires,
                                 "superseded": False, "issued_at": now}
    grant["current_refresh"] = refresh
    if superseding is not None:
        # Strict (the switch): the old one is dead at once. Lenient (QBO): it stays good for
        # REPLACED_GRACE after this new one is issued.
        oauth["refresh"][superseding]["superseded"] = True
        oauth["refresh"][superseding]["superseded_at"] = now
    return {"token_type": "bearer", "access_token": access, "expires_in": ACCESS_TTL,
            "refresh_token": refresh, "x_refresh_token_expires_in": int(refresh_expires - now)}


def _new_access(store, grant_id):
    oauth = store.state["oauth"]
    grant = oauth["grants"][grant_id]
    access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0." + secrets.token_urlsafe(48)
    oauth["access"][access] = {"grant": grant_id, "realm": grant["realm"],
                               "expires_at": store.now(grant["realm"]) + ACCESS_TTL}
    return access


def refresh_tokens(store, presented):
    """The refresh grant: (body, None) or (None, (error, description))."""
    oauth = store.state["oauth"]
    record = oauth["refresh"].get(presented)
    if record is None:
        return None, ("invalid_grant", "Incorrect or invalid refresh token")
    grant = oauth["grants"].get(record["grant"])
    if grant is None or grant["revoked"]:
        return None, ("invalid_grant", "Token has been expired or revoked.")
    now = store.now(grant["realm"])
    strict = strict_refresh_tokens(store)
    if record["superseded"]:
        if strict or now >= record.get("superseded_at", 0) + REPLACED_GRACE:
            return None, ("invalid_grant", "Incorrect or invalid refresh token")
        # A replaced token inside its grace period answers with the grant's current token (what
        # it returns is not documented; the newest is the one the client must keep).
        presented = grant.get("current_refresh", presented)
        record = oauth["refresh"][presented]
    if now >= record["expires_at"]:
        return None, ("invalid_grant", "Token has been expired or revoked.")
    if strict or now - record.get("issued_at", 0) >= ROTATE_AFTER:
        return issue_tokens(store, record["grant"], superseding=presented), None
    return {"token_type": "bearer", "access_token": _new_access(store, record["grant"]),
            "expires_in": ACCESS_TTL, "refresh_token": presented,
            "x_refresh_token_expires_in": int(record["expires_at"] - now)}, None


def new_grant(store, realm, client_id, scope="com.intuit.quickbooks.accounting"):
    grant_id = secrets.token_hex(12)
    store.state["oauth"]["grants"][grant_id] = {"realm": realm, "client_id": client_id,
                                                "scope": scope, "created_at": store.now(realm),
                                                "revoked": False}
    return grant_id


@bp.route("/oauth2/v1/tokens/bearer", methods=["POST"])
def token():
    store = emulator().store
    client_id, secret = _client_credentials()
    if client_id != store.client_id or secret != store.client_secret:
        return _oauth_error("invalid_client", status=401)
    grant_type = request.form.get("grant_type")
    oauth = store.state["oauth"]
    with store.lock:
        if grant_type == "authorization_code":
            code = oauth["codes"].get(request.form.get("code", ""))
            if code is None or code["client_id"] != client_id:
                return _oauth_error("invalid_grant")
            if code["used"]:
                # A replayed code is refused and what it granted is revoked (RFC 6749 §4.1.2).
                if code["grant"] in oauth["grants"]:
                    oauth["grants"][code["grant"]]["revoked"] = True
                store.save()
                return _oauth_error("invalid_grant")
            if store.now(code["realm"]) > code["expires_at"] or \
                    request.form.get("redirect_uri") != code["redirect_uri"]:
                return _oauth_error("invalid_grant")
            code["used"] = True
            grant_id = new_grant(store, code["realm"], client_id, code["scope"])
            code["grant"] = grant_id
            body = issue_tokens(store, grant_id)
        elif grant_type == "refresh_token":
            presented = request.form.get("refresh_token", "")
            record = oauth["refresh"].get(presented)
            grant = oauth["grants"].get(record["grant"]) if record else None
            if grant is not None and grant["client_id"] != client_id:
                return _oauth_error("invalid_grant", "Token has been expired or revoked.")
            body, problem = refresh_tokens(store, presented)
            if problem:
                return _oauth_error(*problem)
        else:
            return _oauth_error("unsupported_grant_type")
        store.save()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/v2/oauth2/tokens/revoke", methods=["POST"])
def revoke():
    store = emulator().store
    client_id, secret = _client_credentials()
    if client_id != store.client_id or secret != store.client_secret:
        return _oauth_error("invalid_client", status=401)
    payload = request.get_json(silent=True) or {}
    presented = payload.get("token") or request.form.get("token")
    if not presented:
        return _oauth_error("invalid_request")
    oauth = store.state["oauth"]
    with store.lock:
        record = oauth["refresh"].get(presented) or oauth["access"].get(presented)
        if record is not None and record["grant"] in oauth["grants"]:
            # Revoking either token disconnects the app: the whole grant dies.
            oauth["grants"][record["grant"]]["revoked"] = True
            store.save()
    return Response(status=200)


@bp.route("/v1/openid_connect/userinfo")
def userinfo():
    store = emulator().store
    token = request.headers.get("Authorization", "")[len("Bearer "):]
    record = store.state["oauth"]["access"].get(token)
    if record is None:
        return _oauth_error("invalid_token", status=401)
    return jsonify({"sub": record["grant"], "email": "owner@example.com", "emailVerified": True,
                    "givenName": "Emulator", "familyName": "Owner"})
