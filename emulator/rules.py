"""QBO's business rules: what a create, update, delete or void does to a company, and its faults.

Every rule cites qbo-api-reference.md (ref §N). Where the reference is unsure the stricter
behaviour is modelled and the comment says "stricter".
"""

import copy
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from . import currency as C
from . import faults as F
from . import refs
from . import tax as T
from .lookups import linked_targets, lookups
from .profiles import iso3
from .store import CLASSIFICATION, company_date, fmt_time

ENTITY_PATHS = {
    "customer": "Customer", "vendor": "Vendor", "employee": "Employee", "item": "Item",
    "account": "Account", "paymentmethod": "PaymentMethod", "invoice": "Invoice",
    "creditmemo": "CreditMemo", "payment": "Payment", "refundreceipt": "RefundReceipt",
    "purchase": "Purchase", "companyinfo": "CompanyInfo", "preferences": "Preferences",
    "term": "Term", "class": "Class", "department": "Department", "taxcode": "TaxCode",
    "taxrate": "TaxRate", "taxagency": "TaxAgency", "companycurrency": "CompanyCurrency",
    "salesreceipt": "SalesReceipt",
}
ENTITIES = set(ENTITY_PATHS.values())
NAME_LISTS = {"Customer", "Vendor", "Employee", "Item", "Account", "PaymentMethod", "Term",
              "Class", "Department", "TaxCode", "TaxRate", "TaxAgency", "CompanyCurrency"}
