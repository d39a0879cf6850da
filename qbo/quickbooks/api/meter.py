"""Intuit's metered reads (qbo-2025-2026.md §1.1): every read, query, CDC call, CompanyInfo or
Preferences fetch and report is a "CorePlus" call, counted per realm and calendar month (UTC);
creates and updates ("Core") are free. The Builder tier allows 500,000 CorePlus calls a month per
workspace; past it reads answer 429 until the 1st of next month.

Redis only (no db): the client INCRs `qbo:reads:<realm>:<YYYY-MM>` for each CorePlus request it
sends, and once Intuit says the allowance is spent, `qbo:reads-blocked:<realm>` holds the moment
reads may start again, so no further read is sent (and refused) before then.
"""
from __future__ import annotations

import datetime as dt

BUILDER_MONTHLY_READS = 500_000
_KEEP_SECONDS = 62 * 24 * 3600  # a month's counter outlives the month, for the daily persist


def utcnow() -> dt.datetime:
    """Now, in UTC (aware): the month a read counts in. One function, so a test can move the clock."""
    return dt.datetime.now(dt.timezone.utc)


def month_of(now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    return now.strftime("%Y-%m")


def next_month_start(now: dt.datetime | None = None) -> dt.datetime:
    """00:00 UTC on the 1st of the month after `now` (when Intuit's monthly allowance renews)."""
    now = now or utcnow()
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.timezone.utc)


class ReadMeter:
    """Counts a realm's CorePlus calls this month, and remembers when reads are blocked."""

    def __init__(self, redis):
        self.redis = redis

    @staticmethod
    def _count_key(realm_id: str, month: str) -> str:
        return f"qbo:reads:{realm_id}:{month}"

    @staticmethod
    def _blocked_key(realm_id: str) -> str:
        return f"qbo:reads-blocked:{realm_id}"

    def count(self, realm_id: str, n: int = 1) -> int:
        key = self._count_key(realm_id, month_of())
        pipe = self.redis.pipeline()
        pipe.incrby(key, n)
        pipe.expire(key, _KEEP_SECONDS)
        return int(pipe.execute()[0])

    def reads(self, realm_id: str, month: str | None = None) -> int:
        raw = self.redis.get(self._count_key(realm_id, month or month_of()))
        return int(raw) if raw else 0

    def seed(self, realm_id: str, month: str, at_least: int) -> None:
        """After Redis lost its data: start this month's counter from what the database kept."""
        if at_least > 0:
            self.redis.set(self._count_key(realm_id, month), at_least, nx=True, ex=_KEEP_SECONDS)

    def block_until_next_month(self, realm_id: str, now: dt.datetime | None = None) -> dt.datetime:
        until = next_month_start(now)
        self.redis.set(self._blocked_key(realm_id), until.isoformat(), exat=int(until.timestamp()))
        return until

    def blocked_until(self, realm_id: str) -> dt.datetime | None:
        raw = self.redis.get(self._blocked_key(realm_id))
        if not raw:
            return None
        until = dt.datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)
        return until if until > utcnow() else None

    def unblock(self, realm_id: str) -> None:
        self.redis.delete(self._blocked_key(realm_id))
