"""The per-realm limiter on a real Redis (ref §3: 500/min, 10/s, 10 in flight, 40 batches/min).

Measure several worker processes against the emulator with its limits on:
    .venv/bin/python -m tests.quickbooks.api.test_limiter [--processes 3] [--threads 5] [--seconds 3] [--time-scale 60]
        [--slack-ms 150] [--delay-ms 0] [--no-limiter]
"""
import multiprocessing
import os
import sys
import time

import pytest

from qbo.quickbooks.api.client import QboClient
from qbo.quickbooks.api.errors import LimiterTimeout
from qbo.quickbooks.api.limiter import RealmLimiter
from tests.quickbooks.api.qbo_testing import hammer, requests_log


def _limiter(redis_db, **settings):
    defaults = {"per_minute": 500, "per_second": 0, "concurrent": 10, "batch_per_minute": 40,
                "time_scale": 60, "slack_ms": 0}
    return RealmLimiter(redis_db, **dict(defaults, **settings))


def _admitted(limiter, n, realm="r1", batch=False):
    leases = [limiter.try_acquire(realm, batch=batch)[0] for _ in range(n)]
    for lease in leases:
        if lease:
            lease.release()
    return sum(1 for lease in leases if lease)


def test_it_admits_the_per_minute_limit_then_says_how_long_to_wait(redis_db):
    """ref §3 500/min (3 here; time_scale 60: a minute lasts 1 s)."""
    limiter = _limiter(redis_db, per_minute=3)
    assert _admitted(limiter, 4) == 3
    lease, wait = limiter.try_acquire("r1")
    assert lease is None and 0.9 < wait <= 1.0


def test_it_caps_requests_per_second(redis_db):
    """ref §3: 10 req/s per realm (2 here, real time)."""
    limiter = _limiter(redis_db, per_second=2, time_scale=1)
    assert _admitted(limiter, 3) == 2
    assert 0.9 < limiter.try_acquire("r1")[1] <= 1.0


def test_it_caps_requests_in_flight(redis_db):
    """ref §3: at most 10 concurrent requests per realm (2 here)."""
    limiter = _limiter(redis_db, concurrent=2)
    first, second = limiter.acquire("r1"), limiter.acquire("r1")
    assert limiter.try_acquire("r1")[0] is None
    first.release()
    assert limiter.try_acquire("r1")[0] is not None
    second.release()


def test_it_frees_the_slot_of_a_worker_that_died(redis_db):
    """A lease expires on its own, so a killed worker can't hold a slot forever."""
    limiter = _limiter(redis_db, concurrent=1, lease_seconds=0.2)
    limiter.acquire("r1")  # never released
    assert limiter.try_acquire("r1")[0] is None
    time.sleep(0.25)
    assert limiter.try_acquire("r1")[0] is not None


def test_it_counts_batches_toward_both_limits(redis_db):
    """ref §3: 40 batch req/min (1 here), and batches also count toward the 500 (3 here)."""
    limiter = _limiter(redis_db, per_minute=3, batch_per_minute=1)
    assert _admitted(limiter, 2, batch=True) == 1
    assert _admitted(limiter, 3) == 2


def test_it_gives_a_batch_slot_while_one_is_free_then_plain_ones(redis_db):
    """ref §3: 40 batches/min of the 500 (2 and 4 here); the choice is made in one step, so a batch
    slot can't free between asking for it and settling for a plain one."""
    limiter = _limiter(redis_db, per_minute=4, batch_per_minute=2)
    leases = [limiter.try_acquire("r1", batch_if_free=True)[0] for _ in range(5)]
    assert [lease.batch if lease else None for lease in leases] == [True, True, False, False, None]
    assert limiter.try_acquire("r1", batch=True)[0] is None


def test_it_keeps_realms_apart(redis_db):
    """ref §3: the limits are per realm."""
    limiter = _limiter(redis_db, per_minute=1)
    assert _admitted(limiter, 2, realm="r1") == 1 and _admitted(limiter, 1, realm="r2") == 1


def test_it_blocks_until_a_slot_frees_or_times_out(redis_db):
    """Blocking acquire: waits out the window (time_scale 600: a minute lasts 0.1 s)."""
    limiter = _limiter(redis_db, per_minute=1, time_scale=600)
    limiter.acquire("r1").release()
    with pytest.raises(LimiterTimeout):
        limiter.acquire("r1", timeout=0.01)
    started = time.monotonic()
    limiter.acquire("r1", timeout=1).release()
    assert 0.03 < time.monotonic() - started < 0.5


