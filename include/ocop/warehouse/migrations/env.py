"""Alembic environment of the warehouse: the URL comes from ``config.attributes["url"]``
(set by :func:`ocop.warehouse.db.upgrade` / ``downgrade``); online mode only."""

import sqlalchemy as sa
from alembic import context

from ocop.warehouse.db import make_engine

config = context.config


MIGRATION_LOCK_KEY = 0x0C0B_0001  # distinct from the load lock


def run_migrations_online() -> None:
    engine = make_engine(config.attributes["url"])
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Two first runs (or airflow-init and a run) may migrate at once: one waits.
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
