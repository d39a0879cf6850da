"""Tie-out: does QuickBooks hold what the ledger holds? For each record type and month, the count
and total on both sides; for each client, the ledger's open balance against the QuickBooks
customer's Balance; and every difference drilled down to the records behind it, each with its desk
row (an open SyncError on that record) or a reason.

What is compared:
- Transactions: invoice and credit note `total`, payment `amount`, refund `amount`, a payment's
  `processor_fee` (a Purchase) against QuickBooks' TotalAmt, in the month of the record's date
  (TxnDate in QuickBooks). A deleted ledger record (deleted_at) is not in the ledger.
- On the QuickBooks side, the firm's own transactions: those linked (QboLink), those carrying our
  marker in PrivateNote (qbo.quickbooks.sync.context.marker), and, for sales forms, any other one
  of a customer linked to a ledger client (a person entered it in QuickBooks). Purchases of other
  vendors are the firm's other expenses: only linked or marked ones count.
- A client's open balance as QuickBooks computes a customer's Balance: invoices minus credit
  notes minus payments received (a refund is paid out of the bank and leaves it alone).
- An invoice's or credit note's total is its gross: the lines (each Qty x rate rounded half up,
  as QuickBooks does) plus the ledger's tax (QuickBooks' own figure once adopted).
- A company with multicurrency (issue 17: "the tie-out compares in the document currency and in
  home currency"): each row is one record type, month and currency. Each record is compared in its
  document currency (ledger amount against TotalAmt, CurrencyRef the same as the client's) and in
  home currency (ledger amount x its exchange rate, rounded half up, against HomeTotalAmt); a
  difference in either is listed. A processor fee is booked in home currency (at the payment's
  rate). A foreign record the ledger holds no rate for (never sent) counts in its currency's
  totals only; matched, it is valued at QuickBooks' rate.

QuickBooks is read with `query_all`, in pages of 1,000 (ref §5): the cost grows with the number of
pages, not of records; the result says how many requests were made.

Nothing is written here: the job stores the result in its JobRun. Reasons are codes with facts, so
each reader (page, API, CLI) words them in its own language (`reason_text`).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Callable, NamedTuple

import requests
from flask_babel import gettext as _
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.ledger.models import (Account, CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                               Refund, line_amount)
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.sync.context import MARKER_PREFIX

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Records listed under one row (month or client); the counts and totals always cover every record.
MAX_ITEMS = 500
# The record types compared, in the order they are shown: (record_type, QBO entity).
TYPES = (("invoice", "Invoice"), ("credit_note", "CreditMemo"), ("payment", "Payment"),
         ("refund", "RefundReceipt"), ("processor_fee", "Purchase"))
ENTITY_OF = dict(TYPES)
STEPS = len(TYPES) + 2  # each entity read, the customers, the comparison
# Each sales form's effect on a customer's Balance in QuickBooks.
BALANCE_SIGN = {"invoice": 1, "credit_note": -1, "payment": -1}
_MARKER = re.compile(re.escape(MARKER_PREFIX) + r" ([a-z_]+)-([0-9]+)(?![0-9A-Za-z_-])")

REASONS = ("not_synced", "excluded", "skipped", "pending", "error", "missing_in_qbo", "extra_in_qbo",
           "amount_differs", "month_differs", "balance_differs", "home_amount_differs", "currency_differs")


class CountingSession(requests.Session):
    """A requests.Session that counts the HTTP requests it sends (retries included)."""

    def __init__(self):
        super().__init__()
        self.sent = 0

    def request(self, *args, **kwargs):
        self.sent += 1
        return super().request(*args, **kwargs)


@dataclass
class _Ledger:
    record_type: str
    record_id: int
    label: str | None  # the document number; None where the type and id say it
    month: str
    amount: Decimal
    account_id: int | None
    currency: str | None = None  # None: the home currency
    rate: Decimal | None = None  # home-currency units per unit of `currency`; None: not known

    def home_amount(self, qbo_rate=None) -> Decimal | None:
        """The amount in home currency: at the ledger's rate, else (a foreign record never sent
        with a rate) at QuickBooks' when it is known."""
        if self.currency is None:
            return self.amount
        rate = self.rate if self.rate is not None else qbo_rate
        return None if rate is None else (self.amount * Decimal(str(rate))).quantize(CENT, ROUND_HALF_UP)


