"""RQ worker for the app's queues, with the app context.

Run: `python worker.py` (uses REDIS_URL). No database query happens before RQ forks a job, so each
job opens its own connections (SQLAlchemy: pools and os.fork()).
"""
from __future__ import annotations

import logging
import sys

from rq import Worker
from rq.serializers import JSONSerializer

from app import create_app
from qbo.jobs import QUEUES, get_queue


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    with app.app_context():
        from qbo.db import db

        db.engine.dispose()  # nothing pooled crosses the fork
        worker = Worker([get_queue(name) for name in QUEUES], serializer=JSONSerializer)
        worker.work(burst="--burst" in argv, with_scheduler=True)


if __name__ == "__main__":
    main()
