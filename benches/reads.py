"""Benchmark 5: metered reads (Intuit's CorePlus calls, qbo-2025-2026.md §1.1) the sync spends.

A firm pushes N records of every type (an initial sync), then an edit pass (a tenth of its accounts
renamed, pushed as sparse updates); every QBO request is read from the emulator's log, and a read
is a GET or a query. Then the firm sits idle: the change poll runs a few times with nothing changed,
and its reads are scaled to an hour at the firm's poll interval.

It runs in real time (time scale 1): the poll compares QBO's change stamps with our clock, and a
compressed emulator clock would make every record look freshly changed. The idle phase waits out the poll's 2-minute overlap first (about 2 minutes), since each poll
re-reads that window on purpose.

Figures: `reads_per_write` (reads / records written, initial sync plus edits) and
`reads_per_idle_hour` (what an idle connected firm spends an hour, all of it CDC polls)."""
from __future__ import annotations

from benches import _harness as h


def _is_read(entry: dict) -> bool:
    return entry["method"] == "GET" or entry["path"].endswith("/query")


def run(redis_url: str, *, records: int = 50, time_scale: float = 1.0, idle_polls: int = 3,
        wait_out_overlap: bool = True) -> dict:
    from sqlalchemy import func, select

    from qbo.accounts.models import Firm
    from qbo.core.db import db
    from qbo.ledger.models import Account
    from qbo.quickbooks.changes.cdc import poll_changes
    from qbo.quickbooks.models import QboLink
    from qbo.quickbooks.sync.engine import sync_firm
    from qbo.quickbooks.sync.marking import mark_all, mark_pending

    emu = h.Emulator(time_scale)
    out = {"records_per_type": records, "time_scale": time_scale}
    try:
        emu.set_limits(time_scale)
        with h.sqlite_url() as db_url:
            app = h.make_app(h.app_config(db_url, redis_url, emu.base_url))
            with app.app_context():
                firm, _ = h.connected_firm("Reads", emu, wait=False)
                ids = h.insert_ledger(firm.id, records)
                mark_all(firm.id)
                db.session.commit()
                seq = emu.last_seq()
                sync_firm(firm.id, client=h.bench_client(firm.id, time_scale))
                initial = emu.requests_since(seq)
                written = db.session.scalar(select(func.count()).select_from(QboLink).where(
                    QboLink.firm_id == firm.id, QboLink.status == "synced"))
                edits = ids["account"][: max(1, records // 10)]
                for account in db.session.scalars(select(Account).where(Account.id.in_(edits))):
                    account.name = account.name + " (renamed)"
                    mark_pending(firm.id, "account", account.id)
                db.session.commit()
                seq = emu.last_seq()
                sync_firm(firm.id, client=h.bench_client(firm.id, time_scale))
                edit_log = emu.requests_since(seq)
                reads = sum(1 for e in initial + edit_log if _is_read(e))
                out.update(initial_reads=sum(1 for e in initial if _is_read(e)), initial_writes=written,
                           edit_reads=sum(1 for e in edit_log if _is_read(e)), edits=len(edits),
                           reads_per_write=round(reads / max(1, written + len(edits)), 4))
                if wait_out_overlap:
                    # Each poll re-reads the last OVERLAP (2 min) before the previous poll on purpose:
                    # idle means nothing changed in that window either, so the records just pushed
                    # must age out first, and one poll after that moves the window past them.
                    import time

                    from qbo.quickbooks.changes.cdc import OVERLAP

                    time.sleep(OVERLAP.total_seconds() + 5)
                    poll_changes(firm.id, client=h.bench_client(firm.id, time_scale))
                seq = emu.last_seq()
                idle_changes = []
                for _ in range(idle_polls):
                    idle_changes.append(poll_changes(firm.id, client=h.bench_client(firm.id, time_scale)).as_dict())
                out["idle_poll_reports"] = idle_changes
                idle = [e for e in emu.requests_since(seq) if _is_read(e)]
                out["idle_requests"] = sorted({(e["method"], e["path"].rsplit("/", 1)[-1], e.get("status"))
                                               for e in idle})
                interval = db.session.get(Firm, firm.id).cdc_interval_seconds or 60
                out.update(idle_polls=idle_polls, idle_reads=len(idle), poll_interval_seconds=interval,
                           reads_per_idle_hour=round(len(idle) / idle_polls * 3600 / interval, 1))
    finally:
        emu.close()
    return out


def summary(r: dict) -> str:
    return (f"reads: {r['reads_per_write']} reads per record written ({r['initial_reads']} reads for "
            f"{r['initial_writes']} records, {r['edit_reads']} for {r['edits']} edits); "
            f"{r['reads_per_idle_hour']} reads per idle hour (CDC every {r['poll_interval_seconds']} s)")


if __name__ == "__main__":
    import argparse
    import json

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--no-wait", action="store_true", help="don't wait out the poll overlap (quick)")
    args = parser.parse_args()
    with embedded_redis() as url:
        r = run(url, records=args.records, wait_out_overlap=not args.no_wait)
    print(json.dumps(r, indent=1))
    print(summary(r))