@dataclass
class _Row:
    record_type: str
    month: str
    currency: str | None = None  # set in a multicurrency company only
    ledger_count: int = 0
    ledger_total: Decimal = ZERO
    qbo_count: int = 0
    qbo_total: Decimal = ZERO
    ledger_home_total: Decimal = ZERO
    qbo_home_total: Decimal = ZERO
    items: list = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"record_type": self.record_type, "month": self.month,
               "ledger_count": self.ledger_count, "ledger_total": _money(self.ledger_total),
               "qbo_count": self.qbo_count, "qbo_total": _money(self.qbo_total),
               "differences": len(self.items), "records": self.items[:MAX_ITEMS]}
        if self.currency is not None:
            out.update(currency=self.currency, ledger_home_total=_money(self.ledger_home_total),
                       qbo_home_total=_money(self.qbo_home_total))
        return out


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT))


def _month(date) -> str:
    return str(date)[:7]


def tie_out(firm_id: int, *, client=None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Compare the firm's ledger with its QuickBooks company; returns the result as JSON-ready data.
    `client` defaults to the firm's connection (its requests are counted either way)."""
    from qbo.quickbooks.connection import client_for_firm

    if client is None:
        client = client_for_firm(firm_id, session=CountingSession())
    counter = client.session if isinstance(client.session, CountingSession) else None
    step = [0]

    def advance():
        step[0] += 1
        if progress is not None:
            progress(step[0], STEPS)

    links = _links(firm_id)
    errors = _open_errors(firm_id)
    home, multicurrency = _currencies(firm_id)
    ledger, deleted = _ledger_records(firm_id, home if multicurrency else None)
    linked_customers = {l.qbo_id: l.record_id for l in links.get("account", {}).values() if l.qbo_id}

    pages = 0
    qbo: dict[str, list[dict]] = {}
    for record_type, entity in TYPES:
        found = list(client.query_all(entity))
        pages += len(found) // 1000 + 1
        qbo[record_type] = found
        advance()
    customers = list(client.query_all("Customer", "Active IN (true, false)"))
    pages += len(customers) // 1000 + 1
    advance()

    rows: dict[tuple[str, str, str | None], _Row] = {}

    def row(record_type, month, currency=None) -> _Row:
        code = (currency or home) if multicurrency else None
        return rows.setdefault((record_type, month, code), _Row(record_type, month, code))

    by_account: dict[int, list[dict]] = defaultdict(list)
    for record_type, entity in TYPES:
        type_links = links.get(record_type, {})
        by_qbo_id = {l.qbo_id: l for l in type_links.values() if l.qbo_id}
        seen: set[str] = set()
        for record in ledger[record_type]:
            r = row(record_type, record.month, record.currency)
            r.ledger_count += 1
            r.ledger_total += record.amount
            r.ledger_home_total += record.home_amount() or ZERO
        ledger_by_id = {rec.record_id: rec for rec in ledger[record_type]}
        for found in qbo[record_type]:
            qbo_id = str(found.get("Id"))
            amount = Decimal(str(found.get("TotalAmt") or 0)).quantize(CENT)
            month = _month(found.get("TxnDate") or "")
            currency = _qbo_currency(found, home) if multicurrency else None
            link = by_qbo_id.get(qbo_id)
            marked = _marked(found)
            customer = (found.get("CustomerRef") or {}).get("value")
            in_scope = link is not None or (marked is not None and marked[0] == record_type) or \
                (entity != "Purchase" and customer in linked_customers)
            if not in_scope:
                continue
            r = row(record_type, month, currency)
            r.qbo_count += 1
            r.qbo_total += amount
            home_amount = _qbo_home_amount(found, amount) if multicurrency else None
            r.qbo_home_total += home_amount or ZERO
            record = ledger_by_id.get(link.record_id) if link is not None else None
            if record is None:
                # In QuickBooks, not (or no longer) in the ledger.
                record_id = link.record_id if link is not None else \
                    (marked[1] if marked is not None and marked[0] == record_type else None)
                facts = {"ours": link is not None or marked is not None,
                         "deleted_in_ledger": record_id in deleted[record_type]}
                item = _item(record_type, record_id, _qbo_label(found), month,
                             None, amount, entity, qbo_id, "extra_in_qbo", errors, **facts)
                item["account_id"] = linked_customers.get(customer)
                r.items.append(item)
                if record_type in BALANCE_SIGN and item["account_id"] is not None:
                    by_account[item["account_id"]].append(item)
                continue
            seen.add(qbo_id)
            reasons = []
            ledger_currency = record.currency or home
            if multicurrency and currency != ledger_currency:
                reasons.append(("currency_differs", {"qbo_currency": currency, "currency": ledger_currency}))
            elif amount != record.amount:
                reasons.append(("amount_differs", {"delta": _money(amount - record.amount),
                                                   **({"currency": currency} if multicurrency else {})}))
            if multicurrency and currency == ledger_currency:
                ours = record.home_amount(found.get("ExchangeRate"))
                if ours is not None and home_amount is not None and home_amount != ours:
                    reasons.append(("home_amount_differs", {"delta": _money(home_amount - ours), "currency": home,
                                                            "ledger_home": _money(ours), "qbo_home": _money(home_amount)}))
            if month != record.month:
                reasons.append(("month_differs", {"qbo_month": month}))
            for reason, facts in reasons:
                item = _item(record_type, record.record_id, record.label, record.month, record.amount,
                             amount, entity, qbo_id, reason, errors, **facts)
                item["account_id"] = record.account_id
                row(record_type, record.month, record.currency).items.append(item)
                if reason in ("month_differs", "currency_differs"):
                    r.items.append(item)  # the QuickBooks side's row counts it too: listed there
                if record_type in BALANCE_SIGN and reason == "amount_differs":
                    by_account[record.account_id].append(item)
        for record in ledger[record_type]:
            link = type_links.get(record.record_id)
            if link is not None and link.qbo_id and link.qbo_id in seen:
                continue
            if link is not None and link.qbo_id and link.status != "unsynced":
                reason, facts = "missing_in_qbo", {}
            elif link is not None and link.status == "unsynced":
                reason, facts = "missing_in_qbo", {}
            else:
                reason, facts = _not_sent(link), {}
            item = _item(record_type, record.record_id, record.label, record.month, record.amount, None,
                         entity, link.qbo_id if link is not None else None, reason, errors, **facts)
            item["account_id"] = record.account_id
            row(record_type, record.month, record.currency).items.append(item)
            if record_type in BALANCE_SIGN:
                by_account[record.account_id].append(item)

    balances, clients = _balances(firm_id, ledger, links.get("account", {}), customers, by_account,
                                  errors)
    advance()
    months = [rows[k].as_dict() for k in sorted(rows, key=lambda k: (_type_order(k[0]), k[1], k[2] or ""))]
    # A record dated another month is listed under both months but is one difference.
    differences = len({(i["record_type"], i["record_id"], i["qbo_id"], i["reason"])
                       for r in rows.values() for i in r.items}) + len(balances)
    return {"checked_at": utcnow().isoformat(timespec="seconds") + "Z", "differences": differences,
            "requests": counter.sent if counter is not None else None, "pages": pages,
            "clients_checked": clients, "months": months, "balances": balances[:MAX_ITEMS],
            "balance_differences": len(balances)}


def _type_order(record_type: str) -> int:
    return [t for t, _ in TYPES].index(record_type)


class _Link(NamedTuple):
    """What the tie-out needs of a QboLink: plain values, so the progress commits expire nothing."""

    record_id: int
    qbo_id: str | None
    status: str
    excluded: bool


def _links(firm_id: int) -> dict[str, dict[int, _Link]]:
    found: dict[str, dict[int, _Link]] = defaultdict(dict)
    for record_type, record_id, qbo_id, status, excluded in db.session.execute(
            select(QboLink.record_type, QboLink.record_id, QboLink.qbo_id, QboLink.status,
                   QboLink.excluded).where(QboLink.firm_id == firm_id)):
        found[record_type][record_id] = _Link(record_id, qbo_id, status, bool(excluded))
    return found


def _open_errors(firm_id: int) -> dict[tuple[str, int], dict]:
    """The open desk row of each record (the most severe, then the newest)."""
    rows = db.session.execute(
        select(SyncError.record_type, SyncError.record_id, SyncError.id, SyncError.case,
               SyncError.category, SyncError.message)
        .where(SyncError.firm_id == firm_id, SyncError.status == "open")
        .order_by(SyncError.severity_rank, SyncError.last_seen, SyncError.id))
    # The last one wins: the most severe, then the newest.
    return {(t, i): {"error_id": e, "case": c, "category": cat, "message": m} for t, i, e, c, cat, m in rows}


def _currencies(firm_id: int) -> tuple[str, bool]:
    """The QuickBooks company's home currency, and whether it has multicurrency on."""
    from qbo.accounts.models import Firm
    from qbo.quickbooks import company

    snapshot = company.get(firm_id)
    if snapshot is not None:
        return snapshot.home_currency.upper(), bool(snapshot.multicurrency)
    firm = db.session.get(Firm, firm_id)
    return ((firm.currency if firm is not None else None) or "USD").upper(), False


def _qbo_currency(found: dict, home: str) -> str:
    return ((found.get("CurrencyRef") or {}).get("value") or home).upper()


def _qbo_home_amount(found: dict, amount: Decimal) -> Decimal | None:
    """HomeTotalAmt, else TotalAmt at the record's ExchangeRate (1 when it has none)."""
    if found.get("HomeTotalAmt") is not None:
        return Decimal(str(found["HomeTotalAmt"])).quantize(CENT)
    return (amount * Decimal(str(found.get("ExchangeRate") or 1))).quantize(CENT, ROUND_HALF_UP)


def _document_taxes(firm_id: int, line, owner) -> dict[int, Decimal]:
    """Each document's tax the way the ledger computes it (qbo.ledger.tax), from its lines' plain
    values in one query: per line or per rate as the firm rounds."""
    from qbo.accounts.models import Firm
    from qbo.ledger import tax as ledger_tax
    from qbo.ledger.models import TaxRate

    firm = db.session.get(Firm, firm_id)
    rounding = firm.tax_rounding if firm is not None and firm.tax_rounding in ledger_tax.ROUNDINGS else "line"
    lines: dict[int, list] = defaultdict(list)
    for doc_id, quantity, rate, rate_id, percent in db.session.execute(
            select(owner, line.quantity, line.rate, line.tax_rate_id, TaxRate.percent)
            .join(TaxRate, TaxRate.id == line.tax_rate_id).where(line.firm_id == firm_id)):
        lines[doc_id].append(SimpleNamespace(amount=line_amount(Decimal(quantity), Decimal(rate)),
                                             tax_rate=SimpleNamespace(id=rate_id, percent=Decimal(percent))))
    return {doc_id: ledger_tax.computed_tax(SimpleNamespace(lines=doc_lines), rounding)
            for doc_id, doc_lines in lines.items()}


def _ledger_records(firm_id: int, home: str | None = None) -> tuple[dict[str, list[_Ledger]], dict[str, set[int]]]:
    """Every live ledger transaction with its amount and month; and the ids of deleted ones. With
    `home` (a multicurrency company), each carries its currency (None: home) and exchange rate."""
    live: dict[str, list[_Ledger]] = {t: [] for t, _ in TYPES}
    deleted: dict[str, set[int]] = {t: set() for t, _ in TYPES}
    currency_of: dict[int, str | None] = {}
    if home is not None:
        for account_id, code in db.session.execute(select(Account.id, Account.currency).where(
                Account.firm_id == firm_id, Account.currency.is_not(None))):
            currency_of[account_id] = code.upper() if code and code.upper() != home else None
    for record_type, model, line in (("invoice", Invoice, InvoiceLine), ("credit_note", CreditNote, CreditNoteLine)):
        owner = line.invoice_id if line is InvoiceLine else line.credit_note_id
        totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for doc_id, quantity, rate in db.session.execute(
                select(owner, line.quantity, line.rate).where(line.firm_id == firm_id)):
            totals[doc_id] += line_amount(Decimal(quantity), Decimal(rate))
        taxes = _document_taxes(firm_id, line, owner)
        for doc_id, number, date, account_id, gone, adopted, exchange_rate in db.session.execute(
                select(model.id, model.number, model.date, model.account_id, model.deleted_at, model.adopted_tax,
                       model.exchange_rate).where(model.firm_id == firm_id).order_by(model.id)):
            if gone is not None:
                deleted[record_type].add(doc_id)
                continue
            tax = Decimal(adopted) if adopted is not None else taxes.get(doc_id, ZERO)
            currency = currency_of.get(account_id)
            live[record_type].append(_Ledger(record_type, doc_id, number, _month(date),
                                             (totals[doc_id] + tax).quantize(CENT), account_id, currency,
                                             _rate_of(currency, exchange_rate)))
    for payment_id, date, amount, fee, account_id, gone, exchange_rate in db.session.execute(
            select(Payment.id, Payment.date, Payment.amount, Payment.processor_fee, Payment.account_id,
                   Payment.deleted_at, Payment.exchange_rate).where(Payment.firm_id == firm_id).order_by(Payment.id)):
        if gone is not None:
            deleted["payment"].add(payment_id)
            deleted["processor_fee"].add(payment_id)
            continue
        currency = currency_of.get(account_id)
        rate = _rate_of(currency, exchange_rate)
        live["payment"].append(_Ledger("payment", payment_id, None,
                                       _month(date), Decimal(amount).quantize(CENT), account_id, currency, rate))
        if fee and Decimal(fee) > 0:
            # Booked in home currency at the payment's rate (sync/expenses.py).
            fee_amount = Decimal(fee).quantize(CENT)
            if currency is not None and rate is not None:
                fee_amount = (Decimal(fee) * rate).quantize(CENT, ROUND_HALF_UP)
            live["processor_fee"].append(_Ledger("processor_fee", payment_id, None, _month(date), fee_amount, None))
        else:
            deleted["processor_fee"].add(payment_id)  # no fee: a Purchase left for it is extra
    for refund_id, date, amount, gone, payment_gone, account_id, exchange_rate in db.session.execute(
            select(Refund.id, Refund.date, Refund.amount, Refund.deleted_at, Payment.deleted_at,
                   Payment.account_id, Payment.exchange_rate).join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.firm_id == firm_id).order_by(Refund.id)):
        if gone is not None or payment_gone is not None:
            deleted["refund"].add(refund_id)
            continue
        currency = currency_of.get(account_id)
        live["refund"].append(_Ledger("refund", refund_id, None, _month(date),
                                      Decimal(amount).quantize(CENT), account_id, currency,
                                      _rate_of(currency, exchange_rate)))
    return live, deleted


