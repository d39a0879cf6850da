"""The job path end to end: a JobRun committed, enqueued on a real Redis, run by a real RQ worker."""
import os
import subprocess
import sys

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.core.queue import get_queue
from qbo.ledger import jobs as ledger_jobs
from tests.factories import make_api_key, make_payment, make_user, sign_in


def _drain(app):
    queue = get_queue()
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)


def test_it_recalculates_balances_through_a_real_worker(app):
    user = make_user()
    make_payment(user.firm)
    run = ledger_jobs.enqueue_recalculation(user.firm_id, user.id)
    assert db.session.get(JobRun, run.id).status == "queued"
    _drain(app)
    db.session.expire_all()
    run = db.session.get(JobRun, run.id)
    assert run.status == "finished" and (run.done, run.total) == (1, 1)
    assert run.result["billed"] == "300.00" and run.result["outstanding"] == "0.00"


def test_it_does_nothing_the_second_time(app):
    user = make_user()
    run = ledger_jobs.enqueue_recalculation(user.firm_id)
    _drain(app)
    assert ledger_jobs.recalculate_balances(run.id) is None


def test_it_shows_job_progress_to_htmx_and_the_api(client, app):
    user = make_user(role="staff")
    sign_in(client, user)
    response = client.post("/jobs/recalculate-balances", headers={"HX-Request": "true"})
    assert response.status_code == 202 and 'hx-trigger="load delay:1s"' in response.get_data(as_text=True)
    job_id = db.session.scalar(db.select(JobRun.id))
    _drain(app)
    fragment = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Done." in fragment and "hx-trigger" not in fragment
    body = client.get(f"/api/v1/jobs/{job_id}", headers=make_api_key(user)).get_json()
    assert body["status"] == "finished"


def test_it_runs_jobs_in_the_forking_worker_process(app, app_config, tmp_path):
    user = make_user()
    run = ledger_jobs.enqueue_recalculation(user.firm_id)
    env = {**os.environ, "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app_config["REDIS_URL"], "SECRET_KEY": "x" * 32,
           "TOKEN_ENCRYPTION_KEY": app_config["TOKEN_ENCRYPTION_KEY"], "INSTANCE_PATH": str(tmp_path),
           "QBO_BASE_URL": app_config["QBO_BASE_URL"]}
    result = subprocess.run([sys.executable, "worker.py", "--burst"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "kind=recalculate-balances" in result.stderr and "outcome=finished" in result.stderr
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "finished"
