"""QuickBooks' field limits, checked before a record is sent, so the fault never happens.

`check` looks at one QBO payload (the JSON body the engine is about to send, wrapped or not) and
returns every problem it finds; `check_accounts` compares the accounts a payload points at with the
company's chart of accounts (read from QBO and cached by the caller). Each rule names its source:
"ref §4" is qbo-api-reference.md §4; "emulator" means emulator/rules.py enforces it where the
reference is unsure (the stricter choice). A record with problems is reported and not sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal, InvalidOperation

from qbo.ledger.record_types import RECORD_TYPES

ENTITY_FOR = {key: t.qbo_entity for key, t in RECORD_TYPES.items()}
SHOWN = 40  # characters of a value shown in a message


@dataclass(frozen=True)
class Problem:
    field: str
    value: str
    limit: int | None
    message: str  # English, for the API and logs; a reader gets `facts` worded (catalogue.explain_error)
    case: str = "string-length"
    #: The problem in no language: `kind` ("field", "missing", "account"), `reason` ("length",
    #: "characters", "email", "not-a-number", "amount-digits", "required", "inactive",
    #: "account-type", "receivable-or-payable"), `record` (its type), the QBO field `path`, the `line`,
    #: the `value` shown, `limit` and `length`, the `char` refused, the account's type and the
    #: types `wanted`...
    facts: dict = _field(default_factory=dict, compare=False, hash=False)


# -- field names: QuickBooks' word and the ledger's ---------------------------------------------

_DOC_NAMES = {"invoice": "Invoice number", "credit_note": "Credit note number", "refund": "Refund number",
              "processor_fee": "Fee reference"}
_LABELS = {
    "account": {"DisplayName": "Account name", "GivenName": "First name", "MiddleName": "Middle name",
                "FamilyName": "Last name", "Title": "Title", "Suffix": "Suffix",
                "CompanyName": "Company name", "PrintOnCheckName": "Name on checks",
                "PrimaryEmailAddr.Address": "Email", "PrimaryPhone.FreeFormNumber": "Phone",
                "Mobile.FreeFormNumber": "Mobile phone", "Fax.FreeFormNumber": "Fax",
                "AlternatePhone.FreeFormNumber": "Other phone", "Notes": "Notes"},
    "service": {"Name": "Service name", "Description": "Service description", "Type": "Service type",
                "IncomeAccountRef": "Income account", "ExpenseAccountRef": "Expense account"},
    "payment": {"PrivateNote": "Payment note", "PaymentRefNum": "Payment reference",
                "CustomerRef": "Client account", "TotalAmt": "Amount",
                "DepositToAccountRef": "Deposit account", "Line.Amount": "Amount applied"},
}
_TXN_LABELS = {"PrivateNote": "Internal note", "CustomerMemo": "Description (memo)",
               "CustomerMemo.value": "Description (memo)", "CustomerRef": "Client account",
               "Line": "Lines", "Line.Description": "Line description", "Line.Amount": "Line amount",
               "Line.SalesItemLineDetail.ItemRef": "Line service",
               "DepositToAccountRef": "Deposit account", "PaymentRefNum": "Payment reference",
               "PaymentType": "Payment type", "AccountRef": "Card account",
               "Line.AccountBasedExpenseLineDetail.AccountRef": "Fee expense account",
               "EntityRef": "Processor (vendor)"}


# Romanian: the same names, as the subject of a sentence ("Numele contului lipsește"). A line's
# field has two forms, without a line number and with one ("{n}"): Romanian puts it after the noun.
_DOC_NAMES_RO = {"invoice": "Numărul facturii", "credit_note": "Numărul notei de credit",
                 "refund": "Numărul rambursării", "processor_fee": "Referința comisionului"}
_LABELS_RO = {
    "account": {"DisplayName": "Numele contului", "GivenName": "Prenumele", "MiddleName": "Al doilea prenume",
                "FamilyName": "Numele de familie", "Title": "Titlul", "Suffix": "Sufixul",
                "CompanyName": "Denumirea firmei", "PrintOnCheckName": "Numele de pe cecuri",
                "PrimaryEmailAddr.Address": "Adresa de e-mail", "PrimaryPhone.FreeFormNumber": "Telefonul",
                "Mobile.FreeFormNumber": "Telefonul mobil", "Fax.FreeFormNumber": "Faxul",
                "AlternatePhone.FreeFormNumber": "Celălalt telefon", "Notes": "Notele"},
    "service": {"Name": "Numele serviciului", "Description": "Descrierea serviciului", "Type": "Tipul serviciului",
                "IncomeAccountRef": "Contul de venituri", "ExpenseAccountRef": "Contul de cheltuieli"},
    "payment": {"PrivateNote": "Nota plății", "PaymentRefNum": "Referința plății",
                "CustomerRef": "Contul clientului", "TotalAmt": "Suma",
                "DepositToAccountRef": "Contul de depunere",
                "Line.Amount": ("Suma aplicată", "Suma aplicată pe linia {n}")},
}
_TXN_LABELS_RO = {"PrivateNote": "Nota internă", "CustomerMemo": "Descrierea (memo)",
                  "CustomerMemo.value": "Descrierea (memo)", "CustomerRef": "Contul clientului",
                  "Line": "Lista de linii", "Line.Description": ("Descrierea liniei", "Descrierea liniei {n}"),
                  "Line.Amount": ("Suma liniei", "Suma liniei {n}"),
                  "Line.SalesItemLineDetail.ItemRef": ("Serviciul liniei", "Serviciul liniei {n}"),
                  "DepositToAccountRef": "Contul de depunere", "PaymentRefNum": "Referința plății",
                  "PaymentType": "Tipul plății", "AccountRef": "Contul cardului",
                  "Line.AccountBasedExpenseLineDetail.AccountRef": (
                      "Contul de cheltuieli al comisionului", "Contul de cheltuieli al comisionului, linia {n}"),
                  "EntityRef": "Procesatorul (furnizorul)"}


def _word(record_type, qbo_field, line, language):
    if language == "ro":
        docs, labels, txn = _DOC_NAMES_RO, _LABELS_RO, _TXN_LABELS_RO
    else:
        docs, labels, txn = _DOC_NAMES, _LABELS, _TXN_LABELS
    if qbo_field == "DocNumber" and record_type in docs:
        return docs[record_type]
    word = labels.get(record_type, {}).get(qbo_field) or txn.get(qbo_field)
    if isinstance(word, tuple):
        return word[0] if line is None else word[1].format(n=line)
    if word and line is not None and qbo_field.startswith("Line.") and language != "ro":
        word = f"Line {line} {word.removeprefix('Line ').lower()}"
    return word


def field_label(record_type: str, qbo_field: str, line: int | None = None, language: str = "en") -> str:
    """'Invoice number (DocNumber)': the ledger's name for a QBO field ("Numărul facturii" in
    Romanian), then QBO's own."""
    word = _word(record_type, qbo_field, line, language)
    shown_field = qbo_field.removesuffix(".Address").removesuffix(".FreeFormNumber").removesuffix(".value")
    return f"{word} ({shown_field})" if word else shown_field


