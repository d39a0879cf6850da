import pytest

from qbo.quickbooks.sync.preflight import Problem, check, check_accounts, field_label

ACCOUNTS = {
    "1": {"Id": "1", "Name": "Checking", "AccountType": "Bank"},
    "2": {"Id": "2", "Name": "Amex", "AccountType": "Credit Card"},
    "3": {"Id": "3", "Name": "Card fees", "AccountType": "Expense"},
    "4": {"Id": "4", "Name": "Services", "AccountType": "Income"},
    "5": {"Id": "5", "Name": "Accounts Receivable (A/R)", "AccountType": "Accounts Receivable"},
    "6": {"Id": "6", "Name": "Undeposited Funds", "AccountType": "Other Current Asset"},
    "7": {"Id": "7", "Name": "Old card", "AccountType": "Credit Card", "Active": False},
}


def invoice(**fields):
    return {"CustomerRef": {"value": "1"}, "Line": [
        {"Amount": 300.0, "DetailType": "SalesItemLineDetail",
         "SalesItemLineDetail": {"ItemRef": {"value": "9"}, "Qty": 2, "UnitPrice": 150}}], **fields}


def fee(**fields):
    return {"PaymentType": "CreditCard", "AccountRef": {"value": "2"}, "Line": [
        {"Amount": 9.0, "DetailType": "AccountBasedExpenseLineDetail",
         "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "3"}}}], **fields}


def test_it_passes_a_valid_invoice():
    assert check("invoice", invoice(DocNumber="INV-1")) == []


def test_it_names_field_value_and_limit_of_a_long_invoice_number():
    [problem] = check("invoice", invoice(DocNumber="INV-2026-11-26-0000042"))
    assert problem == Problem("DocNumber", "INV-2026-11-26-0000042", 21,
                              'Invoice number (DocNumber) "INV-2026-11-26-0000042" is 22 characters; '
                              "QuickBooks allows at most 21")


def test_it_truncates_long_values_for_display():
    [problem] = check("account", {"DisplayName": "x" * 501})
    assert problem.limit == 500 and len(problem.value) == 40 and problem.value.endswith("…")
    assert "is 501 characters" in problem.message


@pytest.mark.parametrize("record_type, payload, field, limit", [
    ("account", {"DisplayName": "A", "GivenName": "g" * 101}, "GivenName", 100),
    ("account", {"DisplayName": "A", "FamilyName": "f" * 101}, "FamilyName", 100),
    ("account", {"DisplayName": "A", "CompanyName": "c" * 101}, "CompanyName", 100),
    ("account", {"DisplayName": "A", "PrimaryEmailAddr": {"Address": "a@b.c" + "d" * 96}},
     "PrimaryEmailAddr.Address", 100),
    ("account", {"DisplayName": "A", "PrimaryPhone": {"FreeFormNumber": "1" * 31}},
     "PrimaryPhone.FreeFormNumber", 30),
    ("account", {"DisplayName": "A", "Notes": "n" * 2001}, "Notes", 2000),
    ("service", {"Name": "n" * 101, "Type": "Service", "IncomeAccountRef": {"value": "4"}}, "Name", 100),
    ("service", {"Name": "S", "Type": "Service", "IncomeAccountRef": {"value": "4"}, "Description": "d" * 4001},
     "Description", 4000),
    ("invoice", invoice(PrivateNote="p" * 4001), "PrivateNote", 4000),
    ("invoice", invoice(CustomerMemo={"value": "m" * 1001}), "CustomerMemo.value", 1000),
    ("credit_note", invoice(DocNumber="C" * 22), "DocNumber", 21),
    ("refund", {**invoice(DocNumber="R" * 22), "DepositToAccountRef": {"value": "1"}}, "DocNumber", 21),
    ("processor_fee", fee(DocNumber="F" * 22), "DocNumber", 21),
    ("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 1, "PrivateNote": "p" * 4001}, "PrivateNote", 4000),
    ("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 1, "PaymentRefNum": "r" * 22}, "PaymentRefNum", 21),
])
def test_it_checks_qbo_length_limits(record_type, payload, field, limit):
    [problem] = check(record_type, payload)
    assert (problem.field, problem.limit, problem.case) == (field, limit, "string-length")


def test_it_allows_a_longer_reference_on_a_refund():
    payload = {**invoice(PaymentRefNum="r" * 100), "DepositToAccountRef": {"value": "1"}}
    assert check("refund", payload) == []


def test_it_checks_line_descriptions_and_amounts():
    payload = invoice()
    payload["Line"][0].update(Description="d" * 4001, Amount="12345678901.5")
    fields = [(p.field, p.message.split(" (")[0]) for p in check("invoice", payload)]
    assert fields == [("Line.Description", "Line 1 description"), ("Line.Amount", "Line 1 amount")]


@pytest.mark.parametrize("amount, ok", [("9999999999.99999", True), ("1.123456", False), ("-5.5", True)])
def test_it_allows_amounts_in_10_5_format(amount, ok):
    payload = invoice()
    payload["Line"][0]["Amount"] = amount
    assert (check("invoice", payload) == []) is ok


@pytest.mark.parametrize("name, word", [("Smith: John", "a colon"), ("A\tB", "a tab"), ("A\nB", "a line break")])
def test_it_refuses_colons_tabs_and_newlines_in_names(name, word):
    [problem] = check("account", {"DisplayName": name})
    assert word in problem.message and problem.field == "DisplayName"


def test_it_refuses_a_colon_in_a_service_name():
    [problem] = check("service", {"Name": "Tax:Returns", "Type": "Service", "IncomeAccountRef": {"value": "4"}})
    assert problem.message.startswith('Service name (Name) "Tax:Returns" contains a colon')


def test_it_wants_an_at_and_a_dot_in_an_email():
    [problem] = check("account", {"DisplayName": "A", "PrimaryEmailAddr": {"Address": "bob@example"}})
    assert problem.message.startswith('Email (PrimaryEmailAddr) "bob@example" is not a valid email address')


@pytest.mark.parametrize("record_type, payload, field", [
    ("invoice", {"Line": invoice()["Line"]}, "CustomerRef"),
    ("invoice", {"CustomerRef": {"value": "1"}, "Line": []}, "Line"),
    ("credit_note", {"CustomerRef": {"value": "1"}}, "Line"),
    ("payment", {"TotalAmt": 5}, "CustomerRef"),
    ("payment", {"CustomerRef": {"value": "1"}}, "TotalAmt"),
    ("refund", {"Line": invoice()["Line"]}, "DepositToAccountRef"),
    ("processor_fee", {**fee(), "AccountRef": None}, "AccountRef"),
    ("service", {"Name": "S", "Type": "Service"}, "IncomeAccountRef"),
    ("account", {"CompanyName": "Acme"}, "DisplayName"),
])
def test_it_reports_missing_required_fields(record_type, payload, field):
    [problem] = check(record_type, payload)
    assert (problem.field, problem.case) == (field, "required-field")


def test_it_skips_required_fields_on_a_sparse_update():
    assert check("invoice", {"Id": "5", "SyncToken": "1", "sparse": True, "PrivateNote": "x"}) == []


def test_it_accepts_a_wrapped_payload():
    [problem] = check("invoice", {"Invoice": invoice(DocNumber="9" * 22)})
    assert problem.field == "DocNumber"


def test_it_labels_fields_in_both_words():
    assert field_label("credit_note", "DocNumber") == "Credit note number (DocNumber)"
    assert field_label("payment", "PaymentRefNum") == "Payment reference (PaymentRefNum)"


def test_it_labels_fields_in_romanian_too():
    assert field_label("account", "DisplayName", language="ro") == "Numele contului (DisplayName)"
    assert field_label("invoice", "Line.Description", 2, "ro") == "Descrierea liniei 2 (Line.Description)"
    assert field_label("invoice", "Line.Description", 2) == "Line 2 description (Line.Description)"
    assert field_label("credit_note", "DocNumber", language="ro") == "Numărul notei de credit (DocNumber)"


def test_it_gives_every_problem_its_facts_in_no_language():
    [problem] = check("account", {"DisplayName": "A", "PrimaryPhone": {"FreeFormNumber": "1" * 31}})
    assert problem.facts == {"kind": "field", "reason": "length", "record": "account",
                             "path": "PrimaryPhone.FreeFormNumber", "value": "1" * 31, "limit": 30, "length": 31}


def test_it_wants_a_credit_card_account_for_a_card_fee():
    [problem] = check_accounts("processor_fee", fee(AccountRef={"value": "1"}), ACCOUNTS)
    assert problem.case == "expense-account-type" and problem.field == "AccountRef"
    assert problem.message == ('Card account (AccountRef) "Checking" is a Bank account; QuickBooks needs '
                               "a Credit Card account here")


def test_it_wants_a_bank_account_for_a_cash_fee():
    assert check_accounts("processor_fee", fee(PaymentType="Cash", AccountRef={"value": "1"}), ACCOUNTS) == []
    assert check_accounts("processor_fee", fee(PaymentType="Cash"), ACCOUNTS)[0].case == "expense-account-type"


def test_it_wants_an_expense_account_on_fee_lines():
    payload = fee()
    payload["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"] = {"value": "4"}
    [problem] = check_accounts("processor_fee", payload, ACCOUNTS)
    assert problem.field == "Line.AccountBasedExpenseLineDetail.AccountRef"


def test_it_reports_an_inactive_or_unknown_account():
    [problem] = check_accounts("processor_fee", fee(AccountRef={"value": "7", "name": "Old card"}), ACCOUNTS)
    assert "not an active account" in problem.message
    assert check_accounts("processor_fee", fee(AccountRef={"value": "99"}), ACCOUNTS)[0].value == "Id 99"


def test_it_refuses_receivable_accounts_on_a_service():
    payload = {"Name": "S", "Type": "Service", "IncomeAccountRef": {"value": "5"}}
    [problem] = check_accounts("service", payload, ACCOUNTS)
    assert problem.case == "item-account-type" and "Accounts Receivable account" in problem.message
    assert check_accounts("service", {**payload, "IncomeAccountRef": {"value": "4"}}, ACCOUNTS) == []


@pytest.mark.parametrize("account_id, ok", [("1", True), ("6", True), ("2", False)])
def test_it_wants_a_bank_or_current_asset_deposit_account(account_id, ok):
    payload = {"CustomerRef": {"value": "1"}, "TotalAmt": 5, "DepositToAccountRef": {"value": account_id}}
    problems = check_accounts("payment", payload, ACCOUNTS)
    assert (problems == []) is ok
    assert all(p.case == "deposit-account-type" for p in problems)
