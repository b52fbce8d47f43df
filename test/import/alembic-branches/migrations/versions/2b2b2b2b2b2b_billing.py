"""billing: invoices"""
from alembic import op
import sqlalchemy as sa

revision = '2b2b2b2b2b2b'
down_revision = '1a1a1a1a1a1a'
branch_labels = ('billing',)
depends_on = None


def upgrade():
    op.create_table('invoice', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('account_id', sa.Integer(), sa.ForeignKey('account.id'), nullable=False))


def downgrade():
    op.drop_table('invoice')
