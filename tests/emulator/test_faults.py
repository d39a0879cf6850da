"""Faults with QBO's real shapes (ref §2)."""

import requests

from emulator.testing import fault_of


def _line(amount=10, qty=1, price=None, item="1"):
    return {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": qty,
                                    "UnitPrice": amount if price is None else price}}


def test_it_uses_the_data_service_fault_shape(qbo_http):
    """ref §2: {"Fault":{"Error":[{Message,Detail,code(string),element}],"type"},"time"}, 400."""
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": qbo_http.customer()["Id"]}})
    body = response.json()
    assert response.status_code == 400 and body["Fault"]["type"] == "ValidationFault"
    error = body["Fault"]["Error"][0]
    assert error["code"] == "2020" and isinstance(error["code"], str) and error["element"] == "Line"
    assert error["Detail"] == "Required parameter Line is missing in the request"
    assert "time" in body


def test_it_answers_2040_for_a_colon_in_a_name(qbo_http):
    """ref §2 2040 Invalid String; ref §4: names may not contain ':'."""
    assert fault_of(qbo_http.post("/customer", {"DisplayName": "a:b"}))["code"] == "2040"


def test_it_answers_2050_with_comma_formatted_lengths(qbo_http):
    """ref §2 2050: "Min:0 Max:4,000 supported. Supplied length: 4,006", element = field."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()],
                                          "PrivateNote": "x" * 4006})
    error = fault_of(response)
    assert error["code"] == "2050" and error["element"] == "PrivateNote"
    assert error["Detail"].endswith("Min:0 Max:4,000 supported. Supplied length: 4,006")


def test_it_limits_docnumber_to_21_chars(qbo_http):
    """ref §4: DocNumber <= 21."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()],
                                          "DocNumber": "1" * 22})
    assert fault_of(response)["element"] == "DocNumber" and "Max:21" in fault_of(response)["Detail"]


def test_it_limits_item_names_to_100_chars(qbo_http):
    """ref §4 Item: Name <= 100."""
    response = qbo_http.post("/item", {"Name": "n" * 101, "Type": "Service",
                                       "IncomeAccountRef": {"value": qbo_http.account_id("Services")}})
    assert fault_of(response)["code"] == "2050"


def test_it_answers_2500_for_an_unknown_item(qbo_http):
    """ref §2 2500 Invalid Reference Id : Line.SalesItemLineDetail.ItemRef."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(item="999")]})
    error = fault_of(response)
    assert error["code"] == "2500" and error["element"] == "Line.SalesItemLineDetail.ItemRef"


def test_it_answers_6000_when_payment_lines_exceed_totalamt(qbo_http):
    """ref §4 Payment: line amounts above TotalAmt -> 6000 "Amount Received (plus credits)"."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 100)
    response = qbo_http.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 50, "Line": [
        {"Amount": 80, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert fault_of(response)["code"] == "6000"
    assert "Amount Received (plus credits) can't be less than the selected charges" in fault_of(response)["Detail"]


def test_it_answers_6000_when_credit_exceeds_remaining_credit(qbo_http):
    """error-cases credit-exceeds-balance: a credit above the memo's RemainingCredit -> 6000."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 100)
    memo = qbo_http.credit_memo(customer["Id"], 10)
    response = qbo_http.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 70, "Line": [
        {"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]})
    assert fault_of(response)["code"] == "6000"


def test_it_answers_6070_when_amount_is_not_qty_times_price(qbo_http):
    """ref §2 6070: "Amount is not equal to UnitPrice * Qty. Supplied value:58", element Line.Amount."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]},
                                          "Line": [_line(58, qty=2, price=30)]})
    error = fault_of(response)
    assert error["code"] == "6070" and error["element"] == "Line.Amount"
    assert error["Detail"] == "Amount is not equal to UnitPrice * Qty. Supplied value:58"


