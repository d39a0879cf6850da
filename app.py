"""Application factory: configuration, extensions, blueprints and CLI groups."""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel
from flask_babel import refresh as refresh_locale
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from qbo.core.db import db

login_manager = LoginManager()
babel = Babel()
LANGUAGES = ("en", "ro")
csrf = CSRFProtect()
migrate = Migrate()
log = logging.getLogger("qbo.requests")

INSECURE_SECRETS = {"", "dev", "change-me", "secret"}


def _instance_secret(instance: Path, name: str, make) -> str:
    """A secret generated once into instance/ so a local install needs no set-up."""
    path = instance / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


DEV_ENV_FILE = "dev-env.json"  # written by `make run` (scripts/devserver.py) while it runs


def _adopt_running_devserver(app: Flask, instance: Path) -> None:
    """A `flask` command in a second terminal next to a running `make run` talks to the same Redis
    and emulator: the dev server writes their addresses to instance/dev-env.json while it runs.
    Only what the environment and the config leave unset is taken; never in production."""
    path = instance / DEV_ENV_FILE
    if app.config["REDIS_URL"] or not path.exists():
        return
    try:
        running = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for key in ("REDIS_URL", "QBO_BASE_URL", "QBO_WEBHOOK_VERIFIER"):
        if running.get(key) and not os.environ.get(key):
            app.config[key] = running[key]


