"""QBO's fault bodies: the data-service shape, the gateway shape (auth) and the XML throttle.

Texts follow qbo-api-reference.md §2. Where the reference gives a code but not a Detail, the text
is ours and says so in a comment.
"""

import json
import time
from xml.sax.saxutils import escape


class QboFault(Exception):
    """One data-service fault: raised by the rules, rendered as QBO's Fault JSON."""

    def __init__(self, code, message, detail="", element="", status=400, type_="ValidationFault",
                 errors=None):
        super().__init__(f"{code} {message}")
        self.status = status
        self.type = type_
        self.errors = errors or [_error(code, message, detail, element)]

    @property
    def code(self):
        return self.errors[0]["code"]

    def body(self):
        return {"Fault": {"Error": self.errors, "type": self.type}}


class GatewayFault(Exception):
    """An auth or throttle answer from Intuit's gateway (not the data service)."""

    def __init__(self, status, body, content_type="application/json"):
        super().__init__(f"gateway {status}")
        self.status = status
        self.body = body
        self.content_type = content_type


def _error(code, message, detail, element):
    error = {"Message": message, "Detail": detail, "code": str(code)}
    if element is not None:
        error["element"] = element
    return error


def fmt_int(n):
    """2050's Detail writes lengths with thousands commas ("Max:4,000")."""
    return f"{n:,}"


# -- the data-service faults the rules raise ---------------------------------------------------

def required(field):
    return QboFault("2020", "Required param missing, need to supply the required value for the API",
                    f"Required parameter {field} is missing in the request", field)


def invalid_property(element, detail):
    # Not in the reference: QBO's answer to a body of the wrong shape (2010, from memory, L).
    return QboFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:{element} specified is unsupported or invalid. {detail}", element)


def invalid_string(field, value):
    # The reference gives code and trigger only (M); the Detail wording is ours.
    return QboFault("2040", "Invalid String",
                    f"String contains invalid characters (':', tab or newline): {value!r}", field)


def string_length(field, max_len, supplied, min_len=0):
    return QboFault(
        "2050", "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:{fmt_int(min_len)} Max:{fmt_int(max_len)} supported. Supplied length: {fmt_int(supplied)}",
        field)


def invalid_enum(field, value):
    return QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", field)


def invalid_email(field):
    return QboFault("2210", "Invalid Email Address Format",
                    "Email Address does not conform to the syntax rules of RFC 822.", field)


def invalid_reference(field):
    return QboFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {field}", field)


INACTIVE_TEXT = ("Something you're trying to use has been made inactive. "
                 "Check the fields with accounts, customers, items, vendors or employees.")


def inactive_reference(field):
    return QboFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {INACTIVE_TEXT}", field)


def invalid_id(value):
    return QboFault("2030", "Invalid ID", f"Id {value} is not a valid id", "Id")


def not_found(deleted=False):
    text = "Another user has deleted this transaction." if deleted else INACTIVE_TEXT
    return QboFault("610", "Object Not Found", f"Object Not Found : {text}", "")


def unsupported(operation):
    return QboFault("500", "Unsupported Operation", f"Operation {operation} is not supported.", "")


def stale(user="Emulator User"):
    return QboFault(
        "5010", "Stale Object Error",
        f"Stale Object Error : You and {user} were working on this at the same time. "
        f"{user} finished before you did, so your work was not saved.", "")


def business(reason, element=""):
    return QboFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {reason}", element)


def amount_calc(supplied):
    return QboFault("6070", "Amount calculation incorrect in the request",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}", "Line.Amount")


def no_name():
    # 6080 is named by the reference (Customer: "otherwise 6080 No Name Provided"); text is ours.
    return QboFault("6080", "No Name Provided",
                    "No Name Provided : Please provide a DisplayName, or a Title, GivenName, "
                    "MiddleName, FamilyName or Suffix.", "DisplayName")


def duplicate_doc_number(doc_number, txn_type, txn_id):
    return QboFault(
        "6140", "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has "
        f"already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
        "")


def subscription_ended():
    return QboFault("6190", "Invalid Company Status",
                    "Subscription period has ended or been canceled or there was a billing problem : "
                    "You can't add data to QuickBooks Online Plus because your trial or subscription "
                    "period ended, you canceled your subscription, or there was a billing problem.", "")


def list_has_balance():
    # "probably code 6220" (reference §1, M): modelled as 6220.
    return QboFault("6220", "Delete List Has Balance Error",
                    "Delete List Has Balance Error : You can't make this customer inactive because "
                    "it has a non-zero balance.", "")


NAME_LIST_TEXT = "Another customer, vendor or employee is already using this name."


def duplicate_name(kind="name list"):
    if kind == "Item":
        # The Item wording is L in the reference.
        other = "Another product or service is already using this name."
    elif kind == "Account":
        other = "Another account is already using this name."
    elif kind == "PaymentMethod":
        other = "Another payment method is already using this name."
    elif kind in ("Term", "Class", "Department", "TaxAgency"):
        # Not in the reference: the wording follows the other lists' (L).
        other = {"Term": "Another term", "Class": "Another class", "Department": "Another location",
                 "TaxAgency": "Another tax agency"}[kind] + " is already using this name."
    else:
        other = NAME_LIST_TEXT
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : {other} Please use a different name.", "")


