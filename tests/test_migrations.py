"""`flask db upgrade` produces exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine

from qbo.core.db import db


def test_it_migrates_to_the_same_schema_as_the_models(app_config, tmp_path, request):
    from app import create_app

    if request.config.getoption("--db") == "postgres":
        url = app_config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[0] + "/" + _make_pg_db(app_config, request)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        engine = create_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        engine.dispose()
        db.engine.dispose()
    assert diff == []


def _make_pg_db(app_config, request):
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"qbomig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    request.addfinalizer(drop)
    return name
