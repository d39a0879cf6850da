"""Entities: create, read, update, delete, void and their computed values (ref §1, §4)."""

from emulator.testing import fault_of


def test_it_returns_id_synctoken_metadata_on_create(qbo_http):
    """ref §1: string Id, SyncToken "0", domain QBO, sparse false, MetaData, 200 + time."""
    response = qbo_http.post("/customer", {"DisplayName": "Acme Ltd"})
    assert response.status_code == 200
    body = response.json()
    customer = body["Customer"]
    assert isinstance(customer["Id"], str) and customer["SyncToken"] == "0"
    assert customer["domain"] == "QBO" and customer["sparse"] is False
    assert {"CreateTime", "LastUpdatedTime"} <= set(customer["MetaData"])
    assert body["time"].endswith("-08:00")


def test_it_reads_a_record_by_id(qbo_http):
    """ref §1: GET .../{entity}/{Id}."""
    created = qbo_http.customer("Reader")
    response = qbo_http.get(f"/customer/{created['Id']}")
    assert response.json()["Customer"]["DisplayName"] == "Reader"


def test_it_answers_610_for_an_unknown_id(qbo_http):
    """ref §2 610 Object Not Found, HTTP 400 (Could not confirm 7: assumed)."""
    response = qbo_http.get("/invoice/999")
    assert response.status_code == 400 and fault_of(response)["code"] == "610"


def test_it_increments_synctoken_on_full_update(qbo_http):
    """ref §1: SyncToken +1 per change; a full update resets fields left out."""
    created = qbo_http.customer("Full", CompanyName="Old Co", Notes="keep?")
    updated = qbo_http.create("Customer", {"Id": created["Id"], "SyncToken": "0", "DisplayName": "Full"})
    assert updated["SyncToken"] == "1"
    assert "CompanyName" not in updated and "Notes" not in updated


def test_it_changes_only_sent_fields_on_sparse_update(qbo_http):
    """ref §1 sparse update: only the fields sent change."""
    created = qbo_http.customer("Sparse", CompanyName="Kept Co")
    updated = qbo_http.create("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True,
                                           "Notes": "new"})
    assert updated["CompanyName"] == "Kept Co" and updated["Notes"] == "new"


def test_it_refuses_clearing_displayname_with_sparse_update(qbo_http):
    """ref §1: DisplayName can't be cleared with a sparse update."""
    created = qbo_http.customer("Keep Me")
    response = qbo_http.post("/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True,
                                           "DisplayName": ""})
    assert response.status_code == 400


def test_it_answers_5010_for_a_stale_synctoken(qbo_http):
    """ref §1/§2 5010 Stale Object Error."""
    created = qbo_http.customer("Stale")
    qbo_http.create("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "a"})
    response = qbo_http.post("/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True})
    assert response.status_code == 400 and fault_of(response)["code"] == "5010"
    assert fault_of(response)["Detail"].startswith("Stale Object Error : You and")


def test_it_hard_deletes_an_invoice(qbo_http):
    """ref §1 delete: answered by {Id, domain, status: Deleted}; later reads get 610."""
    invoice = qbo_http.invoice(qbo_http.customer()["Id"])
    response = qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
                             {"operation": "delete"})
    assert response.json()["Invoice"] == {"Id": invoice["Id"], "domain": "QBO", "status": "Deleted"}
    assert fault_of(qbo_http.get(f"/invoice/{invoice['Id']}"))["code"] == "610"


def test_it_refuses_delete_on_a_name_list(qbo_http):
    """ref §1: operation=delete on a name list gets 500 Unsupported Operation (HTTP 400)."""
    customer = qbo_http.customer()
    response = qbo_http.post("/customer", {"Id": customer["Id"], "SyncToken": "0"}, {"operation": "delete"})
    assert response.status_code == 400 and fault_of(response)["code"] == "500"


def test_it_deactivates_a_name_list_record(qbo_http):
    """ref §1: name lists are removed by Active:false."""
    customer = qbo_http.customer()
    updated = qbo_http.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                           "Active": False})
    assert updated["Active"] is False


def test_it_refuses_deactivating_a_customer_with_balance(qbo_http):
    """ref §1: Delete List Has Balance Error (probably 6220)."""
    customer = qbo_http.customer()
    qbo_http.invoice(customer["Id"])
    response = qbo_http.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                           "Active": False})
    assert fault_of(response)["code"] == "6220"


