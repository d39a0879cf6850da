"""Each person reads the product in their own language: their profile's choice, else the browser's;
an API key speaks its owner's language while its keys and codes stay machine-readable."""
import datetime as dt
from decimal import Decimal

from flask import g
from flask_babel import refresh

from qbo.core.db import db
from qbo.quickbooks.problems import rows as problems
from tests.factories import make_account, make_api_key, make_invoice, make_user, sign_in
from views._context import date, job_result, money

BAD_INVOICE = {"date": "2026-02-30", "lines-0-description": "Audit", "lines-0-quantity": "abc",
               "lines-0-rate": "10"}


def _as(client, user):
    """Sign in as `user` (signing out whoever was). The test's app context outlives requests, so
    forget what the previous request cached on `g` (its user, an API key's owner)."""
    client.post("/sign-out")
    g.pop("_login_user", None)
    g.pop("api_user", None)
    sign_in(client, user)
    g.pop("_login_user", None)
    return user


def _page(client, url, **kwargs) -> str:
    return client.get(url, **kwargs).get_data(as_text=True)


def test_it_shows_the_ledger_in_romanian_to_a_romanian_user(client, app):
    user = _as(client, make_user(language="ro"))
    invoice = make_invoice(user.firm)
    page = _page(client, "/invoices/")
    assert "Factură nouă" in page and "Recalculați soldurile" in page and "Netrimis" in page
    assert "Pagina 1 din 1 · 1 factură" in page and "01.11.2026" in page
    assert "New invoice" not in page
    record = _page(client, f"/invoices/{invoice.id}")
    assert "Data scadenței" in record and "Cantitate" in record and "Ștergeți" in record


def test_it_shows_the_same_firm_in_english_to_an_english_user(client, app):
    romanian = make_user(language="ro")
    english = _as(client, make_user(romanian.firm, role="admin", language="en"))
    make_invoice(english.firm)
    page = _page(client, "/invoices/", headers={"Accept-Language": "ro"})
    assert "New invoice" in page and "Not synced" in page and "Page 1 of 1 · 1 invoice" in page
    assert "Nov 1, 2026" in page and "Factură nouă" not in page


def test_it_names_bad_fields_in_the_users_language(client, app):
    user = _as(client, make_user(language="ro"))
    account = make_account(user.firm)
    response = client.post("/invoices/new", data={"account_id": account.id, **BAD_INVOICE})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "trebuie să fie o dată (AAAA-LL-ZZ)" in page and "trebuie să fie un număr" in page
    assert "Corectați câmpurile marcate; nu s-a salvat nimic." in page

    _as(client, make_user(user.firm, role="admin", language="en"))
    page = client.post("/invoices/new", data={"account_id": account.id, **BAD_INVOICE}).get_data(as_text=True)
    assert "must be a date (YYYY-MM-DD)" in page and "trebuie" not in page


