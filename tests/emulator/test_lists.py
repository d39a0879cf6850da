"""Every list a firm uses, and every reference resolved (issue 16 (4); ref §2 2500, ref §4)."""

import pytest

from emulator.refs import REFS
from emulator.testing import fault_of

UNKNOWN = "99999"
SALES_LINE = {"Amount": 10, "DetailType": "SalesItemLineDetail",
              "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 10}}
EXTRA_LINES = {
    "DiscountLineDetail": {"Amount": 1, "DetailType": "DiscountLineDetail", "DiscountLineDetail": {}},
    "ItemBasedExpenseLineDetail": {"Amount": 1, "DetailType": "ItemBasedExpenseLineDetail",
                                   "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "1"}}},
}


def _minimal(qbo_http, entity, customer_id):
    checking, fees = qbo_http.account_id("Checking"), qbo_http.account_id("Merchant Fees")
    sale = {"CustomerRef": {"value": customer_id}, "Line": [dict(SALES_LINE)]}
    return {
        "Customer": {"DisplayName": "Walked"}, "Vendor": {"DisplayName": "Walked"},
        "Item": {"Name": "Walked", "Type": "Service", "IncomeAccountRef": {"value": qbo_http.account_id("Services")}},
        "Account": {"Name": "Walked", "AccountType": "Expense"},
        "Class": {"Name": "Walked"}, "Department": {"Name": "Walked"},
        "Invoice": sale, "CreditMemo": sale, "SalesReceipt": sale,
        "RefundReceipt": dict(sale, DepositToAccountRef={"value": checking}),
        "Payment": {"CustomerRef": {"value": customer_id}, "TotalAmt": 1},
        "Purchase": {"PaymentType": "Cash", "AccountRef": {"value": checking},
                     "Line": [{"Amount": 1, "DetailType": "AccountBasedExpenseLineDetail",
                               "AccountBasedExpenseLineDetail": {"AccountRef": {"value": fees}}}]},
    }[entity]


def _with_unknown_ref(body, path):
    parts = path.split(".")
    if parts[0] == "Line":
        lines = body["Line"]
        line = next((l for l in lines if l["DetailType"] == parts[1]), None)
        if line is None:
            line = dict(EXTRA_LINES[parts[1]], **{parts[1]: dict(EXTRA_LINES[parts[1]][parts[1]])})
            lines.append(line)
        line[parts[1]] = dict(line[parts[1]], **{parts[2]: {"value": UNKNOWN}})
        return body
    target = body
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = {"value": UNKNOWN}
    return body


WALK = [(entity, path) for entity, paths in sorted(REFS.items()) for path in sorted(paths)]


@pytest.mark.parametrize("entity,path", WALK, ids=[f"{e}.{p}" for e, p in WALK])
def test_it_resolves_every_reference_of_every_entity(emu, qbo_http, entity, path):
    """ref §2 2500 "Invalid Reference Id : <element>": walks the entity schemas (emulator.refs.REFS)."""
    emu.control("PATCH", f"/companies/{emu.realm_id}/preferences", json={"multicurrency": True})
    customer = qbo_http.customer("Ref Walker")
    body = _with_unknown_ref(_minimal(qbo_http, entity, customer["Id"]), path)
    response = qbo_http.post("/" + entity.lower(), body)
    assert response.status_code == 400, response.text
    assert (fault_of(response)["code"], fault_of(response)["element"]) == ("2500", path)


def test_it_refuses_a_reference_into_a_list_the_company_does_not_hold(qbo_http):
    """Issue 16: a Ref no schema lists (ProjectRef) names no record of this company: 2500."""
    customer = qbo_http.customer()
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [SALES_LINE],
                                          "ProjectRef": {"value": "7"}})
    assert (fault_of(response)["code"], fault_of(response)["element"]) == ("2500", "ProjectRef")


def test_it_refuses_an_inactive_class_with_the_made_inactive_text(qbo_http):
    """ref §2 2500: "…Something you're trying to use has been made inactive…"."""
    retail = qbo_http.create("Class", {"Name": "Retail"})
    qbo_http.create("Class", {"Id": retail["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    response = qbo_http.post("/invoice", {"CustomerRef": {"value": qbo_http.customer()["Id"]},
                                          "Line": [SALES_LINE], "ClassRef": {"value": retail["Id"]}})
    error = fault_of(response)
    assert error["code"] == "2500" and "made inactive" in error["Detail"] and error["element"] == "ClassRef"


def test_it_starts_a_company_with_qbo_default_terms(qbo_http):
    """Issue 16 (4): Term list; a new company has Due on receipt, Net 15, Net 30, Net 60."""
    rows = qbo_http.query("select * from Term").json()["QueryResponse"]["Term"]
    assert [(t["Name"], t["DueDays"]) for t in rows] == [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)]


