"""one live account and one live service per name in a firm, letter case ignored (issue 12)

Before the indexes can exist, names that are already taken twice are told apart: the oldest record
keeps its name, each later one gets " (2)", " (3)", ... (QuickBooks refuses two customers or items
of one name anyway, error 6240). Each rename is printed to the migration's log.

Revision ID: 4b8e735f29b1
Revises: 8db6b769f2d7
Create Date: 2026-11-30 15:20:00

"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '4b8e735f29b1'
down_revision = '8db6b769f2d7'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
LIVE = sa.text("deleted_at IS NULL")
NAME_LENGTH = {"accounts": 500, "services": 100}


def _tell_apart_duplicates(table: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        f"SELECT id, firm_id, name, lower(name) FROM {table} WHERE deleted_at IS NULL ORDER BY id")).all()
    taken = {(firm_id, key) for _, firm_id, _, key in rows}
    seen = set()
    for record_id, firm_id, name, key in rows:
        if (firm_id, key) not in seen:
            seen.add((firm_id, key))
            continue
        n = 2
        while True:
            suffix = f" ({n})"
            candidate = name[:NAME_LENGTH[table] - len(suffix)] + suffix
            candidate_key = conn.execute(sa.text("SELECT lower(:name)"), {"name": candidate}).scalar()
            if (firm_id, candidate_key) not in taken:
                break
            n += 1
        conn.execute(sa.text(f"UPDATE {table} SET name = :name WHERE id = :id"), {"name": candidate, "id": record_id})
        taken.add((firm_id, candidate_key))
        log.warning("%s %s: name %r was already used in firm %s; renamed %r", table, record_id, name, firm_id, candidate)


def upgrade():
    for table in ("accounts", "services"):
        _tell_apart_duplicates(table)
        op.create_index(f"ux_{table}_live_name", table, ["firm_id", sa.text("lower(name)")], unique=True,
                        sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index("ux_services_live_name", table_name="services")
    op.drop_index("ux_accounts_live_name", table_name="accounts")
