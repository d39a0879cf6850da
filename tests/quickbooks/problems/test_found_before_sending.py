"""Problems found before sending (issue 18): stored with their facts, in no language, and worded for
each reader. A Romanian reader gets no English sentence; the English one still names field, value
and limit; the stored message stays English for the API."""
import pytest

from qbo.core.db import db
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.problems.catalogue import detail_text, explain_error
from qbo.quickbooks.sync.preflight import check, check_accounts
from tests.factories import make_firm, make_invoice
from tests.quickbooks.sync.test_preflight import ACCOUNTS, fee, invoice

# Words of the English sentences that a Romanian explanation must not hold.
ENGLISH = ("QuickBooks allows", "characters", "is required", "contains", " is ", "needs", "doesn't", "digits",
           "account here", "Account name", "Phone (", "Email (", "Line ", "Card account", " the ", " not ")


def _row(record_type, payload, accounts=None):
    firm = make_firm()
    found = check_accounts(record_type, payload, accounts) if accounts else check(record_type, payload)
    [error] = problems.record_problems(firm.id, record_type, make_invoice(firm).id, found)
    db.session.commit()
    return error


def _romanian(error):
    text = explain_error(error, "ro")
    assert [w for w in ENGLISH if w in text] == [] and error.message not in text
    return text


LONG_PHONE = "1" * 31


@pytest.mark.parametrize("record_type, payload, accounts, romanian, english", [
    ("account", {"DisplayName": "A", "PrimaryPhone": {"FreeFormNumber": LONG_PHONE}}, None,
     f"Telefonul (PrimaryPhone) „{LONG_PHONE}” are 31 de caractere; QuickBooks permite cel mult 30.",
     f'Phone (PrimaryPhone) "{LONG_PHONE}" is 31 characters; QuickBooks allows at most 30.'),
    ("account", {"DisplayName": "Smith: John"}, None,
     "Numele contului (DisplayName) „Smith: John” conține două puncte (:); QuickBooks nu permite „:”, tab",
     'Account name (DisplayName) "Smith: John" contains a colon; QuickBooks doesn\'t allow'),
    ("account", {"CompanyName": "Acme"}, None,
     "Numele contului (DisplayName) lipsește, iar QuickBooks cere această valoare (sau un prenume",
     "Account name (DisplayName) is required by QuickBooks (or a first or last name)."),
    ("account", {"DisplayName": "A", "PrimaryEmailAddr": {"Address": "bob@example"}}, None,
     "Adresa de e-mail (PrimaryEmailAddr) „bob@example” nu este o adresă de e-mail validă",
     'Email (PrimaryEmailAddr) "bob@example" is not a valid email address'),
    ("invoice", invoice(Line=[{**invoice()["Line"][0], "Amount": "12345678901.5"}]), None,
     "Suma liniei 1 (Line.Amount) „12345678901.5” nu încape în sumele QuickBooks: cel mult 10 cifre",
     'Line 1 amount (Line.Amount) "12345678901.5" doesn\'t fit QuickBooks\' amounts: at most 10 digits'),
    ("processor_fee", fee(AccountRef={"value": "1"}), ACCOUNTS,
     "Contul cardului (AccountRef) „Checking” este un cont de tip Bank; QuickBooks cere aici un cont de tip "
     "Credit Card.",
     'Card account (AccountRef) "Checking" is a Bank account; QuickBooks needs a Credit Card account here.'),
])
def test_it_words_a_preflight_problem_for_each_reader(app, record_type, payload, accounts, romanian, english):
    error = _row(record_type, payload, accounts)
    assert _romanian(error).startswith(romanian)
    assert explain_error(error, "en").startswith(english)


def test_it_keeps_every_problem_of_a_row_and_the_english_message_for_the_api(app):
    payload = invoice(DocNumber="INV-2026-11-26-0000042")
    payload["Line"][0]["Description"] = "d" * 4001
    error = _row("invoice", payload)
    assert [p["path"] for p in error.facts["problems"]] == ["DocNumber", "Line.Description"]
    assert error.message.startswith('Invoice number (DocNumber) "INV-2026-11-26-0000042" is 22 characters;')
    assert _romanian(error).startswith("Numărul facturii (DocNumber) „INV-2026-11-26-0000042” are 22 de "
                                       "caractere; QuickBooks permite cel mult 21. Descrierea liniei 1 "
                                       "(Line.Description)")


def test_it_words_a_stored_quickbooks_fault_field_in_romanian():
    error = SyncError(case="string-length", record_type="service", qbo_code="2050",
                      message="String length is either shorter or longer than supported by specification",
                      detail="String length specified does not match the supported length. Min:0 Max:100 "
                             "supported. Supplied length: 104", element="Name")
    assert explain_error(error, "ro").startswith("Numele serviciului (Name) are 104 caractere; QuickBooks "
                                                 "permite cel mult 100.")


