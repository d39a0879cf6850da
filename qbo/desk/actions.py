"""What a person can do about a QuickBooks error: Skip, Resync, Recreate, Create new customer,
Link to an existing QBO customer (an inactive one is made active again), Link to the existing
QuickBooks invoice, a refused name's Rename and Reactivate (issue 18), and the two bulk actions an
owner approves.

`request_*` checks the right and the case, records a JobRun and enqueues; the `run_*` functions
are the RQ jobs (ids in, safe to run twice) and write an audit event with the result.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from qbo.accounts.models import Firm, User
from qbo.accounts.permissions import ACT_ON_ERRORS, APPROVE_BULK, EDIT_LEDGER, can
from qbo.core.audit import audit
from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.ledger import records as ledger_records
from qbo.ledger.models import Account, Invoice
from qbo.ledger.validation import parse_id
from qbo.quickbooks.api.client import request_id_for
from qbo.quickbooks.api.errors import QboError
from qbo.quickbooks.connection import client_for_firm
from qbo.quickbooks.models import QboLink, SyncError
from qbo.quickbooks.problems import catalogue
from qbo.quickbooks.problems import rows as problems
from qbo.quickbooks.sync import BY_RECORD_TYPE, customers, engine, marking

BULK_ACTIONS = ("create_missing_customers", "resync_case")


class ActionRefused(Exception):
    """The action does not apply (wrong case, closed error, bad input); the message says why."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def allowed_actions(user: User, error: SyncError) -> tuple[str, ...]:
    """The row actions this person may run on this error: nothing a person may not do is shown."""
    if error.status != "open" or not can(user, ACT_ON_ERRORS):
        return ()
    found = catalogue.actions_for(error.case, error.record_type, error.facts)
    # Renaming writes the ledger: it needs the right to edit it as well as to act on errors.
    return tuple(a for a in found if a not in BULK_ACTIONS and (a not in LEDGER_ACTIONS or can(user, EDIT_LEDGER)))


# Row actions that change a ledger record, not only its link to QuickBooks.
LEDGER_ACTIONS = ("rename_customer",)


def get_error(firm_id: int, error_id) -> SyncError | None:
    error_id = parse_id(error_id)
    if error_id is None:  # not an id, or beyond the id column's range (a 500 on PostgreSQL)
        return None
    return db.session.scalar(select(SyncError).where(SyncError.id == error_id, SyncError.firm_id == firm_id))


def check_action(user: User, error: SyncError, action: str, qbo_id: str | None = None) -> str | None:
    """May `user` take `action` on this error now? Raises ActionRefused (422) or PermissionError
    (403); returns the QuickBooks id the action needs, if any."""
    if not can(user, ACT_ON_ERRORS) or (action in LEDGER_ACTIONS and not can(user, EDIT_LEDGER)):
        raise PermissionError(action)
    if error.status != "open":
        raise ActionRefused("This error is no longer open.")
    if action not in allowed_actions(user, error):
        raise ActionRefused(f"\"{action}\" is not an action for this error.")
    if action == "link_customer":
        if not qbo_id or not str(qbo_id).isdigit() or len(str(qbo_id)) > 20:
            raise ActionRefused("Choose the QuickBooks customer to link (qbo_id).")
    return str(qbo_id) if qbo_id else None


DEFAULT_APPROVAL_THRESHOLD = 10


def approval_threshold(firm_id: int) -> int:
    """How many records one desk action may touch before it needs the owner (Firm.approval_threshold)."""
    from qbo.accounts.models import Firm

    return db.session.scalar(select(Firm.approval_threshold).where(Firm.id == firm_id)) or DEFAULT_APPROVAL_THRESHOLD


def needs_owner(firm_id: int, action: str, records: int) -> bool:
    """The one approval rule: creating customers in bulk always needs the owner (approve_bulk);
    any other action needs the owner only when it touches more than the firm's threshold of
    records (10 by default), whether it is a bulk resync of a case or a root-cause group's fix."""
    return action == "create_missing_customers" or records > approval_threshold(firm_id)


def bulk_size(firm_id: int, action: str, case: str | None) -> int:
    """How many open errors a bulk action would act on (read up to 1,000: "999+")."""
    from qbo.quickbooks.problems.counts import capped_count

    if action == "create_missing_customers":
        case = "account-no-match"
    return capped_count(select(SyncError).where(SyncError.firm_id == firm_id, SyncError.status == "open",
                                                SyncError.case == case))


