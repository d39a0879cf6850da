"""What a sync run knows about the firm and its QuickBooks company, loaded lazily and once."""
from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from qbo.db import db
from qbo.models import Firm, QboLink

MARKER_PREFIX = "Sync desk ref"


class Blocked(Exception):
    """The record cannot be sent as it is; the case id and message say why (recorded as an error)."""

    def __init__(self, case: str, message: str, **facts):
        super().__init__(message)
        self.case, self.message, self.facts = case, message, facts


class Waiting(Exception):
    """A dependency is not in QuickBooks yet; the record stays pending with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def marker(record_type: str, record_id: int) -> str:
    """Written into PrivateNote so a record whose create outcome was unknown can be found again."""
    return f"{MARKER_PREFIX} {record_type}-{record_id}"


def quote(value: str) -> str:
    """A QBO query string literal: single quotes, apostrophes escaped with a backslash (ref §5)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class SyncContext:
    def __init__(self, firm: Firm, client):
        self.firm = firm
        self.client = client
        self.warnings: dict[tuple[str, int], list[tuple[str, dict]]] = {}
        self._links: dict[tuple[str, int], QboLink] | None = None
        self._vendors: dict[str, dict] = {}
        self._refund_item: dict | None = None

    # --- links -----------------------------------------------------------------------------------

    def link(self, record_type: str, record_id: int) -> QboLink | None:
        if self._links is None:
            rows = db.session.scalars(select(QboLink).where(QboLink.firm_id == self.firm.id)).all()
            self._links = {(row.record_type, row.record_id): row for row in rows}
        return self._links.get((record_type, record_id))

    def remember(self, link: QboLink) -> None:
        if self._links is not None:
            self._links[(link.record_type, link.record_id)] = link

    def ref(self, record_type: str, record_id: int) -> dict | None:
        link = self.link(record_type, record_id)
        if link is None or not link.qbo_id or link.status in ("unsynced",):
            return None
        return {"value": link.qbo_id}

    def require(self, record_type: str, record_id: int, what: str) -> dict:
        """The QBO reference of a dependency, or Waiting when it is not linked yet."""
        ref = self.ref(record_type, record_id)
        if ref is None:
            link = self.link(record_type, record_id)
            state = "has a QuickBooks error" if link is not None and link.status == "error" else \
                "was deleted in QuickBooks" if link is not None and link.status == "unsynced" else \
                "is not in QuickBooks yet"
            raise Waiting(f"Waiting for its {what}, which {state}")
        return ref

    def warn(self, record, case: str, **facts) -> None:
        self.warnings.setdefault((record.record_type, record.id), []).append((case, facts))

    # --- the company's lists -----------------------------------------------------------------------

    @cached_property
    def accounts(self) -> list[dict]:
        return self.client.accounts()

    @cached_property
    def accounts_by_id(self) -> dict[str, dict]:
        return {a["Id"]: a for a in self.accounts}

    def account_named(self, name: str | None) -> dict | None:
        if not name:
            return None
        return next((a for a in self.accounts if a.get("Name", "").lower() == name.lower()), None)

    def first_account(self, *types: str, prefer: tuple[str, ...] = ()) -> dict | None:
        candidates = [a for a in self.accounts if a.get("AccountType") in types]
        for name in prefer:
            for a in candidates:
                if a.get("Name") == name:
                    return a
        return candidates[0] if candidates else None

    @cached_property
    def payment_methods(self) -> list[dict]:
        return self.client.payment_methods()

    def payment_method_for(self, method: str) -> dict | None:
        mapping = self.firm.payment_method_map or {}
        wanted = mapping.get(method)
        methods = self.payment_methods
        if wanted:
            return next((m for m in methods if m["Id"] == str(wanted) or m.get("Name") == wanted), None)
        defaults = {"cash": ("Cash",), "check": ("Check",), "ach": ("ACH", "EFT", "Bank transfer")}
        for name in defaults.get(method, ()):
            found = next((m for m in methods if m.get("Name", "").lower() == name.lower()), None)
            if found:
                return found
        if method == "card":
            return next((m for m in methods if m.get("Type") == "CREDIT_CARD"), None)
        return None

    # --- records the engine keeps in QBO for its own use ------------------------------------------

    def vendor_for(self, processor: str) -> dict:
        """The QBO vendor a processor's fees are paid to (found by name, created when missing)."""
        name = (processor or "Card processor").strip().title()[:100]
        if name not in self._vendors:
            found = self.client.query(f"SELECT * FROM Vendor WHERE DisplayName = {quote(name)}")
            if found:
                self._vendors[name] = found[0]
            else:
                from qbo.client import request_id_for

                self._vendors[name] = self.client.create(
                    "Vendor", {"DisplayName": name}, request_id=request_id_for("vendor", self.firm.id, name))
        return {"value": self._vendors[name]["Id"], "name": name}

    def refund_item(self) -> dict:
        """The Service item refund receipts are booked against (found by name, created when missing)."""
        if self._refund_item is None:
            name = "Refund"
            found = self.client.query(f"SELECT * FROM Item WHERE Name = {quote(name)}")
            if found:
                self._refund_item = found[0]
            else:
                from qbo.client import request_id_for

                account = self.first_account("Income", prefer=("Refunds-Allowances",)) or {}
                self._refund_item = self.client.create("Item", {
                    "Name": name, "Type": "Service", "IncomeAccountRef": {"value": account.get("Id")}},
                    request_id=request_id_for("refund-item", self.firm.id))
        return {"value": self._refund_item["Id"], "name": self._refund_item.get("Name")}