def _rate_of(currency: str | None, exchange_rate) -> Decimal | None:
    return None if currency is None or exchange_rate is None else Decimal(exchange_rate)


def _marked(found: dict) -> tuple[str, int] | None:
    """(record_type, record_id) of our marker in a QBO record's PrivateNote, if it carries one."""
    match = _MARKER.search(found.get("PrivateNote") or "")
    return (match.group(1), int(match.group(2))) if match else None


def _qbo_label(found: dict) -> str | None:
    return str(found["DocNumber"]) if found.get("DocNumber") else None


def _not_sent(link: _Link | None) -> str:
    """Why a ledger record with no QuickBooks counterpart is not there."""
    if link is not None and link.excluded:
        return "excluded"
    if link is None or link.status == "not_synced":
        return "not_synced"
    if link.status == "skipped":
        return "skipped"
    if link.status == "error":
        return "error"
    return "pending"


def _item(record_type, record_id, label, month, ledger_amount, qbo_amount, qbo_type, qbo_id, reason,
          errors, **facts) -> dict:
    desk = errors.get((record_type, record_id)) if record_id is not None else None
    return {"record_type": record_type, "record_id": record_id, "label": label, "month": month,
            "ledger_amount": None if ledger_amount is None else _money(ledger_amount),
            "qbo_amount": None if qbo_amount is None else _money(qbo_amount),
            "qbo_type": qbo_type, "qbo_id": qbo_id, "reason": reason, "facts": facts, "desk": desk}


