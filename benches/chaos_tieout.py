"""Benchmark 5 (issue 12): chaos, then tie-out, at a bench size. The scenario of
tests/reliability/test_chaos_tieout.py (a fifth of QuickBooks' answers failing in every way, a
worker SIGKILLed mid-sync, the emulator crashed and restarted from its data file, a real 40 s
stall), then only waiting, with N records of every type; then the tie-out.

Figures (goal 0 for both): `chaos_tieout_differences`, the tie-out's differences between the ledger
and QuickBooks; `stranded_after_chaos`, records neither synced nor on the desk with a reason."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benches import _harness as h


def run(redis_url: str, *, records: int = 60, stall_ms: int = 40_000, wait_seconds: float = 120) -> dict:
    import pytest

    from tests.reliability.test_chaos_tieout import RestartableEmulator, run_chaos

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qbo-chaos-") as tmp, h.sqlite_url() as db_url:
        emu = RestartableEmulator(Path(tmp) / "qbo-emulator.json").start()
        try:
            config = h.app_config(db_url, redis_url, emu.base_url)
            app = h.make_app(config)
            with app.app_context(), pytest.MonkeyPatch.context() as monkeypatch:
                outcome = run_chaos(app, config, emu, monkeypatch, records, stall_ms / 1000 + wait_seconds,
                                    stall_ms=stall_ms)
        finally:
            emu.crash()
    result = outcome["tieout"]
    return {
        "records_per_type": records, "stall_ms": stall_ms,
        "chaos_tieout_differences": result["differences"],
        "stranded_after_chaos": len(outcome["stranded"]),
        "stranded_sample": [list(s) for s in outcome["stranded"][:5]],
        "in_doubt_after_kill": outcome["in_doubt_after_kill"],
        "faults_left": len(outcome["faults_left"]),
        "failed_share": outcome["failed_share"],
        "requests_after_restart": outcome["requests_after_restart"],
        "tieout_requests": result["requests"], "tieout_pages": result["pages"],
        "scenario_seconds": round(time.monotonic() - started, 1),
    }


def summary(r: dict) -> str:
    return (f"chaos: {r['chaos_tieout_differences']} tie-out differences, {r['stranded_after_chaos']} records "
            f"stranded (goal 0 and 0) after {r['records_per_type']} records of every type went through "
            f"{r['failed_share']:.0%} failed requests, a worker SIGKILL, an emulator restart and a "
            f"{r['stall_ms'] / 1000:.0f} s stall; tie-out read QuickBooks in {r['tieout_requests']} requests")


if __name__ == "__main__":
    import argparse
    import json
    import logging

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=60)
    parser.add_argument("--wait", type=float, default=120, help="seconds of waiting after the stall")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with embedded_redis() as url:
        r = run(url, records=args.records, wait_seconds=args.wait)
    print(json.dumps(r, indent=1))
    print(summary(r))
