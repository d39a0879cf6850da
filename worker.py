"""RQ worker for the app's queues, with the app context, and the change-detection schedule.

Run: `python worker.py` (uses REDIS_URL). No database query happens before RQ forks a job, so each
job opens its own connections (SQLAlchemy: pools and os.fork()). The schedule thread only puts two
jobs in Redis every DRIFT_SCHEDULE_SECONDS (default 15), run in a forked child like any other:
`schedule_polls` queues a CDC poll for each connected firm whose `cdc_interval_seconds` has passed,
and `sweep_stranded` re-queues (with backoff) the sync of each firm whose pending records no job is
working on or whose claim expired (a killed worker), and puts up the desk's stuck rows. RQ 3's CronScheduler doesn't fit: it enqueues with the default
(pickle) serializer, while our queues use JSON, and it wants a process of its own. Every worker
ticks; the job's fixed id makes one job of many ticks. `--burst` (tests) runs no schedule.
"""
from __future__ import annotations

import logging
import os
import sys
import threading

from rq import Worker
from rq.serializers import JSONSerializer

from app import create_app
from qbo.core.queue import QUEUES, get_queue

log = logging.getLogger("qbo.worker")


def _run_schedule(app, every: float, stop: threading.Event) -> None:
    from qbo.quickbooks.jobs import enqueue_schedule

    with app.app_context():
        while not stop.wait(every):
            try:
                enqueue_schedule()
            except Exception as exc:  # Redis briefly away: the next tick tries again
                log.warning("could not queue the schedule (polls, sweep): %s", type(exc).__name__)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    burst = "--burst" in argv
    with app.app_context():
        from qbo.core.db import db

        db.engine.dispose()  # nothing pooled crosses the fork
        stop = threading.Event()
        if not burst:
            every = float(os.environ.get("DRIFT_SCHEDULE_SECONDS", "15"))
            threading.Thread(target=_run_schedule, args=(app, every, stop), name="drift-schedule",
                             daemon=True).start()
        worker = Worker([get_queue(name) for name in QUEUES], serializer=JSONSerializer)
        try:
            worker.work(burst=burst, with_scheduler=True)
        finally:
            stop.set()


if __name__ == "__main__":
    main()