def _balances(firm_id, ledger, account_links, customers, by_account, errors) -> tuple[list[dict], int]:
    """Each live client's open balance against its QuickBooks customer's Balance: the differing
    ones, each with the records behind it; and how many clients were compared."""
    expected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for record_type, sign in BALANCE_SIGN.items():
        for record in ledger[record_type]:
            expected[record.account_id] += sign * record.amount
    qbo_balance = {str(c.get("Id")): Decimal(str(c.get("Balance") or 0)).quantize(CENT) for c in customers}
    differing = []
    accounts = db.session.execute(select(Account.id, Account.name).where(
        Account.firm_id == firm_id, Account.deleted_at.is_(None)).order_by(Account.name, Account.id)).all()
    for account_id, name in accounts:
        link = account_links.get(account_id)
        ours = expected[account_id]
        theirs = qbo_balance.get(link.qbo_id) if link is not None and link.qbo_id else None
        if theirs is None and ours == ZERO:
            continue  # never pushed and owes nothing: nothing for QuickBooks to show
        if theirs is not None and theirs == ours:
            continue
        if theirs is None:
            reason = "missing_in_qbo" if link is not None and link.qbo_id else _not_sent(link)
        else:
            reason = "balance_differs"
        delta = (theirs or ZERO) - ours
        differing.append({
            "account_id": account_id, "label": name, "ledger_balance": _money(ours),
            "qbo_balance": None if theirs is None else _money(theirs),
            "qbo_id": link.qbo_id if link is not None else None, "difference": _money(delta),
            "reason": reason, "facts": {"delta": _money(delta)},
            "desk": errors.get(("account", account_id)),
            "records": by_account.get(account_id, [])[:MAX_ITEMS]})
    return differing, len(accounts)


