"""Jobs queued before the layout split name their function by its old dotted path: they still run."""
import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.utils import import_attribute

from qbo.core.db import db
from qbo.core.models import JobRun
from qbo.core.queue import get_queue
from tests.factories import make_invoice, make_user

OLD_PATHS = {
    "qbo.jobs.recalculate_balances": "qbo.ledger.jobs.recalculate_balances",
    "qbo.jobs.sync_firm_job": "qbo.quickbooks.jobs.sync_firm_job",
    "qbo.jobs.run_sync": "qbo.quickbooks.jobs.run_sync",
    "qbo.company_cache.refresh": "qbo.quickbooks.jobs.refresh_company",
    "qbo.actions.run_action": "qbo.desk.jobs.run_action",
    "qbo.actions.run_bulk": "qbo.desk.jobs.run_bulk",
    "qbo.desk.run_record_resync": "qbo.desk.jobs.run_record_resync",
    "qbo.drift.poll_changes_job": "qbo.quickbooks.jobs.poll_changes_job",
    "qbo.drift.schedule_polls": "qbo.quickbooks.jobs.schedule_polls",
}


@pytest.mark.parametrize("old,new", OLD_PATHS.items())
def test_it_resolves_an_old_dotted_path_to_the_job_that_moved(old, new):
    assert import_attribute(old) is import_attribute(new)


def test_it_runs_a_job_enqueued_under_its_old_dotted_path(app):
    user = make_user(role="owner")
    make_invoice(user.firm)
    run = JobRun(id="recalculate-old", firm_id=user.firm_id, kind="recalculate-balances", status="queued")
    db.session.add(run)
    db.session.commit()
    queue = get_queue()
    queue.enqueue("qbo.jobs.recalculate_balances", run.id, job_id=run.id)
    SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "finished"
