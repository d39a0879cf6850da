"""Benchmark 2: what noticing k edits and deletions made in QBO costs with N records synced.

For each N, a firm syncs a small real ledger (its records exist in QBO), then N links in all are
made with bulk SQL: the rest point at QBO ids that no change touches. Someone then edits k/2
customers and deletes k/2 invoices in QBO (the emulator's control API, as a person would), and one
change-detection poll (qbo.drift.poll_changes) runs: we count its QBO requests and time it until the
desk's counts show the k problems."""
from __future__ import annotations

import time

from benches import _harness as h


def run(redis_url: str, *, sizes=(1000, 10000, 50000), k: int = 20, time_scale: float = 3.0) -> dict:
    try:
        from qbo.quickbooks.changes.cdc import poll_changes
    except ImportError:
        return {"pending": "qbo.drift.poll_changes does not exist yet", "detection_requests": "pending"}
    emu = h.Emulator(time_scale)
    out = {"k": k, "time_scale": time_scale, "by_n": {}}
    try:
        emu.set_limits(time_scale)
        with h.sqlite_url() as db_url:
            app = h.make_app(h.app_config(db_url, redis_url, emu.base_url))
            with app.app_context():
                for n in sizes:
                    out["by_n"][str(n)] = _one(emu, n, k, time_scale)
    finally:
        emu.close()
    out["detection_requests"] = {n: r["requests"] for n, r in out["by_n"].items()}
    out["detection_seconds"] = {n: r["poll_seconds"] for n, r in out["by_n"].items()}
    return out


def _one(emu, n: int, k: int, time_scale: float) -> dict:
    import datetime as dt

    from sqlalchemy import func, insert, select

    from qbo.core.db import db
    from qbo.quickbooks.changes.cdc import poll_changes
    from qbo.quickbooks.models import QboConnection, QboLink, SyncError
    from qbo.quickbooks.problems.counts import error_counts
    from qbo.quickbooks.sync.engine import sync_firm
    from qbo.quickbooks.sync.marking import mark_all

    firm, _ = h.connected_firm(f"Detection {n}", emu, wait=False)  # a few requests: no need to settle
    real = max(k, 10)
    h.insert_ledger(firm.id, real)
    mark_all(firm.id)
    db.session.commit()
    sync_firm(firm.id, client=h.bench_client(firm.id, time_scale))
    have = db.session.scalar(select(func.count()).select_from(QboLink).where(QboLink.firm_id == firm.id))
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [dict(firm_id=firm.id, record_type="account", record_id=10_000_000 + i, qbo_type="Customer",
                 qbo_id=str(5_000_000 + i), sync_token="0", status="synced", excluded=False, attempts=1,
                 last_pushed_at=now, updated_at=now) for i in range(max(0, n - have))]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(QboLink), rows[start:start + 5000])
    connection = db.session.scalar(select(QboConnection).where(QboConnection.firm_id == firm.id))
    connection.cdc_checked_at = now
    db.session.commit()
    links = db.session.scalars(select(QboLink).where(QboLink.firm_id == firm.id, QboLink.record_id < 10_000_000)).all()
    customers = [l for l in links if l.record_type == "account"][: k // 2]
    invoices = [l for l in links if l.record_type == "invoice"][: k - k // 2]
    realm = connection.realm_id
    for link in customers:
        emu.control("PATCH", f"/companies/{realm}/Customer/{link.qbo_id}", json={"DisplayName": f"Renamed {link.qbo_id}"})
    for link in invoices:
        emu.control("DELETE", f"/companies/{realm}/Invoice/{link.qbo_id}?force=true")
    changed_at = time.monotonic()
    seq = emu.last_seq()
    report = poll_changes(firm.id, client=h.bench_client(firm.id, time_scale))
    counts = error_counts(firm.id)
    shown = time.monotonic() - changed_at
    log = emu.requests_since(seq)
    problems = db.session.scalar(select(func.count()).select_from(SyncError).where(
        SyncError.firm_id == firm.id, SyncError.status == "open"))
    return {"links": db.session.scalar(select(func.count()).select_from(QboLink).where(QboLink.firm_id == firm.id)),
            "requests": len(log), "report_requests": report.requests, "poll_seconds": round(shown, 3),
            "open_problems": problems, "desk_total": sum(counts.values()),
            "unsynced": report.unsynced, "modified": report.modified}


def summary(r: dict) -> str:
    if r.get("pending"):
        return f"detection: PENDING ({r['pending']})"
    req, secs = r["detection_requests"], r["detection_seconds"]
    return ("detection: QBO requests per poll for N=" + "/".join(req) + " links: " + "/".join(str(v) for v in req.values())
            + f" (k={r['k']} changes); poll until the desk shows them " + "/".join(f"{v:.2f}" for v in secs.values()) + " s")


if __name__ == "__main__":
    import argparse
    import json

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    with embedded_redis() as url:
        r = run(url, sizes=tuple(int(s) for s in args.sizes.split(",")))
    print(json.dumps(r, indent=1))
    print(summary(r))