def check_bulk(user: User, action: str, case: str | None = None) -> None:
    """May `user` run this bulk action now? Raises ActionRefused (422) or PermissionError (403):
    anyone who may act on errors may run one within the approval rule (`needs_owner`); beyond it
    only the owner (approve_bulk) may."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError(action)
    if action not in BULK_ACTIONS:
        raise ActionRefused(f"Unknown bulk action \"{action}\".")
    if action == "resync_case" and case not in catalogue.CASES:
        raise ActionRefused("Choose the case to resync (case).")
    if not can(user, APPROVE_BULK) and needs_owner(user.firm_id, action, bulk_size(user.firm_id, action, case)):
        raise PermissionError(action)


# --- what the jobs do (qbo.desk.jobs) -------------------------------------------------------------


def perform_action(run: JobRun, error_id: int, action: str, qbo_id: str | None) -> dict:
    error = get_error(run.firm_id, error_id)
    if error is None or error.status != "open":
        return {"outcome": "nothing to do: the error is already closed"}
    outcome = _ACTIONS[action](run, error, qbo_id)
    audit(run.firm_id, run.requested_by_id, f"quickbooks.{action}", None, error_id=error.id,
          record_type=error.record_type, record_id=error.record_id, outcome=outcome)
    return {"outcome": outcome, **_after(run.firm_id, error)}


def perform_bulk(run: JobRun, action: str, case: str | None) -> dict:
    if action == "create_missing_customers":
        case = "account-no-match"
    errors = db.session.scalars(select(SyncError).where(
        SyncError.firm_id == run.firm_id, SyncError.status == "open", SyncError.case == case)).all()
    run.total = len(errors)
    db.session.commit()
    outcomes: dict[str, int] = {}
    for n, error in enumerate(errors, 1):
        step = "create_customer" if action == "create_missing_customers" else "resync"
        if error.record_type != "account" and step == "create_customer":
            continue
        outcome = _ACTIONS[step](run, error, None)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        run.done = n
        db.session.commit()
    if action == "resync_case":
        engine.sync_firm(run.firm_id)
    audit(run.firm_id, run.requested_by_id, f"quickbooks.bulk.{action}", None, case=case, count=len(errors))
    still_open = db.session.scalar(select(db.func.count()).select_from(SyncError).where(
        SyncError.firm_id == run.firm_id, SyncError.status == "open", SyncError.case == case))
    return {"processed": len(errors), "outcomes": outcomes, "still_open": still_open}


def _after(firm_id: int, error: SyncError) -> dict:
    db.session.refresh(error)
    return {"error_status": error.status}


def _link_of(record_type: str, record_id: int, firm_id: int) -> QboLink:
    return marking.mark_pending(firm_id, record_type, record_id)


def _skip(run: JobRun, error: SyncError, qbo_id) -> str:
    problems.skip(error, run.requested_by_id)
    link = marking.find_link(error.firm_id, error.record_type, error.record_id)
    if link is not None and link.status in ("error", "modified_in_qbo", "unsynced") and not problems.open_errors(
            error.firm_id, error.record_type, error.record_id):
        link.status, link.reason = "skipped", "An error was skipped; it is sent again when it changes"
    db.session.commit()
    return "skipped"


def _forget_deleted(firm_id: int, record_type: str, record_id: int, seen=None) -> None:
    """Prepare a record and everything it depends on to be pushed again (error case `unsynced`:
    dependencies first). A transaction deleted in QBO is created anew; a name-list record (a
    customer or item "deleted" in QBO is only inactive) keeps its id and is updated, which makes it
    active again; what is in QBO already is re-sent as it is in the ledger."""
    seen = set() if seen is None else seen
    if (record_type, record_id) in seen:
        return
    seen.add((record_type, record_id))
    module = BY_RECORD_TYPE[record_type]
    link = marking.find_link(firm_id, record_type, record_id)
    deleted_in_qbo = link is not None and link.status == "unsynced"
    link = _link_of(record_type, record_id, firm_id)
    if deleted_in_qbo and not module.NAME_LIST:
        # A new create needs a new requestid: QBO would replay the first create's answer (ref §1).
        link.pending_request_id = request_id_for(firm_id, record_type, record_id, "recreate", link.qbo_id)
        link.qbo_id = link.sync_token = None
    link.pushed_hash = None
    link.status = "pending"
    record = db.session.get(module.MODEL, record_id)
    if record is None:
        return
    for dep_type, dep_id in module.dependencies(record):
        _forget_deleted(firm_id, dep_type, dep_id, seen)


def _dependents_hit_by(firm_id: int, record_type: str, record_id: int) -> list[tuple[str, int]]:
    """Records with an open `unsynced` error because this record was deleted in QBO."""
    out = []
    for error in db.session.scalars(select(SyncError).where(
            SyncError.firm_id == firm_id, SyncError.status == "open", SyncError.case == "unsynced")):
        module = BY_RECORD_TYPE[error.record_type]
        record = db.session.get(module.MODEL, error.record_id)
        if record is not None and (record_type, record_id) in module.dependencies(record):
            out.append((error.record_type, error.record_id))
    return out


def _resync(run: JobRun, error: SyncError, qbo_id) -> str:
    """Send the record again, dependencies first; fixing a root also re-sends what it broke."""
    seen: set = set()
    _forget_deleted(error.firm_id, error.record_type, error.record_id, seen)
    for dep_type, dep_id in _dependents_hit_by(error.firm_id, error.record_type, error.record_id):
        _forget_deleted(error.firm_id, dep_type, dep_id, seen)
    db.session.commit()
    report = engine.sync_firm(error.firm_id)
    return "paused: " + report.paused if report.paused else "resynced"


def _account_for(error: SyncError) -> Account:
    module = BY_RECORD_TYPE[error.record_type]
    record = db.session.get(module.MODEL, error.record_id)
    if isinstance(record, Account):
        return record
    account = getattr(record, "account", None)
    if account is None:
        raise ActionRefused("This record has no client account.")
    return account


def _create_customer(run: JobRun, error: SyncError, qbo_id) -> str:
    """Create the account's customer in QBO even when automatic creation is off."""
    account = _account_for(error)
    return _create_in_quickbooks(error, account, ("create-customer", error.id))


