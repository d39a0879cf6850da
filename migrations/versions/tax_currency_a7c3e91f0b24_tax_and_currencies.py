"""tax and currencies (issue 17): tax rates, line tax, company snapshot, tax code mapping, exchange rates

Revision ID: a7c3e91f0b24
Revises: 5e7a1c9d3b20
Create Date: 2026-11-30 15:15:06.431086

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91f0b24'
down_revision = '5e7a1c9d3b20'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('qbo_companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.String(length=40), nullable=False),
    sa.Column('country', sa.String(length=3), nullable=True),
    sa.Column('region', sa.String(length=10), nullable=False),
    sa.Column('tax_mode', sa.String(length=10), nullable=False),
    sa.Column('home_currency', sa.String(length=3), nullable=False),
    sa.Column('multicurrency', sa.Boolean(), nullable=False),
    sa.Column('custom_txn_numbers', sa.Boolean(), nullable=False),
    sa.Column('class_tracking', sa.Boolean(), nullable=False),
    sa.Column('class_per_line', sa.Boolean(), nullable=False),
    sa.Column('location_tracking', sa.Boolean(), nullable=False),
    sa.Column('classes', sa.JSON(), nullable=False),
    sa.Column('locations', sa.JSON(), nullable=False),
    sa.Column('tax_codes', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_qbo_companies_firm_id_firms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qbo_companies')),
    sa.UniqueConstraint('firm_id', name=op.f('uq_qbo_companies_firm_id'))
    )
    op.create_table('tax_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('percent', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_tax_rates_firm_id_firms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rates')),
    sa.UniqueConstraint('firm_id', 'name', name=op.f('uq_tax_rates_firm_id'))
    )
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_rates_firm_id'), ['firm_id'], unique=False)

    op.create_table('qbo_tax_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('rate_key', sa.String(length=30), nullable=False),
    sa.Column('tax_code_id', sa.String(length=40), nullable=False),
    sa.Column('tax_code_name', sa.String(length=200), nullable=True),
    sa.Column('chosen_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chosen_by_id'], ['users.id'], name=op.f('fk_qbo_tax_mappings_chosen_by_id_users')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_qbo_tax_mappings_firm_id_firms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qbo_tax_mappings')),
    sa.UniqueConstraint('firm_id', 'rate_key', name=op.f('uq_qbo_tax_mappings_firm_id'))
    )
    with op.batch_alter_table('qbo_tax_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qbo_tax_mappings_firm_id'), ['firm_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))

    with op.batch_alter_table('credit_note_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_credit_note_lines_tax_rate_id_tax_rates'), 'tax_rates', ['tax_rate_id'], ['id'])

    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exchange_rate', sa.Numeric(precision=18, scale=8), nullable=True))
        batch_op.add_column(sa.Column('adopted_tax', sa.Numeric(precision=14, scale=2), nullable=True))

    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rounding', sa.String(length=10), server_default='line', nullable=False))
        batch_op.add_column(sa.Column('us_sales_tax', sa.String(length=20), server_default='quickbooks', nullable=False))
        batch_op.add_column(sa.Column('qbo_class_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('qbo_location_id', sa.String(length=40), nullable=True))

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_tax_rate_id_tax_rates'), 'tax_rates', ['tax_rate_id'], ['id'])

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exchange_rate', sa.Numeric(precision=18, scale=8), nullable=True))
        batch_op.add_column(sa.Column('adopted_tax', sa.Numeric(precision=14, scale=2), nullable=True))

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exchange_rate', sa.Numeric(precision=18, scale=8), nullable=True))

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taxable', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('tax_rate_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_services_tax_rate_id_tax_rates'), 'tax_rates', ['tax_rate_id'], ['id'])




def downgrade():

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_services_tax_rate_id_tax_rates'), type_='foreignkey')
        batch_op.drop_column('tax_rate_id')
        batch_op.drop_column('taxable')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('exchange_rate')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('adopted_tax')
        batch_op.drop_column('exchange_rate')

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_tax_rate_id_tax_rates'), type_='foreignkey')
        batch_op.drop_column('tax_rate_id')

    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('qbo_location_id')
        batch_op.drop_column('qbo_class_id')
        batch_op.drop_column('us_sales_tax')
        batch_op.drop_column('tax_rounding')

    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_column('adopted_tax')
        batch_op.drop_column('exchange_rate')

    with op.batch_alter_table('credit_note_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_credit_note_lines_tax_rate_id_tax_rates'), type_='foreignkey')
        batch_op.drop_column('tax_rate_id')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('currency')

    with op.batch_alter_table('qbo_tax_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qbo_tax_mappings_firm_id'))

    op.drop_table('qbo_tax_mappings')
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_rates_firm_id'))

    op.drop_table('tax_rates')
    op.drop_table('qbo_companies')

