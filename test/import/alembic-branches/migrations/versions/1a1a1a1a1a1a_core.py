"""core tables"""
from alembic import op
import sqlalchemy as sa

revision = '1a1a1a1a1a1a'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('name', sa.Text(), nullable=False))


def downgrade():
    op.drop_table('account')