def _create_in_quickbooks(error: SyncError, account: Account, request_parts: tuple) -> str:
    """Create the account's customer now and link it. Refused, the refusal is the account's one row:
    its "customer missing" rows close as superseded, and a refused name says who holds it."""
    client = client_for_firm(error.firm_id)
    payload = customers.to_qbo(account, None)
    link = _link_of("account", account.id, error.firm_id)
    try:
        created = client.create("Customer", payload, request_id=request_id_for(
            error.firm_id, "account", account.id, *request_parts))
    except QboError as fault:
        recognised = catalogue.recognise(fault, record_type="account", payload=payload)
        recognised = engine.with_name_holder(client, link, recognised)
        problems.record_fault(error.firm_id, "account", account.id, recognised)
        problems.supersede(error.firm_id, "account", account.id, recognised.case)
        link.status, link.reason = "error", recognised.message[:300]
        db.session.commit()
        return f"refused by QuickBooks ({recognised.case})"
    engine.link_result(link, created, engine.payload_hash(payload))
    _retry_dependents(error)
    return "customer created"


def _link_customer(run: JobRun, error: SyncError, qbo_id: str) -> str:
    """Link the account to the QuickBooks customer the person chose. An inactive one ("deleted" in
    QuickBooks) is made active again first (a sparse update with its SyncToken), so the same
    customer, with its Id and history, comes back."""
    account = _account_for(error)
    client = client_for_firm(error.firm_id)
    try:
        customer = client.read("Customer", qbo_id)
    except QboError:
        return f"no QuickBooks customer with id {qbo_id}"
    with _requester_locale(run):
        other = _linked_elsewhere(error.firm_id, account.id, str(customer["Id"]))
        if other is not None:
            return _("refused: that QuickBooks customer is linked to the account %(account)s already; nothing "
                     "was changed.", account=other.name)
        reactivated = customer.get("Active") is False
        if reactivated:
            try:
                customer = client.sparse_update(
                    "Customer", str(customer["Id"]), str(customer.get("SyncToken", "0")), {"Active": True},
                    request_id=request_id_for(error.firm_id, "account", account.id, "reactivate", customer["Id"],
                                              customer.get("SyncToken")))
            except QboError as fault:
                return _("refused: QuickBooks did not make the customer active again (%(reason)s); nothing was "
                         "linked.", reason=fault.code or type(fault).__name__)
    link = _link_of("account", account.id, error.firm_id)
    engine.link_result(link, customer, None)
    _retry_dependents(error)
    return "reactivated and linked" if reactivated else "linked"


def _linked_elsewhere(firm_id: int, account_id: int, qbo_id: str) -> Account | None:
    """Another live account already linked to this QuickBooks customer: linking a second would make
    two ledger clients one QuickBooks customer."""
    other = db.session.scalar(select(QboLink.record_id).where(
        QboLink.firm_id == firm_id, QboLink.record_type == "account", QboLink.qbo_id == qbo_id,
        QboLink.record_id != account_id).limit(1))
    account = db.session.get(Account, other) if other is not None else None
    return account if account is not None and account.deleted_at is None else None


