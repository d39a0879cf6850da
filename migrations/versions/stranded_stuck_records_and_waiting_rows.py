"""stuck records and waiting rows: firms.stuck_after_minutes, qbo_links.pending_since,
sync_errors.waiting_for_type / waiting_for_id

Revision ID: 5e1a7c3d9b20
Revises: 4b8e735f29b1
Create Date: 2026-11-30 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1a7c3d9b20'
down_revision = '4b8e735f29b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stuck_after_minutes', sa.Integer(), nullable=False, server_default='15'))
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_since', sa.DateTime(), nullable=True))
    with op.batch_alter_table('sync_errors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_for_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('waiting_for_id', sa.Integer(), nullable=True))
    # Links pending today are pending at least since their last change.
    op.execute("UPDATE qbo_links SET pending_since = updated_at WHERE status = 'pending'")


def downgrade():
    with op.batch_alter_table('sync_errors', schema=None) as batch_op:
        batch_op.drop_column('waiting_for_id')
        batch_op.drop_column('waiting_for_type')
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.drop_column('pending_since')
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('stuck_after_minutes')
