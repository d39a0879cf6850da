"""The query language (ref §5)."""

import pytest

from emulator.testing import fault_of


def _rows(response, entity):
    return response.json()["QueryResponse"].get(entity, [])


def test_it_selects_with_where_and_like(qbo_http):
    """ref §5: =, LIKE with % as the only wildcard, AND."""
    for name in ("Alpha One", "Alpha Two", "Beta"):
        qbo_http.customer(name)
    rows = _rows(qbo_http.query("SELECT * FROM Customer WHERE DisplayName LIKE 'Alpha%' AND Active = true"), "Customer")
    assert sorted(r["DisplayName"] for r in rows) == ["Alpha One", "Alpha Two"]


def test_it_counts(qbo_http):
    """ref §5: COUNT(*) returns {"QueryResponse":{"totalCount":N}}."""
    qbo_http.customer("One")
    qbo_http.customer("Two")
    assert qbo_http.query("select count(*) from Customer").json()["QueryResponse"] == {"totalCount": 2}


def test_it_answers_empty_queryresponse_without_hits(qbo_http):
    """ref §5: no hits gives "QueryResponse":{}."""
    assert qbo_http.query("select * from Invoice").json()["QueryResponse"] == {}


def test_it_returns_only_active_name_list_records_by_default(qbo_http):
    """ref §5: SELECT * FROM Customer returns active records only; Active IN (true,false) includes the rest."""
    gone = qbo_http.customer("Gone")
    qbo_http.customer("Here")
    qbo_http.create("Customer", {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert len(_rows(qbo_http.query("select * from Customer"), "Customer")) == 1
    assert len(_rows(qbo_http.query("select * from Customer where Active IN (true,false)"), "Customer")) == 2
    assert _rows(qbo_http.query("select * from Customer where Active = false"), "Customer")[0]["Id"] == gone["Id"]


def test_it_unescapes_backslash_apostrophes(qbo_http):
    """ref §5: 'O\\'Brien'."""
    qbo_http.customer("O'Brien")
    rows = _rows(qbo_http.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien'"), "Customer")
    assert rows[0]["DisplayName"] == "O'Brien"


def test_it_pages_with_startposition_and_maxresults(qbo_http):
    """ref §5: STARTPOSITION is 1-based; maxResults is the count returned."""
    for n in range(5):
        qbo_http.customer(f"C{n}")
    body = qbo_http.query("select * from Customer ORDERBY DisplayName DESC STARTPOSITION 2 MAXRESULTS 2").json()
    page = body["QueryResponse"]
    assert [r["DisplayName"] for r in page["Customer"]] == ["C3", "C2"]
    assert page["startPosition"] == 2 and page["maxResults"] == 2


def test_it_refuses_maxresults_over_1000(qbo_http):
    """ref §3/§2: MAXRESULTS max 1000, more gets 4001 "value 1500 is too large"."""
    error = fault_of(qbo_http.query("select * from Customer maxresults 1500"))
    assert error["code"] == "4001"
    assert error["Detail"] == "QueryValidationError: value 1500 is too large. Max allowed value is 1000"


def test_it_answers_4000_without_element_for_a_parse_error(qbo_http):
    """ref §2 4000 QueryParserError: Encountered ...; element left out on query errors."""
    error = fault_of(qbo_http.query("SELECT * FROM Customer WHERE DisplayName = 'a' OR Active = true"))
    assert error["code"] == "4000" and "element" not in error
    assert error["Detail"].startswith("QueryParserError: Encountered")


def test_it_compares_numbers_dates_and_in_lists(qbo_http):
    """ref §5 operators <, >, <=, >=, IN on TotalAmt, TxnDate, DocNumber."""
    customer = qbo_http.customer()
    qbo_http.invoice(customer["Id"], 100, DocNumber="A1", TxnDate="2026-11-01")
    qbo_http.invoice(customer["Id"], 400, DocNumber="A2", TxnDate="2026-11-20")
    assert [r["DocNumber"] for r in _rows(qbo_http.query("select * from Invoice where TotalAmt > '300.00'"), "Invoice")] == ["A2"]
    assert len(_rows(qbo_http.query("select * from Invoice where TxnDate <= '2026-11-01'"), "Invoice")) == 1
    assert len(_rows(qbo_http.query("select * from Invoice where DocNumber IN ('A1','A2')"), "Invoice")) == 2
    assert len(_rows(qbo_http.query(f"select * from Invoice where CustomerRef = '{customer['Id']}'"), "Invoice")) == 2


def test_it_filters_on_metadata_lastupdatedtime(qbo_http):
    """ref §5: MetaData.LastUpdatedTime is filterable with an offset timestamp."""
    qbo_http.customer("Recent")
    rows = _rows(qbo_http.query("select * from Customer where MetaData.LastUpdatedTime > '2020-01-01T00:00:00-08:00'"), "Customer")
    assert len(rows) == 1


def test_it_refuses_a_non_filterable_property(qbo_http):
    """ref §5: only filterable fields in WHERE (others 4001, M)."""
    assert fault_of(qbo_http.query("select * from Customer where Notes = 'x'"))["code"] == "4001"


def test_it_accepts_queries_by_get(qbo_http):
    """ref §5: GET .../query?query=<urlencoded>."""
    response = qbo_http.get("/query", {"query": "select * from Item"})
    assert _rows(response, "Item")[0]["Name"] == "Services"


def test_it_refuses_lower_case_entity_names(qbo_http):
    """ref §5: the docs call entity names case-sensitive (M): stricter."""
    assert fault_of(qbo_http.query("select * from customer"))["code"] == "4000"


def test_it_answers_select_star_with_named_properties(qbo_http):
    """Issue 16 (5): `SELECT *, Sku FROM Item` (python-quickbooks Item.all()) answers whole records."""
    rows = _rows(qbo_http.query("SELECT *, Sku FROM Item"), "Item")
    assert rows[0]["Name"] == "Services"
    assert len(_rows(qbo_http.query("select *, Sku, Name from Item where Active = true"), "Item")) == 1


def test_it_still_refuses_a_bare_projection(qbo_http):
    """ref §5: no projections: `SELECT Name FROM Item` is a parse error (4000)."""
    assert fault_of(qbo_http.query("SELECT Name FROM Item"))["code"] == "4000"


OPERATOR_CASES = [
    # (ref §5 operator, WHERE clause, expected DocNumbers) over invoices A1=100, A2=250, B3=400
    ("=", "TotalAmt = '250'", ["A2"]),
    ("<", "TotalAmt < '250'", ["A1"]),
    (">", "TotalAmt > '250'", ["B3"]),
    ("<=", "TotalAmt <= '250'", ["A1", "A2"]),
    (">=", "TotalAmt >= '250'", ["A2", "B3"]),
    ("IN", "DocNumber IN ('A1', 'B3')", ["A1", "B3"]),
    ("LIKE", "DocNumber LIKE 'A%'", ["A1", "A2"]),
    ("AND", "DocNumber LIKE 'A%' AND TotalAmt > '150'", ["A2"]),
]


@pytest.mark.parametrize("operator,where,expected", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_it_answers_each_documented_operator(qbo_http, operator, where, expected):
    """ref §5 Operators: =, <, >, <=, >=, IN (…), LIKE with %, AND; one case each."""
    customer = qbo_http.customer()
    for number, amount in (("A1", 100), ("A2", 250), ("B3", 400)):
        qbo_http.invoice(customer["Id"], amount, DocNumber=number)
    rows = _rows(qbo_http.query(f"select * from Invoice where {where}"), "Invoice")
    assert sorted(r["DocNumber"] for r in rows) == expected


CLAUSE_CASES = [
    ("ORDERBY DESC", "select * from Invoice orderby TotalAmt desc", ["B3", "A2", "A1"]),
    ("ORDERBY ASC", "select * from Invoice orderby DocNumber asc", ["A1", "A2", "B3"]),
    ("STARTPOSITION", "select * from Invoice orderby DocNumber startposition 2", ["A2", "B3"]),
    ("MAXRESULTS", "select * from Invoice orderby DocNumber maxresults 1", ["A1"]),
]


@pytest.mark.parametrize("clause,text,expected", CLAUSE_CASES, ids=[c[0] for c in CLAUSE_CASES])
def test_it_answers_each_documented_clause(qbo_http, clause, text, expected):
    """ref §5 Grammar: ORDERBY p [ASC|DESC], STARTPOSITION n (1-based), MAXRESULTS n."""
    customer = qbo_http.customer()
    for number, amount in (("A1", 100), ("A2", 250), ("B3", 400)):
        qbo_http.invoice(customer["Id"], amount, DocNumber=number)
    assert [r["DocNumber"] for r in _rows(qbo_http.query(text), "Invoice")] == expected


def test_it_finds_an_inactive_vendor_by_name_in_any_case_when_asked_for_inactive_ones(qbo_http):
    """ref §5 (Active IN (true,false) includes inactive records) and the name lookup a refused
    customer name makes (ref §4: names are unique across Customer, Vendor and Employee)."""
    vendor = qbo_http.create("Vendor", {"DisplayName": "Sam Rivera"})
    qbo_http.create("Vendor", {"Id": vendor["Id"], "SyncToken": vendor["SyncToken"], "sparse": True, "Active": False})
    where = "DisplayName = 'sam rivera'"
    assert _rows(qbo_http.query(f"SELECT * FROM Vendor WHERE {where}"), "Vendor") == []
    [found] = _rows(qbo_http.query(f"SELECT * FROM Vendor WHERE Active IN (true, false) AND {where}"), "Vendor")
    assert (found["Id"], found["Active"]) == (vendor["Id"], False)
