"""The Content-Security-Policy (views/_security.py) holds on real pages in Chromium: the desk with its
htmx tabs, type-ahead and indicators, a record's panel and a form run without one CSP violation, and
the signed-in settings page refuses to be framed by another origin."""
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from qbo.core.db import db
from tests.browser.test_desk_in_chromium import SETTINGS, _demo_errors
from tests.factories import make_invoice, make_user

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    found = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))")
    return found


def test_it_runs_the_desk_without_a_csp_violation(page, sign_in, connected, qbo_emulator, drain):
    _demo_errors(connected, qbo_emulator, drain)
    violations = _violations(page)
    sign_in(page, connected, SETTINGS)
    assert "frame-ancestors 'none'" in page.request.get(page.url).headers["content-security-policy"]
    expect(page.get_by_role("tab", name="Accounts 4")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="Services 1").click()  # an htmx swap
    expect(page.locator("#errors-panel")).to_contain_text("Wrong account type for the service")
    page.wait_for_load_state("networkidle")
    invoice = make_invoice(connected.firm)
    db.session.commit()
    page.goto(page.url.split("/settings")[0] + f"/quickbooks/records/invoice/{invoice.id}")
    page.goto(page.url.split("/quickbooks")[0] + "/invoices/new")
    page.get_by_role("button", name="Add line").click()  # htmx, its row index set by app.js (no eval)
    expect(page.locator("#lines-body tr")).to_have_count(2)
    expect(page.locator("[name=lines-1-quantity]")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    assert violations == []


@pytest.fixture
def elsewhere():
    """Serves one HTML body per call on its own 127.0.0.1 port: another origin, on the same loopback
    address as the app (a page Playwright fulfils counts as public and is blocked by Chromium's local
    network access checks before the CSP is ever read)."""
    servers = []

    def serve(body: str) -> str:
        server = make_server("127.0.0.1", 0, Response(body, content_type="text/html"), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


def test_it_refuses_to_render_the_signed_in_settings_page_in_another_origins_frame(page, sign_in, live_server,
                                                                                  elsewhere):
    framed = f"{live_server}{SETTINGS}"
    sign_in(page, make_user(role="owner"), SETTINGS)
    expect(page).to_have_url(framed)
    answer = page.request.get(framed, max_redirects=0)  # signed in, the page itself answers
    assert answer.status == 200 and "QuickBooks" in answer.text()
    control = elsewhere("<p>Framed fine</p>")
    failed = []
    page.on("requestfailed", lambda r: failed.append((r.url, r.failure)))
    page.goto(elsewhere(f'<h1>Elsewhere</h1><iframe src="{framed}"></iframe><iframe src="{control}"></iframe>'))
    # goto waited for the load event, which waits for both frames
    assert page.frame_locator("iframe").nth(1).get_by_text("Framed fine").is_visible()  # frames render here
    assert failed == [(framed, "net::ERR_BLOCKED_BY_RESPONSE")]  # frame-ancestors 'none' / X-Frame-Options
    settings = page.frames[1]
    assert settings.url == "chrome-error://chromewebdata/" and "QuickBooks" not in settings.content()
