"""Initial migration for ap_intake database

Revision ID: ca4653c80b38
Revises:
Create Date: 2025-11-07 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'ca4653c80b38'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'base_uuid_mixin',
        sa.Column('id', postgresql.UUID(as_uuid=True), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('entity_type', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_base_uuid_mixin'),
    )
    op.create_table(
        'vendors',
        sa.Column('id', postgresql.UUID(as_uuid=True), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('base_id', postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('tax_id', sa.String(length=32), nullable=True),
        sa.Column('address', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.ForeignKeyConstraint(['base_id'], ['base_uuid_mixin.id'], name='fk_vendors_base_id', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_vendors'),
        sa.UniqueConstraint('tax_id', name='uq_vendors_tax_id'),
    )
    op.create_table(
        'invoices',
        sa.Column('id', postgresql.UUID(as_uuid=True), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('vendor_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('invoice_number', sa.String(length=64), nullable=False),
        sa.Column('total_amount', sa.Numeric(14, 2), nullable=True),
        sa.Column('status', sa.String(length=32), server_default='received', nullable=False),
        sa.Column('metadata', postgresql.JSON(astext_type=sa.Text()), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name='fk_invoices_vendor_id', ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name='pk_invoices'),
        sa.UniqueConstraint('vendor_id', 'invoice_number', name='uq_invoices_vendor_number'),
    )
    op.create_index('ix_invoices_status', 'invoices', ['status'])


def downgrade():
    op.drop_index('ix_invoices_status', table_name='invoices')
    op.drop_table('invoices')
    op.drop_table('vendors')
    op.drop_table('base_uuid_mixin')