def _shown(value) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


# -- the rules ------------------------------------------------------------------------------------

# ref §4 Customer: DisplayName ≤500; Given/Middle/FamilyName ≤100; Title/Suffix ≤16; CompanyName ≤100;
# PrintOnCheckName ≤110; Notes ≤2000; PrimaryEmailAddr ≤100; phones ≤30.
CUSTOMER_LIMITS = {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
                   "Title": 16, "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 110,
                   "Notes": 2000, "PrimaryEmailAddr.Address": 100, "PrimaryPhone.FreeFormNumber": 30,
                   "Mobile.FreeFormNumber": 30, "Fax.FreeFormNumber": 30,
                   "AlternatePhone.FreeFormNumber": 30}
# ref §4 Customer: "Names may not contain ':', tab or newline" (emulator checks these four).
CUSTOMER_NAME_FIELDS = ("DisplayName", "GivenName", "MiddleName", "FamilyName")
CUSTOMER_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
# ref §4 Item: Name ≤100, Description ≤4000, PurchaseDesc ≤1000, Sku ≤100.
ITEM_LIMITS = {"Name": 100, "Description": 4000, "PurchaseDesc": 1000, "Sku": 100}
# ref §4 Invoice/CreditMemo/RefundReceipt/Purchase: DocNumber ≤21, PrivateNote ≤4000;
# Invoice CustomerMemo ≤1000 (applied to every sales form: stricter); RefundReceipt PaymentRefNum ≤100.
TXN_LIMITS = {"DocNumber": 21, "PrivateNote": 4000, "CustomerMemo.value": 1000}
# ref §4 Payment: PrivateNote ≤4000; PaymentRefNum has no limit in the reference, the emulator
# enforces 21 (the DocNumber limit): stricter, 21.
PAYMENT_LIMITS = {"PrivateNote": 4000, "PaymentRefNum": 21}
LINE_DESCRIPTION = 4000  # ref §4: line Description ≤4000
AMOUNT_INTEGER_DIGITS, AMOUNT_DECIMALS = 10, 5  # ref §4: "at most 15 digits in 10.5 format"
BAD_NAME_CHARS = {":": "a colon", "\t": "a tab", "\n": "a line break", "\r": "a line break"}
_CHAR_KEYS = {":": "colon", "\t": "tab", "\n": "line-break", "\r": "line-break"}


