"""Add exception management indexes

Revision ID: e9428b9dd556
Revises: 797c75afebae
Create Date: 2025-11-07 12:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'e9428b9dd556'
down_revision = '797c75afebae'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_storage_audit_log_details', 'storage_audit_log', ['details'], postgresql_using='gin')
    op.create_check_constraint('ck_quickbooks_exports_status', 'quickbooks_exports',
                               "status IN ('pending', 'exported', 'failed')")
    op.execute("COMMENT ON TABLE quickbooks_exports IS 'one row per export attempt; it''s retried'")


def downgrade():
    op.execute('COMMENT ON TABLE quickbooks_exports IS NULL')
    op.drop_constraint('ck_quickbooks_exports_status', 'quickbooks_exports', type_='check')
    op.drop_index('ix_storage_audit_log_details', table_name='storage_audit_log')
