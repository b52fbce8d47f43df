"""Add QuickBooks integration tables

Revision ID: 797c75afebae
Revises: b1a2c3d4e5f6
Create Date: 2025-11-07 12:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '797c75afebae'
down_revision = 'b1a2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'quickbooks_connections',
        sa.Column('id', postgresql.UUID(as_uuid=True), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('realm_id', sa.String(length=64), nullable=False),
        sa.Column('tokens', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_quickbooks_connections'),
        sa.UniqueConstraint('realm_id', name='uq_quickbooks_connections_realm_id'),
    )
    op.create_table(
        'quickbooks_exports',
        sa.Column('id', postgresql.UUID(as_uuid=True), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('invoice_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('connection_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
        sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name='fk_qb_exports_invoice_id', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['connection_id'], ['quickbooks_connections.id'], name='fk_qb_exports_connection_id'),
        sa.PrimaryKeyConstraint('id', name='pk_quickbooks_exports'),
    )


def downgrade():
    op.drop_table('quickbooks_exports')
    op.drop_table('quickbooks_connections')