def test_it_pauses_every_worker_of_the_realm_after_a_429(redis_db):
    """ref §3: wait 60 s after a 429, and attempts made meanwhile count, so nobody may send."""
    limiter = _limiter(redis_db)
    limiter.pause("r1", 0.5)
    lease, wait = limiter.try_acquire("r1")
    assert lease is None and 0.4 < wait <= 0.5
    assert limiter.try_acquire("r2")[0] is not None


def test_it_holds_the_realm_for_a_qbo_minute_after_a_429(emu, tokens, redis_db, sleeps):
    """ref §3: the client's 60-second wait is a QBO minute: 0.1 s at time_scale 600."""
    limiter = _limiter(redis_db, time_scale=600)
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, limiter=limiter, sleep=sleeps.append)
    emu.control("POST", "/faults", json={"match": {"operation": "read"}, "times": 1, "code": "3001"})
    started = time.monotonic()
    assert qbo.preferences()
    assert sleeps == [0.1] and time.monotonic() - started >= 0.09  # the limiter held the retry


def test_it_wraps_every_client_request_in_a_lease(emu, tokens, redis_db):
    """The client acquires before each HTTP request and releases after it."""
    limiter = _limiter(redis_db)
    qbo = QboClient(emu.realm_id, emu.base_url + "/v3", tokens, limiter=limiter)
    qbo.preferences()
    qbo.batch([{"query": "SELECT * FROM Customer"}], request_id="lease-batch")
    keys = limiter._keys(emu.realm_id)
    assert (redis_db.zcard(keys[0]), redis_db.zcard(keys[1]), limiter.in_flight(emu.realm_id)) == (2, 1, 0)


def run_processes(emu, redis_url, processes=3, threads=5, seconds=2.0, use_limiter=True, time_scale=60,
                  slack_ms=150, delay_ms=0):
    """Start `processes` workers hammering one realm; returns (ok, throttled, errors, 429s in the
    emulator's log, requests in the log, elapsed)."""
    token = emu.tokens()["access_token"]
    if delay_ms:  # slow answers, so that the 10-in-flight limit binds too
        emu.control("POST", "/faults", json={"match": {"operation": "read"}, "times": None,
                                             "delay_ms": delay_ms}).raise_for_status()
    since = (requests_log(emu) or [{"seq": 0}])[-1]["seq"]
    started = time.monotonic()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        results = pool.starmap(hammer, [(emu.base_url, emu.realm_id, token, redis_url, seconds, threads,
                                         use_limiter, time_scale, slack_ms)] * processes)
    elapsed = time.monotonic() - started
    log = [r for r in emu.control("GET", f"/requests?since={since}").json()]
    ok, throttled, errors = (sum(r[i] for r in results) for i in range(3))
    return ok, throttled, errors, sum(1 for r in log if r["status"] == 429), len(log), elapsed


def test_it_keeps_three_processes_within_the_limits(emu, redis_url, redis_db):
    """ref §3: 3 processes x 5 threads on one realm, the emulator's limits on (500/min, 10/s,
    10 in flight, 40 batches/min; time_scale 60) and slow answers (150 ms) -> zero 429s."""
    emu.control("PUT", "/limits", json={"enabled": True, "per_minute": 500, "per_second": 10,
                                        "concurrent": 10, "batch_per_minute": 40,
                                        "time_scale": 60}).raise_for_status()
    ok, throttled, errors, log_429s, logged, _ = run_processes(emu, redis_url, seconds=2.0, delay_ms=150)
    assert (throttled, errors, log_429s) == (0, 0, 0)
    assert ok == logged and ok > 50


if __name__ == "__main__":
    import argparse

    from emulator.testing import live_emulator
    from scripts.devserver import embedded_redis

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--time-scale", type=float, default=60)
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--slack-ms", type=float, default=150)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    with embedded_redis() as url, live_emulator(limits={"enabled": True, "per_minute": 500,
                                                        "per_second": 10, "concurrent": 10,
                                                        "batch_per_minute": 40,
                                                        "time_scale": args.time_scale}) as emu:
        ok, throttled, errors, log_429s, logged, elapsed = run_processes(
            emu, url, args.processes, args.threads, args.seconds, not args.no_limiter, args.time_scale,
            args.slack_ms, args.delay_ms)
        minutes = args.seconds * args.time_scale / 60
        print(f"limiter={'off' if args.no_limiter else 'on'} processes={args.processes} "
              f"threads={args.threads} time_scale={args.time_scale} slack_ms={args.slack_ms} "
              f"delay_ms={args.delay_ms}: "
              f"{logged} requests in {args.seconds:g} s of hammering ({minutes:.1f} QBO minutes, "
              f"{logged / minutes:.0f} per QBO minute, {logged / args.seconds:.0f}/s), "
              f"answered={ok} 429s={log_429s} other errors={errors}; wall {elapsed:.1f} s")