def _get(data: dict, path: str):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _facts(kind, reason, record_type, path, line=None, **more) -> dict:
    facts = {"kind": kind, "reason": reason, "record": record_type, "path": path, **more}
    if line is not None:
        facts["line"] = line
    return facts


def _length_problems(record_type, data, limits, prefix="", line=None):
    problems = []
    for path, limit in limits.items():
        value = _get(data, path)
        if isinstance(value, str) and len(value) > limit:
            label = field_label(record_type, prefix + path, line)
            problems.append(Problem(
                prefix + path, _shown(value), limit,
                f"{label} \"{_shown(value)}\" is {len(value)} characters; QuickBooks allows at most {limit}",
                facts=_facts("field", "length", record_type, prefix + path, line, value=_shown(value),
                             limit=limit, length=len(value))))
    return problems


def _char_problems(record_type, data, fields):
    problems = []
    for path in fields:
        value = _get(data, path)
        if not isinstance(value, str):
            continue
        bad = [char for char in BAD_NAME_CHARS if char in value]
        if bad:
            label = field_label(record_type, path)
            problems.append(Problem(path, _shown(value), None,
                                    f"{label} \"{_shown(value)}\" contains {BAD_NAME_CHARS[bad[0]]}; QuickBooks "
                                    "doesn't allow ':', tabs or line breaks in names",
                                    facts=_facts("field", "characters", record_type, path, value=_shown(value),
                                                 char=_CHAR_KEYS[bad[0]])))
    return problems


_ALSO = {"name": " (or a first or last name)", "line": " (at least one line)"}


def _required(record_type, field, also=None, line=None):
    label = field_label(record_type, field, line)
    facts = _facts("missing", "required", record_type, field, line, **({"also": also} if also else {}))
    return Problem(field, "", None, f"{label} is required by QuickBooks{_ALSO.get(also, '')}",
                   case="required-field", facts=facts)


def _has_ref(data, field):
    ref = data.get(field)
    return isinstance(ref, dict) and ref.get("value") not in (None, "")


