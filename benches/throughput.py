"""Benchmark 1: an initial sync against QBO's ceiling (1,660 record writes a QBO minute), next to a
straightforward client's baseline in the same run: the same kind of records, one request per record,
in sequence."""
from __future__ import annotations

import cProfile
import io
import pstats
import time

from benches import _harness as h


def run(redis_url: str, *, records: int = 5000, time_scale: float = 10.0, baseline_records: int = 150,
        slack_ms: float = 250, profile: bool = False) -> dict:
    emu = h.Emulator(time_scale)
    try:
        emu.set_limits(time_scale)
        with h.sqlite_url() as db_url:
            app = h.make_app(h.app_config(db_url, redis_url, emu.base_url))
            with app.app_context():
                return _measure(app, emu, records, time_scale, baseline_records, slack_ms, profile)
    finally:
        emu.close()


def _measure(app, emu, records, time_scale, baseline_records, slack_ms, profile) -> dict:
    from sqlalchemy import func, select

    from qbo.core.db import db
    from qbo.quickbooks.models import QboLink, SyncError
    from qbo.quickbooks.sync.engine import sync_firm
    from qbo.quickbooks.sync.marking import mark_all

    # The baseline first, on its own company: one request per record, in sequence.
    base_firm, _ = h.connected_firm("Baseline firm", emu)
    h.insert_ledger(base_firm.id, baseline_records)
    mark_all(base_firm.id)
    db.session.commit()
    seq = emu.last_seq()
    with h.CpuMeter(emu) as base_cpu:
        baseline_written = _baseline(base_firm.id, time_scale, slack_ms)
    base_log = emu.requests_since(seq)
    baseline_rate = h.per_qbo_minute(baseline_written, base_cpu.wall, time_scale)

    firm, _ = h.connected_firm("Throughput firm", emu)
    h.insert_ledger(firm.id, records)
    mark_all(firm.id)
    db.session.commit()
    pending = db.session.scalar(select(func.count()).select_from(QboLink).where(
        QboLink.firm_id == firm.id, QboLink.status == "pending"))
    seq = emu.last_seq()
    profiler = cProfile.Profile() if profile else None
    client = h.bench_client(firm.id, time_scale, slack_ms)
    with h.CpuMeter(emu) as cpu:
        if profiler:
            profiler.enable()
        started_at = time.time()
        report = sync_firm(firm.id, client=client)
        ended_at = time.time()
        if profiler:
            profiler.disable()
    log = emu.requests_since(seq)
    synced = db.session.scalar(select(func.count()).select_from(QboLink).where(
        QboLink.firm_id == firm.id, QboLink.status == "synced"))
    rate_429 = db.session.scalar(select(func.count()).select_from(SyncError).where(
        SyncError.firm_id == firm.id, SyncError.status == "open", SyncError.qbo_code == "3001"))
    whole_run = h.per_qbo_minute(synced, cpu.wall, time_scale)
    # The figure is the steady rate, over the whole QBO minutes after the first (whose empty
    # windows let a run look faster than the limits allow); the whole run's rate is kept next to it.
    steady = h.steady_rate([firm.id], started_at, ended_at, time_scale)
    rate = steady or whole_run
    result = {
        "records_per_type": records, "record_writes": synced, "pending_at_start": pending,
        "time_scale": time_scale, "limiter_slack_ms": slack_ms, "writes_per_qbo_minute": round(rate),
        "writes_per_qbo_minute_whole_run": round(whole_run), "steady_state": steady is not None,
        "throughput_share_of_ceiling": round(rate / h.CEILING, 3),
        "baseline_records": baseline_written, "baseline_writes_per_qbo_minute": round(baseline_rate),
        "throughput_vs_baseline": round(rate / baseline_rate, 2) if baseline_rate else None,
        "requests": len(log), "batches": sum(1 for r in log if r["path"].endswith("/batch")),
        "emulator_429s": h.throttled(log) + h.throttled(base_log), "engine_429_errors": rate_429,
        "emulator_429s_by_limit": h.throttled_by(log + base_log),
        "report": report.as_dict(), "cpu": cpu.as_dict(), "baseline_cpu": base_cpu.as_dict(),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        result["profile_top"] = out.getvalue()
    return result


def _baseline(firm_id: int, time_scale: float, slack_ms: float) -> int:
    """A straightforward client: walk the ledger in dependency order and create each record with
    its own request, waiting for each answer (the same mapping code, the same limiter)."""
    from sqlalchemy import select

    from qbo.accounts.models import Firm
    from qbo.core.db import db
    from qbo.quickbooks.api.client import request_id_for
    from qbo.quickbooks.models import QboLink
    from qbo.quickbooks.sync import ORDER
    from qbo.quickbooks.sync.context import LinkRef, SyncContext, Waiting

    class _Refs(SyncContext):
        def __init__(self, firm, client):
            super().__init__(firm, client)
            self.refs = {}

        def link(self, record_type, record_id):
            qbo_id = self.refs.get((record_type, record_id))
            return LinkRef(qbo_id, "synced" if qbo_id else "pending")

    client = h.bench_client(firm_id, time_scale, slack_ms)
    ctx = _Refs(db.session.get(Firm, firm_id), client)
    written = 0
    for module in ORDER:
        links = db.session.scalars(select(QboLink).where(QboLink.firm_id == firm_id,
                                                         QboLink.record_type == module.RECORD_TYPE)).all()
        for link in links:
            record = db.session.get(module.MODEL, link.record_id)
            try:
                payload = module.to_qbo(record, ctx)
            except Waiting:
                continue
            created = client.create(module.QBO_ENTITY, payload,
                                    request_id=request_id_for("baseline", firm_id, link.record_type, link.record_id))
            ctx.refs[(link.record_type, link.record_id)] = created["Id"]
            written += 1
    return written


def summary(r: dict) -> str:
    return (f"throughput: {r['writes_per_qbo_minute']} record writes per QBO minute = "
            f"{r['throughput_share_of_ceiling']:.0%} of the 1,660 ceiling "
            f"{'in steady state' if r.get('steady_state') else '(run shorter than two QBO minutes: a burst)'} "
            f"({r['writes_per_qbo_minute_whole_run']} over the whole run), {r['throughput_vs_baseline']}x the "
            f"one-request-per-record baseline ({r['baseline_writes_per_qbo_minute']}/min); "
            f"{r['record_writes']} records, time scale {r['time_scale']:g}, 429s {r['emulator_429s']}, "
            f"CPU emulator {r['cpu']['emulator_cpu_share']:.0%} / workers {r['cpu']['workers_cpu_share']:.0%} of a core")


if __name__ == "__main__":
    import argparse
    import json

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--time-scale", type=float, default=10)
    parser.add_argument("--baseline-records", type=int, default=50)
    parser.add_argument("--slack-ms", type=float, default=250)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with embedded_redis() as url:
        r = run(url, records=args.records, time_scale=args.time_scale, baseline_records=args.baseline_records,
                slack_ms=args.slack_ms, profile=args.profile)
    top = r.pop("profile_top", None)
    print(json.dumps(r, indent=1))
    print(summary(r))
    if top:
        print(top)
