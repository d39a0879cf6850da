import json

import pytest

from emulator import faults as F
from qbo.quickbooks.api.errors import parse_fault
from qbo.quickbooks.models import SyncError
from qbo.quickbooks.problems.catalogue import (
    BULK_ACTIONS,
    CASES,
    CATEGORIES,
    RECORD_CATEGORY,
    ROW_ACTIONS,
    Recognised,
    actions_for,
    category_for,
    explain,
    explain_error,
    localised,
    recognise,
)

# Every id of error-cases.md, in its order.
DOC_CASES = ["unsynced", "account-no-match", "duplicates-in-qbo", "duplicate-name", "customer-deleted",
             "duplicate-doc-number", "invalid-item-ref", "credit-exceeds-balance", "expense-account-type",
             "item-account-type", "string-length", "service-error", "line-description-fallback",
             "description-to-memo", "no-permission", "deleted-invoice-no-resync"]


def fault(code, message, detail="", element="", status=400, type_="ValidationFault"):
    body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
                      "type": type_}, "time": "2026-11-26T04:00:00.000-08:00"}
    return parse_fault(status, json.dumps(body), "application/json")


def emulated(qbo_fault):
    return parse_fault(qbo_fault.status, json.dumps(qbo_fault.body()), "application/json")


def test_it_has_a_case_for_every_documented_id():
    assert set(DOC_CASES) <= set(CASES)


@pytest.mark.parametrize("case", CASES.values(), ids=lambda c: c.id)
def test_it_explains_every_case_and_offers_skip(case):
    assert case.title and case.explanation and case.fix
    assert "skip" in case.actions
    assert set(case.actions) <= set(ROW_ACTIONS + BULK_ACTIONS)
    assert case.severity in ("error", "warning", "info")
    assert set(case.categories) <= set(CATEGORIES)


def test_it_marks_the_warning_and_info_cases():
    assert CASES["line-description-fallback"].severity == "warning"
    assert CASES["description-to-memo"].severity == "info"
    assert CASES["duplicate-name"].severity == "error"


def test_it_offers_the_documented_actions():
    assert {"create_customer", "link_customer", "create_missing_customers"} <= set(CASES["account-no-match"].actions)
    assert "resync_case" in CASES["invalid-item-ref"].actions
    assert "recreate" in CASES["deleted-invoice-no-resync"].actions
    assert {"resync", "skip"} <= set(CASES["modified-in-qbo"].actions)
    assert CASES["qbo-fault"].actions == ("resync", "skip")


def test_it_maps_every_record_type_to_a_category():
    assert set(RECORD_CATEGORY.values()) == set(CATEGORIES)
    assert category_for("credit_note") == "invoices"
    assert category_for("processor_fee") == "expenses"
    with pytest.raises(ValueError):
        category_for("vendor")


def test_it_drops_customer_actions_where_there_is_no_account():
    assert "link_customer" not in actions_for("duplicate-name", "service")
    assert "create_missing_customers" not in actions_for("account-no-match", "invoice")
    assert "create_missing_customers" in actions_for("account-no-match", "account")


def test_it_offers_rename_and_reactivate_only_when_the_facts_name_their_holder():
    vendor = {"holder": "vendor", "holder_active": True, "holder_id": "3", "name": "Sam", "proposed_name": "Sam (client)"}
    inactive = {"holder": "customer", "holder_active": False, "holder_id": "4", "name": "Sam"}
    assert not {"rename_customer", "reactivate_customer"} & set(actions_for("duplicate-name", "account"))
    assert "rename_customer" in actions_for("duplicate-name", "account", vendor)
    assert "reactivate_customer" not in actions_for("duplicate-name", "account", vendor)
    assert "reactivate_customer" in actions_for("duplicate-name", "account", inactive)
    assert not {"rename_customer", "reactivate_customer"} & set(actions_for("duplicate-name", "payment", vendor))


def test_it_says_an_inactive_customer_holds_the_name():
    facts = {"holder": "customer", "holder_active": False, "name": "Dana Cole"}
    assert explain("duplicate-name", "en", **facts).startswith(
        'An inactive customer in QuickBooks already uses the name "Dana Cole".')
    assert explain("duplicate-name", "ro", **facts).startswith(
        "Un client inactiv din QuickBooks folosește deja numele „Dana Cole”.")


