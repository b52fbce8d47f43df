"""Add analytics performance indexes

Revision ID: 55a2502018a6
Revises: e9428b9dd556
Create Date: 2025-11-07 12:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '55a2502018a6'
down_revision = 'e9428b9dd556'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_invoices_open', 'invoices', ['vendor_id', 'received_at'],
                    postgresql_where=sa.text("status <> 'approved'"))
    op.create_index('ix_quickbooks_exports_exported_at', 'quickbooks_exports', ['exported_at'])
    op.add_column('invoices', sa.Column('approved_by', sa.String(length=255), nullable=True))


def downgrade():
    op.drop_column('invoices', 'approved_by')
    op.drop_index('ix_quickbooks_exports_exported_at', table_name='quickbooks_exports')
    op.drop_index('ix_invoices_open', table_name='invoices')
