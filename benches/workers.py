"""Benchmark 4: 1, 2 and 4 worker processes syncing one realm (throughput stays at the ceiling, no
429), and 1, 2 and 4 realms with a worker each (throughput grows with workers)."""
from __future__ import annotations

import multiprocessing
import time

from benches import _harness as h


def _worker(config: dict, firm_id: int, time_scale: float, slack_ms: float, start_at: float) -> tuple:
    """A worker process: its own app and connections, sync_firm until nothing is left to claim.
    Returns (records created, when it started syncing, when it finished) on the wall clock."""
    app = h.make_app(config, create=False)
    with app.app_context():
        from qbo.quickbooks.sync.engine import sync_firm

        client = h.bench_client(firm_id, time_scale, slack_ms)
        time.sleep(max(0.0, start_at - time.time()))  # every worker starts together, imports done
        began, done = time.time(), 0
        for _ in range(50):
            report = sync_firm(firm_id, client=client)
            done += report.created
            if not report.created and not report.paused:
                break
        return done, began, time.time()


def _run(config, emu, jobs: list[int], time_scale, slack_ms) -> tuple:
    ctx = multiprocessing.get_context("spawn")
    seq = emu.last_seq()
    start_at = time.time() + 6.0  # after every process has spawned and imported the app
    with ctx.Pool(len(jobs)) as pool:
        results = pool.starmap(_worker, [(config, firm_id, time_scale, slack_ms, start_at) for firm_id in jobs])
    created = sum(r[0] for r in results)
    started_at, ended_at = min(r[1] for r in results), max(r[2] for r in results)
    steady = h.steady_rate(set(jobs), started_at, ended_at, time_scale)
    return ended_at - started_at, created, emu.requests_since(seq), steady


def run(redis_url: str, *, records: int = 200, realm_records: int = 100, time_scale: float = 3.0,
        slack_ms: float = 250) -> dict:
    emu = h.Emulator(time_scale)
    out = {"time_scale": time_scale, "records_per_type": records, "realm_records_per_type": realm_records,
           "one_realm": {}, "several_realms": {}}
    try:
        emu.set_limits(time_scale)
        with h.sqlite_url() as db_url:
            config = h.app_config(db_url, redis_url, emu.base_url)
            app = h.make_app(config)
            # Every firm is connected (each to its own company) before any run, and the
            # connections' CompanyInfo reads age out of QBO's window once, not once per run.
            with app.app_context():
                one_realm = {workers: _firm_with_ledger(f"One realm, {workers} workers", emu, records)
                             for workers in (1, 2, 4)}
                several = {realms: [_firm_with_ledger(f"{realms} realms, firm {n}", emu, realm_records)
                                    for n in range(realms)] for realms in (1, 2, 4)}
                from qbo.core.db import db

                db.session.remove()
            h.settle(emu)
            with app.app_context():  # the runs' figures read the links the workers wrote
                for workers, firm_id in one_realm.items():
                    out["one_realm"][str(workers)] = _figures(
                        *_run(config, emu, [firm_id] * workers, time_scale, slack_ms), time_scale)
                for realms, firm_ids in several.items():
                    out["several_realms"][str(realms)] = _figures(
                        *_run(config, emu, firm_ids, time_scale, slack_ms), time_scale)
    finally:
        emu.close()
    out["workers_throughput"] = {k: v["writes_per_qbo_minute"] for k, v in out["one_realm"].items()}
    out["realms_throughput"] = {k: v["writes_per_qbo_minute"] for k, v in out["several_realms"].items()}
    out["emulator_429s"] = sum(v["emulator_429s"] for part in ("one_realm", "several_realms") for v in out[part].values())
    base = out["workers_throughput"]["1"] or 1
    out["workers_ratio_4_vs_1"] = round(out["workers_throughput"]["4"] / base, 2)
    out["realms_ratio_4_vs_1"] = round(out["realms_throughput"]["4"] / (out["realms_throughput"]["1"] or 1), 2)
    return out


def _firm_with_ledger(name: str, emu, records: int) -> int:
    from qbo.core.db import db
    from qbo.quickbooks.sync.marking import mark_all

    firm, _ = h.connected_firm(name, emu, wait=False)
    h.insert_ledger(firm.id, records)
    mark_all(firm.id)
    db.session.commit()
    return firm.id


def _figures(wall: float, created: int, log: list[dict], steady: float | None, time_scale: float) -> dict:
    """Writes per QBO minute in steady state (see h.steady_rate), or over the whole run when it was
    too short to have one (the realm runs: each realm's records fit in its first QBO minute)."""
    whole_run = h.per_qbo_minute(created, wall, time_scale)
    return {"writes_per_qbo_minute": round(steady or whole_run), "writes_per_qbo_minute_whole_run": round(whole_run),
            "created": created, "wall_s": round(wall, 1), "requests": len(log), "emulator_429s": h.throttled(log),
            "emulator_429s_by_limit": h.throttled_by(log)}


def summary(r: dict) -> str:
    w, s = r["workers_throughput"], r["realms_throughput"]
    return (f"workers: one realm 1/2/4 workers {w['1']}/{w['2']}/{w['4']} writes per QBO minute "
            f"({r['workers_ratio_4_vs_1']}x with 4 vs 1; ceiling 1,660); 1/2/4 realms {s['1']}/{s['2']}/{s['4']} "
            f"({r['realms_ratio_4_vs_1']}x); 429s {r['emulator_429s']}")


if __name__ == "__main__":
    import argparse
    import json

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--realm-records", type=int, default=50)
    parser.add_argument("--time-scale", type=float, default=3)
    args = parser.parse_args()
    with embedded_redis() as url:
        r = run(url, records=args.records, realm_records=args.realm_records, time_scale=args.time_scale)
    print(json.dumps(r, indent=1))
    print(summary(r))