@pytest.mark.parametrize("record_type, error, case", [
    ("account", emulated(F.duplicate_name()), "duplicate-name"),
    ("payment", emulated(F.duplicate_name()), "duplicate-name"),
    ("service", emulated(F.duplicate_name("Item")), "service-error"),
    ("invoice", emulated(F.duplicate_doc_number("1001", "Invoice", "7")), "duplicate-doc-number"),
    ("credit_note", emulated(F.duplicate_doc_number("1001", "Invoice", "7")), "duplicate-doc-number"),
    ("invoice", emulated(F.invalid_reference("Line.SalesItemLineDetail.ItemRef")), "invalid-item-ref"),
    ("payment", emulated(F.inactive_reference("Line.SalesItemLineDetail.ItemRef")), "invalid-item-ref"),
    ("invoice", emulated(F.invalid_customer()), "customer-deleted"),
    ("refund", emulated(F.invalid_customer()), "customer-deleted"),
    ("payment", emulated(F.not_found()), "customer-deleted"),
    ("invoice", emulated(F.invalid_reference("CustomerRef")), "customer-deleted"),
    ("invoice", emulated(F.not_found(deleted=True)), "deleted-invoice-no-resync"),
    ("payment", emulated(F.not_found(deleted=True)), "unsynced"),
    ("payment", emulated(F.invalid_reference("Line.LinkedTxn.TxnId")), "unsynced"),
    ("payment", emulated(F.business("The Amount Received (plus credits) can't be less than the selected "
                                    "charges")), "credit-exceeds-balance"),
    ("payment", emulated(F.business("The selected charges can't be less than the credits applied.")),
     "credit-exceeds-balance"),
    ("processor_fee", emulated(F.invalid_account_type()), "expense-account-type"),
    ("service", emulated(F.invalid_account_type("IncomeAccountRef", item=True)), "item-account-type"),
    ("payment", emulated(F.invalid_account_type("DepositToAccountRef")), "deposit-account-type"),
    ("invoice", emulated(F.string_length("DocNumber", 21, 25)), "string-length"),
    ("account", emulated(F.invalid_string("DisplayName", "a:b")), "string-length"),
    ("account", emulated(F.invalid_email("PrimaryEmailAddr.Address")), "string-length"),
    ("invoice", emulated(F.required("Line")), "required-field"),
    ("service", emulated(F.unsupported("Create")), "service-error"),
    ("invoice", emulated(F.stale()), "modified-in-qbo"),
    ("invoice", emulated(F.amount_calc("58")), "qbo-fault"),
    ("refund", emulated(F.system_fault()), "qbo-fault"),
])
def test_it_recognises_emulator_faults(record_type, error, case):
    assert recognise(error, record_type=record_type).case == case


def test_it_recognises_the_reference_texts():
    dup = fault("6240", "Duplicate Name Exists Error", "The name supplied already exists. : Another customer, "
                "vendor or employee is already using this name. Please use a different name.")
    assert recognise(dup, record_type="account").category == "accounts"
    assert recognise(dup, record_type="payment").category == "payments"
    # "Invalid account type" may come as 6000 (reference "Could not confirm" 1): the text decides.
    typed = fault("6000", "A business validation error has occurred while processing your request",
                  "Business Validation Error: Invalid account type: You need to select a different type "
                  "of account for this transaction.")
    assert recognise(typed, record_type="processor_fee").case == "expense-account-type"


def test_it_tells_a_vendor_holding_the_name_when_qbo_says_so():
    error = fault("6240", "Duplicate Name Exists Error",
                  "The name supplied already exists. : Another vendor is already using this name.")
    found = recognise(error, record_type="account")
    assert found.facts["holder"] == "vendor"
    assert explain(found.case, **found.facts).startswith("A vendor in QuickBooks already uses the name.")


def test_it_does_not_take_an_invalid_number_for_a_string_length():
    error = fault("2050", "Invalid Number", "Invalid Number : abc", "Line.Amount")
    assert recognise(error, record_type="invoice").case == "qbo-fault"


def test_it_keeps_an_unknown_fault_whole_under_its_records_category():
    error = fault("9999", "Something new", "Never seen before", "Foo.Bar")
    found = recognise(error, record_type="refund")
    assert found == Recognised("qbo-fault", "refunds", "9999", "Something new", "Never seen before", "Foo.Bar")
    assert "Something new (Never seen before)" in explain(found.case, **found.facts)


def test_it_recognises_a_gateway_fault_as_a_plain_fault():
    body = {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                 "detail": "Token expired: abc", "code": "3200", "element": None}],
                      "type": "AUTHENTICATION"}, "time": 1633520295688}
    found = recognise(parse_fault(401, json.dumps(body)), record_type="account")
    assert (found.case, found.category, found.code) == ("qbo-fault", "accounts", "3200")


def test_it_recognises_a_fault_without_a_body():
    error = parse_fault(502, "<html><title>Bad Gateway</title></html>", "text/html")
    found = recognise(error, record_type="invoice")
    assert (found.case, found.code) == ("qbo-fault", None)
    assert "Bad Gateway" in found.message


