"""Alembic environment of the test project: the URL comes from
APM_ALEMBIC_URL when set (the tests point it at a throwaway database)."""
import os

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
url = os.environ.get('APM_ALEMBIC_URL') or config.get_main_option('sqlalchemy.url')
target_metadata = None


def run_migrations_offline():
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    section = config.get_section(config.config_ini_section)
    section['sqlalchemy.url'] = url
    connectable = engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
