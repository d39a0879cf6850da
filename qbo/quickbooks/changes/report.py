"""What a change poll found, and the few words the poll and the duplicate check share."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation


@dataclass
class DriftReport:
    changes: int = 0
    requests: int = 0
    unsynced: int = 0
    modified: int = 0
    duplicates: int = 0
    capped: bool = False
    window_clamped: bool = False
    since: str | None = None
    paused: str | None = None
    records: list = field(default_factory=list)  # (case, record_type, record_id)

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, False, 0, [])}
        out.pop("records", None)
        return out or {"nothing": 0}


def money_of(value) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return None


def label_of(record_type: str, record) -> str:
    if record is None:
        return record_type.replace("_", " ")
    if record_type == "processor_fee":
        return f"the processing fee of {record.label}"
    noun = {"account": "customer", "service": "service", "credit_note": "credit note"}.get(
        record_type, record_type.replace("_", " "))
    return f"{noun} \"{record.label}\""