def _amount_problem(record_type, path, amount, line=None):
    label = field_label(record_type, path, line)
    not_a_number = Problem(path, _shown(amount), None, f"{label} \"{_shown(amount)}\" is not a number",
                           facts=_facts("field", "not-a-number", record_type, path, line, value=_shown(amount)))
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return not_a_number
    if not value.is_finite():
        return not_a_number
    whole = int(abs(value))
    integer_digits = len(str(whole)) if whole else 0
    decimals = max(0, -value.normalize().as_tuple().exponent)
    if integer_digits > AMOUNT_INTEGER_DIGITS or decimals > AMOUNT_DECIMALS:
        return Problem(path, _shown(amount), AMOUNT_INTEGER_DIGITS + AMOUNT_DECIMALS,
                       f"{label} {amount} doesn't fit QuickBooks' amounts: at most "
                       f"{AMOUNT_INTEGER_DIGITS} digits before the point and {AMOUNT_DECIMALS} after",
                       facts=_facts("field", "amount-digits", record_type, path, line, value=_shown(amount),
                                    integer_digits=AMOUNT_INTEGER_DIGITS, decimals=AMOUNT_DECIMALS))
    return None


def _unwrap(record_type: str, payload: dict) -> dict:
    entity = ENTITY_FOR.get(record_type)
    if isinstance(payload, dict) and entity in payload and isinstance(payload[entity], dict):
        return payload[entity]
    return payload or {}


def _customer(data, full):
    problems = _length_problems("account", data, CUSTOMER_LIMITS)
    problems += _char_problems("account", data, CUSTOMER_NAME_FIELDS)
    email = _get(data, "PrimaryEmailAddr.Address")
    # ref §4 Customer: the address must contain '@' and '.' (else 2210).
    if isinstance(email, str) and email and ("@" not in email or "." not in email):
        problems.append(Problem("PrimaryEmailAddr.Address", _shown(email), None,
                                f"{field_label('account', 'PrimaryEmailAddr.Address')} \"{_shown(email)}\" "
                                "is not a valid email address; QuickBooks needs an '@' and a '.'",
                                facts=_facts("field", "email", "account", "PrimaryEmailAddr.Address",
                                             value=_shown(email))))
    # ref §4 Customer: DisplayName, or one of Title/GivenName/MiddleName/FamilyName/Suffix (6080).
    if full and not data.get("DisplayName") and not any(data.get(p) for p in CUSTOMER_NAME_PARTS):
        problems.append(_required("account", "DisplayName", "name"))
    return problems


def _item(data, full):
    problems = _length_problems("service", data, ITEM_LIMITS)
    # ':' separates sub-items in QBO's FullyQualifiedName; the emulator refuses it in a Name (stricter).
    problems += _char_problems("service", data, ("Name",))
    if full:
        if not data.get("Name"):
            problems.append(_required("service", "Name"))
        # ref §4 Item: Type must be explicit; IncomeAccountRef is required for a Service.
        if not data.get("Type"):
            problems.append(_required("service", "Type"))
        if data.get("Type") in ("Service", "Inventory") and not _has_ref(data, "IncomeAccountRef"):
            problems.append(_required("service", "IncomeAccountRef"))
    return problems


def _lines(record_type, data, full):
    problems = []
    lines = data.get("Line")
    if lines is None and not full:
        return problems
    if not isinstance(lines, list) or not lines:
        # ref §4: Line[] (≥1) is required on Invoice, CreditMemo, RefundReceipt and Purchase.
        return [_required(record_type, "Line", "line")]
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict) or line.get("DetailType") == "SubTotalLineDetail":
            continue
        problems += _length_problems(record_type, line, {"Description": LINE_DESCRIPTION}, "Line.", n)
        if line.get("Amount") is not None:
            problem = _amount_problem(record_type, "Line.Amount", line["Amount"], n)
            if problem:
                problems.append(problem)
        kind = line.get("DetailType")
        # Emulator (stricter): a sales line needs its ItemRef; an expense line its AccountRef.
        if kind == "SalesItemLineDetail" and not _has_ref(line.get("SalesItemLineDetail") or {}, "ItemRef"):
            problems.append(_required(record_type, "Line.SalesItemLineDetail.ItemRef", line=n))
        if kind == "AccountBasedExpenseLineDetail" and not _has_ref(
                line.get("AccountBasedExpenseLineDetail") or {}, "AccountRef"):
            problems.append(_required(record_type, "Line.AccountBasedExpenseLineDetail.AccountRef",
                                      line=n))
    return problems


