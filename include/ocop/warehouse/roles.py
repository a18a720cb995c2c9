"""The read-only role of the warehouse (PostgreSQL): SELECT on every table and view, nothing else.

Analysts and the Airflow status page connect with it. ``create_readonly_role`` is idempotent:
it creates the role (or updates its password), grants CONNECT on the database, USAGE on the
schema and SELECT on all tables and views, and the same SELECT on tables created later by the
role that runs the migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ocop.warehouse.db import is_postgres


def _literal(conn, value: str) -> str:
    return sa.literal(value).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}).string


def create_readonly_role(engine: Engine, role: str = "ocop_reader", password: str | None = None,
                         schema: str = "public") -> None:
    if not is_postgres(engine):
        raise ValueError("roles exist on PostgreSQL only (the SQLite warehouse is a file)")
    with engine.begin() as conn:
        q = conn.dialect.identifier_preparer.quote
        r, sch = q(role), q(schema)
        login = f"LOGIN PASSWORD {_literal(conn, password)}" if password else "LOGIN"
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        conn.exec_driver_sql(f"{'ALTER' if exists else 'CREATE'} ROLE {r} {login}")
        database = q(conn.scalar(sa.text("SELECT current_database()")))
        for grant in (f"GRANT CONNECT ON DATABASE {database} TO {r}",
                      f"GRANT USAGE ON SCHEMA {sch} TO {r}",
                      f"GRANT SELECT ON ALL TABLES IN SCHEMA {sch} TO {r}",
                      f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT SELECT ON TABLES TO {r}"):
            conn.exec_driver_sql(grant)