def reason_text(reason: str, facts: dict | None = None) -> str:
    """A difference's reason in the current language."""
    facts = facts or {}
    if reason == "not_synced":
        return _("Not synced yet")
    if reason == "excluded":
        return _("Excluded from the sync (Do not sync)")
    if reason == "skipped":
        return _("Its QuickBooks error was skipped on the desk")
    if reason == "pending":
        return _("Pending: waiting to be sent to QuickBooks")
    if reason == "error":
        return _("Not in QuickBooks: it has a QuickBooks error")
    if reason == "missing_in_qbo":
        return _("Missing in QuickBooks (deleted there, or never created)")
    if reason == "extra_in_qbo":
        if facts.get("deleted_in_ledger"):
            return _("Extra in QuickBooks: deleted in the ledger, still in QuickBooks")
        if facts.get("ours"):
            return _("Extra in QuickBooks: a second copy made by this product")
        return _("Extra in QuickBooks: entered there, not in the ledger")
    if reason == "amount_differs":
        return _("Amount differs by %(delta)s", delta=facts.get("delta"))
    if reason == "month_differs":
        return _("Dated %(month)s in QuickBooks", month=facts.get("qbo_month"))
    if reason == "balance_differs":
        return _("Balance differs by %(delta)s", delta=facts.get("delta"))
    if reason == "home_amount_differs":
        return _("Amount in home currency (%(currency)s) differs by %(delta)s", currency=facts.get("currency"),
                 delta=facts.get("delta"))
    if reason == "currency_differs":
        return _("In %(qbo_currency)s in QuickBooks, %(currency)s in the ledger",
                 qbo_currency=facts.get("qbo_currency"), currency=facts.get("currency"))
    return reason


def type_label(record_type: str) -> str:
    from qbo.ledger.record_types import RECORD_TYPES

    return str(RECORD_TYPES[record_type].label)


def item_label(item: dict) -> str:
    """What a person calls the record behind a difference, in the current language."""
    name = type_label(item["record_type"]) if item.get("record_type") else ""
    if item.get("label"):
        return f"{name} {item['label']}".strip()
    if item.get("record_id") is not None:
        return f"{name} #{item['record_id']}"
    return _("%(type)s %(id)s in QuickBooks only", type=name, id=item.get("qbo_id"))
