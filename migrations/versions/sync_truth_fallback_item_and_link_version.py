"""firms.fallback_item_name: the QuickBooks item a line without a service is booked on;
qbo_links.qbo_updated_at: LastUpdatedTime of the version the product last wrote

Revision ID: 5e7a1c3b9d24
Revises: 8db6b769f2d7
Create Date: 2026-11-30 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e7a1c3b9d24'
down_revision = '8db6b769f2d7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback_item_name', sa.String(length=100), nullable=False,
                                      server_default='Services'))
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qbo_updated_at', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.drop_column('qbo_updated_at')
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('fallback_item_name')
