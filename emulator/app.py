"""create_app(): the emulator as a WSGI (Flask) application."""

from flask import Flask, jsonify

from . import api, control, oauth
from .limits import Limiter
from .store import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Store
from .webhooks import Dispatcher


class Emulator:
    """The running parts behind one app: state, throttling, webhook delivery."""

    def __init__(self, store):
        self.store = store
        self.limiter = Limiter(store.state["limits"])
        self.dispatcher = Dispatcher(store)

    @property
    def default_realm(self):
        return self.store.state["default_realm"]

    def close(self):
        self.dispatcher.stop()


def create_app(data_path=None, realm_id=None, company_name=None, limits=True, time_scale=None,
               client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
               custom_txn_numbers=False, strict_refresh_tokens=False, profile=None):
    """Build the emulator. `limits`: True/False, or a dict of limit settings (see README).
    `strict_refresh_tokens`: every refresh rotates the refresh token and the replaced one dies at
    once (default False: QBO's 24-hour behaviour). `profile`: the default company's profile."""
    settings = dict(limits) if isinstance(limits, dict) else {"enabled": bool(limits)}
    if time_scale is not None:
        settings["time_scale"] = float(time_scale)
    store = Store(data_path=data_path, realm_id=realm_id, company_name=company_name,
                  limits=settings, client_id=client_id, client_secret=client_secret,
                  custom_txn_numbers=custom_txn_numbers,
                  strict_refresh_tokens=strict_refresh_tokens, profile=profile)
    if data_path:
        # A data file keeps its own limits unless the caller said otherwise now.
        store.state["limits"].update(settings)
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    emu = Emulator(store)
    app.extensions["emulator"] = emu
    app.emulator = emu
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)

    @app.get("/")
    def index():
        return jsonify({"emulator": "QuickBooks Online", "default_realm": emu.default_realm,
                        "discovery": "/.well-known/openid_configuration",
                        "control": "/__emulator__/"})

    return app
