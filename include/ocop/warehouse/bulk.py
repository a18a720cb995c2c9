"""Set-based writes and reads of DataFrames inside the caller's transaction.

PostgreSQL: psycopg 3 ``COPY`` (CSV) on the SQLAlchemy connection's own DBAPI connection, so it
is part of the open transaction; with ``skip_existing`` the rows go to a TEMP staging table first
and then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. SQLite: one ``executemany``.
Values are turned into the text the databases store (ISO dates, UTC timestamps, 0/1 booleans).
"""

from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ocop.warehouse.db import is_postgres

COPY_CHUNK_ROWS = 100_000
_NULL = r"\N"


def _column_text(column: sa.Column, values: pd.Series) -> pd.Series:
    """Values of one column in the form both databases accept as input."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        ts = pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_convert(None)
        return ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
    if isinstance(kind, sa.Date):
        return pd.to_datetime(values, format="ISO8601").dt.strftime("%Y-%m-%d").astype(object)
    if isinstance(kind, sa.Boolean):
        return values.map(lambda v: None if pd.isna(v) else int(bool(v))).astype("Int64")
    if isinstance(kind, sa.Integer):
        return pd.to_numeric(values).astype("Int64")
    return values.astype(object)


def prepare(table: sa.Table, df: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``df`` that ``table`` has, converted to database input form."""
    cols = [c for c in df.columns if c in table.c]
    return pd.DataFrame({c: _column_text(table.c[c], df[c]) for c in cols}, index=df.index)


def insert_frame(conn: Connection, table: sa.Table, df: pd.DataFrame, *, skip_existing: bool = False) -> None:
    """Insert every row of ``df`` into ``table``; ``skip_existing`` ignores key conflicts."""
    if df.empty:
        return
    data = prepare(table, df)
    if is_postgres(conn):
        _pg_copy(conn, table, data, skip_existing)
    else:
        _sqlite_executemany(conn, table, data, skip_existing)


def _quoted(conn: Connection, names) -> str:
    q = conn.dialect.identifier_preparer.quote
    return ", ".join(q(n) for n in names)


def _pg_copy(conn: Connection, table: sa.Table, data: pd.DataFrame, skip_existing: bool) -> None:
    cols = _quoted(conn, data.columns)
    target = f"stg_{table.name}" if skip_existing else table.name
    if skip_existing:
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {target} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
            f"COPY {target} ({cols}) FROM STDIN (FORMAT csv, NULL '{_NULL}')") as copy:
        for start in range(0, len(data), COPY_CHUNK_ROWS):
            buf = io.StringIO()
            data.iloc[start:start + COPY_CHUNK_ROWS].to_csv(buf, header=False, index=False, na_rep=_NULL)
            copy.write(buf.getvalue())
    if skip_existing:
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {target} ON CONFLICT DO NOTHING")
        conn.exec_driver_sql(f"DROP TABLE {target}")


def _sqlite_executemany(conn: Connection, table: sa.Table, data: pd.DataFrame, skip_existing: bool) -> None:
    verb = "INSERT OR IGNORE" if skip_existing else "INSERT"
    marks = ", ".join("?" for _ in data.columns)
    rows = list(data.astype(object).where(data.notna(), None).itertuples(index=False, name=None))
    conn.exec_driver_sql(f"{verb} INTO {table.name} ({_quoted(conn, data.columns)}) VALUES ({marks})", rows)


def read_frame(conn: Connection, select: sa.Select) -> pd.DataFrame:
    """Rows of ``select`` as a DataFrame (column names from the select)."""
    result = conn.execute(select)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