def test_it_picks_the_entry_that_names_a_case_and_keeps_the_others():
    body = {"Fault": {"type": "ValidationFault", "Error": [
        {"Message": "Something odd", "Detail": "odd detail", "code": "7777"},
        {"Message": "Duplicate Document Number Error", "Detail": "DocNumber=12 is assigned to "
         "TxnType=CreditMemo with TxnId=3", "code": "6140", "element": ""}]}}
    found = recognise(parse_fault(400, json.dumps(body)), record_type="invoice")
    assert (found.case, found.code) == ("duplicate-doc-number", "6140")
    assert "7777 Something odd (odd detail)" in found.detail
    assert found.facts["txn_type"] == "CreditMemo"


def test_it_names_the_field_value_and_limit_of_a_string_length_fault():
    found = recognise(emulated(F.string_length("DocNumber", 21, 25)), record_type="invoice",
                      payload={"DocNumber": "INV-2026-11-26-0000042"})
    text = explain(found.case, **found.facts)
    assert text.startswith('Invoice number (DocNumber) "INV-2026-11-26-0000042" is 25 characters; '
                           "QuickBooks allows at most 21.")


def test_it_explains_which_dependency_was_deleted():
    assert explain("unsynced", dependency="customer").startswith(
        "The customer this record depends on was deleted in QuickBooks.")
    assert explain("unsynced") == CASES["unsynced"].explanation


def test_it_explains_a_stored_error_from_its_raw_words():
    error = SyncError(case="string-length", record_type="service", qbo_code="2050",
                      message="String length is either shorter or longer than supported by specification",
                      detail="String length specified does not match the supported length. Min:0 Max:100 "
                             "supported. Supplied length: 104", element="Name")
    assert explain_error(error).startswith("Service name (Name) is 104 characters; QuickBooks allows at most 100.")


def test_it_points_at_the_payment_method_on_a_payment():
    payload = {"Payment": {"CustomerRef": {"value": "1"}, "TotalAmt": 5,
                           "PaymentMethodRef": {"value": "7", "name": "ACH"}}}
    found = recognise(emulated(F.duplicate_name()), record_type="payment", payload=payload)
    assert explain(found.case, **found.facts).startswith(
        'The payment method "ACH" is probably marked as a credit card in QuickBooks.')


def test_it_names_the_clashing_account_name():
    found = recognise(emulated(F.duplicate_name()), record_type="account", payload={"DisplayName": "John Doe"})
    assert found.facts["name"] == "John Doe"


def test_it_finds_the_long_line_description_in_the_payload():
    payload = {"Line": [{"Description": "short"}, {"Description": "d" * 4006}]}
    found = recognise(emulated(F.string_length("Line.Description", 4000, 4006)), record_type="invoice",
                      payload=payload)
    assert found.facts["value"] == "d" * 4006 and found.facts["limit"] == 4000


@pytest.mark.parametrize("case_id", CASES)
def test_it_has_romanian_texts_for_every_case(case_id):
    ro = localised(case_id, "ro")
    assert ro.title and ro.explanation and ro.fix
    assert ro.explanation != CASES[case_id].explanation and ro.actions == CASES[case_id].actions


def test_it_explains_in_romanian_with_facts():
    assert explain("unsynced", "ro", dependency="invoice").startswith(
        "Factura de care depinde înregistrarea a fost ștearsă în QuickBooks.")
    assert explain("string-length", "ro", field="Invoice number (DocNumber)", limit=21, length=25).startswith(
        "Invoice number (DocNumber) are 25 de caractere; QuickBooks permite cel mult 21.")
    assert explain("unsynced", "de") == CASES["unsynced"].explanation


def test_it_explains_a_stored_preflight_problem_with_its_own_message():
    error = SyncError(case="string-length", record_type="invoice", qbo_code=None, detail=None,
                      message='Invoice number (DocNumber) "INV-2026-11-26-0000042" is 22 characters; '
                              "QuickBooks allows at most 21", element="DocNumber")
    assert explain_error(error).startswith('Invoice number (DocNumber) "INV-2026-11-26-0000042" is 22 '
                                           "characters; QuickBooks allows at most 21. A field of this record")


def test_it_explains_a_stored_unsynced_error_from_its_dependency():
    error = SyncError(case="unsynced", record_type="payment", qbo_code=None, detail=None, message="",
                      element="invoice")
    assert explain_error(error, "ro").startswith("Factura de care depinde înregistrarea a fost ștearsă")


def test_it_does_not_repeat_an_explanation_stored_as_the_message():
    stored = explain("unsynced", dependency="customer")
    error = SyncError(case="unsynced", record_type="invoice", qbo_code=None, detail=None, message=stored,
                      element=None)
    assert explain_error(error) == stored