def test_it_follows_the_browser_for_a_user_without_a_choice(client, app):
    user = _as(client, make_user(language=None))
    romanian_browser = {"Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"}
    assert "Factură nouă" in _page(client, "/invoices/", headers=romanian_browser)
    assert "New invoice" in _page(client, "/invoices/", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert "New invoice" in _page(client, "/invoices/")
    assert user.language is None


def test_it_signs_in_in_the_browsers_language(client, app):
    response = client.post("/sign-in", data={"email": "nobody@example.test", "password": "x"},
                           headers={"Accept-Language": "ro"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "Autentificare" in page
    assert "Adresa de e-mail și parola nu corespund unui utilizator activ." in page


def test_it_asks_to_sign_in_in_the_browsers_language(client, app):
    response = client.get("/invoices/", headers={"Accept-Language": "ro"}, follow_redirects=True)
    assert "Autentificați-vă pentru a continua." in response.get_data(as_text=True)


def test_it_refuses_a_forged_form_in_the_users_language(client, app):
    _as(client, make_user(language="ro"))
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/profile/", data={"language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Cerere refuzată" in page and "Lipsește tokenul CSRF" in page


def test_it_explains_a_records_quickbooks_error_in_the_users_language(client, app):
    user = _as(client, make_user(language="ro"))
    account = make_account(user.firm, name="Nova Fitness")
    problems.record(user.firm_id, "account", account.id, "account-no-match")
    db.session.commit()
    page = _page(client, f"/accounts/{account.id}")
    assert "Erori QuickBooks" in page and "Niciun client potrivit în QuickBooks" in page


def test_it_saves_the_language_chosen_in_the_profile(client, app):
    user = _as(client, make_user(language=None))
    page = _page(client, "/profile/", headers={"Accept-Language": "ro"})
    assert "Limba browserului (acum Română)" in page and 'value="" checked' in page
    response = client.post("/profile/", data={"language": "ro"}, follow_redirects=True)
    assert user.language == "ro" and "Limba a fost salvată." in response.get_data(as_text=True)
    response = client.post("/profile/", data={"language": "en"}, follow_redirects=True)
    assert user.language == "en" and "Your language is saved." in response.get_data(as_text=True)
    client.post("/profile/", data={"language": ""})
    assert user.language is None


def test_it_refuses_a_language_it_does_not_speak(client, app):
    user = _as(client, make_user(language="ro"))
    response = client.post("/profile/", data={"language": "xx"})
    assert response.status_code == 422
    assert "Alegeți una dintre limbile din listă." in response.get_data(as_text=True)
    assert user.language == "ro"


def test_it_asks_for_sign_in_before_the_profile(client, app):
    response = client.get("/profile/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def _api_errors(client, user, body):
    g.pop("api_user", None)
    response = client.post("/api/v1/invoices", json=body, headers=make_api_key(user))
    assert response.status_code == 422
    return response.get_json()["errors"]


def test_it_answers_the_api_in_the_key_owners_language_with_machine_readable_keys(client, app):
    romanian = make_user(language="ro")
    english = make_user(romanian.firm, role="admin", language="en")
    bad = {"account_id": make_account(romanian.firm).id, "date": "2026-02-30", "lines": [{"quantity": "x"}]}
    assert _api_errors(client, romanian, {**bad, "colour": "red"}) == {"colour": ["nu este un câmp cunoscut"]}
    assert _api_errors(client, english, {**bad, "colour": "red"}) == {"colour": ["is not a known field"]}
    romanian_errors, english_errors = _api_errors(client, romanian, bad), _api_errors(client, english, bad)
    assert romanian_errors["date"] == ["trebuie să fie o dată (AAAA-LL-ZZ)"]
    assert english_errors["date"] == ["must be a date (YYYY-MM-DD)"]
    assert romanian_errors.keys() == english_errors.keys()


def test_it_names_the_role_in_the_key_owners_language(client, app):
    viewer = make_user(role="viewer", language="ro")
    response = client.post("/api/v1/accounts", json={"name": "X"}, headers=make_api_key(viewer))
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden",
                                   "message": "Rolul dvs. (doar citire) nu permite această acțiune."}


def test_it_tells_a_missing_key_in_the_browsers_language(client, app):
    response = client.get("/api/v1/accounts", headers={"Accept-Language": "ro"})
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "unauthorized", "message": "Este necesară o cheie API validă (Authorization: Bearer <cheie>)."}


def test_it_reports_a_finished_job_in_the_users_language(client, app):
    from qbo.core.models import JobRun

    user = _as(client, make_user(language="ro"))
    db.session.add(JobRun(id="recalculate-balances-1", firm_id=user.firm_id, kind="recalculate-balances",
                          status="finished", result={"invoices": 2, "outstanding": "1234.50"}))
    db.session.commit()
    page = _page(client, "/jobs/recalculate-balances-1")
    assert "Gata." in page and "facturi: 2, de încasat: 1.234,50" in page


def _in(app, language):
    ctx = app.test_request_context()
    ctx.push()
    g.forced_language = language
    refresh()
    return ctx


def test_it_writes_money_and_dates_the_locales_way(app):
    for language, expected in {
        "en": ("$1,234.50", "RON\u00a01,234.50", "1,234.50", "Nov 3, 2026"),
        "ro": ("1.234,50\u00a0USD", "1.234,50\u00a0RON", "1.234,50", "03.11.2026"),
    }.items():
        ctx = _in(app, language)
        try:
            assert (money(Decimal("1234.5"), "USD"), money("1234.50", "RON"), money(Decimal("1234.5")),
                    date(dt.date(2026, 11, 3))) == expected
        finally:
            ctx.pop()


def test_it_labels_a_job_result_in_the_readers_language(app):
    ctx = _in(app, "ro")
    try:
        assert job_result({"invoices": 2, "outstanding": "1234.50"}) == "facturi: 2, de încasat: 1.234,50"
    finally:
        ctx.pop()
