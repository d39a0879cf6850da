"""Lookups derived from one company's records, so that a create checks name uniqueness, DocNumber
uniqueness, the next DocNumber and the open balance of what a payment applies to without scanning
every record of the company. Without them a create costs O(records) and the emulator, not the
sync under test, limits a 35,000-record initial sync (benches/throughput.py).

A company's lookups are built from its records on first use and kept current by rules.save,
rules.delete and rules.void (the only writes of entity data after a company is created) through
`changed()` and `payment_changed()`. Every answer is re-checked against the record itself, so a
stale entry can only cost a lookup, never a wrong answer about a record it names. A company object
replaced wholesale (reset, snapshot load) gets fresh lookups: they are keyed by the object."""
from __future__ import annotations

from decimal import Decimal

# (name field, the entities sharing one namespace) for the name lists (ref §4: DisplayName is
# unique across Customer, Vendor and Employee).
NAME_SPACES = {
    "Customer": ("DisplayName", ("Customer", "Vendor", "Employee")),
    "Vendor": ("DisplayName", ("Customer", "Vendor", "Employee")),
    "Employee": ("DisplayName", ("Customer", "Vendor", "Employee")),
    "Item": ("Name", ("Item",)),
    "Account": ("Name", ("Account",)),
    "PaymentMethod": ("Name", ("PaymentMethod",)),
    "Term": ("Name", ("Term",)),
    "Class": ("FullyQualifiedName", ("Class",)),
    "Department": ("FullyQualifiedName", ("Department",)),
    "TaxAgency": ("DisplayName", ("TaxAgency",)),
}


def norm_name(value) -> str:
    # Whether uniqueness ignores case is not confirmed (ref "Could not confirm" 1): stricter, it does.
    return " ".join(str(value or "").split()).casefold()


def norm_doc_number(value) -> str:
    return str(value or "").casefold()


def linked_targets(data) -> set:
    targets = set()
    for line in (data or {}).get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") in ("Invoice", "CreditMemo"):
                targets.add((link["TxnType"], str(link.get("TxnId"))))
    return targets


class Lookups:
    def __init__(self, store, company, sales_forms):
        self.store, self.company, self.sales_forms = store, company, tuple(sales_forms)
        self.names: dict[tuple, dict[str, set]] = {}
        self.doc_numbers: dict[str, set] = {}
        self.highest_doc_number = 1000
        self.applied: dict[tuple, dict[str, list]] = {}  # (TxnType, TxnId) -> {payment id: [amounts]}
        for entity, records in company["records"].items():
            for wrapper in records.values():
                self.changed(entity, None, wrapper["data"])
                if entity == "Payment" and not wrapper["deleted"]:
                    self.payment_changed(None, wrapper["data"])

    # -- keeping current ---------------------------------------------------------------------

    def changed(self, entity, before, after) -> None:
        """A record's data went from `before` to `after` (None when created)."""
        if entity in NAME_SPACES:
            field, space = NAME_SPACES[entity]
            names = self.names.setdefault(space, {})
            key = (entity, str((after or before)["Id"]))
            if before is not None:
                names.get(norm_name(before.get(field)), set()).discard(key)
            if after is not None:
                names.setdefault(norm_name(after.get(field)), set()).add(key)
        if entity in self.sales_forms:
            key = (entity, str((after or before)["Id"]))
            if before is not None:
                self.doc_numbers.get(norm_doc_number(before.get("DocNumber")), set()).discard(key)
            if after is not None:
                number = str(after.get("DocNumber") or "")
                self.doc_numbers.setdefault(norm_doc_number(number), set()).add(key)
                if number.isdigit():
                    self.highest_doc_number = max(self.highest_doc_number, int(number))

    def payment_changed(self, before, after) -> None:
        """A live payment's lines went from `before` to `after` (None: created, or deleted)."""
        payment_id = str((after or before)["Id"])
        for target in linked_targets(before):
            self.applied.get(target, {}).pop(payment_id, None)
        amounts: dict[tuple, list] = {}
        for line in (after or {}).get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") in ("Invoice", "CreditMemo"):
                    amounts.setdefault((link["TxnType"], str(link.get("TxnId"))), []).append(line.get("Amount", 0))
        for target, found in amounts.items():  # assigned, not appended: applying twice is harmless
            self.applied.setdefault(target, {})[payment_id] = found

    # -- answering ---------------------------------------------------------------------------

    def name_taken(self, entity, value, self_entity, self_id) -> bool:
        """Another record of the namespace has this name; inactive ones count too (ref §4 Customer)."""
        field, space = NAME_SPACES[entity]
        wanted = norm_name(value)
        for other_entity, other_id in self.names.get(space, {}).get(wanted, ()):
            if other_entity == self_entity and other_id == self_id:
                continue
            wrapper = self.store.get(self.company, other_entity, other_id)
            if wrapper is not None and norm_name(wrapper["data"].get(field)) == wanted:
                return True
        return False

    def doc_number_owner(self, number, existing):
        """(kind, wrapper) of a live sales form other than `existing` with this DocNumber, or None."""
        wanted = norm_doc_number(number)
        order = {kind: n for n, kind in enumerate(self.sales_forms)}
        for kind, record_id in sorted(self.doc_numbers.get(wanted, ()), key=lambda k: (order[k[0]], int(k[1]))):
            wrapper = self.store.get(self.company, kind, record_id)
            if wrapper is None or wrapper["deleted"] or wrapper is existing:
                continue
            if norm_doc_number(wrapper["data"].get("DocNumber")) == wanted:
                return kind, wrapper
        return None

    def applied_to(self, txn_type, txn_id, dec) -> list[tuple[str, Decimal]]:
        """[(payment id, amount)] of the live payments applied to this invoice or credit memo."""
        out = []
        found = self.applied.get((txn_type, str(txn_id)), {})
        for payment_id, amounts in sorted(found.items(), key=lambda item: int(item[0])):  # QBO's order
            payment = self.store.get(self.company, "Payment", payment_id)
            if payment is None or payment["deleted"]:
                continue
            out += [(payment_id, dec(a)) for a in amounts]
        return out


def lookups(store, company, sales_forms) -> Lookups:
    cache = store.__dict__.setdefault("_lookups", {})
    found = cache.get(id(company))
    if found is None or found.company is not company:
        found = cache[id(company)] = Lookups(store, company, sales_forms)
    return found
