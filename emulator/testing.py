"""Helpers for test suites: a live emulator on 127.0.0.1 and quick tokens.

    from emulator.testing import live_emulator

    with live_emulator(limits=False) as emu:
        tokens = emu.tokens()                     # test-only shortcut (POST /__emulator__/tokens)
        tokens = emu.connect()                    # or the real authorize + token flow over HTTP
        requests.get(emu.api_url() + "/customer/1", headers=emu.headers(tokens["access_token"]))
        emu.control("POST", "/reset")
"""

import base64
import threading
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .store import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

SCOPE = "com.intuit.quickbooks.accounting"


class LiveEmulator:
    def __init__(self, app, base_url):
        self.app = app
        self.base_url = base_url
        self.http = requests.Session()

    @property
    def realm_id(self):
        """The default company's realm id."""
        return self.app.emulator.default_realm

    @property
    def discovery_url(self):
        return self.base_url + "/.well-known/openid_configuration"

    @property
    def token_url(self):
        return self.base_url + "/oauth2/v1/tokens/bearer"

    def api_url(self, realm_id=None):
        """Base of the QBO API for a company: .../v3/company/<realm>."""
        return f"{self.base_url}/v3/company/{realm_id or self.realm_id}"

    @staticmethod
    def headers(access_token):
        return {"Authorization": "Bearer " + access_token, "Accept": "application/json",
                "Content-Type": "application/json"}

    def control(self, method, path, json=None, **kwargs):
        """Call the control API; `path` is relative to /__emulator__ (e.g. "/reset")."""
        if not path.startswith("/__emulator__"):
            path = "/__emulator__/" + path.lstrip("/")
        return self.http.request(method, self.base_url + path, json=json, timeout=10, **kwargs)

    def tokens(self, realm_id=None):
        """A fresh token pair through the test-only shortcut POST /__emulator__/tokens."""
        response = self.control("POST", "/tokens", json={"realm_id": realm_id} if realm_id else {})
        response.raise_for_status()
        return response.json()

    def connect(self, realm_id=None, redirect_uri="http://127.0.0.1:9/callback", state="test-state",
                client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET):
        """The real OAuth flow over HTTP, no control API: authorize, click Connect, swap the code."""
        return authorize_and_exchange(self.base_url, realm_id or self.realm_id, redirect_uri, state,
                                      client_id, client_secret)


def authorize_and_exchange(base_url, realm_id, redirect_uri="http://127.0.0.1:9/callback",
                           state="test-state", client_id=DEFAULT_CLIENT_ID,
                           client_secret=DEFAULT_CLIENT_SECRET):
    """Run authorize (the person clicks Connect for `realm_id`) and the code grant; returns the
    token JSON plus "realm_id" and "state" from the callback."""
    params = {"client_id": client_id, "response_type": "code", "scope": SCOPE,
              "redirect_uri": redirect_uri, "state": state}
    page = requests.get(base_url + "/connect/oauth2", params=params, timeout=10)
    page.raise_for_status()
    answer = requests.post(base_url + "/connect/oauth2",
                           data=dict(params, realm_id=realm_id, decision="allow"),
                           allow_redirects=False, timeout=10)
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    token = requests.post(base_url + "/oauth2/v1/tokens/bearer",
                          data={"grant_type": "authorization_code", "code": callback["code"][0],
                                "redirect_uri": redirect_uri},
                          headers={"Authorization": "Basic " + basic,
                                   "Accept": "application/json"}, timeout=10)
    token.raise_for_status()
    return dict(token.json(), realm_id=callback["realmId"][0], state=callback["state"][0])


class QboHttp:
    """A bare QBO API client for one realm (token from the shortcut), so tests read like the wire."""

    def __init__(self, emu, realm_id=None):
        self.emu = emu
        self.realm_id = realm_id or emu.realm_id
        self.tokens = emu.tokens(self.realm_id)
        self.token = self.tokens["access_token"]

    def url(self, path):
        return self.emu.api_url(self.realm_id) + path

    def headers(self, **extra):
        return dict(self.emu.headers(self.token), **extra)

    def get(self, path, params=None, headers=None):
        params = dict({"minorversion": 75}, **(params or {}))
        return requests.get(self.url(path), params=params, headers=headers or self.headers(), timeout=10)

    def post(self, path, json=None, params=None, headers=None, data=None):
        params = dict({"minorversion": 75}, **(params or {}))
        return requests.post(self.url(path), json=json, data=data, params=params,
                             headers=headers or self.headers(), timeout=10)

    def create(self, entity, body, **params):
        response = self.post("/" + entity.lower(), body, params)
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def query(self, text):
        return self.post("/query", data=text, headers=self.headers(**{"Content-Type": "application/text"}))

    def customer(self, name="Acme Ltd", **fields):
        return self.create("Customer", dict({"DisplayName": name}, **fields))

    def invoice(self, customer_id, amount=100, **fields):
        line = {"Amount": amount, "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}
        return self.create("Invoice", dict({"CustomerRef": {"value": customer_id}, "Line": [line]}, **fields))

    def credit_memo(self, customer_id, amount=20, **fields):
        line = {"Amount": amount, "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}
        return self.create("CreditMemo", dict({"CustomerRef": {"value": customer_id}, "Line": [line]}, **fields))

    def account_id(self, name):
        records = self.emu.control("GET", f"/companies/{self.realm_id}/Account").json()
        return next(a["Id"] for a in records if a["Name"] == name)


def fault_of(response):
    """The first Error of a data-service Fault."""
    return response.json()["Fault"]["Error"][0]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@contextmanager
def live_emulator(quiet=True, strict_refresh_tokens=True, **options):
    """Run the emulator on 127.0.0.1:<free port> in a daemon thread; options go to create_app()
    (data_path, realm_id, company_name, limits, time_scale, client_id, client_secret,
    custom_txn_numbers, profile). `quiet` silences the per-request access log.

    Unlike create_app() and the command line, the test harness keeps refresh tokens strict by
    default (every refresh rotates, the replaced token dies at once): the product's tests assert
    a rotation on the first refresh. Pass strict_refresh_tokens=False for QBO's 24-hour rules."""
    app = create_app(strict_refresh_tokens=strict_refresh_tokens, **options)
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         request_handler=_QuietHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="emulator-http", daemon=True)
    thread.start()
    try:
        yield LiveEmulator(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        app.emulator.close()