def _reactivate_customer(run: JobRun, error: SyncError, qbo_id) -> str:
    """`duplicate-name` held by an inactive customer: make that customer active again and link the
    account to it (the id comes from the row's facts, as looked up when QuickBooks refused)."""
    holder_id = (error.facts or {}).get("holder_id")
    if not holder_id:
        with _requester_locale(run):
            return _("refused: the row no longer names the inactive customer; nothing was changed.")
    return _link_customer(run, error, str(holder_id))


def _rename_customer(run: JobRun, error: SyncError, qbo_id) -> str:
    """`duplicate-name` held by a vendor or an employee: rename the account to the name the row
    proposed, through the ledger's own save (its validation, audit and "record changed"), then send
    it: created in QuickBooks when it has no customer yet, updated when it has one. A name taken in
    the ledger meanwhile refuses, with nothing changed."""
    name = (error.facts or {}).get("proposed_name")
    account = db.session.get(Account, error.record_id) if error.record_type == "account" else None
    with _requester_locale(run):
        if account is None or account.deleted_at is not None or not name:
            return _("refused: there is no account to rename; nothing was changed.")
        if account.name != name:  # run twice, it renames once
            firm = db.session.get(Firm, error.firm_id)
            account_id = account.id
            try:
                ledger_records.committed(lambda: ledger_records.save(
                    ledger_records.KINDS["accounts"], firm, {"name": name}, record=db.session.get(Account, account_id),
                    user_id=run.requested_by_id))
            except ledger_records.ValidationFailed:
                return _("refused: another account in the ledger is called “%(name)s” now; nothing was changed. "
                         "Rename the account by hand, then resync.", name=name)
            except ledger_records.Busy:
                return _("refused: the ledger was busy; nothing was changed. Try again.")
    account = db.session.get(Account, error.record_id)
    link = marking.find_link(error.firm_id, "account", account.id)
    linked = link is not None and link.qbo_id and link.status != "unsynced"
    if linked or db.session.get(Firm, error.firm_id).create_customers_automatically:
        # The sync sends it as any change (claimed, so no other worker sends it too): the customer's
        # name is updated, or the customer created under the new name.
        report = engine.sync_firm(error.firm_id)
        return "paused: " + report.paused if report.paused else "renamed and resynced"
    # Automatic creation is off: the person's Rename asks for the customer, as Create new customer does.
    outcome = _create_in_quickbooks(error, account, ("create-customer", error.id, name))
    return "renamed and customer created" if outcome == "customer created" else outcome


def _requester_locale(run: JobRun):
    """Sentences a job returns, in the language of the person who asked for it."""
    requester = db.session.get(User, run.requested_by_id) if run.requested_by_id else None
    return force_locale(getattr(requester, "language", None) or "en")


def _retry_dependents(error: SyncError) -> None:
    """After the customer is fixed, the record that raised the error (and anything waiting) is retried."""
    if error.record_type != "account":
        _link_of(error.record_type, error.record_id, error.firm_id)
    problems.resolve(error.firm_id, error.record_type, error.record_id, cases=[error.case], resolution="fixed")
    db.session.commit()
    engine.sync_firm(error.firm_id)


def _link_invoice(run: JobRun, error: SyncError, qbo_id) -> str:
    """Number already used in QuickBooks: when the QuickBooks invoice with that number is this one
    (same customer, same total), link it (its Id and SyncToken) instead of creating a second one.
    Otherwise the error stays open and the outcome says why it can't be linked."""
    with _requester_locale(run):
        found = _invoice_to_link(error)
        if isinstance(found, str):
            return found
    link = marking.find_link(error.firm_id, "invoice", error.record_id)
    if link is None:
        link = QboLink(firm_id=error.firm_id, record_type="invoice", record_id=error.record_id)
        db.session.add(link)
    problems.resolve(error.firm_id, error.record_type, error.record_id, cases=[error.case], resolution="linked",
                     user_id=run.requested_by_id)
    engine.link_result(link, found, None)
    db.session.commit()
    engine.sync_firm(error.firm_id)  # what waited for this invoice (its payments) goes now
    return f"linked to QuickBooks invoice {found.get('DocNumber')} (Id {found['Id']})"


