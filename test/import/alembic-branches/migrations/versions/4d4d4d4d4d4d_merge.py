"""merge billing and reports"""
revision = '4d4d4d4d4d4d'
down_revision = ('2b2b2b2b2b2b', '3c3c3c3c3c3c')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
