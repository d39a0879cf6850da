"""QBO connection: metered reads this month, read quota block, throttle pause, refresh-token hard expiry

Revision ID: 5c3e9a1f7b20
Revises: 5e7a1c3b9d24
Create Date: 2026-11-30 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3e9a1f7b20'
down_revision = '5e7a1c3b9d24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qbo_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_token_hard_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reads_month', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('reads_this_month', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reads_blocked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('throttled_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('qbo_connections', schema=None) as batch_op:
        batch_op.drop_column('throttled_until')
        batch_op.drop_column('reads_blocked_until')
        batch_op.drop_column('reads_this_month')
        batch_op.drop_column('reads_month')
        batch_op.drop_column('refresh_token_hard_expires_at')
