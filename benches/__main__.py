"""`make bench` / `python -m benches`: the four benchmarks of issue 7 and the chaos tie-out of
issue 12, one summary line each, and every figure in benches/results.json. `--quick` runs small
sizes (a smoke test, not figures)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import platform
import sys
import time
from pathlib import Path

import psutil

from benches import chaos_tieout, desk, detection, reads, throughput, workers

RESULTS = Path(__file__).resolve().parent / "results.json"
README = Path(__file__).resolve().parent / "README.md"
ROW_MARK = "<!-- latest -->"


def write_readme_row(results: dict) -> None:
    """Put the latest full run's figures into the table in benches/README.md."""
    if results.get("quick"):
        return
    def fmt(d):
        return "/".join(str(v) for v in d.values()) if isinstance(d, dict) else str(d)
    row = (f"| {results['date'][:16].replace('T', ' ')} UTC | {results['machine']} | "
           f"{results.get('throughput_share_of_ceiling')} | {results.get('throughput_vs_baseline')}x | "
           f"{fmt(results.get('detection_requests'))} | {results.get('desk_ratio_sqlite')} / "
           f"{results.get('desk_ratio_postgres')} | {fmt(results.get('workers_throughput'))} | "
           f"{fmt(results.get('realms_throughput'))} | {ROW_MARK}")
    lines = README.read_text().splitlines()
    lines = [row if line.endswith(ROW_MARK) or line.startswith("| (filled by the last run)") else line for line in lines]
    README.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("throughput", "detection", "desk", "workers", "reads", "chaos"), action="append")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benches run")
    parser.add_argument("--records", type=int, default=None, help="throughput: records of every type")
    parser.add_argument("--time-scale", type=float, default=3.0)
    args = parser.parse_args(argv)
    wanted = args.only or ["throughput", "detection", "desk", "workers", "reads", "chaos"]
    quick = args.quick
    logging.disable(logging.INFO)  # the app's one line per request and per sync would drown the summaries
    from scripts.devserver import embedded_redis

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.only else {}
    lines = []
    started = time.monotonic()
    with embedded_redis() as redis_url:
        if "throughput" in wanted:
            t = time.monotonic()
            r = throughput.run(redis_url, records=args.records or (100 if quick else 5000),
                               time_scale=args.time_scale, baseline_records=10 if quick else 40)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["throughput"] = r
            lines.append(throughput.summary(r))
            results.setdefault("summary_by_bench", {})["throughput"] = lines[-1]
            print(lines[-1], flush=True)
        if "detection" in wanted:
            t = time.monotonic()
            r = detection.run(redis_url, sizes=(1000, 2000) if quick else (1000, 10_000, 50_000),
                              time_scale=args.time_scale)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["detection"] = r
            lines.append(detection.summary(r))
            results.setdefault("summary_by_bench", {})["detection"] = lines[-1]
            print(lines[-1], flush=True)
        if "desk" in wanted:
            t = time.monotonic()
            r = desk.run(redis_url, large=2000 if quick else 100_000)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["desk"] = r
            lines.append(desk.summary(r))
            results.setdefault("summary_by_bench", {})["desk"] = lines[-1]
            print(lines[-1], flush=True)
        if "workers" in wanted:
            t = time.monotonic()
            r = workers.run(redis_url, records=40 if quick else 650, realm_records=20 if quick else 150,
                            time_scale=args.time_scale)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["workers"] = r
            lines.append(workers.summary(r))
            results.setdefault("summary_by_bench", {})["workers"] = lines[-1]
            print(lines[-1], flush=True)
        if "reads" in wanted:
            t = time.monotonic()
            r = reads.run(redis_url, records=10 if quick else 50, wait_out_overlap=not quick)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["reads"] = r
            lines.append(reads.summary(r))
            results.setdefault("summary_by_bench", {})["reads"] = lines[-1]
            print(lines[-1], flush=True)
        if "chaos" in wanted:
            t = time.monotonic()
            r = chaos_tieout.run(redis_url, records=12 if quick else 60)
            r["seconds"] = round(time.monotonic() - t, 1)
            results["chaos"] = r
            lines.append(chaos_tieout.summary(r))
            results.setdefault("summary_by_bench", {})["chaos"] = lines[-1]
            print(lines[-1], flush=True)
    tp, de, dk, wk, ch = (results.get(k, {}) for k in ("throughput", "detection", "desk", "workers", "chaos"))
    rd = results.get("reads", {})
    results.update({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} CPUs, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "quick": quick,
        "throughput_share_of_ceiling": tp.get("throughput_share_of_ceiling"),
        "throughput_vs_baseline": tp.get("throughput_vs_baseline"),
        "detection_requests": de.get("detection_requests"),
        "desk_ratio_sqlite": dk.get("desk_ratio_sqlite"),
        "desk_ratio_postgres": dk.get("desk_ratio_postgres"),
        "workers_throughput": wk.get("workers_throughput"),
        "realms_throughput": wk.get("realms_throughput"),
        "reads_per_write": rd.get("reads_per_write"),
        "reads_per_idle_hour": rd.get("reads_per_idle_hour"),
        "chaos_tieout_differences": ch.get("chaos_tieout_differences"),
        "stranded_after_chaos": ch.get("stranded_after_chaos"),
        "summary": [results["summary_by_bench"][k] for k in ("throughput", "detection", "desk", "workers", "reads", "chaos")
                    if k in results.get("summary_by_bench", {})],
        "seconds": round(time.monotonic() - started, 1),
    })
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    write_readme_row(results)
    print(f"wrote {RESULTS} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
