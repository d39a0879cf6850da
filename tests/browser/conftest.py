import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.factories import PASSWORD

# A page's answer waits on a background job; on a busy 2-core CI machine 5 s is sometimes short.
expect.set_options(timeout=15_000)


@pytest.fixture
def live_server(app, app_config, _qbo_emulator_server):
    """The real app (CSRF on) served on a free local port, sharing the test database, pointed at
    the session's QuickBooks emulator."""
    from app import create_app

    served = create_app({**app_config, "WTF_CSRF_ENABLED": True, "TESTING": False,
                         "QBO_BASE_URL": _qbo_emulator_server.base_url, "QBO_ENVIRONMENT": "emulator",
                         "INSTANCE_PATH": app.instance_path})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    served.config["QBO_REDIRECT_URI"] = f"{base}/settings/integrations/quickbooks/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(5)


@pytest.fixture
def sign_in(live_server):
    """Signs a test user in through the served sign-in form, then on to `path` when given."""
    def sign_in(page, user, path=None):
        page.goto(f"{live_server}/sign-in" + (f"?next={path}" if path else ""))
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    return sign_in
