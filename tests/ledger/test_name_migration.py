"""The migration that makes live names unique first tells apart the names already taken twice."""
import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from qbo.core.db import db
from qbo.core.models import utcnow
from qbo.ledger.models import Account, Service
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
        # Rows as that schema had them (the models now carry columns later migrations add).
        firm, other = _insert("firms", name="Firm A"), _insert("firms", name="Firm B")
        for n in ("Acme", "ACME", "acme", "Acme (2)"):
            _insert("accounts", firm_id=firm, name=n)
        _insert("accounts", firm_id=firm, name="Acme", deleted_at=utcnow())
        _insert("accounts", firm_id=other, name="Acme")
        _insert("services", firm_id=firm, name="Audit")
        _insert("services", firm_id=firm, name="AUDIT")
        db.session.commit()
        upgrade()
        db.session.expire_all()
        names = [(a.firm_id == firm, a.name, a.deleted_at is None)
                 for a in db.session.scalars(select(Account).order_by(Account.id))]
        services = db.session.scalars(select(Service.name).order_by(Service.id)).all()
        db.session.remove()
        db.engine.dispose()
    assert names == [(True, "Acme", True), (True, "ACME (3)", True), (True, "acme (4)", True),
                     (True, "Acme (2)", True), (True, "Acme", False), (False, "Acme", True)]
    assert services == ["Audit", "AUDIT (2)"]


_FILLERS = ((sa.Boolean, False), (sa.Integer, 1), (sa.Numeric, 0), (sa.DateTime, dt.datetime(2026, 1, 1)),
            (sa.Date, dt.date(2026, 1, 1)), (sa.JSON, {}), (sa.String, "x"))


def _insert(table: str, **values) -> int:
    """A row in `table` as the database has it now, required columns filled with plain values."""
    t = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    row = {c.name: next(v for kind, v in _FILLERS if isinstance(c.type, kind))
           for c in t.columns if not c.nullable and not c.primary_key and c.name not in values}
    return db.session.execute(t.insert().values(**row, **values)).inserted_primary_key[0]
