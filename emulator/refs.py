"""Every reference of every entity, and its resolution (issue 16 (4); ref §4: a reference is
`{"value": Id, "name"?}`).

REFS is the entity schemas' reference part: for each writable entity, the path of each `*Ref`
property (lines as `Line.<DetailType>.<Ref>`) and the list it points into. `check(ctx, entity,
data)` runs after an entity's own rules and resolves every reference found in the body: an
unknown id answers 2500 "Invalid Reference Id" with the path as `element`; an inactive record
answers 2500 with QBO's "made inactive" text (ref §2 2500 and 610). A `*Ref` the schema does not
list points into a list the emulator does not hold, so the company has no such record: 2500 too.
"""

from . import faults as F
from .currency import currency_known

# Targets: an entity name; "Currency" (a currency code: the home one, or an active
# CompanyCurrency); "Entity" (EntityRef: its `type` names Customer, Vendor or Employee).
_SALES_LINE = {
    "Line.SalesItemLineDetail.ItemRef": "Item",
    "Line.SalesItemLineDetail.ClassRef": "Class",
    "Line.SalesItemLineDetail.TaxCodeRef": "TaxCode",
    "Line.DiscountLineDetail.DiscountAccountRef": "Account",
    "Line.DiscountLineDetail.ClassRef": "Class",
    "Line.DiscountLineDetail.TaxCodeRef": "TaxCode",
}
_SALES = dict(_SALES_LINE, **{
    "CustomerRef": "Customer", "CurrencyRef": "Currency", "ClassRef": "Class",
    "DepartmentRef": "Department", "TxnTaxDetail.TxnTaxCodeRef": "TaxCode",
})
REFS = {
    "Customer": {"ParentRef": "Customer", "SalesTermRef": "Term", "PaymentMethodRef": "PaymentMethod",
                 "CurrencyRef": "Currency", "DefaultTaxCodeRef": "TaxCode", "ARAccountRef": "Account"},
    "Vendor": {"TermRef": "Term", "CurrencyRef": "Currency", "APAccountRef": "Account"},
    "Employee": {},
    "Item": {"IncomeAccountRef": "Account", "ExpenseAccountRef": "Account",
             "AssetAccountRef": "Account", "SalesTaxCodeRef": "TaxCode",
             "PurchaseTaxCodeRef": "TaxCode", "ClassRef": "Class", "ParentRef": "Item",
             "PrefVendorRef": "Vendor"},
    "Account": {"ParentRef": "Account", "CurrencyRef": "Currency", "TaxCodeRef": "TaxCode"},
    "PaymentMethod": {},
    "Term": {},
    "Class": {"ParentRef": "Class"},
    "Department": {"ParentRef": "Department"},
    "TaxAgency": {},
    "CompanyCurrency": {},
    "Invoice": dict(_SALES, SalesTermRef="Term", DepositToAccountRef="Account"),
    "CreditMemo": dict(_SALES),
    "SalesReceipt": dict(_SALES, DepositToAccountRef="Account", PaymentMethodRef="PaymentMethod"),
    "RefundReceipt": dict(_SALES, DepositToAccountRef="Account", PaymentMethodRef="PaymentMethod"),
    "Payment": {"CustomerRef": "Customer", "DepositToAccountRef": "Account",
                "PaymentMethodRef": "PaymentMethod", "CurrencyRef": "Currency",
                "ARAccountRef": "Account"},
    "Purchase": {
        "AccountRef": "Account", "EntityRef": "Entity", "DepartmentRef": "Department",
        "CurrencyRef": "Currency", "PaymentMethodRef": "PaymentMethod",
        "TxnTaxDetail.TxnTaxCodeRef": "TaxCode",
        "Line.AccountBasedExpenseLineDetail.AccountRef": "Account",
        "Line.AccountBasedExpenseLineDetail.CustomerRef": "Customer",
        "Line.AccountBasedExpenseLineDetail.ClassRef": "Class",
        "Line.AccountBasedExpenseLineDetail.TaxCodeRef": "TaxCode",
        "Line.ItemBasedExpenseLineDetail.ItemRef": "Item",
        "Line.ItemBasedExpenseLineDetail.CustomerRef": "Customer",
        "Line.ItemBasedExpenseLineDetail.ClassRef": "Class",
        "Line.ItemBasedExpenseLineDetail.TaxCodeRef": "TaxCode",
    },
    "CompanyInfo": {},
    "Preferences": {},
}
# Written by the server, never resolved from the body (recomputed on every write).
COMPUTED_PATHS = ("TxnTaxDetail.TaxLine",)
NAME_FIELD = {"Customer": "DisplayName", "Vendor": "DisplayName", "Employee": "DisplayName",
              "TaxAgency": "DisplayName"}
US_PSEUDO_CODES = ("TAX", "NON")  # ref §4 Invoice: US lines carry TAX/NON


def refs_in(data, path=""):
    """Yield (path, ref) for every `*Ref` object in a body; list items share their list's path."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else key
            if here in COMPUTED_PATHS or key in ("MetaData", "LinkedTxn"):
                continue
            if key.endswith("Ref") and isinstance(value, dict):
                yield here, value
            elif key == "Line" and isinstance(value, list):
                for line in value:
                    if isinstance(line, dict):
                        yield from refs_in({k: v for k, v in line.items()}, "Line")
            else:
                yield from refs_in(value, here)
    elif isinstance(data, list):
        for item in data:
            yield from refs_in(item, path)


def check(ctx, entity, data):
    """Resolve every reference of a body (after the entity's own rules); fill in the names."""
    if not ctx.strict or entity not in REFS:
        return
    schema = REFS[entity]
    for path, ref in refs_in(data):
        target = schema.get(path)
        if target is None:
            # A list the emulator doesn't hold: this company has no record with that id.
            raise F.invalid_reference(path)
        resolve(ctx, target, ref, path)


def resolve(ctx, target, ref, path):
    value = ref.get("value")
    if value in (None, ""):
        raise F.invalid_reference(path)
    value = str(value)
    if target == "Currency":
        if not currency_known(ctx, value):
            raise F.invalid_reference(path)
        return None
    if target == "TaxCode" and value in US_PSEUDO_CODES:
        from .tax import is_us
        if is_us(ctx.company):
            return None
        # "NON" is not valid outside the US (qbo-2025-2026 §2.1, Invoice Ninja).
        raise F.invalid_reference(path)
    if target == "Entity":
        target = ref.get("type", "Vendor")
        if target not in ("Customer", "Vendor", "Employee"):
            raise F.invalid_enum(path + ".type", target)
    wrapper = ctx.lookup(target, value) if value.isdigit() else None
    if wrapper is None or wrapper["deleted"]:
        raise F.invalid_reference(path)
    if wrapper["data"].get("Active") is False:
        raise F.inactive_reference(path)
    name = wrapper["data"].get(NAME_FIELD.get(target, "Name"))
    if name:
        ref["name"] = name
    return wrapper
