"""firms.fallback_item_name: the QuickBooks item a line without a service is booked on;
qbo_links.qbo_updated_at: LastUpdatedTime of the version the product last wrote

Revision ID: 5e7a1c3b9d24
Revises: 5e1a7c3d9b20
Create Date: 2026-11-30 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e7a1c3b9d24'
down_revision = '5e1a7c3d9b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback_item_name', sa.String(length=100), nullable=False,
                                      server_default='Services'))
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qbo_updated_at', sa.String(length=40), nullable=True))
    # Documents synced before this change reached QuickBooks without the amounts of their lines
    # typed without a service (text-only lines): send them again, so the next sync books those
    # amounts on the fallback item and checks the totals.
    for record_type, lines, parent in (("invoice", "invoice_lines", "invoice_id"),
                                       ("credit_note", "credit_note_lines", "credit_note_id")):
        op.execute(
            f"UPDATE qbo_links SET status = 'pending', pushed_hash = NULL, reason = NULL "
            f"WHERE record_type = '{record_type}' AND status = 'synced' AND excluded = false "
            f"AND record_id IN (SELECT {parent} FROM {lines} WHERE service_id IS NULL)")


def downgrade():
    with op.batch_alter_table('qbo_links', schema=None) as batch_op:
        batch_op.drop_column('qbo_updated_at')
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('fallback_item_name')
