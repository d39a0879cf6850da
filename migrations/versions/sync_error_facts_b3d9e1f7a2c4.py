"""sync_errors.facts: what a row's explanation is built from, in no language

Revision ID: b3d9e1f7a2c4
Revises: d5f1a2b7c9e3
Create Date: 2026-11-30 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d9e1f7a2c4'
down_revision = 'd5f1a2b7c9e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_errors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_errors', schema=None) as batch_op:
        batch_op.drop_column('facts')
