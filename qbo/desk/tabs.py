"""The errors desk: tabs and rows, errors grouped under a shared root cause, the Submit of a tab's
chosen actions, CSV export, and bulk actions that wait for the owner's approval.

Views call these; the actions themselves are `qbo.actions` jobs.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, func, literal, or_, select, union, union_all, update

from qbo.accounts.models import User
from qbo.accounts.permissions import ACT_ON_ERRORS, APPROVE_BULK, can
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import JobRun, utcnow
from qbo.desk import actions
from qbo.desk import jobs as desk_jobs
from qbo.ledger.models import (Account, CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                               PaymentAllocation, Refund)
from qbo.ledger import records as ledger_records
from qbo.ledger.record_types import CATEGORIES, RECORD_TYPES
from qbo.ledger.validation import parse_id
from qbo.quickbooks.models import BulkRequest, QboLink, SyncError
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.problems.counts import COUNT_CAP, DESK_ORDER, capped_counts, load_records, record_label
from qbo.quickbooks.problems.rows import SEVERITY_RANK

CATEGORY_LABELS = {"accounts": _l("Accounts"), "invoices": _l("Invoices"), "payments": _l("Payments"),
                   "refunds": _l("Refunds"), "expenses": _l("Expenses"), "services": _l("Services")}
ACTION_LABELS = {"skip": _l("Skip"), "resync": _l("Resync"), "create_customer": _l("Create new customer"),
                 "link_customer": _l("Link to an existing customer"), "recreate": _l("Recreate in QuickBooks"),
                 "link_invoice": _l("Link to the existing QuickBooks invoice"),
                 "rename_customer": _l("Rename the account and resync"),
                 "reactivate_customer": _l("Reactivate the customer in QuickBooks and link")}
BULK_LABELS = {"create_missing_customers": _l("Create new customer in QuickBooks for all accounts missing in QuickBooks"),
               "resync_case": _l("Resync for all entities with this error")}
# A record type as a person reads it (templates lower-case it inside a sentence).
RECORD_TYPE_LABELS = {key: t.label for key, t in RECORD_TYPES.items()}
# A job run's status (JobRun.status) in words.
JOB_STATUS_LABELS = {"queued": _l("queued"), "started": _l("started"), "finished": _l("finished"),
                     "failed": _l("failed")}
# What a job does, as the progress list names it (lower case: it starts a list item's line).
_JOB_ACTION_LABELS = {"skip": _l("skip"), "resync": _l("resync"), "create_customer": _l("create customer"),
                      "link_customer": _l("link customer"), "recreate": _l("recreate"),
                      "link_invoice": _l("link invoice"), "rename_customer": _l("rename account"),
                      "reactivate_customer": _l("reactivate customer")}
_JOB_BULK_LABELS = {"create_missing_customers": _l("create missing customers"), "resync_case": _l("resync case")}
# The ledger page of each record type (a processor fee lives on its payment).
RECORD_SLUGS = {key: t.slug for key, t in RECORD_TYPES.items()}
PER_PAGE = 25
# Cases whose root is the client account's QuickBooks customer.
CUSTOMER_ROOT_CASES = ("customer-deleted", "unsynced", "account-no-match", "invalid-item-ref")


@dataclass
class Awaited:
    """What a `waiting-for-dependency` row waits for: its link, why it is stuck, and its own open
    error with the actions this person may take on it (the row offers them too)."""
    record_type: str
    record_id: int
    label: str
    slug: str
    state: str | None
    error: SyncError | None = None
    actions: tuple[str, ...] = ()
    case: catalogue.Case | None = None

    def action_label(self, action: str) -> str | None:
        return named_action_label(action, self.error)


@dataclass
class Applied:
    """A ledger payment (or the payments applying a credit note) on a document: its amount, and
    whether QuickBooks holds it (synced) or not yet."""
    label: str
    amount: object
    in_quickbooks: bool
    this_one: bool = False


@dataclass
class DocumentSides:
    """`credit-exceeds-balance`: one invoice or credit note, what the ledger applies to it, and
    what QuickBooks said about it (its Detail, naming the document and why it refused)."""
    record_type: str
    record_id: int
    label: str
    total: object
    ledger: list[Applied]
    quickbooks: str | None

    @property
    def ledger_applied(self):
        return sum((a.amount for a in self.ledger), 0)

    @property
    def in_quickbooks(self):
        return sum((a.amount for a in self.ledger if a.in_quickbooks), 0)


@dataclass
class Row:
    error: SyncError
    record: object
    label: str
    slug: str
    actions: tuple[str, ...]
    case: catalogue.Case
    explanation: str
    group: str | None = None
    awaited: Awaited | None = None
    # `duplicate-doc-number`: the next number free in the ledger and in QuickBooks (as last read).
    proposed_number: str | None = None
    # `credit-exceeds-balance`: each document's payments or credits on both sides.
    sides: list[DocumentSides] = field(default_factory=list)
    # The stored detail as the reader reads it (catalogue.detail_text); QuickBooks' words stay as they came.
    detail: str | None = None
    # `duplicate-name` (issue 18): the name Rename proposes, the inactive customer Reactivate links;
    # set only when this person may take that action.
    proposed_name: str | None = None
    reactivate_name: str | None = None

    def action_label(self, action: str) -> str | None:
        return named_action_label(action, self.error)

    @property
    def origin(self) -> str:
        return origin_of(self.error)


def named_action_label(action: str, error: SyncError | None) -> str | None:
    """An action's words naming what it does, from the error's facts ("Rename to “Sam Rivera
    (client)” and resync"); None: the usual label (ACTION_LABELS)."""
    facts = (error.facts or {}) if error is not None else {}
    if action == "rename_customer" and facts.get("proposed_name"):
        return _("Rename to “%(name)s” and resync", name=_shortened(facts["proposed_name"]))
    if action == "reactivate_customer" and facts.get("name"):
        return _("Reactivate “%(name)s” in QuickBooks and link", name=_shortened(facts["name"]))
    return None


def _shortened(name: str, width: int = 60) -> str:
    """A name inside an option's label: whole up to `width` characters (names may have 500)."""
    return name if len(name) <= width else name[:width - 1] + "…"


@dataclass
class Group:
    """Several open errors behind one root cause: a client account whose customer is missing, or
    a service, invoice or payment the other rows depend on (deleted in QuickBooks, refused, or
    awaited). `account_id`/`account_name` hold that record's id and name whatever its kind (the
    names predate the other kinds); `record_type` says which kind it is."""
    key: str
    account_id: int
    account_name: str
    errors: list[SyncError] = field(default_factory=list)
    root: SyncError | None = None
    record_type: str = "account"

    @property
    def record_id(self) -> int:
        return self.account_id

    @property
    def name(self) -> str:
        return self.account_name

    @property
    def slug(self) -> str:
        return RECORD_SLUGS.get(self.record_type, "accounts")

    @property
    def size(self) -> int:
        """How many open errors it holds, capped like the desk's counts (COUNT_CAP + 1 says "999+")."""
        return min(len(self.errors), COUNT_CAP + 1)

    @property
    def others(self) -> int:
        """How many besides the root, capped the same way."""
        return min(len(self.errors) - 1, COUNT_CAP + 1)


def language_of(user: User | None = None, language: str | None = None) -> str:
    """The language desk texts come in: `language` if given (views pass the request's locale),
    else the user's own choice, else English."""
    language = language or getattr(user, "language", None) or "en"
    return language if language in catalogue.LANGUAGES else "en"


# Jobs of the sync itself, as the Jobs page names them.
_JOB_KIND_LABELS = {"tieout": _l("tie-out with QuickBooks"), "sync-sweep": _l("sweep for stranded records"),
                    "company-snapshot": _l("read the company's settings from QuickBooks"),
                    "company-cache": _l("read the company's accounts from QuickBooks"),
                    "sync": _l("sync with QuickBooks"), "drift-poll": _l("read the changes made in QuickBooks")}


def job_label(kind: str) -> str:
    """A job run's kind (`action-resync`, `bulk-resync_case`, `resync-invoice`, `tieout`, ...) in words."""
    if kind in _JOB_KIND_LABELS:
        return str(_JOB_KIND_LABELS[kind])
    if kind.startswith("action-") and kind[len("action-"):] in _JOB_ACTION_LABELS:
        return str(_JOB_ACTION_LABELS[kind[len("action-"):]])
    if kind.startswith("bulk-") and kind[len("bulk-"):] in _JOB_BULK_LABELS:
        return _("bulk: %(action)s", action=_JOB_BULK_LABELS[kind[len("bulk-"):]])
    if kind.startswith("resync-") and kind[len("resync-"):] in RECORD_TYPE_LABELS:
        return _("resync %(record)s", record=str(RECORD_TYPE_LABELS[kind[len("resync-"):]]).lower())
    return kind.replace("_", " ")


# What a tab's "Show" filter keeps: errors, or warnings. Notes (severity "info", such as
# `description-to-memo`) never make a desk row: they are shown on their record (page and panel).
SEVERITY_FILTERS = ("error", "warning")
SEVERITY_FILTER_LABELS = {"error": _l("Errors"), "warning": _l("Warnings")}


def _severity_clause(severity: str | None):
    """Rows of the desk: errors and warnings, or only `severity` (severity_rank is in the desk's
    indexes, so the filter costs nothing)."""
    if severity in SEVERITY_FILTERS:
        return SyncError.severity_rank == SEVERITY_RANK[severity]
    return SyncError.severity_rank >= SEVERITY_RANK["warning"]


def _open_stmt(firm_id: int, category=None, case=None, severity=None, *, desk_rows: bool = True):
    stmt = select(SyncError).where(SyncError.firm_id == firm_id, SyncError.status == "open")
    if desk_rows:
        stmt = stmt.where(_severity_clause(severity))
    if category:
        stmt = stmt.where(SyncError.category == category)
    if case:
        stmt = stmt.where(SyncError.case == case)
    return stmt.order_by(*DESK_ORDER)


def cases_in(firm_id: int, category: str, severity: str | None = None) -> list[tuple[str, int]]:
    """The cases open in a tab, with their counts capped at COUNT_CAP + 1, for the filter, the bulk
    actions and the page's total: a loose index scan lists the cases present, then one statement
    counts each of them, so the cost follows the cases present, not the errors open."""
    present = _present_cases(firm_id, category, severity)
    counts = capped_counts({c: _open_stmt(firm_id, category, c, severity) for c in present})
    present = [c for c in present if counts[c]]
    return [(c, counts[c]) for c in present]


def _present_cases(firm_id: int, category: str, severity: str | None = None) -> list[str]:
    """The distinct cases open in a tab, in order, by a skip-scan of ix_sync_errors_desk_case: each
    step asks the index for the first case after the previous one (one probe per case present),
    where SELECT DISTINCT would read every open error of the tab."""
    in_tab = (SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.category == category,
              _severity_clause(severity))
    first = select(SyncError.case).where(*in_tab).order_by(SyncError.case).limit(1).subquery()
    present = select(first.c.case).cte("present", recursive=True)
    after = (select(SyncError.case).where(*in_tab, SyncError.case > present.c.case)
             .order_by(SyncError.case).limit(1).scalar_subquery())
    present = present.union_all(select(after).where(present.c.case.is_not(None)))
    return list(db.session.scalars(select(present.c.case).where(present.c.case.is_not(None))))


@dataclass
class Page:
    """A page of a tab without counting every row: `total` stops at COUNT_CAP + 1, and "Next" is
    known from one row read past the page, so every page stays reachable at any size."""

    items: list
    page: int
    per_page: int
    total: int
    more: bool

    @property
    def pages(self) -> int | None:
        return None if self.total > COUNT_CAP else max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def tab_page(user: User, category: str, *, case: str | None = None, page: int = 1,
             language: str | None = None, cases: list[tuple[str, int]] | None = None,
             severity: str | None = None):
    """One page of a tab: (rows, pagination, root-cause groups of its rows), the rows carrying what
    the template shows, case texts and explanation in `language` (the request's locale; else the
    user's language). `cases` is the tab's cases_in when the caller has it already."""
    language = language_of(user, language)
    counts = dict(cases if cases is not None else cases_in(user.firm_id, category, severity))
    # Every open error has one case, so the tab's (capped) total is the sum of its cases' counts.
    total = min(counts.get(case, 0) if case else sum(counts.values()), COUNT_CAP + 1)
    if total <= COUNT_CAP:
        page = min(page, max(1, -(-total // PER_PAGE)))
    stmt = _open_stmt(user.firm_id, category, case, severity)
    items = db.session.scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    pagination = Page(items[:PER_PAGE], page, PER_PAGE, total, more=len(items) > PER_PAGE)
    records = load_records(pagination.items)
    groups = root_groups(user.firm_id, pagination.items, records)
    group_of = {e.id: g.key for g in groups.values() for e in g.errors}
    return [_row(user, e, records, group_of.get(e.id), language) for e in pagination.items], pagination, groups


def _row(user: User, error: SyncError, records: dict, group: str | None, language: str = "en") -> Row:
    record = records.get((error.record_type, error.record_id))
    case = catalogue.localised(error.case, language, error.record_type)
    awaited = awaited_by(user, error, language)
    facts = {"label": awaited.label} if awaited is not None else {}
    allowed = actions.allowed_actions(user, error)
    held = error.facts or {}
    return Row(error=error, record=record, label=record_label(error.record_type, record),
               slug=RECORD_SLUGS.get(error.record_type, "accounts"),
               actions=allowed, case=case,
               explanation=_lead(catalogue.explain_error(error, language, **facts), case), group=group,
               awaited=awaited, proposed_number=proposed_number(user, error, record),
               sides=document_sides(error, record), detail=catalogue.detail_text(error, language),
               proposed_name=held.get("proposed_name") if "rename_customer" in allowed else None,
               reactivate_name=held.get("name") if "reactivate_customer" in allowed else None)


_NAMED_DOC = re.compile(r"(Invoice|CreditMemo) (\S+?)\.?$")


def document_sides(error: SyncError, record) -> list[DocumentSides]:
    """For a `credit-exceeds-balance` row: the documents involved (the one QuickBooks' Detail names,
    else every document the payment applies to, or the invoice or credit note itself), each with
    the ledger's payments on it and whether QuickBooks holds each, beside QuickBooks' own words."""
    if error.case != "credit-exceeds-balance" or record is None:
        return []
    detail = (error.detail or error.message or "").strip()
    if error.record_type == "payment":
        docs = [("invoice", a.invoice) for a in record.allocations] + \
               [("credit_note", a.credit_note) for a in record.credit_allocations]
    elif error.record_type in ("invoice", "credit_note"):
        docs = [(error.record_type, record)]
    else:
        return []
    named = _NAMED_DOC.search(detail.splitlines()[0] if detail else "")
    if named is not None:
        kind = "invoice" if named.group(1) == "Invoice" else "credit_note"
        docs = [(t, d) for t, d in docs if t == kind and d.number == named.group(2)] or docs
    out = []
    for record_type, doc in docs:
        allocations = [a for a in doc.allocations if a.payment.deleted_at is None]
        synced = set(db.session.scalars(select(QboLink.record_id).where(
            QboLink.firm_id == error.firm_id, QboLink.record_type == "payment", QboLink.status == "synced",
            QboLink.record_id.in_([a.payment_id for a in allocations] or [0]))))
        ledger = [Applied(record_label("payment", a.payment), a.amount, a.payment_id in synced,
                          this_one=error.record_type == "payment" and a.payment_id == error.record_id)
                  for a in allocations]
        out.append(DocumentSides(record_type, doc.id, doc.number, doc.total, ledger, detail or None))
    return out


# Where a row's problem was found, for the "QuickBooks says" column (an error without QuickBooks'
# code was not necessarily found before sending).
_NOT_SENT = ("waiting-for-dependency", "stuck-pending")
_AFTER_SENDING = ("amount-mismatch",)          # QuickBooks accepted it; its figures differ
_WHILE_SENDING = ("line-description-fallback",)  # noted while building what was sent
_FROM_QUICKBOOKS = ("unsynced", "modified-in-qbo", "duplicates-in-qbo", "deleted-invoice-no-resync",
                    "customer-deleted", "company-settings-changed")  # read in QuickBooks' changes


def origin_of(error: SyncError) -> str:
    """"quickbooks" (QuickBooks answered with a code), "not-sent" (waits: nothing was asked),
    "after-sending" (QuickBooks accepted it, the check after differs), "while-sending" (noted in
    what was sent), "in-quickbooks" (seen in QuickBooks' own changes), else "before-sending"
    (the product stopped it before sending anything)."""
    if error.case in _NOT_SENT:
        return "not-sent"
    if error.qbo_code:
        return "quickbooks"
    if error.case in _AFTER_SENDING:
        return "after-sending"
    if error.case in _WHILE_SENDING:
        return "while-sending"
    if error.case in _FROM_QUICKBOOKS:
        return "in-quickbooks"
    return "before-sending"


def proposed_number(user: User, error: SyncError, record) -> str | None:
    """What a `duplicate-doc-number` row proposes: the next number in the firm's sequence that
    neither the ledger nor QuickBooks (its DocNumbers as last read, qbo.company_cache) uses."""
    if error.case != "duplicate-doc-number" or record is None or error.record_type not in ("invoice", "credit_note"):
        return None
    return ledger_records.next_document_number(user.firm, error.record_type)


def awaited_by(user: User, error: SyncError, language: str = "en") -> Awaited | None:
    """The record a `waiting-for-dependency` error waits for, with its open error and actions."""
    if error.case != "waiting-for-dependency" or not error.waiting_for_type or error.waiting_for_type not in RECORD_TYPES:
        return None
    kind = RECORD_TYPES[error.waiting_for_type]
    record = db.session.get(kind.model, error.waiting_for_id)
    own = db.session.scalars(_open_stmt(user.firm_id).where(
        SyncError.record_type == error.waiting_for_type, SyncError.record_id == error.waiting_for_id,
        SyncError.severity == "error").limit(1)).first()
    return Awaited(record_type=error.waiting_for_type, record_id=error.waiting_for_id,
                   label=record_label(error.waiting_for_type, record), slug=RECORD_SLUGS.get(error.waiting_for_type, "accounts"),
                   state=error.detail, error=own, actions=actions.allowed_actions(user, own) if own is not None else (),
                   case=catalogue.localised(own.case, language, own.record_type) if own is not None else None)


def _lead(text: str, case: catalogue.Case) -> str:
    """What this row's facts say; the case's general explanation stays behind "Why this happens"."""
    lead = text.replace(case.explanation, "").strip()
    if lead:
        return lead
    return case.explanation.split(". ")[0].rstrip(".") + "."


def _account_id_of(error: SyncError, records: dict) -> int | None:
    record = records.get((error.record_type, error.record_id))
    if record is None:
        return None
    if error.record_type == "account":
        return record.id
    if error.record_type == "refund":
        return record.payment.account_id
    return getattr(record, "account_id", None)


ROOT_CASES = ("customer-deleted", "unsynced", "account-no-match", "waiting-for-dependency")
_WAITING = "waiting-for-dependency"
# The errors a missing customer is behind: its invoices and payments lost their customer, or the
# account itself has no customer in QuickBooks, or they wait for the account's customer.
_CUSTOMER_ROOT = or_(
    SyncError.case == "customer-deleted",
    and_(SyncError.case == "unsynced", or_(SyncError.record_type == "account", SyncError.element == "CustomerRef")),
    and_(SyncError.case == "account-no-match", SyncError.record_type == "account"),
    and_(SyncError.case == _WAITING, SyncError.waiting_for_type == "account"))
# The other records rows depend on, grouped the same way (a deleted service behind 15 invoices is
# one root cause, not 15 rows to fix one by one).
DEPENDENCY_KINDS = ("service", "invoice", "payment")
_ITEM_REF = or_(SyncError.case == "invalid-item-ref",
                and_(SyncError.case == "unsynced", SyncError.element.like("%ItemRef%")))
_LINKED_TXN = and_(SyncError.case == "unsynced", SyncError.element.like("%LinkedTxn%"))
_NOT_WAITING = SyncError.case.not_in((_WAITING, "stuck-pending"))
# The errors of a group a page reads: enough for its size and "the N others" to say "999+".
GROUP_CAP = COUNT_CAP + 2


def root_groups(firm_id: int, errors, records: dict) -> dict[str, Group]:
    """The root causes behind these errors (a page of a tab): for each client account among them
    whose missing QuickBooks customer is behind two or more open errors (in any tab), a Group of
    them keyed `account-<id>`; for each service, invoice or payment behind two or more, a Group
    keyed `<kind>-<id>`; each holding at most GROUP_CAP, so a page costs the same at any size."""
    account_ids = {_account_id_of(e, records) for e in errors
                   if e.case in ROOT_CASES and (e.case != _WAITING or e.waiting_for_type == "account")}
    account_ids.discard(None)
    groups = account_groups(firm_id, account_ids, GROUP_CAP)
    wanted: dict[str, set[int]] = {kind: set() for kind in DEPENDENCY_KINDS}
    for error in errors:
        for kind, record_id in _dependencies_behind(error, records):
            wanted[kind].add(record_id)
    for kind, ids in wanted.items():
        groups.update(dependency_groups(firm_id, kind, ids, GROUP_CAP))
    return groups


def _dependencies_behind(error: SyncError, records: dict) -> list[tuple[str, int]]:
    """The services, invoices or payments this error may be caused by (or be the root of)."""
    if error.case == _WAITING:
        kind = error.waiting_for_type
        return [(kind, error.waiting_for_id)] if kind in DEPENDENCY_KINDS and error.waiting_for_id else []
    if error.record_type in DEPENDENCY_KINDS and error.severity == "error" and error.case != "stuck-pending":
        out = [(error.record_type, error.record_id)]
    else:
        out = []
    record = records.get((error.record_type, error.record_id))
    if record is None:
        return out
    unsynced_ref = (error.element or "")
    if error.record_type in ("invoice", "credit_note") and (
            error.case == "invalid-item-ref" or (error.case == "unsynced" and "ItemRef" in unsynced_ref)):
        out += [("service", line.service_id) for line in record.lines if line.service_id]
    elif error.record_type == "payment" and error.case == "unsynced" and "LinkedTxn" in unsynced_ref:
        out += [("invoice", a.invoice_id) for a in record.allocations]
    elif error.record_type == "refund" and error.case == "unsynced":
        out.append(("payment", record.payment_id))
    return out


_GROUP_KEY = re.compile(r"(account|service|invoice|payment)-([0-9]{1,12})")


def group_by_key(firm_id: int, key: str) -> Group | None:
    """The group `<kind>-<id>` with every open error behind it (what its fix acts on), or None."""
    found = _GROUP_KEY.fullmatch(key or "")
    record_id = parse_id(found.group(2)) if found else None
    if not record_id:
        return None
    if found.group(1) == "account":
        return account_groups(firm_id, {record_id}).get(key)
    return dependency_groups(firm_id, found.group(1), {record_id}).get(key)


def _behind(kind: str, ids: list[int]):
    """(error id, dependency id, is it the dependency's own error) of the errors behind these
    services, invoices or payments: their own errors, the rows waiting for them, and the rows
    QuickBooks refused because they are gone (an invoice line's item, a payment's invoice, a
    refund's payment)."""
    own = select(SyncError.id.label("error_id"), SyncError.record_id.label("dep_id"), literal(0).label("own")) \
        .where(SyncError.record_type == kind, SyncError.record_id.in_(ids), SyncError.severity == "error", _NOT_WAITING)
    waiting = select(SyncError.id, SyncError.waiting_for_id, literal(1)).where(
        SyncError.case == _WAITING, SyncError.waiting_for_type == kind, SyncError.waiting_for_id.in_(ids))
    parts = [own, waiting]
    if kind == "service":
        for record_type, line, owner in (("invoice", InvoiceLine, InvoiceLine.invoice_id),
                                         ("credit_note", CreditNoteLine, CreditNoteLine.credit_note_id)):
            parts.append(select(SyncError.id, line.service_id, literal(1)).join(
                line, and_(SyncError.record_type == record_type, SyncError.record_id == owner))
                .where(line.service_id.in_(ids), _ITEM_REF))
    elif kind == "invoice":
        parts.append(select(SyncError.id, PaymentAllocation.invoice_id, literal(1)).join(
            PaymentAllocation, and_(SyncError.record_type == "payment", SyncError.record_id == PaymentAllocation.payment_id))
            .where(PaymentAllocation.invoice_id.in_(ids), _LINKED_TXN))
    elif kind == "payment":
        parts.append(select(SyncError.id, Refund.payment_id, literal(1)).join(
            Refund, and_(SyncError.record_type == "refund", SyncError.record_id == Refund.id))
            .where(Refund.payment_id.in_(ids), SyncError.case == "unsynced"))
    # UNION, not UNION ALL: an invoice with two lines of the same service is one row behind it.
    return union(*parts).subquery()


def dependency_groups(firm_id: int, kind: str, record_ids, cap: int | None = None) -> dict[str, Group]:
    """The groups of these services, invoices or payments with two or more open errors behind
    them: the record's own error first (the root), then the desk's order; `cap` per group."""
    ids = [i for i in record_ids if i]
    if kind not in DEPENDENCY_KINDS or not ids:
        return {}
    behind = _behind(kind, ids)
    ranked = (select(SyncError.id, behind.c.dep_id, behind.c.own, func.row_number().over(
        partition_by=behind.c.dep_id, order_by=(behind.c.own, *DESK_ORDER)).label("n"))
        .join(behind, SyncError.id == behind.c.error_id)
        .where(SyncError.firm_id == firm_id, SyncError.status == "open")).subquery()
    stmt = select(SyncError, ranked.c.dep_id, ranked.c.own).join(ranked, SyncError.id == ranked.c.id) \
        .order_by(ranked.c.dep_id, ranked.c.n)
    if cap is not None:
        stmt = stmt.where(ranked.c.n <= cap)
    model = RECORD_TYPES[kind].model
    names = {r.id: record_label(kind, r) for r in db.session.scalars(
        select(model).where(model.firm_id == firm_id, model.id.in_(ids)))}
    groups: dict[str, Group] = {}
    dependents: set[str] = set()
    for error, dep_id, dependent in db.session.execute(stmt):
        if dep_id not in names:
            continue  # another firm's, or gone from the ledger
        key = f"{kind}-{dep_id}"
        if key not in groups:
            groups[key] = Group(key, dep_id, names[dep_id], root=error, record_type=kind)
        groups[key].errors.append(error)
        if dependent:
            dependents.add(key)
    # A record's own errors alone are not a root cause of anything: it needs a row behind it.
    return {k: g for k, g in groups.items() if g.size >= 2 and k in dependents}


def account_groups(firm_id: int, account_ids, cap: int | None = None) -> dict[str, Group]:
    """The groups of these client accounts that have two or more open errors behind their
    customer: the account's own error first (the root), then the desk's order; `cap` per group."""
    if not account_ids:
        return {}
    owned = _records_of(account_ids)
    ranked = (select(SyncError.id, owned.c.account_id, func.row_number().over(
        partition_by=owned.c.account_id,
        order_by=(SyncError.record_type != "account", *DESK_ORDER)).label("n"))
        .join(owned, and_(SyncError.record_type == owned.c.record_type, SyncError.record_id == owned.c.record_id))
        .where(SyncError.firm_id == firm_id, SyncError.status == "open", _CUSTOMER_ROOT)).subquery()
    stmt = select(SyncError, ranked.c.account_id).join(ranked, SyncError.id == ranked.c.id) \
        .order_by(ranked.c.account_id, ranked.c.n)
    if cap is not None:
        stmt = stmt.where(ranked.c.n <= cap)
    names = dict(db.session.execute(select(Account.id, Account.name).where(
        Account.firm_id == firm_id, Account.id.in_(account_ids))).all())
    groups: dict[str, Group] = {}
    for error, account_id in db.session.execute(stmt):
        key = f"account-{account_id}"
        if key not in groups:
            groups[key] = Group(key, account_id, names.get(account_id) or _("Account %(id)s", id=account_id),
                                root=error)
        groups[key].errors.append(error)
    return {k: g for k, g in groups.items() if g.size >= 2}


def _records_of(account_ids):
    """(record_type, record_id, account_id) of these client accounts and of the ledger records that
    point at their QuickBooks customer: invoices, credit notes, payments with their fees, refunds."""
    ids = list(account_ids)
    owned = [select(literal("account").label("record_type"), Account.id.label("record_id"),
                    Account.id.label("account_id")).where(Account.id.in_(ids))]
    for record_type, model in (("invoice", Invoice), ("credit_note", CreditNote), ("payment", Payment),
                               ("processor_fee", Payment)):
        owned.append(select(literal(record_type), model.id, model.account_id).where(model.account_id.in_(ids)))
    owned.append(select(literal("refund"), Refund.id, Payment.account_id)
                 .join(Payment, Refund.payment_id == Payment.id).where(Payment.account_id.in_(ids)))
    return union_all(*owned).subquery()


def group_actions(user: User, group: Group) -> tuple[str, ...]:
    """What fixing the root offers: the root error's own actions except Skip (skip rows one by one)."""
    return tuple(a for a in actions.allowed_actions(user, group.root) if a != "skip")


class SubmitRefused(Exception):
    """Some chosen actions can't run; nothing was enqueued. `problems` maps error id -> reason."""

    def __init__(self, problems: dict[int, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def submit(user: User, form) -> list[JobRun]:
    """Enqueue the chosen action of every row (and every group) in `form`: one job per row.

    Form fields: `action-<error id>` (+ `qbo_id-<error id>`), `group-<key>` (+ `group_qbo_id-<key>`).
    Everything is checked first, so a refused choice enqueues nothing (PermissionError for a role
    that may not act)."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError("act_on_errors")
    plan: list[tuple[SyncError, str, str | None]] = []
    problems: dict[int, str] = {}
    planned: set[int] = set()
    for name, value in form.items():
        if not value:
            continue
        if name.startswith("group-"):
            group = group_by_key(user.firm_id, name[len("group-"):])
            if group is None:
                problems[0] = _("That group of errors is already fixed; reload the page.")
                continue
            qbo_id = form.get(f"group_qbo_id-{group.key}") or None
            if value not in group_actions(user, group):
                problems[group.root.id] = _("\"%(action)s\" is not an action for this group.",
                                            action=ACTION_LABELS.get(value, value))
                continue
            if value == "link_customer" and not _valid_qbo_id(qbo_id):
                problems[group.root.id] = _("Choose the QuickBooks customer to link.")
                continue
            if not can(user, APPROVE_BULK) and actions.needs_owner(user.firm_id, value, len(group.errors)):
                problems[group.root.id] = ngettext(
                    "Fixing this root cause acts on %(num)s record; more than %(limit)s at once needs the "
                    "owner's approval. Ask the owner, or act on the rows one by one.",
                    "Fixing this root cause acts on %(num)s records; more than %(limit)s at once needs the "
                    "owner's approval. Ask the owner, or act on the rows one by one.",
                    len(group.errors), limit=actions.approval_threshold(user.firm_id))
                continue
            # The root first, then its dependents are resynced (one worker runs them in order).
            plan.append((group.root, value, qbo_id))
            planned.add(group.root.id)
            for error in group.errors:
                if error.id != group.root.id and "resync" in actions.allowed_actions(user, error):
                    plan.append((error, "resync", None))
                    planned.add(error.id)
    for name, value in form.items():
        if not name.startswith("action-") or not value:
            continue
        error = actions.get_error(user.firm_id, name[len("action-"):])
        if error is None:
            continue
        if error.id in planned:
            continue  # its group's fix covers it
        qbo_id = form.get(f"qbo_id-{error.id}") or None
        if error.status != "open":
            problems[error.id] = _("This error is no longer open.")
        elif value not in actions.allowed_actions(user, error):
            problems[error.id] = _("\"%(action)s\" is not an action for this error.",
                                       action=ACTION_LABELS.get(value, value))
        elif value == "link_customer" and not _valid_qbo_id(qbo_id):
            problems[error.id] = _("Search for the QuickBooks customer and choose one to link.")
        else:
            plan.append((error, value, qbo_id))
    if problems:
        raise SubmitRefused(problems)
    return [desk_jobs.request_action(user, error, action, qbo_id) for error, action, qbo_id in plan]


def _valid_qbo_id(qbo_id) -> bool:
    return bool(qbo_id) and str(qbo_id).isdigit() and len(str(qbo_id)) <= 20


def job_runs(firm_id: int, ids) -> list[JobRun]:
    ids = [i for i in ids if i][:200]
    if not ids:
        return []
    found = {r.id: r for r in db.session.scalars(select(JobRun).where(JobRun.firm_id == firm_id,
                                                                      JobRun.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# --- CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("id", "category", "case", "title", "severity", "record_type", "record_id", "record",
               "qbo_code", "message", "element", "first_seen", "last_seen", "occurrences")


def export_csv(user: User, category: str, case: str | None = None, severity: str | None = None) -> str:
    """The open errors (and warnings) of a tab as CSV (spreadsheet-safe: no cell starts with a
    formula sign); `severity` keeps only errors or only warnings, as the tab's filter does."""
    errors = db.session.scalars(_open_stmt(user.firm_id, category, case, severity)).all()
    records = load_records(errors)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for e in errors:
        row = (e.id, e.category, e.case, catalogue.CASES[e.case].title, e.severity, e.record_type,
               e.record_id, record_label(e.record_type, records.get((e.record_type, e.record_id))),
               e.qbo_code or "", e.message, e.element or "", _iso(e.first_seen), _iso(e.last_seen),
               e.occurrences)
        writer.writerow([_safe_cell(v) for v in row])
    return out.getvalue()


def _iso(d) -> str:
    return d.isoformat() + "Z" if d else ""


# A cell Excel or LibreOffice would read as a formula: one starting with = + - @ (or a tab or CR
# before one), at the start of the cell or after any separator a spreadsheet may split on (, ; tab
# and line breaks: the file may be opened with another locale's separator).
_FORMULA_START = re.compile(r"(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])")


def _safe_cell(value):
    """Each piece that could start a formula gets a leading apostrophe; the writer quotes every
    cell (QUOTE_ALL), so separators inside one never split it."""
    if isinstance(value, str):
        return _FORMULA_START.sub(lambda m: f"{m.group(1)}'{m.group(2)}", value)
    return value


# --- bulk actions ----------------------------------------------------------------------------------


def open_warnings(firm_id: int, category: str) -> int:
    """How many open warnings a tab holds (capped like its counts), for "Acknowledge all warnings"."""
    return capped_counts({"w": _open_stmt(firm_id, category, severity="warning")})["w"]


def acknowledge_warnings(user: User, category: str) -> int:
    """Close every open warning of a tab at once as acknowledged (a person read them; nothing is
    sent): one UPDATE in one transaction, audited with how many were closed. Errors and notes
    stay as they are. Raises PermissionError for a role that may not act on errors."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError("act_on_errors")
    if category not in CATEGORIES:
        raise actions.ActionRefused(_("Unknown tab \"%(tab)s\".", tab=category))
    now = utcnow()
    closed = db.session.execute(
        update(SyncError).where(SyncError.firm_id == user.firm_id, SyncError.status == "open",
                                SyncError.category == category, SyncError.severity == "warning")
        .values(status="resolved", resolution="acknowledged", resolved_at=now, resolved_by_id=user.id)
        .execution_options(synchronize_session=False)).rowcount or 0
    audit(user.firm_id, user.id, "quickbooks.warnings.acknowledged", None, category=category, count=closed)
    db.session.commit()
    return closed



def bulk_needs_owner(firm_id: int, action: str, records: int) -> bool:
    """Whether this bulk action on this many records waits for the owner (actions.needs_owner)."""
    return actions.needs_owner(firm_id, action, records)


def bulk_choices(firm_id: int, category: str, language: str = "en",
                 cases: list[tuple[str, int]] | None = None) -> list[tuple[str, str | None, str, int]]:
    """The bulk actions a tab offers: (action, case, label, how many errors, capped like cases_in),
    case titles in `language`; `cases` is the tab's cases_in when the caller has it already."""
    language = language_of(None, language)
    out = []
    for case_id, n in cases if cases is not None else cases_in(firm_id, category):
        case = catalogue.CASES.get(case_id)
        if case is None:
            continue
        if case_id == "account-no-match" and category == "accounts":
            out.append(("create_missing_customers", None, BULK_LABELS["create_missing_customers"], n))
        if "resync_case" in case.actions:
            out.append(("resync_case", case_id, _("%(action)s: %(case)s", action=BULK_LABELS["resync_case"],
                                                 case=catalogue.localised(case_id, language).title), n))
    return out


def request_bulk(user: User, action: str, case: str | None) -> tuple[BulkRequest | None, JobRun | None]:
    """An owner's bulk action runs now; anyone else who may act asks, and the request waits."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError(action)
    if action not in actions.BULK_ACTIONS:
        raise actions.ActionRefused(_("Unknown bulk action \"%(action)s\".", action=action))
    if action == "resync_case" and case not in catalogue.CASES:
        raise actions.ActionRefused(_("Choose the case to resync."))
    if action == "create_missing_customers":
        case = None
    if can(user, APPROVE_BULK) or not actions.needs_owner(user.firm_id, action,
                                                          actions.bulk_size(user.firm_id, action, case)):
        return None, desk_jobs.request_bulk(user, action, case)
    existing = db.session.scalar(select(BulkRequest).where(
        BulkRequest.firm_id == user.firm_id, BulkRequest.status == "pending",
        BulkRequest.action == action, BulkRequest.case.is_(None) if case is None else BulkRequest.case == case))
    if existing is not None:
        return existing, None
    request = BulkRequest(firm_id=user.firm_id, action=action, case=case, requested_by_id=user.id)
    db.session.add(request)
    audit(user.firm_id, user.id, "quickbooks.bulk.requested", None, bulk_action=action, case=case)
    db.session.commit()
    return request, None


def pending_bulk_requests(firm_id: int) -> list[BulkRequest]:
    return db.session.scalars(select(BulkRequest).where(
        BulkRequest.firm_id == firm_id, BulkRequest.status == "pending").order_by(BulkRequest.created_at)).all()


def get_bulk_request(firm_id: int, request_id) -> BulkRequest | None:
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(BulkRequest).where(BulkRequest.id == request_id,
                                                       BulkRequest.firm_id == firm_id))


def run_approved_bulk(owner: User, request: BulkRequest) -> JobRun:
    """The owner approves a waiting bulk request: it runs as the owner's job (qbo.actions.run_bulk)."""
    if not can(owner, APPROVE_BULK):
        raise PermissionError("approve_bulk")
    if request.status != "pending":
        raise actions.ActionRefused(_("This request was already decided."))
    run = desk_jobs.request_bulk(owner, request.action, request.case)
    request.status, request.decided_by_id, request.decided_at = "approved", owner.id, utcnow()
    request.job_run_id = run.id
    audit(owner.firm_id, owner.id, "quickbooks.bulk.approved", None, request_id=request.id,
          bulk_action=request.action, case=request.case, requested_by=request.requested_by_id, job_id=run.id)
    db.session.commit()
    return run


def decline_bulk(owner: User, request: BulkRequest) -> None:
    if not can(owner, APPROVE_BULK):
        raise PermissionError("approve_bulk")
    if request.status != "pending":
        raise actions.ActionRefused(_("This request was already decided."))
    request.status, request.decided_by_id, request.decided_at = "declined", owner.id, utcnow()
    audit(owner.firm_id, owner.id, "quickbooks.bulk.declined", None, request_id=request.id,
          bulk_action=request.action, case=request.case, requested_by=request.requested_by_id)
    db.session.commit()


_PICKER_FIELD = re.compile(r"^(qbo_id-\d{1,12}|group_qbo_id-account-\d{1,12})$")  # customers: account groups only


def valid_picker_field(name: str) -> bool:
    """The radio name a customer search answers for: a row's or a group's qbo_id field."""
    return bool(_PICKER_FIELD.match(name or ""))