TRANSACTIONS = {"Invoice", "CreditMemo", "Payment", "RefundReceipt", "Purchase", "SalesReceipt"}
SINGLETONS = {"CompanyInfo", "Preferences"}
# ref §1: of our entities, only these transactions may be hard-deleted.
DELETABLE = TRANSACTIONS
# TaxCode and TaxRate are read-only to the Accounting API (codes come from the TaxService or
# QBO's screens; qbTypesDump marks TaxRate's properties read-only); a TaxAgency can be created
# but not edited. Stricter where unsure: 500 "Unsupported Operation".
API_READ_ONLY = {"TaxCode", "TaxRate"}
API_CREATE_ONLY = {"TaxAgency"}
PEOPLE = ("Customer", "Vendor", "Employee")
SALES_FORMS = ("Invoice", "CreditMemo", "RefundReceipt", "SalesReceipt")
ACCOUNT_TYPES = set(CLASSIFICATION)
SUBTYPE_TO_TYPE = {
    "ServiceFeeIncome": "Income", "SalesOfProductIncome": "Income", "DiscountsRefundsGiven": "Income",
    "OtherPrimaryIncome": "Income", "OtherMiscellaneousIncome": "Other Income",
    "BankCharges": "Expense", "OfficeGeneralAdministrativeExpenses": "Expense",
    "OtherMiscellaneousServiceCost": "Expense", "SuppliesMaterialsCogs": "Cost of Goods Sold",
    "Checking": "Bank", "Savings": "Bank", "CreditCard": "Credit Card",
    "UndepositedFunds": "Other Current Asset", "Inventory": "Other Current Asset",
    "AccountsReceivable": "Accounts Receivable", "AccountsPayable": "Accounts Payable",
    "OpeningBalanceEquity": "Equity", "RetainedEarnings": "Equity",
    "SalesTaxPayable": "Other Current Liability", "GlobalTaxPayable": "Other Current Liability",
}
# Read-only or server-set properties: anything sent is overwritten (ref §1, §4).
READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
COMPUTED = {
    "Invoice": {"TotalAmt", "Balance", "LinkedTxn", "HomeBalance", "HomeTotalAmt"},
    "CreditMemo": {"TotalAmt", "Balance", "RemainingCredit", "HomeTotalAmt"},
    "RefundReceipt": {"TotalAmt", "Balance", "HomeTotalAmt"},
    "SalesReceipt": {"TotalAmt", "Balance", "HomeTotalAmt"},
    "Purchase": {"TotalAmt", "HomeTotalAmt"},
    "Payment": {"UnappliedAmt"},
    "Customer": {"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "Job"},
    "Vendor": {"Balance"},
    "Account": {"Classification", "CurrentBalance", "CurrentBalanceWithSubAccounts",
                "FullyQualifiedName"},
    "Item": {"FullyQualifiedName"},
    "Class": {"FullyQualifiedName", "SubClass"},
    "Department": {"FullyQualifiedName", "SubDepartment"},
}
CENT = Decimal("0.01")


def dec(value, element="Line.Amount"):
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise F.invalid_property(element, "A number is expected.")
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise F.invalid_property(element, f"Invalid number: {value}")
    if not result.is_finite():
        raise F.invalid_property(element, f"Invalid number: {value}")
    return result


NUMBERS = {"Amount", "TotalAmt", "Qty", "UnitPrice", "DiscountPercent"}
LISTS = {"Line", "LinkedTxn", "CustomField"}


def check_shape(value, path=""):
    """Refuse bodies of the wrong shape before any rule reads them: references and details are
    objects, Line and LinkedTxn are lists of objects, amounts are numbers, other leaves scalars."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if item is None:
                continue
            if (key.endswith("Ref") or key.endswith("Detail") or key.endswith("Addr")
                    or key in ("MetaData", "CustomerMemo")) and not isinstance(item, dict):
                raise F.invalid_property(here, "An object is expected.")
            if key in LISTS and not (isinstance(item, list) and all(isinstance(i, dict) for i in item)):
                raise F.invalid_property(here, "A list of objects is expected.")
            if key in NUMBERS and item != "":
                dec(item, here)
            check_shape(item, here if key not in LISTS else here)
    elif isinstance(value, list):
        for item in value:
            check_shape(item, path)


STRINGS = {"DisplayName", "Name", "GivenName", "MiddleName", "FamilyName", "CompanyName", "Title",
           "Suffix", "PrintOnCheckName", "Notes", "DocNumber", "PrivateNote", "PaymentRefNum",
           "AcctNum", "Sku", "Description", "PurchaseDesc"}


def _stringify(data):
    """QBO reads a JSON number sent for a string property as its text; a list or object there is
    refused."""
    for key in STRINGS & set(data):
        value = data[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            data[key] = str(value)
        elif not isinstance(value, str):
            raise F.invalid_property(key, "A string is expected.")


def money(d):
    return float(Decimal(d).quantize(CENT, rounding=ROUND_HALF_UP))


def plain(d):
    """6070 prints the supplied value without trailing zeros ("Supplied value:58")."""
    d = Decimal(d).normalize()
    return format(d, "f")


def check_line_amount(amount, qty, price):
    """ref §2 6070: a line's Amount must be UnitPrice x Qty. How exactly QBO compares is unsure, so
    stricter: the Amount as sent must equal the product rounded half up to the cent (5.030 does
    for 0.5 x 10.05, 5.025 and 5.034 do not); it is never rounded before the comparison."""
    if (dec(qty) * dec(price)).quantize(CENT, ROUND_HALF_UP) != amount:
        raise F.amount_calc(plain(amount))


class Ctx:
    """One write against one company."""

    def __init__(self, store, company, now, strict=True, include=(), hidden=None, person=False):
        self.store = store
        self.person = person  # a person in QBO's screens (the control API), not the API
        self.company = company
        self.realm = company["realm_id"]
        self.now = now
        self.strict = strict
        self.include = set(include)
        self.hidden = hidden if hidden is not None else set()  # ids created earlier in a batch
        self.touched = []  # (entity, id) of other records this write changed

    def lookup(self, entity, record_id):
        if (entity, str(record_id)) in self.hidden:
            return None
        return self.store.get(self.company, entity, record_id)

    def ref(self, entity, ref, element, active=True):
        """Resolve a `{"value": Id}` reference (ref §4); unknown -> 2500, inactive -> 2500."""
        if not isinstance(ref, dict) or ref.get("value") in (None, ""):
            if not self.strict:
                return None
            raise F.invalid_reference(element)
        wrapper = self.lookup(entity, ref["value"])
        if wrapper is None or wrapper["deleted"]:
            if not self.strict:
                return None
            raise F.invalid_reference(element)
        if active and wrapper["data"].get("Active") is False and self.strict:
            raise F.inactive_reference(element)
        return wrapper


# -- field checks ------------------------------------------------------------------------------

def _get_path(data, path):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def check_lengths(ctx, data, limits, prefix=""):
    if not ctx.strict:
        return
    for path, max_len in limits.items():
        value = _get_path(data, path)
        if isinstance(value, str) and len(value) > max_len:
            raise F.string_length(prefix + path, max_len, len(value))


def check_name_chars(ctx, data, fields):
    if not ctx.strict:
        return
    for field in fields:
        value = data.get(field)
        if isinstance(value, str) and any(c in value for c in ":\t\n"):
            raise F.invalid_string(field, value)


def check_enum(ctx, data, field, allowed):
    value = data.get(field)
    if value is not None and value not in allowed and ctx.strict:
        raise F.invalid_enum(field, value)


def require(ctx, data, *fields):
    if not ctx.strict:
        return
    for field in fields:
        if data.get(field) in (None, "", []):
            raise F.required(field)


def fill_ref_name(ref, wrapper, field="DisplayName"):
    if wrapper is not None and isinstance(ref, dict):
        ref["name"] = wrapper["data"].get(field) or wrapper["data"].get("Name")


# -- name lists ------------------------------------------------------------------------------

PERSON_LENGTHS = {
    "Customer": {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
                 "Title": 16, "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 110,
                 "Notes": 2000, "PrimaryEmailAddr.Address": 100, "PrimaryPhone.FreeFormNumber": 30,
                 "Mobile.FreeFormNumber": 30, "Fax.FreeFormNumber": 30},
    "Vendor": {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
               "Title": 16, "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 100,
               "AcctNum": 100, "TaxIdentifier": 20, "PrimaryEmailAddr.Address": 100,
               "PrimaryPhone.FreeFormNumber": 30},
    # The reference gives no Employee limits: Customer's name limits are assumed.
    "Employee": {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
                 "Title": 16, "Suffix": 16, "PrintOnCheckName": 110,
                 "PrimaryEmailAddr.Address": 100, "PrimaryPhone.FreeFormNumber": 30},
}
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def _name_taken(ctx, entity, value, self_id):
    return _lookups(ctx).name_taken(entity, value, entity, self_id)


def _lookups(ctx):
    return lookups(ctx.store, ctx.company, SALES_FORMS)


def validate_person(ctx, entity, data, existing):
    check_lengths(ctx, data, PERSON_LENGTHS[entity])
    if not data.get("DisplayName"):
        parts = [data.get(p) for p in NAME_PARTS if data.get(p)]
        if not parts:
            if existing is not None and existing["data"].get("DisplayName") and not ctx.strict:
                data["DisplayName"] = existing["data"]["DisplayName"]
            elif ctx.strict:
                raise F.no_name()
        else:
            data["DisplayName"] = " ".join(parts)
    check_name_chars(ctx, data, ("DisplayName", "GivenName", "MiddleName", "FamilyName"))
    email = (data.get("PrimaryEmailAddr") or {}).get("Address")
    if email and ctx.strict and ("@" not in email or "." not in email):
        raise F.invalid_email("PrimaryEmailAddr.Address")
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, entity, data.get("DisplayName"), self_id):
        raise F.duplicate_name()
    data.setdefault("Active", True)
    data.setdefault("PrintOnCheckName", data.get("DisplayName"))
    if entity == "Customer":
        parent = data.get("ParentRef")
        if parent:
            parent_wrapper = ctx.ref("Customer", parent, "ParentRef")
            fill_ref_name(parent, parent_wrapper)
            data["Job"] = True
            level = (parent_wrapper["data"].get("Level", 0) + 1) if parent_wrapper else 1
            if level > 4 and ctx.strict:
                # ref §4: sub-customers go at most 4 levels deep; the code is not known (6000).
                raise F.business("Sub-customers can only be nested 4 levels deep.", "ParentRef")
            data["Level"] = level
            parent_fqn = parent_wrapper["data"].get("FullyQualifiedName") if parent_wrapper else ""
            data["FullyQualifiedName"] = f"{parent_fqn}:{data['DisplayName']}"
        else:
            data["Job"] = False
            data.pop("Level", None)
            data["FullyQualifiedName"] = data.get("DisplayName")
        data.setdefault("Taxable", False)
        C.party_currency(ctx, data, existing, entity)
        if ctx.strict and existing and existing["data"].get("Active") is not False \
                and data.get("Active") is False and customer_balance(ctx.store, ctx.company, self_id) != 0:
            raise F.list_has_balance()
    if entity == "Vendor" and data.get("TaxIdentifier"):
        # TaxIdentifier is masked in responses (ref §4 Vendor).
        data["TaxIdentifier"] = "XXXXX" + str(data["TaxIdentifier"])[-4:]
    if entity == "Vendor":
        C.party_currency(ctx, data, existing, entity)


ITEM_TYPES = {"Service", "NonInventory", "Inventory"}
INCOME_TYPES = {"Income", "Other Income"}


def validate_item(ctx, data, existing):
    require(ctx, data, "Name")
    check_lengths(ctx, data, {"Name": 100, "Description": 4000, "PurchaseDesc": 1000, "Sku": 100})
    # ':' separates sub-items in FullyQualifiedName: stricter, refused in a Name.
    check_name_chars(ctx, data, ("Name",))
    require(ctx, data, "Type")  # explicit since minor version 4 (ref §4 Item)
    check_enum(ctx, data, "Type", ITEM_TYPES)
    if ctx.strict and existing is not None:
        old_type = existing["data"].get("Type")
        if old_type != data.get("Type") and "Inventory" in (old_type, data.get("Type")):
            # Only Service<->NonInventory may change (ref §4 Item, M); the code is ours.
            raise F.business("You can't change the type of an inventory item.", "Type")
    if data.get("Type") in ("Service", "Inventory"):
        require(ctx, data, "IncomeAccountRef")
    for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
        if not data.get(field):
            continue
        account = ctx.ref("Account", data[field], field)
        fill_ref_name(data[field], account, "Name")
        if account is None or not ctx.strict:
            continue
        acct_type = account["data"]["AccountType"]
        if acct_type in ("Accounts Receivable", "Accounts Payable"):
            raise F.invalid_account_type(field, item=True)
        if field == "IncomeAccountRef" and acct_type not in INCOME_TYPES:
            # ref §4: "the income account must have an income type" (M): stricter, enforced.
            raise F.invalid_account_type(field, item=True)
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, "Item", data.get("Name"), self_id):
        raise F.duplicate_name("Item")
    data["FullyQualifiedName"] = data.get("Name")
    data.setdefault("Active", True)
    data.setdefault("Taxable", False)
    data.setdefault("UnitPrice", 0)


def validate_account(ctx, data, existing):
    require(ctx, data, "Name")
    check_lengths(ctx, data, {"Name": 100, "Description": 100, "AcctNum": 7})
    if ctx.strict and any(c in str(data.get("Name", "")) for c in '":'):
        raise F.invalid_string("Name", data.get("Name"))
    if not data.get("AccountType") and not data.get("AccountSubType") and ctx.strict:
        # ref §4: "otherwise 6010"; the wording is ours.
        raise F.QboFault("6010", "Invalid account type",
                         "AccountType or AccountSubType is required.", "AccountType")
    if not data.get("AccountType") and data.get("AccountSubType"):
        if data["AccountSubType"] not in SUBTYPE_TO_TYPE and ctx.strict:
            raise F.invalid_enum("AccountSubType", data["AccountSubType"])
        data["AccountType"] = SUBTYPE_TO_TYPE.get(data["AccountSubType"], "Expense")
    check_enum(ctx, data, "AccountType", ACCOUNT_TYPES)
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, "Account", data.get("Name"), self_id):
        raise F.duplicate_name("Account")
    data["Classification"] = CLASSIFICATION.get(data.get("AccountType"), "Expense")
    data["FullyQualifiedName"] = data.get("Name")
    data.setdefault("SubAccount", False)
    data.setdefault("Active", True)
    data["CurrentBalance"] = existing["data"].get("CurrentBalance", 0) if existing else 0
    data["CurrentBalanceWithSubAccounts"] = data["CurrentBalance"]
    C.party_currency(ctx, data, existing, "account")


def validate_payment_method(ctx, data, existing):
    require(ctx, data, "Name")
    check_lengths(ctx, data, {"Name": 31})
    check_enum(ctx, data, "Type", {"CREDIT_CARD", "NON_CREDIT_CARD"})
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, "PaymentMethod", data.get("Name"), self_id):
        raise F.duplicate_name("PaymentMethod")
    data.setdefault("Type", "NON_CREDIT_CARD")
    data.setdefault("Active", True)


# -- transactions ------------------------------------------------------------------------------

def _check_customer(ctx, data, required_field=True):
    ref = data.get("CustomerRef")
    if not ref:
        if required_field:
            # ref §2 also lists 6560 "CustomerRef is missing" (M); 2020 (H) is used.
            require(ctx, data, "CustomerRef")
        return None
    wrapper = ctx.lookup("Customer", ref.get("value") if isinstance(ref, dict) else None)
    if wrapper is None:
        if ctx.strict:
            raise F.invalid_reference("CustomerRef")
        return None
    if wrapper["data"].get("Active") is False and ctx.strict:
        raise F.invalid_customer()
    fill_ref_name(ref, wrapper)
    return wrapper


def _txn_common(ctx, data, entity):
    check_lengths(ctx, data, {"DocNumber": 21, "PrivateNote": 4000, "CustomerMemo.value": 1000,
                              "PaymentRefNum": 100 if entity == "RefundReceipt" else 10**9})
    data.setdefault("TxnDate", company_date(ctx.now))


def _sales_lines(ctx, data):
    lines = data.get("Line")
    if not isinstance(lines, list) or not lines:
        require(ctx, data, "Line")
        lines = []
    out, subtotal, total = [], Decimal(0), Decimal(0)
    for raw in lines:
        line = copy.deepcopy(raw) if isinstance(raw, dict) else {}
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # recomputed below
        check_lengths(ctx, line, {"Description": 4000}, prefix="Line.")
        if kind == "SalesItemLineDetail":
            detail = line.setdefault("SalesItemLineDetail", {})
            if line.get("Amount") is None and ctx.strict:
                raise F.required("Line.Amount")
            amount = dec(line.get("Amount", 0))
            qty, price = detail.get("Qty"), detail.get("UnitPrice")
            # Qty 0 with UnitPrice 0 is python-quickbooks' default for "not given", which QBO
            # accepts in that library's documented usage; any other pair must multiply out.
            if ctx.strict and qty is not None and price is not None and (dec(qty), dec(price)) != (0, 0):
                check_line_amount(amount, qty, price)
            # Whether QBO defaults a missing ItemRef is unsure: stricter, it is required.
            if not detail.get("ItemRef"):
                require(ctx, {}, "Line.SalesItemLineDetail.ItemRef")
            else:
                item = ctx.ref("Item", detail["ItemRef"], "Line.SalesItemLineDetail.ItemRef")
                fill_ref_name(detail["ItemRef"], item, "Name")
            tax = (detail.get("TaxCodeRef") or {}).get("value")
            if tax is not None and tax not in ("TAX", "NON") and ctx.strict and T.spec_of(ctx.company) is None:
                raise F.invalid_reference("Line.SalesItemLineDetail.TaxCodeRef")
            line["Amount"] = money(amount)
            subtotal += amount
        elif kind == "DescriptionOnly":
            line.setdefault("DescriptionLineDetail", {})
            line.pop("Amount", None)
        elif kind == "DiscountLineDetail":
            detail = line.setdefault("DiscountLineDetail", {})
            if detail.get("PercentBased") and detail.get("DiscountPercent") is not None:
                amount = (subtotal * dec(detail["DiscountPercent"]) / 100).quantize(CENT, ROUND_HALF_UP)
            else:
                amount = dec(line.get("Amount", 0))
            line["Amount"] = money(amount)
            total -= amount
        elif kind is None:
            require(ctx, {}, "Line.DetailType")
            continue
        else:
            # GroupLineDetail and other kinds are not modelled: refused as an unknown enumeration.
            if ctx.strict:
                raise F.invalid_enum("Line.DetailType", kind)
            continue
        out.append(line)
    for n, line in enumerate(out, 1):
        line["Id"] = str(n)
        line["LineNum"] = n
    total += subtotal
    out.append({"Amount": money(subtotal), "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {}})
    data["Line"] = out
    data["TotalAmt"] = money(total)


def _doc_number(ctx, data, entity, existing):
    number = data.get("DocNumber")
    if number in (None, ""):
        if existing is not None and existing["data"].get("DocNumber"):
            data["DocNumber"] = existing["data"]["DocNumber"]
            return
        prefs = ctx.store.get(ctx.company, "Preferences", "1")["data"]
        if prefs["SalesFormsPrefs"].get("CustomTxnNumbers"):
            data.pop("DocNumber", None)  # ref §4 Invoice: null when custom numbers are on
            return
        data["DocNumber"] = str(_lookups(ctx).highest_doc_number + 1)
        return
    data["DocNumber"] = number = str(number)
    if not ctx.strict or "allowduplicatedocnum" in ctx.include:
        return
    if existing is not None and existing["data"].get("DocNumber") == number:
        return
    # An invoice number equal to a credit memo's is a duplicate too (error-cases); refund
    # receipts share the sales-form numbering: stricter, they are checked as well.
    owner = _lookups(ctx).doc_number_owner(number, existing)
    if owner is not None:
        kind, wrapper = owner
        raise F.duplicate_doc_number(number, kind, wrapper["data"]["Id"])


def validate_sales_form(ctx, entity, data, existing):
    customer = _check_customer(ctx, data, required_field=entity != "RefundReceipt")
    _txn_common(ctx, data, entity)
    _sales_lines(ctx, data)
    T.apply_sales(ctx, entity, data)
    _doc_number(ctx, data, entity, existing)
    bill_email = (data.get("BillEmail") or {}).get("Address")
    if bill_email and ctx.strict and ("@" not in bill_email or "." not in bill_email):
        raise F.invalid_email("BillEmail.Address")
    if entity == "Invoice":
        _due_date(ctx, data)
        data.setdefault("EmailStatus", "NotSet")
        data.setdefault("PrintStatus", "NotSet")
        if existing is not None and ctx.strict:
            applied = _lookups(ctx).applied_to("Invoice", existing["data"]["Id"], dec)
            if Decimal(str(data["TotalAmt"])) < sum((a for _, a in applied), Decimal(0)):
                # Not in the reference: stricter, an invoice can't drop below what was paid on it.
                raise F.business("The invoice total can't be less than the payments applied to it.")
    if entity == "SalesReceipt" and not data.get("DepositToAccountRef"):
        _undeposited(ctx, data)  # like a Payment (ref §4); stricter guesses aside, QBO's default
    deposit = None
    if entity in ("RefundReceipt", "SalesReceipt"):
        require(ctx, data, "DepositToAccountRef")
        if data.get("DepositToAccountRef"):
            account = ctx.ref("Account", data["DepositToAccountRef"], "DepositToAccountRef")
            fill_ref_name(data["DepositToAccountRef"], account, "Name")
            deposit = account
            if account and ctx.strict and account["data"]["AccountType"] not in ("Bank", "Other Current Asset"):
                raise F.invalid_account_type("DepositToAccountRef")
        check_enum(ctx, data, "PaymentType", {"Cash", "Check", "CreditCard", "Other"})
        if data.get("PaymentMethodRef"):
            pm = ctx.ref("PaymentMethod", data["PaymentMethodRef"], "PaymentMethodRef")
            fill_ref_name(data["PaymentMethodRef"], pm, "Name")
    C.apply_txn(ctx, data, party=customer,
                accounts=[(deposit, "DepositToAccountRef")] if deposit else (), person=ctx.person)


def _undeposited(ctx, data):
    undeposited = ctx.store.find_by(ctx.company, "Account", "AccountSubType", "UndepositedFunds")
    if undeposited:
        data["DepositToAccountRef"] = {"value": undeposited["data"]["Id"], "name": "Undeposited Funds"}


def _due_date(ctx, data):
    """ref §4 Invoice: DueDate defaults from SalesTermRef (a STANDARD term's DueDays), else TxnDate."""
    if data.get("DueDate"):
        return
    data["DueDate"] = data["TxnDate"]
    term = ctx.lookup("Term", (data.get("SalesTermRef") or {}).get("value") or "") \
        if isinstance(data.get("SalesTermRef"), dict) else None
    if term is not None and term["data"].get("Type", "STANDARD") == "STANDARD":
        from datetime import date, timedelta
        try:
            start = date.fromisoformat(str(data["TxnDate"]))
        except ValueError:
            return
        data["DueDate"] = (start + timedelta(days=int(term["data"].get("DueDays") or 0))).isoformat()


def validate_payment(ctx, data, existing):
    customer = _check_customer(ctx, data)
    require(ctx, data, "TotalAmt")
    total = dec(data.get("TotalAmt", 0), "TotalAmt")
    _txn_common(ctx, data, "Payment")
    check_lengths(ctx, data, {"PaymentRefNum": 21})
    own_id = existing["data"]["Id"] if existing else None
    charges, credits = Decimal(0), Decimal(0)
    lines = data.get("Line") or []
    for line in lines:
        if line.get("Amount") is None and ctx.strict:
            raise F.required("Line.Amount")
        amount = dec(line.get("Amount", 0))
        line["Amount"] = money(amount)
        links = line.get("LinkedTxn") or []
        if not links and ctx.strict:
            raise F.required("Line.LinkedTxn")
        for link in links:
            txn_type = link.get("TxnType")
            if txn_type not in ("Invoice", "CreditMemo"):
                if ctx.strict:
                    # JournalEntry, Expense, Check... are not modelled, so no such TxnId exists.
                    raise F.invalid_reference("Line.LinkedTxn.TxnId")
                continue
            target = ctx.lookup(txn_type, link.get("TxnId"))
            if target is None or target["deleted"]:
                if ctx.strict:
                    raise F.invalid_reference("Line.LinkedTxn.TxnId")
                continue
            if ctx.strict and customer and (target["data"].get("CustomerRef") or {}).get("value") \
                    != customer["data"]["Id"]:
                raise F.txn_cannot_be_linked()
            used = sum((a for pid, a in _lookups(ctx).applied_to(txn_type, target["data"]["Id"], dec)
                        if pid != own_id),
                       Decimal(0))
            open_amount = Decimal(str(target["data"]["TotalAmt"])) - used
            if ctx.strict and amount > open_amount:
                if txn_type == "Invoice":
                    raise F.business("The payment amount applied exceeds the open balance of "
                                     f"Invoice {target['data'].get('DocNumber') or target['data']['Id']}.",
                                     "Line.Amount")
                raise F.business("The credit applied exceeds the remaining credit of "
                                 f"CreditMemo {target['data'].get('DocNumber') or target['data']['Id']}.",
                                 "Line.Amount")
            if txn_type == "Invoice":
                charges += amount
            else:
                credits += amount
    if ctx.strict and charges > total + credits:
        raise F.business("The Amount Received (plus credits) can't be less than the selected charges")
    if ctx.strict and credits > charges:
        # error-cases "credit-exceeds-balance": charges can't be less than credits.
        raise F.business("The selected charges can't be less than the credits applied.")
    data["TotalAmt"] = money(total)
    deposit = data.get("DepositToAccountRef")
    account = None
    if not deposit:
        _undeposited(ctx, data)
    else:
        account = ctx.ref("Account", deposit, "DepositToAccountRef")
        fill_ref_name(deposit, account, "Name")
        if account and ctx.strict and account["data"]["AccountType"] not in ("Bank", "Other Current Asset"):
            raise F.invalid_account_type("DepositToAccountRef")
    if data.get("PaymentMethodRef"):
        pm = ctx.ref("PaymentMethod", data["PaymentMethodRef"], "PaymentMethodRef")
        fill_ref_name(data["PaymentMethodRef"], pm, "Name")
    data["Line"] = lines
    data.setdefault("ProcessPayment", False)
    C.apply_txn(ctx, data, party=customer,
                accounts=[(account, "DepositToAccountRef")] if account else (), person=ctx.person)


PURCHASE_ACCOUNT = {"Cash": "Bank", "Check": "Bank", "CreditCard": "Credit Card"}
EXPENSE_TYPES = {"Expense", "Other Expense", "Cost of Goods Sold"}


def validate_purchase(ctx, data, existing):
    require(ctx, data, "PaymentType", "AccountRef")
    check_enum(ctx, data, "PaymentType", set(PURCHASE_ACCOUNT))
    _txn_common(ctx, data, "Purchase")
    account = who = None
    if data.get("AccountRef"):
        account = ctx.ref("Account", data["AccountRef"], "AccountRef")
        fill_ref_name(data["AccountRef"], account, "Name")
        wanted = PURCHASE_ACCOUNT.get(data.get("PaymentType"))
        if account and ctx.strict and account["data"]["AccountType"] != wanted:
            raise F.invalid_account_type("AccountRef")
    if data.get("EntityRef"):
        entity_type = data["EntityRef"].get("type", "Vendor")
        if entity_type not in PEOPLE and ctx.strict:
            raise F.invalid_enum("EntityRef.type", entity_type)
        who = ctx.ref(entity_type if entity_type in PEOPLE else "Vendor", data["EntityRef"], "EntityRef")
        fill_ref_name(data["EntityRef"], who)
    lines = data.get("Line")
    if not isinstance(lines, list) or not lines:
        require(ctx, data, "Line")
        lines = []
    total = Decimal(0)
    for n, line in enumerate(lines, 1):
        check_lengths(ctx, line, {"Description": 4000}, prefix="Line.")
        kind = line.get("DetailType")
        if kind not in PURCHASE_LINES:
            if ctx.strict:
                if kind is None:
                    raise F.required("Line.DetailType")
                raise F.invalid_enum("Line.DetailType", kind)
            kind = "AccountBasedExpenseLineDetail"
        detail = line.setdefault(kind, {})
        if line.get("Amount") is None and ctx.strict:
            raise F.required("Line.Amount")
        amount = dec(line.get("Amount", 0))
        if kind == "AccountBasedExpenseLineDetail":
            field = "Line.AccountBasedExpenseLineDetail.AccountRef"
            if not detail.get("AccountRef"):
                require(ctx, {}, field)
            else:
                line_account = ctx.ref("Account", detail["AccountRef"], field)
                fill_ref_name(detail["AccountRef"], line_account, "Name")
                # ref §4: the line account is "an Expense account": stricter, enforced.
                if line_account and ctx.strict and line_account["data"]["AccountType"] not in EXPENSE_TYPES:
                    raise F.invalid_account_type(field)
        else:
            # Item-based expense lines (qbTypesDump ItemBasedExpenseLineDetail): an item, and
            # Qty x UnitPrice = Amount as on sales lines (ref §2 6070).
            field = "Line.ItemBasedExpenseLineDetail.ItemRef"
            if not detail.get("ItemRef"):
                require(ctx, {}, field)
            else:
                item = ctx.ref("Item", detail["ItemRef"], field)
                fill_ref_name(detail["ItemRef"], item, "Name")
            qty, price = detail.get("Qty"), detail.get("UnitPrice")
            if ctx.strict and qty is not None and price is not None and (dec(qty), dec(price)) != (0, 0):
                check_line_amount(amount, qty, price)
            check_enum(ctx, detail, "BillableStatus", {"Billable", "NotBillable", "HasBeenBilled"})
        if detail.get("CustomerRef"):
            customer = ctx.ref("Customer", detail["CustomerRef"], f"Line.{kind}.CustomerRef")
            fill_ref_name(detail["CustomerRef"], customer)
        T.check_purchase_line(ctx, detail, f"Line.{kind}.TaxCodeRef")
        line["Amount"] = money(amount)
        line["Id"] = str(n)
        total += amount
    data["Line"] = lines
    data["TotalAmt"] = money(total)
    data.setdefault("Credit", False)
    party = who if who is not None and data["EntityRef"].get("type", "Vendor") in ("Vendor", "Customer") else None
    C.apply_txn(ctx, data, party=party, accounts=[(account, "AccountRef")] if account else (),
                person=ctx.person)


PURCHASE_LINES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")


# -- the other name lists (issue 16 (4)) --------------------------------------------------------

TERM_TYPES = {"STANDARD", "DATE_DRIVEN"}


def _simple_list(ctx, entity, data, existing, max_len=100, unique=True):
    require(ctx, data, "Name")
    check_lengths(ctx, data, {"Name": max_len})
    check_name_chars(ctx, data, ("Name",))
    self_id = existing["data"]["Id"] if existing else None
    if unique and ctx.strict and _name_taken(ctx, entity, data.get("Name"), self_id):
        raise F.duplicate_name(entity)
    data.setdefault("Active", True)


def validate_term(ctx, data, existing):
    _simple_list(ctx, "Term", data, existing, 31)
    check_enum(ctx, data, "Type", TERM_TYPES)
    data.setdefault("Type", "STANDARD")
    for field in ("DueDays", "DiscountDays", "DayOfMonthDue", "DueNextMonthDays", "DiscountDayOfMonth"):
        if data.get(field) is not None:
            value = dec(data[field], field)
            if ctx.strict and (value < 0 or value != value.to_integral_value()):
                raise F.invalid_property(field, "A whole number of days is expected.")
            data[field] = int(value)
    if data.get("DiscountPercent") is not None:
        data["DiscountPercent"] = float(dec(data["DiscountPercent"], "DiscountPercent"))


def validate_class(ctx, entity, data, existing):
    """Class and Department (a location): Name, optional ParentRef; FullyQualifiedName a:b,
    unique among the list (a sub-class may share its name with a class elsewhere)."""
    _simple_list(ctx, entity, data, existing, unique=False)
    parent = data.get("ParentRef")
    sub = "SubClass" if entity == "Class" else "SubDepartment"
    data[sub] = bool(parent)
    data["FullyQualifiedName"] = data.get("Name")
    if parent:
        wrapper = refs.resolve(ctx, entity, parent, "ParentRef") if ctx.strict \
            else ctx.lookup(entity, parent.get("value") or "")
        if wrapper is not None:
            if existing is not None and wrapper["data"]["Id"] == existing["data"]["Id"] and ctx.strict:
                raise F.invalid_reference("ParentRef")
            data["FullyQualifiedName"] = f"{wrapper['data'].get('FullyQualifiedName')}:{data.get('Name')}"
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, entity, data["FullyQualifiedName"], self_id):
        raise F.duplicate_name(entity)


def validate_tax_agency(ctx, data, existing):
    require(ctx, data, "DisplayName")
    check_lengths(ctx, data, {"DisplayName": 100})
    self_id = existing["data"]["Id"] if existing else None
    if ctx.strict and _name_taken(ctx, "TaxAgency", data.get("DisplayName"), self_id):
        raise F.duplicate_name("TaxAgency")
    data.setdefault("TaxTrackedOnSales", True)
    data.setdefault("TaxTrackedOnPurchases", not T.is_us(ctx.company))


def validate_company_currency(ctx, data, existing):
    """A foreign currency of the company: only once multicurrency is on (qbo-2025-2026 §2.3)."""
    from .profiles import CURRENCY_NAMES
    require(ctx, data, "Code")
    code = str(data.get("Code") or "").upper()
    if ctx.strict:
        if not C.multicurrency(ctx):
            raise C._not_enabled(code, "Code")
        if code not in CURRENCY_NAMES:
            raise F.invalid_enum("Code", code)
        if code == C.home(ctx):
            raise F.business(f"{code} is the home currency.", "Code")
        other = C.company_currency(ctx, code)
        if other is not None and (existing is None or other["data"]["Id"] != existing["data"]["Id"]):
            raise F.QboFault("6240", "Duplicate Name Exists Error",
                             f"The name supplied already exists. : {code} is already one of your "
                             "currencies.", "Code")
        if existing is not None and existing["data"].get("Code") != code:
            raise F.business("A currency's code can't be changed.", "Code")
    data["Code"] = code
    data["Name"] = CURRENCY_NAMES.get(code, code)
    data.setdefault("Active", True)


COMPANY_ADDRESSES = ("CompanyAddr", "LegalAddr", "CustomerCommunicationAddr")
# qbTypesDump marks these Preferences sections read-only: what the API sends is overwritten.
READ_ONLY_PREFS = ("CurrencyPrefs", "TaxPrefs")


def validate_singleton(ctx, entity, data, existing):
    if entity == "CompanyInfo":
        check_lengths(ctx, data, {"CompanyName": 1024, "LegalName": 1024})
        for field in COMPANY_ADDRESSES:
            # Stored as sent, returned as the ISO 3-letter code (qbo-2025-2026 §1.2); Lat/Long
            # are no longer returned (same source).
            if isinstance(data.get(field), dict):
                if data[field].get("Country"):
                    data[field]["Country"] = iso3(data[field]["Country"])
                data[field].pop("Lat", None)
                data[field].pop("Long", None)
    if entity == "Preferences" and existing is not None and not ctx.person:
        for section in READ_ONLY_PREFS:
            if section in existing["data"]:
                data[section] = copy.deepcopy(existing["data"][section])
            else:
                data.pop(section, None)


def validate(ctx, entity, data, existing):
    if entity in PEOPLE:
        validate_person(ctx, entity, data, existing)
    elif entity == "Item":
        validate_item(ctx, data, existing)
    elif entity == "Account":
        validate_account(ctx, data, existing)
    elif entity == "PaymentMethod":
        validate_payment_method(ctx, data, existing)
    elif entity in SALES_FORMS:
        validate_sales_form(ctx, entity, data, existing)
    elif entity == "Payment":
        validate_payment(ctx, data, existing)
    elif entity == "Purchase":
        validate_purchase(ctx, data, existing)
    elif entity == "Term":
        validate_term(ctx, data, existing)
    elif entity in ("Class", "Department"):
        validate_class(ctx, entity, data, existing)
    elif entity == "TaxAgency":
        validate_tax_agency(ctx, data, existing)
    elif entity == "CompanyCurrency":
        validate_company_currency(ctx, data, existing)
    elif entity in ("TaxCode", "TaxRate"):
        require(ctx, data, "Name")
        data.setdefault("Active", True)
    else:
        validate_singleton(ctx, entity, data, existing)
    refs.check(ctx, entity, data)


# -- derived values ------------------------------------------------------------------------------

def applications(store, company):
    """(TxnType, TxnId) -> [(payment id, amount)] for every live payment line."""
    result = {}
    for wrapper in store.records(company, "Payment").values():
        if wrapper["deleted"]:
            continue
        for line in wrapper["data"].get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                target = store.get(company, link.get("TxnType"), link.get("TxnId")) \
                    if link.get("TxnType") in ("Invoice", "CreditMemo") else None
                if target is None or target["deleted"]:
                    continue
                key = (link["TxnType"], str(link["TxnId"]))
                result.setdefault(key, []).append((wrapper["data"]["Id"], dec(line.get("Amount", 0))))
    return result


def customer_balance(store, company, customer_id, apps=None):
    """Open invoices minus remaining credits and unapplied payments (computed once per `apps`)."""
    apps = apps if apps is not None else applications(store, company)
    if "balances" not in apps:
        balances = {}
        for entity, sign in (("Invoice", 1), ("CreditMemo", -1)):
            for wrapper in store.records(company, entity).values():
                data = wrapper["data"]
                who = (data.get("CustomerRef") or {}).get("value")
                if wrapper["deleted"] or who is None:
                    continue
                used = sum((a for _, a in apps.get((entity, data["Id"]), [])), Decimal(0))
                balances[who] = balances.get(who, Decimal(0)) + sign * (Decimal(str(data.get("TotalAmt", 0))) - used)
        for wrapper in store.records(company, "Payment").values():
            who = (wrapper["data"].get("CustomerRef") or {}).get("value")
            if not wrapper["deleted"] and who is not None:
                balances[who] = balances.get(who, Decimal(0)) - _unapplied(store, company, wrapper["data"])
        apps["balances"] = balances
    return apps["balances"].get(customer_id, Decimal(0))


def _unapplied(store, company, data):
    charges = credits = Decimal(0)
    for line in data.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            target = store.get(company, link.get("TxnType"), link.get("TxnId")) \
                if link.get("TxnType") in ("Invoice", "CreditMemo") else None
            if target is None or target["deleted"]:
                continue
            if link["TxnType"] == "Invoice":
                charges += dec(line.get("Amount", 0))
            else:
                credits += dec(line.get("Amount", 0))
    return Decimal(str(data.get("TotalAmt", 0))) - charges + credits


def render(store, company, entity, wrapper, apps=None):
    """The record as QBO returns it, with Balance/LinkedTxn/UnappliedAmt computed now."""
    if wrapper["deleted"]:
        return {"domain": "QBO", "status": "Deleted", "Id": wrapper["data"]["Id"],
                "MetaData": {"LastUpdatedTime": fmt_time(wrapper["updated"])}}
    data = copy.deepcopy(wrapper["data"])
    if entity == "Customer":
        apps = apps if apps is not None else applications(store, company)
    if entity in ("Invoice", "CreditMemo"):
        # One record alone (a write's answer, a read) asks the lookups, not every payment.
        applied = apps.get((entity, data["Id"]), []) if apps is not None \
            else lookups(store, company, SALES_FORMS).applied_to(entity, data["Id"], dec)
        open_amount = Decimal(str(data.get("TotalAmt", 0))) - sum((a for _, a in applied), Decimal(0))
        data["Balance"] = money(open_amount)
        if entity == "CreditMemo":
            data["RemainingCredit"] = money(open_amount)
        elif applied:
            data["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"}
                                 for pid in dict.fromkeys(pid for pid, _ in applied)]
    elif entity in ("RefundReceipt", "SalesReceipt"):
        data["Balance"] = 0
    elif entity == "Payment":
        data["UnappliedAmt"] = money(_unapplied(store, company, data))
    elif entity == "Customer":
        data["Balance"] = money(customer_balance(store, company, data["Id"], apps))
        data["BalanceWithJobs"] = data["Balance"]
    elif entity == "Vendor":
        data.setdefault("Balance", 0)
    for key in ("domain", "sparse", "Id", "SyncToken", "MetaData"):
        data[key] = data.pop(key)
    return _no_nulls(data)