def _sales_form(record_type, data, full):
    limits = dict(TXN_LIMITS)
    if record_type == "refund":
        limits["PaymentRefNum"] = 100  # ref §4 RefundReceipt
    problems = _length_problems(record_type, data, limits)
    if full:
        # ref §4: CustomerRef is required on Invoice and CreditMemo (optional on RefundReceipt);
        # RefundReceipt needs DepositToAccountRef.
        if record_type in ("invoice", "credit_note") and not _has_ref(data, "CustomerRef"):
            problems.append(_required(record_type, "CustomerRef"))
        if record_type == "refund" and not _has_ref(data, "DepositToAccountRef"):
            problems.append(_required(record_type, "DepositToAccountRef"))
    return problems + _lines(record_type, data, full)


def _purchase(data, full):
    problems = _length_problems("processor_fee", data, {"DocNumber": 21, "PrivateNote": 4000})
    if full:
        # ref §4 Purchase: PaymentType and AccountRef are required.
        if not data.get("PaymentType"):
            problems.append(_required("processor_fee", "PaymentType"))
        if not _has_ref(data, "AccountRef"):
            problems.append(_required("processor_fee", "AccountRef"))
    return problems + _lines("processor_fee", data, full)


def _payment(data, full):
    problems = _length_problems("payment", data, PAYMENT_LIMITS)
    if full:
        # ref §4 Payment: CustomerRef and TotalAmt are required.
        if not _has_ref(data, "CustomerRef"):
            problems.append(_required("payment", "CustomerRef"))
        if data.get("TotalAmt") in (None, ""):
            problems.append(_required("payment", "TotalAmt"))
    if data.get("TotalAmt") not in (None, ""):
        problem = _amount_problem("payment", "TotalAmt", data["TotalAmt"])
        if problem:
            problems.append(problem)
    for n, line in enumerate(data.get("Line") or [], 1):
        if isinstance(line, dict) and line.get("Amount") is not None:
            problem = _amount_problem("payment", "Line.Amount", line["Amount"], n)
            if problem:
                problems.append(problem)
    return problems


_CHECKS = {
    "account": _customer, "service": _item, "payment": _payment, "processor_fee": _purchase,
    "invoice": lambda d, c: _sales_form("invoice", d, c),
    "credit_note": lambda d, c: _sales_form("credit_note", d, c),
    "refund": lambda d, c: _sales_form("refund", d, c),
}


def check(record_type: str, payload: dict) -> list[Problem]:
    """Every QBO limit this payload breaks (empty when it may be sent). A sparse update skips the
    required-field checks, since it carries only what changed."""
    if record_type not in _CHECKS:
        raise ValueError(f"unknown record type {record_type!r}")
    data = _unwrap(record_type, payload)
    # A full update resets what it leaves out (ref §1), so it must carry the required fields too.
    full = data.get("sparse") not in (True, "true")
    return _CHECKS[record_type](data, full)


# -- account types --------------------------------------------------------------------------------

