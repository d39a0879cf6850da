"""More of QBO's rules (ref §2, §4) and the rest of the control API."""

import requests

from emulator.testing import fault_of


def _expense_line(qbo_http, account="Bank Charges & Fees"):
    return [{"Amount": 1, "DetailType": "AccountBasedExpenseLineDetail",
             "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo_http.account_id(account)}}}]


def test_it_requires_paymenttype_on_purchase(qbo_http):
    """ref §2 2020 with element PaymentType."""
    response = qbo_http.post("/purchase", {"AccountRef": {"value": qbo_http.account_id("Checking")},
                                           "Line": _expense_line(qbo_http)})
    assert fault_of(response)["code"] == "2020" and fault_of(response)["element"] == "PaymentType"


def test_it_accepts_a_cash_purchase_from_a_bank_account(qbo_http):
    """ref §4 Purchase: Bank for Cash or Check."""
    purchase = qbo_http.create("Purchase", {"PaymentType": "Cash", "AccountRef": {"value": qbo_http.account_id("Checking")},
                                            "Line": _expense_line(qbo_http)})
    assert purchase["AccountRef"]["name"] == "Checking"


def test_it_refuses_a_check_purchase_from_a_credit_card(qbo_http):
    """ref §4 Purchase: Check needs a Bank AccountRef -> Invalid account type."""
    response = qbo_http.post("/purchase", {"PaymentType": "Check", "AccountRef": {"value": qbo_http.account_id("Visa Card")},
                                           "Line": _expense_line(qbo_http)})
    assert fault_of(response)["code"] == "6430"


def test_it_refuses_an_item_expense_account_of_payable_type(qbo_http):
    """ref §4 Item: A/P account -> "Invalid account type" (item text)."""
    response = qbo_http.post("/item", {"Name": "Buy", "Type": "NonInventory",
                                       "ExpenseAccountRef": {"value": qbo_http.account_id("Accounts Payable (A/P)")}})
    assert "like Accounts Receivable and Accounts Payable" in fault_of(response)["Detail"]


def test_it_refuses_an_invalid_item_type(qbo_http):
    """ref §2 2170 Invalid Enumeration; ref §4 Item Type Service/NonInventory/Inventory."""
    response = qbo_http.post("/item", {"Name": "Group", "Type": "Group"})
    assert fault_of(response)["code"] == "2170"


def test_it_answers_6080_without_any_name(qbo_http):
    """ref §4 Customer: DisplayName or a name part, otherwise 6080."""
    assert fault_of(qbo_http.post("/customer", {"CompanyName": "No Person"}))["code"] == "6080"


def test_it_builds_displayname_from_name_parts(qbo_http):
    """ref §4 Customer: one of Title/GivenName/MiddleName/FamilyName/Suffix suffices."""
    assert qbo_http.customer(None, GivenName="Ana", FamilyName="Pop")["DisplayName"] == "Ana Pop"


def test_it_answers_2210_for_a_bad_email(qbo_http):
    """ref §4 Customer: PrimaryEmailAddr must contain @ and . (else 2210)."""
    response = qbo_http.post("/customer", {"DisplayName": "Mail", "PrimaryEmailAddr": {"Address": "nobody"}})
    assert fault_of(response)["code"] == "2210"


def test_it_answers_2040_for_a_tab_in_a_name(qbo_http):
    """ref §4: names may not contain ':', tab or newline."""
    assert fault_of(qbo_http.post("/vendor", {"DisplayName": "Tab\tName"}))["code"] == "2040"


def test_it_answers_620_for_another_customers_invoice(qbo_http):
    """ref §2 620: a payment linked to another customer's invoice."""
    invoice = qbo_http.invoice(qbo_http.customer("Owner")["Id"])
    payer = qbo_http.customer("Payer")
    response = qbo_http.post("/payment", {"CustomerRef": {"value": payer["Id"]}, "TotalAmt": 10, "Line": [
        {"Amount": 10, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert fault_of(response)["code"] == "620"


def test_it_refuses_a_payment_above_the_open_balance(qbo_http):
    """error-cases credit-exceeds-balance: more than the invoice's open balance -> 6000."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 50)
    response = qbo_http.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 60, "Line": [
        {"Amount": 60, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert fault_of(response)["code"] == "6000"


def test_it_refuses_a_deposit_account_of_the_wrong_type(qbo_http):
    """ref §4 Payment: DepositToAccountRef must be Bank or Other Current Asset."""
    customer = qbo_http.customer()
    response = qbo_http.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5,
                                          "DepositToAccountRef": {"value": qbo_http.account_id("Services")}})
    assert fault_of(response)["code"] == "6430"


def test_it_requires_deposit_account_on_refund_receipt(qbo_http):
    """ref §4 RefundReceipt: DepositToAccountRef required."""
    response = qbo_http.post("/refundreceipt", {"Line": [{"Amount": 5, "DetailType": "SalesItemLineDetail",
                                                          "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]})
    assert fault_of(response)["element"] == "DepositToAccountRef"


def test_it_refuses_a_duplicate_account_name(qbo_http):
    """ref §4 Account: Name unique."""
    response = qbo_http.post("/account", {"Name": "Checking", "AccountType": "Bank"})
    assert fault_of(response)["code"] == "6240"


def test_it_creates_an_account_from_its_subtype(qbo_http):
    """ref §4 Account: AccountType or AccountSubType; Classification read-only."""
    account = qbo_http.create("Account", {"Name": "Consulting", "AccountSubType": "ServiceFeeIncome"})
    assert account["AccountType"] == "Income" and account["Classification"] == "Revenue"


def test_it_limits_payment_method_names_to_31_chars(qbo_http):
    """ref §4 PaymentMethod: Name <= 31."""
    assert fault_of(qbo_http.post("/paymentmethod", {"Name": "p" * 32}))["code"] == "2050"


def test_it_answers_inactive_item_with_2500(qbo_http):
    """ref §2 2500 with the "made inactive" text for an inactive item."""
    item = qbo_http.create("Item", {"Name": "Old", "Type": "Service",
                                    "IncomeAccountRef": {"value": qbo_http.account_id("Services")}})
    qbo_http.create("Item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [
        {"Amount": 1, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}]})
    assert fault_of(response)["code"] == "2500" and "made inactive" in fault_of(response)["Detail"]


def test_it_answers_3200_without_authorization(qbo_http):
    """ref §2 3200 (401, gateway shape) when no bearer token is sent."""
    response = requests.get(qbo_http.url("/preferences"), headers={"Accept": "application/json"}, timeout=5)
    assert response.status_code == 401 and response.json()["fault"]["error"][0]["code"] == "3200"


def test_it_answers_faults_as_xml_without_accept_json(qbo_http):
    """ref §1: without Accept JSON the answer (a Fault too) is XML."""
    response = qbo_http.get("/invoice/77", headers={"Authorization": "Bearer " + qbo_http.token})
    assert '<Error code="610"' in response.text and response.status_code == 400


def test_it_requires_application_text_for_posted_queries(qbo_http):
    """ref §5: a query sent by POST uses an application/text body."""
    response = qbo_http.post("/query", data="select * from Item", headers=qbo_http.headers())
    assert fault_of(response)["code"] == "4000"


def test_it_reads_naive_cdc_timestamps_in_company_time(qbo_http, emu):
    """ref §6 + client libraries: a timestamp without offset is the company's (Pacific) time (L)."""
    qbo_http.customer()
    clock = emu.control("GET", "/clock").json()["now"]  # e.g. 2026-11-25T20:00:00-08:00
    naive_now_utc = clock[:19]  # the same wall-clock digits read as Pacific: still "now"
    blocks = qbo_http.get("/cdc", {"entities": "Customer", "changedSince": naive_now_utc}).json()
    assert blocks["CDCResponse"][0]["QueryResponse"][0]["Customer"]


def test_it_issues_test_tokens_for_a_realm(emu):
    """Test-only shortcut: POST /__emulator__/tokens {"realm_id"} -> a token pair."""
    other = emu.control("POST", "/companies", json={}).json()["realm_id"]
    tokens = emu.control("POST", "/tokens", json={"realm_id": other}).json()
    assert tokens["realm_id"] == other and tokens["expires_in"] == 3600
    response = requests.get(emu.api_url(other) + "/preferences", headers=emu.headers(tokens["access_token"]), timeout=5)
    assert response.status_code == 200


def test_it_injects_faults_into_batch_items(emu, qbo_http):
    """api.md §3 faults match entity/operation inside a batch too (per item)."""
    emu.control("POST", "/faults", json={"match": {"entity": "customer", "operation": "create"}, "code": "6240"})
    response = qbo_http.post("/batch", {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch Fault"}}]})
    assert response.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "6240"


def test_it_injects_gateway_faults_by_code(emu, qbo_http):
    """api.md §3 code -> realistic fault: 3001 is the 429 XML throttle, 3200 the 401 gateway shape."""
    emu.control("POST", "/faults", json={"code": "3001"})
    emu.control("POST", "/faults", json={"code": "3200"})
    throttled = qbo_http.get("/preferences")
    assert throttled.status_code == 429 and "ThrottleExceeded" in throttled.text
    assert qbo_http.get("/preferences").status_code == 401


def test_it_refuses_a_body_of_the_wrong_shape(qbo_http):
    """ref §2 shape: a Fault (400), never a crash, for a detail that isn't an object (2010, L)."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": 1, "SalesItemLineDetail": "x"}]})
    assert response.status_code == 400 and fault_of(response)["element"] == "Line.SalesItemLineDetail"
    assert fault_of(qbo_http.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": "abc"}))["code"] == "2010"


def test_it_frees_a_name_when_its_customer_is_renamed(qbo_http):
    """ref §4 Customer: names are unique; the lookups that check it follow a rename."""
    customer = qbo_http.customer("Old Name Ltd")
    qbo_http.post("/customer", {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True,
                                "DisplayName": "New Name Ltd"}).raise_for_status()
    assert qbo_http.customer("Old Name Ltd")["DisplayName"] == "Old Name Ltd"
    assert fault_of(qbo_http.post("/customer", {"DisplayName": "new name ltd"}))["code"] == "6240"


def test_it_frees_a_doc_number_when_its_invoice_is_deleted(qbo_http):
    """error-cases duplicate-doc-number: only live sales forms hold a number."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], DocNumber="INV-7")
    line = {"Amount": 5, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 5}}
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
    assert fault_of(qbo_http.post("/invoice", dict(body, DocNumber="inv-7")))["code"] == "6140"
    qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
                  params={"operation": "delete"}).raise_for_status()
    assert qbo_http.create("Invoice", dict(body, DocNumber="INV-7"))["DocNumber"] == "INV-7"


def test_it_follows_a_payment_edit_in_the_open_balance(qbo_http):
    """error-cases credit-exceeds-balance: what a payment applies frees up when it is reduced."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 50)

    def pay(amount, **fields):
        return {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": amount, **fields,
                "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}

    first = qbo_http.create("Payment", pay(40))
    assert fault_of(qbo_http.post("/payment", pay(20)))["code"] == "6000"
    qbo_http.create("Payment", pay(30, Id=first["Id"], SyncToken=first["SyncToken"]))
    qbo_http.create("Payment", pay(20))
    assert qbo_http.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 0
