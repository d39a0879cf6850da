"""QBO's query language (ref §5): SELECT * | COUNT(*) FROM Entity [WHERE ...] [ORDERBY ...]
[STARTPOSITION n] [MAXRESULTS n]."""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from . import faults as F
from .rules import ENTITIES, NAME_LISTS, applications, render
from .store import COMPANY_TZ

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "IN", "LIKE", "ORDERBY", "ASC", "DESC",
            "STARTPOSITION", "MAXRESULTS", "COUNT", "TRUE", "FALSE"}
TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[*(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
""", re.VERBOSE)

COMMON = {"Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime"}
# Only filterable properties may appear in WHERE (ref §5, M): anything else gets 4001.
FILTERABLE = {
    "Customer": {"DisplayName", "GivenName", "MiddleName", "FamilyName", "CompanyName",
                 "PrimaryEmailAddr", "Active", "Balance", "FullyQualifiedName", "Job",
                 "PrintOnCheckName"},
    "Vendor": {"DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryEmailAddr",
               "Active", "Balance"},
    "Employee": {"DisplayName", "GivenName", "FamilyName", "Active"},
    "Item": {"Name", "Active", "Type", "Sku", "FullyQualifiedName"},
    "Account": {"Name", "Active", "AccountType", "AccountSubType", "Classification",
                "FullyQualifiedName", "AcctNum", "CurrentBalance"},
    "PaymentMethod": {"Name", "Active", "Type"},
    "Invoice": {"DocNumber", "TxnDate", "DueDate", "CustomerRef", "TotalAmt", "Balance"},
    "CreditMemo": {"DocNumber", "TxnDate", "CustomerRef", "TotalAmt", "Balance", "RemainingCredit"},
    "Payment": {"TxnDate", "CustomerRef", "TotalAmt", "PaymentRefNum"},
    "RefundReceipt": {"DocNumber", "TxnDate", "CustomerRef", "TotalAmt"},
    "Purchase": {"DocNumber", "TxnDate", "TotalAmt", "PaymentType", "AccountRef", "EntityRef"},
    "SalesReceipt": {"DocNumber", "TxnDate", "CustomerRef", "TotalAmt"},
    "Term": {"Name", "Active", "Type"},
    "Class": {"Name", "Active", "FullyQualifiedName", "ParentRef"},
    "Department": {"Name", "Active", "FullyQualifiedName", "ParentRef"},
    "TaxCode": {"Name", "Active", "Taxable", "TaxGroup"},
    "TaxRate": {"Name", "Active", "RateValue", "AgencyRef"},
    "TaxAgency": {"DisplayName"},
    "CompanyCurrency": {"Code", "Name", "Active"},
    "CompanyInfo": set(),
    "Preferences": set(),
}


class Token:
    def __init__(self, kind, text, value, column):
        self.kind, self.text, self.value, self.column = kind, text, value, column


def tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise F.query_parse(f'Lexical error at line 1, column {pos + 1}.  '
                                f'Encountered: "{text[pos]}"')
        kind = m.lastgroup
        raw = m.group()
        if kind == "string":
            tokens.append(Token("STRING", raw, re.sub(r"\\(.)", r"\1", raw[1:-1]), pos + 1))
        elif kind == "number":
            tokens.append(Token("INTEGER" if raw.lstrip("-").isdigit() else "DECIMAL", raw, raw, pos + 1))
        elif kind == "ident":
            upper = raw.upper()
            tokens.append(Token(upper if upper in KEYWORDS else "IDENTIFIER", raw, raw, pos + 1))
        elif kind in ("op", "punct"):
            tokens.append(Token(raw, raw, raw, pos + 1))
        pos = m.end()
    tokens.append(Token("EOF", "", None, len(text) + 1))
    return tokens


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def fail(self, expected):
        tok = self.peek()
        shown = "<EOF>" if tok.kind == "EOF" else (
            f'" <{tok.kind}> "{tok.text} ""' if tok.kind in ("IDENTIFIER", "STRING", "INTEGER", "DECIMAL")
            else f'" "{tok.text}" "{tok.text} ""')
        expect = " ".join(f'"{e}"' if not e.startswith("<") else e for e in expected)
        raise F.query_parse(f"Encountered {shown} at line 1, column {tok.column}.\n"
                            f"Was expecting one of:\n    {expect}")

    def take(self, *kinds):
        tok = self.peek()
        if tok.kind not in kinds:
            self.fail([k.lower() if k in KEYWORDS else (f"<{k}>" if k.isupper() else k) for k in kinds])
        self.i += 1
        return tok

    def accept(self, kind):
        if self.peek().kind == kind:
            self.i += 1
            return True
        return False

    def parse(self):
        q = {"count": False, "where": [], "order": [], "start": 1, "max": DEFAULT_RESULTS}
        self.take("SELECT")
        if self.accept("COUNT"):
            self.take("(")
            self.take("*")
            self.take(")")
            q["count"] = True
        else:
            # No projections (ref §5), but `SELECT *, Sku FROM Item` (python-quickbooks Item.all())
            # is answered: the named properties are already in `*`, every record comes whole.
            self.take("*")
            while self.accept(","):
                q.setdefault("also", []).append(self.take("IDENTIFIER").text)
        self.take("FROM")
        q["entity"] = self.take("IDENTIFIER").text
        if self.accept("WHERE"):
            q["where"].append(self.condition())
            while self.accept("AND"):
                q["where"].append(self.condition())
        if self.accept("ORDERBY"):
            while True:
                field = self.take("IDENTIFIER").text
                desc = False
                if self.accept("DESC"):
                    desc = True
                else:
                    self.accept("ASC")
                q["order"].append((field, desc))
                if not self.accept(","):
                    break
        if self.accept("STARTPOSITION"):
            q["start"] = int(self.take("INTEGER").value)
            if q["start"] < 1:
                raise F.query_invalid(f"value {q['start']} is too small. Min allowed value is 1")
        if self.accept("MAXRESULTS"):
            q["max"] = int(self.take("INTEGER").value)
            if q["max"] < 0:
                raise F.query_invalid(f"value {q['max']} is too small. Min allowed value is 0")
        # OR is listed by the parser but unsupported (ref §5, "Could not confirm" 9): stricter,
        # anything left over, OR included, is a parse error.
        if self.peek().kind != "EOF":
            self.fail(["and", "orderby", "startposition", "maxresults", "<EOF>"])
        return q

    def value(self):
        tok = self.take("STRING", "INTEGER", "DECIMAL", "TRUE", "FALSE")
        if tok.kind in ("TRUE", "FALSE"):
            return tok.kind == "TRUE"
        if tok.kind in ("INTEGER", "DECIMAL"):
            return Decimal(tok.value)
        return tok.value

    def condition(self):
        field = self.take("IDENTIFIER").text
        tok = self.peek()
        if self.accept("IN"):
            self.take("(")
            values = [self.value()]
            while self.accept(","):
                values.append(self.value())
            self.take(")")
            return (field, "IN", values)
        if self.accept("LIKE"):
            return (field, "LIKE", self.take("STRING").value)
        if tok.kind in ("=", "<", ">", "<=", ">="):
            self.i += 1
            return (field, tok.kind, self.value())
        self.fail(["=", "<", ">", "<=", ">=", "in", "like"])


def _field_value(record, field):
    if field.startswith("MetaData."):
        text = (record.get("MetaData") or {}).get(field.split(".", 1)[1])
        return _as_time(text)
    value = record.get(field)
    if isinstance(value, dict):
        value = value.get("value", value.get("Address"))
    return value


def _as_time(text):
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=COMPANY_TZ)  # naive times are the company's (L)
    return dt.timestamp()


def _coerce(record_value, literal, field):
    if field.startswith("MetaData."):
        return _as_time(literal)
    if isinstance(record_value, bool) or isinstance(literal, bool):
        return literal if isinstance(literal, bool) else str(literal).lower() == "true"
    if isinstance(record_value, (int, float)) and not isinstance(record_value, bool):
        try:
            return Decimal(str(literal))
        except InvalidOperation:
            return None
    if field == "Id":
        return str(literal).split(".")[0] if isinstance(literal, Decimal) else str(literal)
    return str(literal) if not isinstance(literal, str) else literal


def _norm(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        # String comparisons ignore case, as QBO's name lookups do (M).
        return value.casefold()
    return value


def _compare(record, cond):
    field, op, literal = cond
    actual = _field_value(record, field)
    if op == "IN":
        return any(_norm(actual) == _norm(_coerce(actual, v, field)) for v in literal)
    if op == "LIKE":
        pattern = "^" + ".*".join(re.escape(part) for part in literal.split("%")) + "$"
        return actual is not None and re.match(pattern, str(actual), re.I | re.S) is not None
    expected = _norm(_coerce(actual, literal, field))
    actual = _norm(actual)
    if field == "Id" and actual is not None and expected is not None:
        actual, expected = Decimal(actual), Decimal(expected)
    if actual is None or expected is None:
        return False
    try:
        return {"=": actual == expected, "<": actual < expected, ">": actual > expected,
                "<=": actual <= expected, ">=": actual >= expected}[op]
    except TypeError:
        return False


def _sort_key(record, field):
    value = _field_value(record, field)
    if field == "Id":
        return (0, int(value))
    if value is None:
        return (1, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, Decimal(str(value)))
    return (0, _norm(value))


def run(store, company, text):
    """Answer one query string with QBO's QueryResponse body (a dict)."""
    if not isinstance(text, str):
        raise F.query_parse("Encountered \"<EOF>\" at line 1, column 1.")
    q = Parser(text).parse()
    entity = q["entity"]
    if entity not in ENTITIES:
        # Entity names are case-sensitive in the docs (ref §5, M): `customer` is refused.
        raise F.query_parse(f"Invalid entity name: {entity}")
    allowed = COMMON | FILTERABLE[entity]
    for field, _, _ in q["where"]:
        if field not in allowed:
            raise F.query_invalid(f"property '{field}' is not queryable")
    for field, _ in q["order"]:
        if field not in allowed:
            raise F.query_invalid(f"property '{field}' is not sortable")
    if q["max"] > MAX_RESULTS:
        raise F.query_invalid(f"value {q['max']} is too large. Max allowed value is {MAX_RESULTS}")
    apps = applications(store, company)
    records = [render(store, company, entity, w, apps)
               for w in store.records(company, entity).values() if not w["deleted"]]
    where = list(q["where"])
    # Name lists answer active records only unless the query names Active (ref §5).
    if entity in NAME_LISTS and entity != "TaxAgency" and not any(field == "Active" for field, _, _ in where):
        where.append(("Active", "=", True))
    hits = [r for r in records if all(_compare(r, c) for c in where)]
    if q["count"]:
        return {"totalCount": len(hits)}
    hits.sort(key=lambda r: int(r["Id"]))
    for field, desc in reversed(q["order"]):
        hits.sort(key=lambda r: _sort_key(r, field), reverse=desc)
    start = max(q["start"], 1)
    page = hits[start - 1:start - 1 + q["max"]]
    if not page:
        return {}
    return {entity: page, "startPosition": start, "maxResults": len(page)}