def test_it_keeps_todays_words_for_a_row_stored_without_facts():
    error = SyncError(case="required-field", record_type="account", qbo_code=None, detail=None, facts=None,
                      message="Account name (DisplayName) is required by QuickBooks", element="DisplayName")
    assert explain_error(error, "ro").startswith("Account name (DisplayName) is required by QuickBooks. ")


@pytest.mark.parametrize("case, facts, romanian", [
    ("tax-code-missing", {"kind": "no-tax-code", "rate": "Standard", "percent": "19", "codes": ["Zero (0%)"],
                          "inactive": False},
     "Niciun cod de taxă QuickBooks pentru cota „Standard” (19%). QuickBooks are: Zero (0%)."),
    ("multicurrency-off", {"kind": "multicurrency-off", "currency": "EUR", "home": "USD"},
     "Contul este facturat în EUR, dar multimoneda este oprită în compania QuickBooks (moneda de bază USD)."),
    ("currency-not-enabled", {"kind": "currency-not-enabled", "currency": "EUR"},
     "EUR nu se află în lista de monede a companiei QuickBooks."),
    ("income-account-missing", {"kind": "income-account-missing", "value": "Servcies"},
     "Contul de venituri „Servcies” nu există în QuickBooks."),
    ("account-no-match", {"kind": "no-customer-named", "name": "Acme"},
     "Niciun client QuickBooks nu se numește exact „Acme”."),
    ("company-settings-changed", {"kind": "settings-changed", "changes": [{"setting": "custom_txn_numbers"}]},
     "În QuickBooks, numerele de tranzacție personalizate au fost activate"),
])
def test_it_words_a_blocked_record_from_its_facts(case, facts, romanian):
    error = SyncError(case=case, record_type="invoice", qbo_code=None, detail=None, facts=facts,
                      message="Some English words of the engine.", element=None)
    text = explain_error(error, "ro")
    assert text.startswith(romanian) and "English" not in text


def test_it_words_the_detail_of_a_record_deleted_in_quickbooks():
    error = SyncError(case="unsynced", record_type="invoice", qbo_code=None, element="CustomerRef",
                      message="The customer this record depends on was deleted in QuickBooks.",
                      detail='Its customer "Acme" (Customer 5) was made inactive in QuickBooks.',
                      facts={"dependency": "customer", "dependency_type": "account", "label": "Acme",
                             "entity": "Customer", "qbo_id": "5", "how": "inactive"})
    assert detail_text(error, "ro") == ("Înregistrarea de care depinde, clientul „Acme” (Customer 5), a fost "
                                        "dezactivată în QuickBooks.")
    assert detail_text(error) == 'Its customer "Acme" (Customer 5) was made inactive in QuickBooks.'
    assert explain_error(error, "ro").startswith("Clientul de care depinde înregistrarea a fost șters în QuickBooks.")


def test_it_shows_a_differences_detail_only_where_the_explanation_is_english():
    error = SyncError(case="amount-mismatch", record_type="invoice", qbo_code=None, element="TotalAmt",
                      message="", detail="QuickBooks 110.00, ledger 100.00, difference 10.00", facts=None)
    assert detail_text(error, "ro") is None and explain_error(error, "ro").startswith("În QuickBooks totalul este 110.00")
    assert detail_text(error) == "QuickBooks 110.00, ledger 100.00, difference 10.00"


@pytest.mark.parametrize("case, message, detail", [
    ("modified-in-qbo", "", "QuickBooks Invoice 7 (invoice \"INV-1\") is at version 2; the product last wrote version 1."),
    ("duplicates-in-qbo", "Likely cause: someone entered it by hand in QuickBooks.",
     "QuickBooks Payment 9 (300.00 on 2026-11-10) was not created by the product and matches payment \"P-1\"."),
])
def test_it_keeps_todays_words_for_a_change_stored_without_facts(case, message, detail):
    error = SyncError(case=case, record_type="invoice", qbo_code=None, element=None, facts=None, message=message,
                      detail=detail)
    assert detail_text(error, "ro") == detail and explain_error(error, "ro").startswith(message)


@pytest.mark.parametrize("kind", ["ast-not-adopted", "ast-recalculated", "tax-override", "line-rounding", "tax-rate"])
def test_it_words_every_tax_cause_of_a_difference_in_romanian(kind):
    error = SyncError(case="amount-mismatch", record_type="invoice", qbo_code=None, element="TotalAmt", message="",
                      detail="QuickBooks 110.00, ledger 100.00, difference 10.00; Cause: English words.",
                      facts={"differences": [{"field": "TotalAmt", "qbo": "110.00", "ledger": "100.00",
                                              "difference": "10.00"}],
                             "cause": {"kind": kind, "quickbooks": "10.00", "ledger": "0.00"}})
    text = explain_error(error, "ro")
    assert "10.00" in text and "English" not in text and " the " not in text and " tax " not in text
    english = explain_error(error)  # worded from the facts too, not from the detail's words
    assert english.startswith("In QuickBooks the total is 110.00") and "English" not in english
