"""Killing a consolidation mid-load (SIGKILL of a real process) leaves the PostgreSQL warehouse
exactly as it was, and a rerun gives the same warehouse as a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from ocop.warehouse import make_engine, schema

BENCH = Path(__file__).resolve().parents[1] / "bench" / "warehouse_load.py"
SMALL, LARGE = 2_000, 25_000
# Wall-clock stamps, and surrogate keys drawn from sequences (a rolled-back transaction still
# consumes sequence values, so the killed run shifts later issue ids).
VOLATILE = {"processed_at", "created_at", "started_at", "finished_at", "issue_id", "merge_id"}

pytestmark = pytest.mark.postgres


def run_load(url: str, records: int, seed: int, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(BENCH), "load", "--url", url, "--records", str(records),
                             "--seed", str(seed)], text=True, **popen)


def state(url: str) -> dict[str, pd.DataFrame]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for t in schema.metadata.sorted_tables:
                cols = [c for c in t.c if c.name not in VOLATILE]
                df = pd.DataFrame(conn.execute(sa.select(*cols)).all(), columns=[c.name for c in cols])
                out[t.name] = df.sort_values(list(df.columns), ignore_index=True) if len(df) else df
            return out
    finally:
        engine.dispose()


def assert_same(a: dict, b: dict) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def advisory_lock_held(url: str) -> bool:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").fetchone()[0] > 0


def writing(url: str, table: str) -> bool:
    """Whether another session's open transaction has written to ``table`` (it holds the
    RowExclusiveLock a COPY or INSERT takes, until it commits or rolls back)."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid()",
            (table,)).fetchone()[0] > 0


@pytest.fixture
def clean_url(pg_url):
    """A second empty database for the clean run."""
    server = pg_url.replace("+psycopg", "").rsplit("/", 1)[0]
    name = f"ocop_clean_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sigkill_mid_load_keeps_previous_state(pg_url, clean_url):
    assert run_load(pg_url, SMALL, seed=0).wait(timeout=120) == 0
    before = state(pg_url)

    proc = run_load(pg_url, LARGE, seed=1, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "consolidating"
    # Kill once the load's transaction has written source records: rows are in the tables but
    # not committed (the products are rebuilt after, in the same transaction, for seconds).
    deadline = time.monotonic() + 60
    while not (advisory_lock_held(pg_url) and writing(pg_url, "source_record")):
        assert proc.poll() is None, "the load finished before it was seen writing"
        assert time.monotonic() < deadline, "the load never started writing"
        time.sleep(0.02)
    assert proc.poll() is None, "the load finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    proc.stdout.close()
    deadline = time.monotonic() + 30
    while advisory_lock_held(pg_url):           # the server notices the dead client and rolls back
        assert time.monotonic() < deadline
        time.sleep(0.1)

    assert_same(before, state(pg_url))

    assert run_load(pg_url, LARGE, seed=1).wait(timeout=300) == 0
    assert run_load(clean_url, SMALL, seed=0).wait(timeout=120) == 0
    assert run_load(clean_url, LARGE, seed=1).wait(timeout=300) == 0
    assert_same(state(clean_url), state(pg_url))