def test_it_computes_invoice_totalamt_and_balance(qbo_http):
    """ref §4 Invoice: TotalAmt and Balance computed, sent values overwritten."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 120, TotalAmt=1, Balance=1)
    assert invoice["TotalAmt"] == 120 and invoice["Balance"] == 120
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"


def test_it_auto_numbers_invoices_unless_custom_numbers(qbo_http, emu):
    """ref §4 Invoice DocNumber: last+1 when CustomTxnNumbers is false, null when true."""
    customer = qbo_http.customer()
    first = qbo_http.invoice(customer["Id"])
    second = qbo_http.invoice(customer["Id"])
    assert int(second["DocNumber"]) == int(first["DocNumber"]) + 1
    emu.control("PATCH", f"/companies/{qbo_http.realm_id}/preferences", json={"custom_txn_numbers": True})
    assert "DocNumber" not in qbo_http.invoice(customer["Id"])


def test_it_reduces_invoice_balance_by_payments(qbo_http):
    """ref §4 Payment/Invoice: Balance = TotalAmt - payments; LinkedTxn lists the payment."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 100)
    payment = qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 70,
                                          "Line": [{"Amount": 60, "LinkedTxn": [
                                              {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert payment["UnappliedAmt"] == 10
    read = qbo_http.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert read["Balance"] == 40
    assert read["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]


def test_it_defaults_payment_deposit_to_undeposited_funds(qbo_http):
    """ref §4 Payment: DepositToAccountRef defaults to Undeposited Funds."""
    customer = qbo_http.customer()
    payment = qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5})
    assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"


def test_it_applies_credit_memo_through_payment_line(qbo_http):
    """ref §4 CreditMemo: applied through a Payment line with TxnType CreditMemo (M)."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 100)
    memo = qbo_http.credit_memo(customer["Id"], 30)
    assert memo["RemainingCredit"] == 30
    qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 70, "Line": [
        {"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]})
    assert qbo_http.get(f"/creditmemo/{memo['Id']}").json()["CreditMemo"]["RemainingCredit"] == 0
    assert qbo_http.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 0


def test_it_voids_an_invoice(qbo_http):
    """ref §1 void: POST /invoice?operation=void with {Id, SyncToken}."""
    invoice = qbo_http.invoice(qbo_http.customer()["Id"])
    response = qbo_http.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, {"operation": "void"})
    voided = response.json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["SyncToken"] == "1"


def test_it_voids_a_payment_through_update_include_void(qbo_http):
    """ref §1 void: Payment takes operation=update&include=void; the invoice is open again."""
    customer = qbo_http.customer()
    invoice = qbo_http.invoice(customer["Id"], 50)
    payment = qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 50,
                                          "Line": [{"Amount": 50, "LinkedTxn": [
                                              {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    response = qbo_http.post("/payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"],
                                          "sparse": True}, {"operation": "update", "include": "void"})
    assert response.json()["Payment"]["TotalAmt"] == 0
    assert qbo_http.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 50


def test_it_refuses_void_on_payment_via_operation_void(qbo_http):
    """ref §1: operation=void is for Invoice; Payment voids through update&include=void."""
    customer = qbo_http.customer()
    payment = qbo_http.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5})
    response = qbo_http.post("/payment", {"Id": payment["Id"], "SyncToken": "0"}, {"operation": "void"})
    assert fault_of(response)["code"] == "500"


def test_it_creates_a_purchase_on_a_credit_card(qbo_http):
    """ref §4 Purchase: PaymentType CreditCard with a Credit Card AccountRef; TotalAmt computed."""
    purchase = qbo_http.create("Purchase", {
        "PaymentType": "CreditCard", "AccountRef": {"value": qbo_http.account_id("Stripe Card")},
        "Line": [{"Amount": 2.9, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo_http.account_id("Merchant Fees")}}}]})
    assert purchase["TotalAmt"] == 2.9


def test_it_creates_a_refund_receipt(qbo_http):
    """ref §4 RefundReceipt: Line and DepositToAccountRef (Bank) required."""
    customer = qbo_http.customer()
    refund = qbo_http.create("RefundReceipt", {
        "CustomerRef": {"value": customer["Id"]},
        "DepositToAccountRef": {"value": qbo_http.account_id("Checking")},
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]})
    assert refund["TotalAmt"] == 10


def test_it_reads_companyinfo_and_preferences(qbo_http):
    """ref §1: CompanyInfo at /companyinfo/<realm>; Preferences.SalesFormsPrefs.CustomTxnNumbers."""
    info = qbo_http.get(f"/companyinfo/{qbo_http.realm_id}").json()["CompanyInfo"]
    prefs = qbo_http.get("/preferences").json()["Preferences"]
    assert info["CompanyName"] and prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False


def test_it_updates_preferences_through_the_api(qbo_http):
    """ref §4 Invoice DocNumber depends on Preferences.SalesFormsPrefs.CustomTxnNumbers."""
    prefs = qbo_http.get("/preferences").json()["Preferences"]
    updated = qbo_http.create("Preferences", {"Id": prefs["Id"], "SyncToken": prefs["SyncToken"],
                                              "sparse": True, "SalesFormsPrefs": {"CustomTxnNumbers": True}})
    assert updated["SalesFormsPrefs"]["CustomTxnNumbers"] is True


def test_it_seeds_a_standard_chart_of_accounts(qbo_http):
    """Issue 3: each company has a standard chart of accounts and payment methods."""
    names = {a["Name"]: a["AccountType"] for a in
             qbo_http.query("select * from Account maxresults 1000").json()["QueryResponse"]["Account"]}
    assert names["Undeposited Funds"] == "Other Current Asset"
    assert names["Accounts Receivable (A/R)"] == "Accounts Receivable"
    assert names["Visa Card"] == "Credit Card" and names["Checking"] == "Bank"
    methods = qbo_http.query("select * from PaymentMethod").json()["QueryResponse"]["PaymentMethod"]
    assert {m["Name"]: m["Type"] for m in methods}["ACH"] == "NON_CREDIT_CARD"


def test_it_nests_sub_customers_at_most_4_levels(qbo_http):
    """ref §4 Customer: sub-customers (ParentRef, Job) go <= 4 levels deep."""
    parent = qbo_http.customer("Level 0")
    for level in range(1, 5):
        parent = qbo_http.customer(f"Level {level}", ParentRef={"value": parent["Id"]})
    assert parent["Job"] is True and parent["FullyQualifiedName"].count(":") == 4
    response = qbo_http.post("/customer", {"DisplayName": "Level 5", "ParentRef": {"value": parent["Id"]}})
    assert response.status_code == 400
