"""Benchmark 3: the errors desk with 100 and with 100,000 open errors in a firm, on SQLite and on
PostgreSQL: the banner partial, the counts, and the first page of each tab, through the real Flask
test client (signed in as the owner), plus the three qbo.status functions on their own."""
from __future__ import annotations

import statistics
import time

from benches import _harness as h

RECORD_TYPE = {"accounts": "account", "invoices": "invoice", "payments": "payment", "refunds": "refund",
               "expenses": "processor_fee", "services": "service"}
PASSWORD = "bench password 1"


def run(redis_url: str, *, small: int = 100, large: int = 100_000, repeat: int = 7, postgres: bool = True) -> dict:
    out = {"small": small, "large": large}
    with h.sqlite_url() as url:
        out["sqlite"] = _on(url, redis_url, small, large, repeat)
    if postgres:
        try:
            with h.postgres_url() as url:
                out["postgres"] = _on(url, redis_url, small, large, repeat)
        except Exception as exc:  # no server: say so rather than fake a figure
            out["postgres"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    for db_name in ("sqlite", "postgres"):
        part = out.get(db_name) or {}
        out[f"desk_ratio_{db_name}"] = part.get("ratio")
    return out


def _on(db_url: str, redis_url: str, small: int, large: int, repeat: int) -> dict:
    app = h.make_app(h.app_config(db_url, redis_url, "http://127.0.0.1:9"))
    result = {}
    with app.app_context():
        for n in (small, large):
            result[str(n)] = _measure(app, n, repeat if n <= 1000 else 3)  # medians; the large case is slow
    a, b = result[str(small)], result[str(large)]
    result["ratio"] = round(b["total_ms"] / a["total_ms"], 2)
    result["ratio_by_request"] = {k: round(b["requests_ms"][k] / a["requests_ms"][k], 2) for k in a["requests_ms"]}
    result["ratio_by_function"] = {k: round(b["functions_ms"][k] / a["functions_ms"][k], 2) for k in a["functions_ms"]}
    fns = ("banner_state_capped", "error_counts_capped", "first_page")
    if all(k in a["functions_ms"] for k in fns):
        # What the page would cost with capped counts: the three queries it needs, 100k vs 100.
        result["ratio_capped_queries"] = round(sum(b["functions_ms"][k] for k in fns) / sum(a["functions_ms"][k] for k in fns), 2)
    return result


def _measure(app, n: int, repeat: int) -> dict:
    import datetime as dt

    from sqlalchemy import insert, text

    from qbo.accounts.models import Firm, User
    from qbo.core.db import db
    from qbo.quickbooks.models import SyncError
    from qbo.quickbooks.problems.counts import CATEGORIES, banner_state, error_counts, errors_query

    try:  # the capped counts proposed for the desk (qbo/status.py), when present
        from qbo.quickbooks.problems.counts import banner_state_capped, error_counts_capped
    except ImportError:
        banner_state_capped = error_counts_capped = None

    firm = Firm(name=f"Desk {n}")
    db.session.add(firm)
    db.session.flush()
    owner = User(firm_id=firm.id, email=f"desk-{n}@bench.test", role="owner")
    owner.set_password(PASSWORD)
    db.session.add(owner)
    db.session.commit()
    now = dt.datetime(2026, 11, 26, 12, 0)
    rows = []
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        rows.append(dict(firm_id=firm.id, record_type=RECORD_TYPE[category], record_id=i + 1,
                         case="account-no-match" if category == "accounts" else "qbo-fault", category=category,
                         message="QuickBooks refused it.", occurrences=1, first_seen=now,
                         last_seen=now - dt.timedelta(seconds=i), status="open", severity="error", severity_rank=2))
    for start in range(0, n, 10_000):
        db.session.execute(insert(SyncError), rows[start:start + 10_000])
    db.session.commit()
    # Fresh statistics, as autovacuum would give a real table: without them PostgreSQL's plans
    # for a just-filled table swing from index scans to full sorts between runs.
    db.session.execute(text("ANALYZE sync_errors"))
    db.session.commit()
    client = app.test_client()
    client.post("/sign-in", data={"email": owner.email, "password": PASSWORD})
    hx = {"HX-Request": "true"}
    requests = {"banner": ("/quickbooks/banner", hx)}
    for category in CATEGORIES:
        requests[f"tab_{category}"] = (f"/settings/integrations/quickbooks?tab={category}", hx)
    timings = {}
    for name, (url, headers) in requests.items():
        assert client.get(url, headers=headers).status_code == 200, name  # warm
        timings[name] = _median(lambda: client.get(url, headers=headers), repeat)
    functions = {
        "banner_state": lambda: banner_state(firm.id),
        "error_counts": lambda: error_counts(firm.id),
        "first_page": lambda: [db.session.scalars(errors_query(firm.id, category=c).limit(50)).all() for c in CATEGORIES],
    }
    if banner_state_capped is not None:
        functions["banner_state_capped"] = lambda: banner_state_capped(firm.id)
        functions["error_counts_capped"] = lambda: error_counts_capped(firm.id)
    fn = {name: _median(f, repeat) for name, f in functions.items()}
    return {"requests_ms": timings, "functions_ms": fn, "total_ms": round(sum(timings.values()), 2)}


def _median(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def summary(r: dict) -> str:
    def part(name):
        p = r.get(name) or {}
        if "ratio" not in p:
            return f"{name} n/a ({p.get('error', 'not run')})"
        capped = f", its queries with capped counts {p['ratio_capped_queries']}x" if "ratio_capped_queries" in p else ""
        return (f"{name} {p['ratio']}x ({p[str(r['small'])]['total_ms']:.0f} -> {p[str(r['large'])]['total_ms']:.0f} ms "
                f"for banner + 6 tabs{capped})")
    return f"desk: {r['large']:,} vs {r['small']} open errors: " + "; ".join(part(n) for n in ("sqlite", "postgres")) + " (goal <= 1.5x)"


if __name__ == "__main__":
    import argparse
    import json

    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with embedded_redis() as url:
        r = run(url, large=args.large, postgres=not args.no_postgres)
    print(json.dumps(r, indent=1))
    print(summary(r))
