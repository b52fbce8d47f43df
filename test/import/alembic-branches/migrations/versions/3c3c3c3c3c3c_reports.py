"""reports over invoices"""
from alembic import op
import sqlalchemy as sa

revision = '3c3c3c3c3c3c'
down_revision = '1a1a1a1a1a1a'
branch_labels = ('reports',)
depends_on = ('billing',)


def upgrade():
    op.execute('CREATE VIEW invoice_count AS SELECT account_id, count(*) AS n FROM invoice GROUP BY account_id')


def downgrade():
    op.execute('DROP VIEW invoice_count')