def _no_nulls(value):
    """QBO leaves out properties without a value (ref §1): no null anywhere in an answer."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value if v is not None]
    return value


# -- operations --------------------------------------------------------------------------------

def _touch_linked(ctx, before, after):
    # Applying a payment changes the invoice (Balance, LinkedTxn): its SyncToken and
    # LastUpdatedTime advance too, so CDC sees it. Stricter: clients must re-read before editing.
    _lookups(ctx).payment_changed(before, after)
    for entity, record_id in linked_targets(before) | linked_targets(after):
        target = ctx.store.get(ctx.company, entity, record_id)
        if target is not None and not target["deleted"]:
            ctx.store.touch(target, ctx.now)
            ctx.touched.append((entity, record_id))


def _check_sync_token(ctx, body, existing):
    if body.get("SyncToken") in (None, ""):
        require(ctx, body, "SyncToken")
    elif str(body.get("SyncToken")) != existing["data"]["SyncToken"]:
        raise F.stale()


def _existing(ctx, entity, body):
    record_id = body.get("Id")
    if entity in SINGLETONS:
        record_id = record_id or "1"
    if not str(record_id).isdigit():
        raise F.invalid_id(record_id)
    wrapper = ctx.lookup(entity, record_id)
    if wrapper is None:
        raise F.not_found()
    if wrapper["deleted"]:
        raise F.not_found(deleted=True)
    return wrapper


def _writable(body):
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}


def _prune(value):
    """Empty properties are left out (ref §1): null and "" values vanish, so sending "" clears."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def save(ctx, entity, body, person=False):
    """Create (no Id) or update (Id + SyncToken; full or sparse). Returns (wrapper, operation)."""
    if not isinstance(body, dict):
        raise F.QboFault("2020", "Required param missing, need to supply the required value for the API",
                         f"Required parameter {entity} is missing in the request", entity)
    ctx.person = ctx.person or person
    is_update = body.get("Id") not in (None, "") or entity in SINGLETONS
    if not person and (entity in API_READ_ONLY or entity in API_CREATE_ONLY and is_update):
        raise F.unsupported("Update" if is_update else "Create")
    existing = None
    if is_update:
        existing = _existing(ctx, entity, body)
        if not person:
            _check_sync_token(ctx, body, existing)
        if entity in TRANSACTIONS and ctx.strict:
            customer_id = (existing["data"].get("CustomerRef") or {}).get("value")
            customer = ctx.lookup("Customer", customer_id) if customer_id else None
            if customer is not None and customer["data"].get("Active") is False:
                raise F.invalid_customer()  # stricter: no edits either (ref §2 6250 text)
        sparse = body.get("sparse") in (True, "true") or person or entity in SINGLETONS
        if sparse:
            if ctx.strict and any(body.get(f) == "" for f in ("DisplayName", "PrintOnCheckName")
                                  if f in body and entity in PEOPLE):
                # ref §1: DisplayName and PrintOnCheckName can't be cleared by a sparse update.
                raise F.required("DisplayName" if body.get("DisplayName") == "" else "PrintOnCheckName")
            data = _writable(existing["data"])
            for key, value in _writable(body).items():
                if entity in SINGLETONS and isinstance(value, dict) and isinstance(data.get(key), dict):
                    data[key] = {**data[key], **value}
                else:
                    data[key] = value
        else:
            data = _writable(body)
        for key in COMPUTED.get(entity, ()):
            data.pop(key, None)
    else:
        if entity in SINGLETONS:
            raise F.unsupported("Create")
        data = _writable(body)
        for key in COMPUTED.get(entity, ()):
            data.pop(key, None)
    check_shape(data)
    data = _prune(data)
    _stringify(data)
    validate(ctx, entity, data, existing)
    if existing is None:
        wrapper = ctx.store.insert(ctx.company, entity, data, ctx.now)
        _lookups(ctx).changed(entity, None, wrapper["data"])
        if entity == "Payment":
            _touch_linked(ctx, None, wrapper["data"])
        return wrapper, "Create"
    before = existing["data"]
    keep = {k: before[k] for k in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
    existing["data"] = {**data, **keep}
    existing["data"]["MetaData"] = dict(before["MetaData"])
    ctx.store.touch(existing, ctx.now)
    _lookups(ctx).changed(entity, before, existing["data"])
    if entity == "Payment":
        _touch_linked(ctx, before, existing["data"])
    return existing, "Update"


def delete(ctx, entity, body, person=False):
    if entity not in DELETABLE:
        # ref §1: name lists can't be deleted: 500 "Unsupported Operation".
        raise F.unsupported("Delete")
    if not isinstance(body, dict) or body.get("Id") in (None, ""):
        raise F.required("Id")
    existing = _existing(ctx, entity, body)
    if not person:
        _check_sync_token(ctx, body, existing)
    existing["deleted"] = True
    existing["updated"] = ctx.now
    if entity == "Payment":
        _touch_linked(ctx, existing["data"], None)
    return existing


def void(ctx, entity, body, person=False):
    if entity not in ("Invoice", "Payment", "SalesReceipt"):
        raise F.unsupported("Void")
    existing = _existing(ctx, entity, body)
    if not person:
        _check_sync_token(ctx, body, existing)
    data = existing["data"]
    if entity == "Invoice" and ctx.strict and _lookups(ctx).applied_to("Invoice", data["Id"], dec):
        # Not in the reference: stricter, an invoice with payments applied can't be voided.
        raise F.business("This invoice has payments applied. Remove the payments before voiding it.")
    before = copy.deepcopy(data)
    # Zeroed amounts and PrivateNote "Voided" are seen only in third-party mocks (ref "Could not
    # confirm" 8); modelled so, since a voided transaction must stop counting.
    for line in data.get("Line") or []:
        if "Amount" in line:
            line["Amount"] = 0.0
        detail = line.get("SalesItemLineDetail")
        if detail and "Qty" in detail:
            detail["Qty"] = 0
    data["TotalAmt"] = 0.0
    if "TxnTaxDetail" in data:
        data["TxnTaxDetail"] = {"TotalTax": 0.0}
    if "HomeTotalAmt" in data:
        data["HomeTotalAmt"] = 0.0
    data["PrivateNote"] = "Voided"
    existing["voided"] = True
    ctx.store.touch(existing, ctx.now)
    if entity == "Payment":
        _touch_linked(ctx, before, data)
    return existing
