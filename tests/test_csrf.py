"""Every state-changing route refuses a request without a CSRF token (found by walking the URL map)."""
import pytest

from tests.factories import PASSWORD, make_user


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _post_routes(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint != "static":
            args = {a: ("invoices" if a == "slug" else "1") for a in rule.arguments}
            yield rule, rule.rule.replace("<", "{").replace(">", "}"), args


def _url(app, rule, args):
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **args)


def test_it_refuses_every_post_without_a_csrf_token(csrf_app):
    owner = make_user(role="owner")
    client = csrf_app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/sign-in", data={"email": owner.email, "password": PASSWORD,
                                         "csrf_token": token}).status_code == 302
    checked = 0
    for rule, _, args in _post_routes(csrf_app):
        response = client.post(_url(csrf_app, rule, args), data={})
        if rule.rule.startswith(("/api/", "/webhooks/")):
            # The API and Intuit's webhooks ignore the session cookie entirely: without a bearer
            # key (or a valid intuit-signature) they answer 401.
            assert response.status_code == 401, rule.rule
        else:
            assert response.status_code == 400, rule.rule
            assert "CSRF" in response.get_data(as_text=True), rule.rule
        checked += 1
    assert checked >= 8


def test_it_accepts_the_token_from_the_htmx_header(csrf_app):
    owner = make_user(role="owner")
    client = csrf_app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/sign-in", data={"email": owner.email, "password": PASSWORD, "csrf_token": token})
    response = client.post("/settings/integrations/quickbooks/sync-settings",
                           data={"default_income_account": "Fees", "next_invoice_number": "3"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 302