def invalid_customer():
    # Code 6250 is the reference's best guess (M). Stricter choice: raised for inactive customers
    # on create *and* on edit of a transaction, as the quoted text says.
    return QboFault("6250", "Invalid Customer",
                    "The customer you have specified has been deleted. You cannot create or edit a "
                    "transaction with a deleted customer.", "CustomerRef")


def invalid_account_type(element="AccountRef", item=False):
    # Code 6430 (M) rather than 6000: the reference's table puts this text under 6430.
    if item:
        detail = ("Invalid account type: You can't associate a product or service with accounts of "
                  "certain types (like Accounts Receivable and Accounts Payable). "
                  "Please select a different account.")
    else:
        detail = ("Invalid account type: You need to select a different type of account for this "
                  "transaction.")
    return QboFault("6430", "Invalid account type used", detail, element)


def txn_cannot_be_linked():
    return QboFault("620", "Txn ID Cannot Be Linked",
                    "Cannot validate linked transactions. The transaction you are linking to "
                    "belongs to another customer or cannot be linked.", "Line.LinkedTxn")


def query_parse(detail):
    # 4000/4002 faults carry no `element` at all (reference §2).
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}", None)


def query_invalid(detail):
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}", None)


def batch_too_big(n):
    # Reference §5 of "Could not confirm": the status and body are unknown. Stricter choice: the
    # whole batch is refused with 400 and code 1040 before any item runs.
    return QboFault("1040", "Batch size exceeds allowed limit",
                    f"Batch size exceeds allowed limit. Max allowed: 30 Supplied: {n}", "")


def system_fault():
    return QboFault("10000", "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving "
                    "your data. Please wait a few minutes and try again.", "", status=500,
                    type_="SystemFault")


# -- gateway shapes -----------------------------------------------------------------------------

def _gateway_body(code, message, detail, type_):
    return {
        "warnings": None, "intuitObject": None,
        "fault": {"error": [{"message": message, "detail": detail, "code": code, "element": None}],
                  "type": type_},
        "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
        "syncErrorResponse": None, "requestId": None, "time": int(time.time() * 1000),
        "status": None, "cdcresponse": [],
    }


def auth_failed(detail=None):
    body = _gateway_body("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                         detail, "AUTHENTICATION")
    return GatewayFault(401, json.dumps(body))


def wrong_realm():
    body = _gateway_body("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                         None, "SERVICE")
    return GatewayFault(403, json.dumps(body))


def throttled(now_text):
    # QBO has sent the throttle as XML even to JSON requests (reference §2): always XML here.
    body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{escape(now_text)}">'
            '<Fault type="SERVICE"><Error code="3001">'
            "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
            "<Detail>The request limit was reached.  Try again later</Detail>"
            "</Error></Fault></IntuitResponse>")
    return GatewayFault(429, body, "application/xml")


def read_quota_exhausted():
    """The monthly CorePlus allowance ran out (qbo-2025-2026.md §1.1: "throttled and an HTTP 429
    error will be returned", "blocked until the following month"). No published body was found:
    this is the product's reconstruction (tests/quickbooks/api/test_fault_contract.py "quota-429"),
    a 3001 whose words name the monthly CorePlus quota, which is how a client tells it from the
    per-minute throttle."""
    return QboFault("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "Your app has used its monthly CorePlus API quota for this workspace; calls are "
                    "blocked until the following month.", None, status=429, type_="SERVICE")


def for_code(code, now_text):
    """A realistic fault for an injected `code` (control API)."""
    code = str(code)
    if code == "3200":
        return auth_failed("Token expired: injected")
    if code == "3100":
        return wrong_realm()
    if code in ("3001", "429"):
        return throttled(now_text)
    if code == "100":
        return QboFault("100", "General Authentication Error",
                        "AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401",
                        "", status=401, type_="AuthenticationFault")
    if code == "120":
        return QboFault("120", "Authorization Failure",
                        "AuthorizationFailure: -11014-You do not have access to use QuickBooks Online Plus.",
                        "", status=401, type_="AuthorizationFault")
    builders = {
        "500": lambda: unsupported("Create"),
        "610": lambda: not_found(deleted=True),
        "620": txn_cannot_be_linked,
        "2020": lambda: required("Line"),
        "2040": lambda: invalid_string("DisplayName", "a:b"),
        "2050": lambda: string_length("DocNumber", 21, 22),
        "2500": lambda: invalid_reference("Line.SalesItemLineDetail.ItemRef"),
        "5010": stale,
        "6000": lambda: business("The Amount Received (plus credits) can't be less than the selected charges"),
        "6070": lambda: amount_calc("58"),
        "6140": lambda: duplicate_doc_number("1001", "Invoice", "1"),
        "6190": subscription_ended,
        "6220": list_has_balance,
        "6240": duplicate_name,
        "6250": invalid_customer,
        "6430": invalid_account_type,
        "10000": system_fault,
    }
    if code in builders:
        return builders[code]()
    status = 500 if int(code or 0) >= 10000 else 400
    return QboFault(code, f"Error {code}", f"Injected fault {code}", "", status=status,
                    type_="SystemFault" if status == 500 else "ValidationFault")
