"""desk flows: firms.approval_threshold (a desk action on more records than this waits for the owner)

Revision ID: d5f1a2b7c9e3
Revises: a7c3e91f0b24
Create Date: 2026-11-30 16:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5f1a2b7c9e3'
down_revision = 'a7c3e91f0b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_threshold', sa.Integer(), nullable=False, server_default='10'))


def downgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('approval_threshold')