def test_it_answers_6070_for_an_amount_that_only_rounds_to_qty_times_price(qbo_http):
    """ref §2 6070 ("Supplied value:<as sent>"): the Amount as sent must be round_half_up(Qty x
    UnitPrice, 0.01); 5.025 and 5.034 are not 0.5 x 10.05 = 5.025 -> 5.03 (stricter, README)."""
    customer = qbo_http.customer()

    def send(amount):
        body = ('{"CustomerRef": {"value": "%s"}, "Line": [{"Amount": %s, "DetailType": "SalesItemLineDetail", '
                '"SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 0.5, "UnitPrice": 10.05}}]}')
        return qbo_http.post("/invoice", data=body % (customer["Id"], amount),
                             headers=qbo_http.headers(**{"Content-Type": "application/json"}))

    for amount in ("5.025", "5.034"):
        assert fault_of(send(amount))["Detail"] == f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}"
    assert send("5.030").json()["Invoice"]["TotalAmt"] == 5.03


def test_it_answers_6140_for_a_duplicate_invoice_number(qbo_http):
    """ref §2 6140 Duplicate Document Number Error with DocNumber, TxnType and TxnId."""
    customer = qbo_http.customer()
    first = qbo_http.invoice(customer["Id"], DocNumber="INV-7")
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()],
                                          "DocNumber": "INV-7"})
    assert fault_of(response)["code"] == "6140"
    assert f"DocNumber=INV-7 is assigned to TxnType=Invoice with TxnId={first['Id']}" in fault_of(response)["Detail"]


def test_it_answers_6140_for_an_invoice_number_equal_to_a_credit_memos(qbo_http):
    """error-cases duplicate-doc-number (2): the number equals a QBO credit memo's number."""
    customer = qbo_http.customer()
    qbo_http.credit_memo(customer["Id"], DocNumber="5001")
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()],
                                          "DocNumber": "5001"})
    assert fault_of(response)["code"] == "6140" and "TxnType=CreditMemo" in fault_of(response)["Detail"]


def test_it_skips_6140_with_include_allowduplicatedocnum(qbo_http):
    """ref §1: include=allowduplicatedocnum skips the 6140 check."""
    customer = qbo_http.customer()
    qbo_http.invoice(customer["Id"], DocNumber="D-1")
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()],
                                          "DocNumber": "D-1"}, {"include": "allowduplicatedocnum"})
    assert response.status_code == 200


def test_it_answers_6240_for_a_name_used_by_a_vendor(qbo_http):
    """ref §4: DisplayName unique across Customer, Vendor and Employee (6240)."""
    qbo_http.create("Vendor", {"DisplayName": "John Doe"})
    error = fault_of(qbo_http.post("/customer", {"DisplayName": "John Doe"}))
    assert error["code"] == "6240" and error["Message"] == "Duplicate Name Exists Error"
    assert "Another customer, vendor or employee is already using this name" in error["Detail"]


def test_it_answers_6240_for_a_name_of_an_inactive_employee(qbo_http):
    """ref §4: inactive records count too for name uniqueness (M)."""
    employee = qbo_http.create("Employee", {"GivenName": "Jane", "FamilyName": "Roe"})
    qbo_http.create("Employee", {"Id": employee["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert fault_of(qbo_http.post("/customer", {"DisplayName": "Jane Roe"}))["code"] == "6240"


def test_it_answers_6240_for_a_duplicate_item_name(qbo_http):
    """ref §4 Item: Name unique among Items."""
    income = {"value": qbo_http.account_id("Services")}
    qbo_http.create("Item", {"Name": "Audit", "Type": "Service", "IncomeAccountRef": income})
    response = qbo_http.post("/item", {"Name": "Audit", "Type": "Service", "IncomeAccountRef": income})
    assert fault_of(response)["code"] == "6240"
    assert qbo_http.post("/customer", {"DisplayName": "Audit"}).status_code == 200


def test_it_answers_6250_for_an_inactive_customer_on_a_transaction(qbo_http):
    """ref §2 6250 Invalid Customer (best guess, M): deleted/inactive customer on a transaction."""
    customer = qbo_http.customer()
    qbo_http.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line()]})
    assert fault_of(response)["code"] == "6250"
    assert "has been deleted" in fault_of(response)["Detail"]