def test_it_sets_the_due_date_from_the_sales_term(qbo_http):
    """ref §4 Invoice: "DueDate defaults from SalesTermRef"."""
    net30 = next(t for t in qbo_http.query("select * from Term").json()["QueryResponse"]["Term"] if t["Name"] == "Net 30")
    invoice = qbo_http.invoice(qbo_http.customer()["Id"], TxnDate="2026-01-10", SalesTermRef={"value": net30["Id"]})
    assert invoice["DueDate"] == "2026-02-09" and invoice["SalesTermRef"]["name"] == "Net 30"


def test_it_nests_classes_and_departments(qbo_http):
    """qbTypesDump Class/Department: ParentRef, SubClass/SubDepartment, FullyQualifiedName a:b."""
    west = qbo_http.create("Department", {"Name": "West"})
    store = qbo_http.create("Department", {"Name": "Store 1", "ParentRef": {"value": west["Id"]}})
    assert store["FullyQualifiedName"] == "West:Store 1" and store["SubDepartment"] is True


def test_it_refuses_a_duplicate_class_name(qbo_http):
    """ref §2 6240 Duplicate Name Exists Error, among classes."""
    qbo_http.create("Class", {"Name": "Retail"})
    assert fault_of(qbo_http.post("/class", {"Name": "retail"}))["code"] == "6240"


def test_it_refuses_deleting_a_term(qbo_http):
    """ref §1: Term is a name list: operation=delete gets 500 Unsupported Operation."""
    response = qbo_http.post("/term", {"Id": "1", "SyncToken": "0"}, params={"operation": "delete"})
    assert fault_of(response)["code"] == "500"


def test_it_keeps_tax_codes_and_rates_read_only_to_the_api(qbo_http):
    """Issue 16 (4): TaxCode/TaxRate are read, not written, through the API (stricter: 500)."""
    assert fault_of(qbo_http.post("/taxcode", {"Name": "Mine"}))["code"] == "500"
    assert fault_of(qbo_http.post("/taxrate", {"Name": "Mine", "RateValue": 5}))["code"] == "500"


def test_it_creates_voids_and_deletes_a_sales_receipt(qbo_http):
    """ref §1: SalesReceipt is deletable and voided by operation=update&include=void."""
    receipt = qbo_http.create("SalesReceipt", {"CustomerRef": {"value": qbo_http.customer()["Id"]}, "Line": [SALES_LINE]})
    assert receipt["TotalAmt"] == 10 and receipt["Balance"] == 0
    assert receipt["DepositToAccountRef"]["name"] == "Undeposited Funds"
    voided = qbo_http.post("/salesreceipt", {"Id": receipt["Id"], "SyncToken": "0", "sparse": True},
                           params={"operation": "update", "include": "void"}).json()["SalesReceipt"]
    assert voided["TotalAmt"] == 0
    deleted = qbo_http.post("/salesreceipt", {"Id": receipt["Id"], "SyncToken": voided["SyncToken"]},
                            params={"operation": "delete"})
    assert deleted.json()["SalesReceipt"]["status"] == "Deleted"


def test_it_accepts_item_based_expense_lines(qbo_http):
    """qbTypesDump Purchase Line ItemBasedExpenseLineDetail: accepted, no longer 2170."""
    purchase = qbo_http.create("Purchase", {
        "PaymentType": "Cash", "AccountRef": {"value": qbo_http.account_id("Checking")},
        "Line": [{"Amount": 30, "DetailType": "ItemBasedExpenseLineDetail",
                  "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 10}}]})
    assert purchase["TotalAmt"] == 30
    assert purchase["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"]["name"] == "Services"


def test_it_checks_qty_times_price_on_item_based_expense_lines(qbo_http):
    """ref §2 6070 on item-based expense lines as on sales lines."""
    response = qbo_http.post("/purchase", {
        "PaymentType": "Cash", "AccountRef": {"value": qbo_http.account_id("Checking")},
        "Line": [{"Amount": 31, "DetailType": "ItemBasedExpenseLineDetail",
                  "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 10}}]})
    assert fault_of(response)["code"] == "6070"


def test_it_refuses_tax_lists_in_cdc(qbo_http):
    """ref §6: CDC does not support TaxAgency, TaxCode, TaxRate (4001 here)."""
    now = qbo_http.emu.control("GET", "/clock").json()["now"]
    assert qbo_http.get("/cdc", {"entities": "Term", "changedSince": now}).status_code == 200
    response = qbo_http.get("/cdc", {"entities": "TaxCode", "changedSince": now})
    assert fault_of(response)["code"] == "4001" and "TaxCode" in fault_of(response)["Detail"]
