"""Alembic environment of the warehouse: the URL comes from ``config.attributes["url"]``
(set by :func:`ocop.warehouse.db.upgrade` / ``downgrade``); online mode only."""

from alembic import context

from ocop.warehouse.db import make_engine

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.attributes["url"])
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