def test_it_answers_6250_when_editing_a_transaction_of_an_inactive_customer(qbo_http, emu):
    """ref §2 6250 text: "You cannot create or edit a transaction with a deleted customer" (stricter)."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"])
    emu.control("DELETE", f"/companies/{qbo_http.realm_id}/Customer/{customer['Id']}?force=true")
    response = qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"],
                                          "sparse": True, "PrivateNote": "x"})
    assert fault_of(response)["code"] == "6250"


def test_it_answers_invalid_account_type_for_purchase(qbo_http):
    """ref §4 Purchase: CreditCard needs a Credit Card AccountRef -> "Invalid account type" (6430, M)."""
    response = qbo_http.post("/purchase", {
        "PaymentType": "CreditCard", "AccountRef": {"value": qbo_http.account_id("Checking")},
        "Line": [{"Amount": 1, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo_http.account_id("Merchant Fees")}}}]})
    error = fault_of(response)
    assert error["code"] == "6430" and error["Detail"].startswith("Invalid account type")


def test_it_answers_invalid_account_type_for_item_on_receivable(qbo_http):
    """ref §4 Item: an income account of A/R type -> "Invalid account type" (item text)."""
    response = qbo_http.post("/item", {"Name": "Bad", "Type": "Service",
                                       "IncomeAccountRef": {"value": qbo_http.account_id("Accounts Receivable (A/R)")}})
    error = fault_of(response)
    assert error["code"] == "6430" and "Accounts Receivable and Accounts Payable" in error["Detail"]


def test_it_requires_income_account_for_service_items(qbo_http):
    """ref §4 Item: IncomeAccountRef required for Service (2020)."""
    error = fault_of(qbo_http.post("/item", {"Name": "NoAcct", "Type": "Service"}))
    assert error["code"] == "2020" and error["element"] == "IncomeAccountRef"


def test_it_answers_3200_in_gateway_shape_for_a_bad_token(qbo_http):
    """ref §2: 401 gateway shape, lower-case keys, epoch-ms time, code 3200."""
    response = qbo_http.get("/customer/1", headers=qbo_http.headers(Authorization="Bearer " + "x" * 40))
    body = response.json()
    assert response.status_code == 401 and body["fault"]["type"] == "AUTHENTICATION"
    error = body["fault"]["error"][0]
    assert error["code"] == "3200" and "errorCode=003200; statusCode=401" in error["message"]
    assert isinstance(body["time"], int)


def test_it_answers_3200_token_expired_after_an_hour(qbo_http, emu):
    """ref §9: access tokens last 1 h; ref §2 3200 Detail "Token expired: <tok>"."""
    emu.control("POST", "/clock", json={"advance_seconds": 3600})
    response = qbo_http.get("/customer/1")
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["detail"] == "Token expired: " + qbo_http.token


def test_it_answers_3200_malformed_for_a_short_token(qbo_http):
    """ref §2 3200: "Malformed bearer token: too short or too long"."""
    response = qbo_http.get("/customer/1", headers=qbo_http.headers(Authorization="Bearer abc"))
    assert response.json()["fault"]["error"][0]["detail"] == "Malformed bearer token: too short or too long"


def test_it_answers_3100_for_another_realm(qbo_http, emu):
    """ref §2: 403, code 3100, type SERVICE (wrong realm)."""
    other = emu.control("POST", "/companies", json={"name": "Other"}).json()["realm_id"]
    response = requests.get(emu.api_url(other) + "/customer/1", headers=qbo_http.headers(), timeout=5)
    assert response.status_code == 403
    assert response.json()["fault"]["error"][0]["code"] == "3100"
    assert response.json()["fault"]["type"] == "SERVICE"


def test_it_answers_6190_when_the_subscription_ended(qbo_http, emu):
    """ref §2 6190 Invalid Company Status (company flag; extension of the control API)."""
    emu.control("PATCH", f"/companies/{qbo_http.realm_id}", json={"subscription_active": False})
    response = qbo_http.post("/customer", {"DisplayName": "Late"})
    assert response.status_code == 400 and fault_of(response)["code"] == "6190"


def test_it_answers_500_for_an_unknown_path(qbo_http):
    """ref §2 500 Unsupported Operation for an unknown path."""
    assert fault_of(qbo_http.get("/widget/1"))["code"] == "500"
