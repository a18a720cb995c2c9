"""Set-based writes and reads of DataFrames inside the caller's transaction.

PostgreSQL: psycopg 3 ``COPY ... FROM STDIN (FORMAT csv)`` on the SQLAlchemy connection's own
DBAPI connection, so it is part of the open transaction. Rows go straight into the target table;
only ``skip_existing`` (used when a conflict is possible) goes through a TEMP staging table and
``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. SQLite: one ``executemany``.

Values are turned into the text the databases store (ISO dates, UTC timestamps, 0/1 booleans) by
:func:`prepare`; dates and timestamps are converted once per distinct value. The CSV is written
by pyarrow (C++; strings always quoted, NULL an unquoted empty field, so ``''`` and NULL stay
distinct) in chunks of ``COPY_CHUNK_ROWS``; a frame pyarrow cannot type (say, numbers mixed into
a text column) falls back to pandas ``to_csv`` with ``NULL '\\N'``.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ocop.warehouse.db import is_postgres

COPY_CHUNK_ROWS = 100_000
_NULL = r"\N"
_ARROW_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _per_distinct(values: pd.Series, convert) -> pd.Series:
    """``convert`` applied to the distinct non-null values only, then spread back: the same
    result as converting every element (registers repeat a few thousand dates over many rows)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    converted = convert(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    out = converted.take(codes) if len(converted) else np.empty(len(codes), dtype=object)
    out[codes < 0] = np.nan
    return pd.Series(out, index=values.index, dtype=object)


def _timestamps(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_convert(None)
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601").dt.strftime("%Y-%m-%d")


def _booleans(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.astype("int64").astype("Int64")
    return values.map(lambda v: None if pd.isna(v) else int(bool(v))).astype("Int64")


def _column_text(column: sa.Column, values: pd.Series) -> pd.Series:
    """Values of one column in the form both databases accept as input."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return _per_distinct(values, _timestamps)
    if isinstance(kind, sa.Date):
        return _per_distinct(values, _dates)
    if isinstance(kind, sa.Boolean):
        return _booleans(values)
    if isinstance(kind, sa.Integer):
        return pd.to_numeric(values).astype("Int64")
    if isinstance(values.dtype, pd.StringDtype):
        return values      # already text (pandas' string dtype, often Arrow-backed): no copy
    return values.astype(object)


def prepare(table: sa.Table, df: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``df`` that ``table`` has, converted to database input form."""
    cols = [c for c in df.columns if c in table.c]
    return pd.DataFrame({c: _column_text(table.c[c], df[c]) for c in cols}, index=df.index)


def insert_frame(conn: Connection, table: sa.Table, df: pd.DataFrame, *, skip_existing: bool = False,
                 prepared: bool = False) -> None:
    """Insert every row of ``df`` into ``table``; ``skip_existing`` ignores key conflicts.
    ``prepared``: ``df`` is already :func:`prepare`'s output."""
    if df.empty:
        return
    data = df if prepared else prepare(table, df)
    if is_postgres(conn):
        _pg_copy(conn, table, data, skip_existing)
    else:
        _sqlite_executemany(conn, table, data, skip_existing)


def _quoted(conn: Connection, names) -> str:
    q = conn.dialect.identifier_preparer.quote
    return ", ".join(q(n) for n in names)


def _arrow_type(column: sa.Column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, (sa.Integer, sa.Boolean)):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    return pa.string()      # text, and dates / timestamps already rendered by prepare


def csv_chunks(table: sa.Table, data: pd.DataFrame):
    """``(COPY options, iterator of CSV chunks)`` for prepared ``data``: pyarrow when every
    column converts to its column's type (one conversion, written slice by slice), else pandas."""
    schema = pa.schema([(c, _arrow_type(table.c[c])) for c in data.columns])
    try:
        arrow = pa.Table.from_pandas(data, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return f"FORMAT csv, NULL '{_NULL}'", _pandas_chunks(data)
    return "FORMAT csv", _arrow_chunks(arrow)


def _arrow_chunks(table: pa.Table):
    for start in range(0, table.num_rows, COPY_CHUNK_ROWS):
        buf = io.BytesIO()
        pa_csv.write_csv(table.slice(start, COPY_CHUNK_ROWS), buf, _ARROW_CSV)
        yield buf.getbuffer()


def _pandas_chunks(data: pd.DataFrame):
    for start in range(0, len(data), COPY_CHUNK_ROWS):
        buf = io.StringIO()
        data.iloc[start:start + COPY_CHUNK_ROWS].to_csv(buf, header=False, index=False, na_rep=_NULL)
        yield buf.getvalue()


def copy_rows(raw, table: sa.Table, target: str, cols: str, data: pd.DataFrame) -> None:
    """COPY prepared ``data`` (columns of ``table``) into ``target`` (quoted column list
    ``cols``) on the psycopg connection ``raw``, inside whatever transaction it has open."""
    options, chunks = csv_chunks(table, data)
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN ({options})") as copy:
        for chunk in chunks:
            copy.write(chunk)


def _pg_copy(conn: Connection, table: sa.Table, data: pd.DataFrame, skip_existing: bool) -> None:
    cols = _quoted(conn, data.columns)
    target = f"stg_{table.name}" if skip_existing else table.name
    if skip_existing:
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {target} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
    copy_rows(conn.connection.driver_connection, table, target, cols, data)
    if skip_existing:
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {target} ON CONFLICT DO NOTHING")
        conn.exec_driver_sql(f"DROP TABLE {target}")


def _python_values(values: pd.Series) -> list:
    """A column as a list of Python objects, None where missing (what sqlite3 binds)."""
    return values.to_numpy(dtype=object, na_value=None).tolist()


def sqlite_rows(data: pd.DataFrame) -> list[tuple]:
    """Prepared ``data`` as row tuples for ``executemany`` (converted column by column)."""
    return list(zip(*(_python_values(data[c]) for c in data.columns)))


def _sqlite_executemany(conn: Connection, table: sa.Table, data: pd.DataFrame, skip_existing: bool) -> None:
    rows = sqlite_rows(data)
    verb = "INSERT OR IGNORE" if skip_existing else "INSERT"
    marks = ", ".join("?" for _ in data.columns)
    conn.exec_driver_sql(f"{verb} INTO {table.name} ({_quoted(conn, data.columns)}) VALUES ({marks})", rows)


def read_frame(conn: Connection, select: sa.Select) -> pd.DataFrame:
    """Rows of ``select`` as a DataFrame (column names from the select)."""
    result = conn.execute(select)
    columns = list(result.keys())
    return pd.DataFrame([tuple(r) for r in result], columns=columns)
