"""Engine factory and the programmatic Alembic runner.

- ``make_engine(url)``: plain ``postgresql://`` URLs get the psycopg 3 driver; SQLite runs in
  WAL mode with foreign keys on and a busy timeout, and its transactions are opened by us
  (``BEGIN``, or ``BEGIN IMMEDIATE`` on a connection with the ``write_lock`` execution option)
  so a writer takes the database lock up front instead of failing half-way.
- ``upgrade(url, rev="head")`` / ``downgrade(url, rev)``: the migrations ship inside the
  package (``ocop/warehouse/migrations``); no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 60_000


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` -> ``postgresql+psycopg://``; others unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    engine = sa.create_engine(normalise_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_on_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("write_lock", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_postgres(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "postgresql"


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, rev: str = "head") -> None:
    """Bring the warehouse at ``url`` up to ``rev`` (creates it on first use)."""
    command.upgrade(_alembic_config(url), rev)


def downgrade(url: str, rev: str) -> None:
    """Take the warehouse at ``url`` down to ``rev`` (``"base"`` removes everything)."""
    command.downgrade(_alembic_config(url), rev)
