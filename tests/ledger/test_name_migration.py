"""The migration that makes live names unique first tells apart the names already taken twice."""
from flask_migrate import upgrade
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.ledger.models import Account, Service
from tests.factories import make_firm
from tests.test_migrations import _make_pg_db


def test_it_renames_later_duplicates_and_keeps_deleted_ones(app_config, tmp_path, request):
    from app import create_app

    if request.config.getoption("--db") == "postgres":
        url = app_config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[0] + "/" + _make_pg_db(app_config, request)
    else:
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "i")})
    with legacy.app_context():
        upgrade(revision="8db6b769f2d7")
        firm, other = make_firm(), make_firm()
        db.session.add_all([Account(firm_id=firm.id, name=n) for n in ("Acme", "ACME", "acme", "Acme (2)")])
        db.session.add_all([Account(firm_id=firm.id, name="Acme", deleted_at=utcnow()),
                            Account(firm_id=other.id, name="Acme"),
                            Service(firm_id=firm.id, name="Audit"), Service(firm_id=firm.id, name="AUDIT")])
        db.session.commit()
        upgrade()
        db.session.expire_all()
        names = [(a.firm_id == firm.id, a.name, a.deleted_at is None)
                 for a in db.session.scalars(select(Account).order_by(Account.id))]
        services = db.session.scalars(select(Service.name).order_by(Service.id)).all()
        db.session.remove()
        db.engine.dispose()
    assert names == [(True, "Acme", True), (True, "ACME (3)", True), (True, "acme (4)", True),
                     (True, "Acme (2)", True), (True, "Acme", False), (False, "Acme", True)]
    assert services == ["Audit", "AUDIT (2)"]
