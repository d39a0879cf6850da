"""Users carry a session version: sign-out, a new password or a new role ends older sessions

Revision ID: 5e7a1c9d3b20
Revises: 5c3e9a1f7b20
Create Date: 2026-11-30 15:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5e7a1c9d3b20'
down_revision = '5c3e9a1f7b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
