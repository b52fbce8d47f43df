"""audit on a second base"""
from alembic import op
import sqlalchemy as sa

revision = '5e5e5e5e5e5e'
down_revision = None
branch_labels = ('audit',)
depends_on = None


def upgrade():
    op.create_table('audit', sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()')))


def downgrade():
    op.drop_table('audit')
