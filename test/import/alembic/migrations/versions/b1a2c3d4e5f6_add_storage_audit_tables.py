"""Add storage audit and deduplication tables

Revision ID: b1a2c3d4e5f6
Revises: ca4653c80b38
Create Date: 2025-11-07 12:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'b1a2c3d4e5f6'
down_revision = 'ca4653c80b38'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'storage_audit_log',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column('storage_key', sa.Text(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_storage_audit_log'),
    )
    op.create_table(
        'file_deduplication',
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.Text(), nullable=False),
        sa.Column('ref_count', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.PrimaryKeyConstraint('content_hash', name='pk_file_deduplication'),
    )
    op.create_index('ix_storage_audit_log_storage_key', 'storage_audit_log', ['storage_key'])


def downgrade():
    op.drop_index('ix_storage_audit_log_storage_key', table_name='storage_audit_log')
    op.drop_table('file_deduplication')
    op.drop_table('storage_audit_log')