def _invoice_to_link(error: SyncError) -> dict | str:
    """The QuickBooks invoice numbered like the ledger's, with its customer and total; or the
    sentence saying why none can be linked."""
    from qbo.quickbooks.sync.context import quote

    invoice = db.session.get(Invoice, error.record_id) if error.record_type == "invoice" else None
    if invoice is None or invoice.deleted_at is not None:
        return _("refused: the invoice is no longer in the ledger, so there is nothing to link.")
    customer = marking.find_link(error.firm_id, "account", invoice.account_id)
    if customer is None or not customer.qbo_id or customer.status == "unsynced":
        return _("refused: the client account %(account)s is not linked to a QuickBooks customer yet, so the "
                 "customers can't be compared. Sync the account first.", account=invoice.account.name)
    candidates = client_for_firm(error.firm_id).query(f"SELECT * FROM Invoice WHERE DocNumber = {quote(invoice.number)}")
    if not candidates:
        return _("refused: QuickBooks has no invoice numbered %(number)s (the number may belong to a credit "
                 "memo), so there is nothing to link to.", number=invoice.number)
    taken = set(db.session.scalars(select(QboLink.qbo_id).where(
        QboLink.firm_id == error.firm_id, QboLink.qbo_type == "Invoice", QboLink.qbo_id.in_([str(c["Id"]) for c in candidates]),
        ~((QboLink.record_type == "invoice") & (QboLink.record_id == invoice.id)))))
    total = invoice.total.quantize(Decimal("0.01"))
    reasons = []
    for candidate in candidates:
        their_customer = (candidate.get("CustomerRef") or {})
        their_total = _money(candidate.get("TotalAmt"))
        if str(their_customer.get("value")) != customer.qbo_id:
            reasons.append(_("refused: QuickBooks invoice %(number)s belongs to another customer (%(theirs)s), not "
                             "to %(account)s, so it can't be this invoice.", number=invoice.number,
                             theirs=their_customer.get("name") or their_customer.get("value"),
                             account=invoice.account.name))
        elif their_total != total:
            reasons.append(_("refused: QuickBooks invoice %(number)s totals %(theirs)s while the ledger's totals "
                             "%(ours)s, so it can't be this invoice.", number=invoice.number,
                             theirs=their_total if their_total is not None else "?", ours=total))
        elif str(candidate["Id"]) in taken:
            reasons.append(_("refused: QuickBooks invoice %(number)s is already linked to another ledger invoice.",
                             number=invoice.number))
        else:
            return candidate
    return reasons[0]


def _money(value) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


_ACTIONS = {"skip": _skip, "resync": _resync, "recreate": _resync, "create_customer": _create_customer,
            "link_customer": _link_customer, "link_invoice": _link_invoice, "rename_customer": _rename_customer,
            "reactivate_customer": _reactivate_customer}


def search_customers(firm_id: int, text: str, limit: int = 20) -> list[dict]:
    """QBO customers whose display name contains `text` (for Link to an existing customer), the
    inactive ones too (a name list answers active records only unless asked, ref §5): linking one
    makes it active again. Active ones first."""
    from qbo.quickbooks.sync.context import quote

    text = (text or "").strip()[:100]
    if len(text) < 2:
        return []
    client = client_for_firm(firm_id)
    found = client.query(f"SELECT * FROM Customer WHERE Active IN (true, false) AND DisplayName LIKE "
                         f"{quote('%' + text + '%')} MAXRESULTS {limit}")
    return sorted(({"id": c["Id"], "name": c.get("DisplayName"), "active": c.get("Active") is not False,
                    "email": (c.get("PrimaryEmailAddr") or {}).get("Address")} for c in found),
                  key=lambda c: not c["active"])


def set_do_not_sync(user: User, record, do_not_sync: bool) -> QboLink:
    """A record's "Do not sync": it stays out of QuickBooks and its errors are silenced (unlike
    Skip, which sets one error aside until the record changes). Turning it off sends it again."""
    if not can(user, ACT_ON_ERRORS):
        raise PermissionError("do_not_sync")
    link = marking.find_link(record.firm_id, record.record_type, record.id)
    if link is None:
        link = QboLink(firm_id=record.firm_id, record_type=record.record_type, record_id=record.id)
        db.session.add(link)
    link.excluded = do_not_sync
    if do_not_sync:
        link.status, link.reason = "not_synced", "Do not sync: excluded from QuickBooks by a person"
        problems.resolve(record.firm_id, record.record_type, record.id, resolution="excluded", user_id=user.id)
    else:
        link.status, link.reason = "pending", None
    audit(record.firm_id, user.id, "quickbooks.do_not_sync" if do_not_sync else "quickbooks.sync_again", record)
    return link