# ref §4 Purchase: AccountRef is Bank for Cash or Check, Credit Card for CreditCard.
PURCHASE_ACCOUNT = {"Cash": "Bank", "Check": "Bank", "CreditCard": "Credit Card"}
# ref §4 Purchase: a line's AccountRef is an Expense account (emulator also takes these two).
EXPENSE_TYPES = ("Expense", "Other Expense", "Cost of Goods Sold")
# ref §4 Item: the income account must have an income type; A/R or A/P gets "Invalid account type".
INCOME_TYPES = ("Income", "Other Income")
NEVER_ON_ITEMS = ("Accounts Receivable", "Accounts Payable")
# ref §4 Payment and RefundReceipt: DepositToAccountRef is Bank or Other Current Asset.
DEPOSIT_TYPES = ("Bank", "Other Current Asset")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _account_problem(record_type, path, ref, accounts_by_id, allowed, case, line=None):
    if not isinstance(ref, dict) or ref.get("value") in (None, ""):
        return None  # missing refs are `check`'s business
    label = field_label(record_type, path, line)
    account = accounts_by_id.get(str(ref["value"]))
    if account is None or account.get("Active") is False:
        name = ref.get("name") or f"Id {ref['value']}"
        return Problem(path, _shown(name), None,
                       f"{label} \"{_shown(name)}\" is not an active account in QuickBooks (deleted "
                       "or made inactive there)", case=case,
                       facts=_facts("account", "inactive", record_type, path, line, value=_shown(name)))
    kind = account.get("AccountType") or "unknown"
    if kind in allowed:
        return None
    name = account.get("Name") or ref.get("name") or f"Id {ref['value']}"
    wanted = " or ".join(allowed)
    return Problem(path, _shown(name), None,
                   f"{label} \"{_shown(name)}\" is {_article(kind)} {kind} account; QuickBooks needs "
                   f"{_article(wanted)} {wanted} account here", case=case,
                   facts=_facts("account", "account-type", record_type, path, line, value=_shown(name),
                                account_type=kind, wanted=list(allowed)))


def check_accounts(record_type: str, payload: dict, accounts_by_id: dict[str, dict]) -> list[Problem]:
    """Account-type problems: the accounts a payload points at, against the company's accounts by Id."""
    data = _unwrap(record_type, payload)
    accounts_by_id = {str(k): v for k, v in accounts_by_id.items()}
    found = []
    if record_type == "processor_fee":
        wanted = PURCHASE_ACCOUNT.get(data.get("PaymentType"))
        if wanted:
            found.append(_account_problem(record_type, "AccountRef", data.get("AccountRef"),
                                          accounts_by_id, (wanted,), "expense-account-type"))
        for n, line in enumerate(data.get("Line") or [], 1):
            detail = (line or {}).get("AccountBasedExpenseLineDetail") or {}
            found.append(_account_problem(record_type, "Line.AccountBasedExpenseLineDetail.AccountRef",
                                          detail.get("AccountRef"), accounts_by_id, EXPENSE_TYPES,
                                          "expense-account-type", n))
    elif record_type == "service":
        found.append(_account_problem(record_type, "IncomeAccountRef", data.get("IncomeAccountRef"),
                                      accounts_by_id, INCOME_TYPES, "item-account-type"))
        ref = data.get("ExpenseAccountRef")
        account = accounts_by_id.get(str((ref or {}).get("value")))
        if account and account.get("AccountType") in NEVER_ON_ITEMS:
            label, name = field_label(record_type, "ExpenseAccountRef"), _shown(account.get("Name", ""))
            found.append(Problem("ExpenseAccountRef", name, None,
                                 f"{label} \"{name}\" is an {account['AccountType']} account; QuickBooks "
                                 "doesn't let a product or service use Accounts Receivable or Accounts "
                                 "Payable accounts", case="item-account-type",
                                 facts=_facts("account", "receivable-or-payable", record_type, "ExpenseAccountRef",
                                              value=name, account_type=account["AccountType"])))
    elif record_type in ("payment", "refund"):
        found.append(_account_problem(record_type, "DepositToAccountRef", data.get("DepositToAccountRef"),
                                      accounts_by_id, DEPOSIT_TYPES, "deposit-account-type"))
    return [p for p in found if p]