def create_app(test_config: dict | None = None) -> Flask:
    # INSTANCE_PATH: where the SQLite file and generated secrets live (tests give each app its own).
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    env = os.environ
    production = env.get("APP_ENV", "development") == "production"

    app.config.from_mapping(
        APP_ENV="production" if production else "development",
        SQLALCHEMY_DATABASE_URI=env.get("DATABASE_URL") or f"sqlite:///{instance / 'app.db'}",
        REDIS_URL=env.get("REDIS_URL", ""),
        SECRET_KEY=env.get("SECRET_KEY", ""),
        TOKEN_ENCRYPTION_KEY=env.get("TOKEN_ENCRYPTION_KEY", ""),
        QBO_ENVIRONMENT=env.get("QBO_ENVIRONMENT", "emulator"),
        QBO_BASE_URL=env.get("QBO_BASE_URL", "http://127.0.0.1:5055"),
        QBO_CLIENT_ID=env.get("QBO_CLIENT_ID", "emulator-client-id"),
        QBO_CLIENT_SECRET=env.get("QBO_CLIENT_SECRET", "emulator-client-secret"),
        QBO_REDIRECT_URI=env.get("QBO_REDIRECT_URI", "http://127.0.0.1:5000/settings/integrations/quickbooks/callback"),
        QBO_WEBHOOK_VERIFIER=env.get("QBO_WEBHOOK_VERIFIER", ""),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=production,
        WTF_CSRF_TIME_LIMIT=None,
        # Only a test configuration may choose another (faster) method; stored hashes name their
        # own method, so sign-in works whichever made them.
        PASSWORD_HASH_METHOD="scrypt",
        # Sign-in throttling (qbo/accounts/auth.py): after FREE failures for an e-mail (or
        # FREE * 4 from one client address) each further attempt waits BASE * 2**n seconds, at most
        # CAP; a browser that signed in to that account before (its known-device cookie) never waits.
        SIGN_IN_FREE_FAILURES=5,
        SIGN_IN_BACKOFF_BASE_SECONDS=2,
        SIGN_IN_BACKOFF_CAP_SECONDS=15 * 60,
        SIGN_IN_FAILURE_WINDOW_SECONDS=24 * 3600,
        KNOWN_DEVICE_DAYS=180,
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed.
        TRUSTED_PROXIES=int(env.get("TRUSTED_PROXIES", "0") or 0),
        # Every request body, read as it streams (chunked ones too); the webhook has its own, smaller.
        MAX_CONTENT_LENGTH=int(env.get("MAX_CONTENT_LENGTH", str(4 * 1024 * 1024))),
        JOBS_SYNC=False,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    if test_config:
        app.config.update(test_config)

    if production:
        missing = [k for k in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL")
                   if not (app.config.get(k) if k != "DATABASE_URL" else env.get("DATABASE_URL"))]
        if app.config["SECRET_KEY"] in INSECURE_SECRETS and "SECRET_KEY" not in missing:
            missing.append("SECRET_KEY")
        if missing:
            raise RuntimeError("APP_ENV=production needs real settings for: " + ", ".join(missing))
    else:
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = _instance_secret(instance, "secret_key", lambda: secrets.token_hex(32))
        if not app.config["TOKEN_ENCRYPTION_KEY"]:
            app.config["TOKEN_ENCRYPTION_KEY"] = _instance_secret(instance, "token_key", _fernet_key)
    if not production:
        _adopt_running_devserver(app, instance)
    if not app.config["REDIS_URL"]:
        raise RuntimeError("REDIS_URL is not set: `make run` starts a Redis and sets it for you")

    if not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        # The dev server's access log prints query strings, and the OAuth callback carries a code
        # there; our own request line (below) logs the path only.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if app.config["TRUSTED_PROXIES"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from views._input import IdConverter

    # Every `<int:...>` in a route is a row id: bounded to the INTEGER column's range (views/_input.py).
    app.url_map.converters["int"] = IdConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to continue."

    import qbo.models  # noqa: F401  (every model, for Alembic and relationships across packages)
    import qbo.quickbooks.sync.marking  # noqa: F401  (the sync hears the ledger's record_changed signal)
    from views import register_blueprints

    register_blueprints(app, csrf)

    from qbo.cli import register_cli

    register_cli(app)
    _log_requests(app)
    from views._input import register_input_boundary
    from views._security import register_security_headers

    register_input_boundary(app)
    register_security_headers(app)
    return app


def select_locale() -> str:
    """The person's chosen language, else the browser's (Accept-Language), else English. An API
    key speaks its owner's language."""
    if g.get("forced_language") in LANGUAGES:
        return g.forced_language
    if not has_request_context():
        return "en"
    user = g.get("api_user") or (current_user if current_user and current_user.is_authenticated else None)
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return user.language
    return request.accept_languages.best_match(LANGUAGES) or "en"


@login_manager.user_loader
def _load_user(user_id: str):
    from qbo.accounts.models import User

    # The session holds "<id>:<session version>" (User.get_id); signing out, a new password or a new
    # role bumps the version, so a copied cookie stops working then.
    user_key, _, version = str(user_id).partition(":")
    if not (user_key.isascii() and user_key.isdigit() and version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_key)) if int(user_key) < 2**31 else None
    if user is None or str(user.session_version) != version:
        return None
    return user


def _log_requests(app: Flask) -> None:
    """One line per request: firm, user, what, how long, outcome. Query strings are left out
    because OAuth callbacks carry codes in them."""

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()
        # The locale and the signed-in user are cached on `g`; tests keep one app context across
        # requests, so drop both and let each request find its own, as it does in production.
        refresh_locale()
        g.pop("_login_user", None)
        g.pop("api_user", None)

    @app.after_request
    def _log_line(response):
        started = g.get("request_started")
        if started is not None and request.endpoint != "static":
            user = current_user if current_user and current_user.is_authenticated else g.get("api_user")
            log.info(
                "request firm=%s user=%s method=%s path=%s status=%s ms=%.1f",
                getattr(user, "firm_id", "-"), getattr(user, "id", "-"), request.method,
                escape_for_log(request.path), response.status_code, (time.perf_counter() - started) * 1000,
            )
        return response


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


def escape_for_log(text: str) -> str:
    """One log line per request: a %0a in a URL must not write a second, forged line."""
    return _CONTROL.sub(lambda m: "\\\\" if m.group() == "\\" else f"\\x{ord(m.group()):02x}", text)
