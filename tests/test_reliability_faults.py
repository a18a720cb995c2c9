"""Faults around a real PostgreSQL server that the test owns: a throwaway instance (initdb in
tmp, its own port, trust auth), started, restarted and stopped by the tests, never the system
server. ``ocop run`` runs as a real subprocess against it.

- the server restarts while a run is inside its consolidation transaction: the run fails, a
  rerun succeeds, and the warehouse equals a clean run's (nothing duplicated);
- two ``ocop run`` at once on the same inbox, data folder and warehouse: each submission is
  loaded once and the counts equal a single run's;
- the reports folder cannot be written (a regular file where the folder should be): the run
  fails loudly and the warehouse is unchanged.

Killing a consolidation mid-load (SIGKILL) is tests/test_warehouse_kill.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

import bad_inputs as bi

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 binaries not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A throwaway PostgreSQL cluster. Runs as the ``postgres`` user when the tests run as root
    (initdb refuses root)."""

    def __init__(self, base: Path):
        self.base, self.data, self.log = base, base / "data", base / "server.log"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_user, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                        "-t", "30", *args], check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        subprocess.run([*self.as_user, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                       check=True, timeout=120, capture_output=True)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                        "-c fsync=off -c full_page_writes=off", "start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")

    def create_db(self) -> str:
        name = f"wh_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def server():
    base = Path(tempfile.mkdtemp(prefix="ocop-pg-"))  # not under pytest's root-only tmp: postgres must reach it
    srv = Server(base)
    try:
        if srv.as_user:
            shutil.chown(base, "postgres")
        srv.init()
        srv.start()
        yield srv
    finally:
        try:
            srv.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    """Four good provinces (about 20 rows)."""
    root = tmp_path_factory.mktemp("fault-inbox")
    files = {**bi.good_files(),
             "08": bi.xlsx_bytes(bi.register_rows("Tuyên Quang", "Hàm Yên", 5)),
             "14": bi.csv_bytes(bi.register_rows("Sơn La", "Mộc Châu", 5))}
    for code, data in files.items():
        (root / code).mkdir()
        (root / code / f"ocop_{code}.{'xlsx' if data[:2] == b'PK' else 'csv'}").write_bytes(data)
    return root


def ocop_run(inbox: Path, url: str, home: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, "-m", "ocop.cli", "run", "--inbox", str(inbox), "--warehouse", url, "--home", str(home),
           *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_in_process(inbox: Path, url: str, home: Path) -> dict:
    """A setup run (what ``ocop run`` does, without the cost of a new interpreter)."""
    from ocop import pipeline
    from ocop.config import Settings

    settings = Settings(home=home, inbox=inbox, landing=home / "landing", reports=home / "reports",
                        runs=home / "runs", publications=home / "publications", warehouse_url=url)
    summary = pipeline.run(settings, settle_seconds=0)
    assert summary["submissions"]
    return summary


def state(url: str) -> dict:
    """What a count or a rerun depends on: submissions, records per submission, products,
    versions, links, and the counts on the snapshot date."""
    from ocop.warehouse import counts_as_of, make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            q = lambda sql: sorted(tuple(r) for r in conn.exec_driver_sql(sql).all())  # noqa: E731
            out = {
                "submissions": q("SELECT province_code, file_name, sha256, outcome, rows_received, rows_rejected "
                                 "FROM submission"),
                "records": q("SELECT s.file_name, r.row_id, r.outcome FROM source_record r "
                             "JOIN submission s USING (submission_id)"),
                "products": q("SELECT count(*) FROM product"),
                "versions": q("SELECT count(*), sum(CASE WHEN is_current THEN 1 ELSE 0 END) FROM product_version"),
                "links": q("SELECT count(*), count(DISTINCT (submission_id, row_id)) FROM record_link"),
            }
        c = counts_as_of(engine, bi.snapshot_date())
        out["counts"] = sorted((r.province_code, r.stars_3, r.stars_4, r.potential_5, r.stars_5)
                               for r in c.by_province_class.itertuples())
        return out
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clean(server, inbox, tmp_path_factory):
    """The warehouse after one clean run of the inbox."""
    url = server.create_db()
    run_in_process(inbox, url, tmp_path_factory.mktemp("clean-home"))
    st = state(url)
    assert len(st["submissions"]) == 4 and sum(1 for r in st["records"]) > 15
    return st


def _waiting_for_write_lock(admin_url: str, db_url: str) -> bool:
    from ocop.warehouse.load import ADVISORY_LOCK_KEY

    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                            "AND objid = %s", (ADVISORY_LOCK_KEY & 0xFFFFFFFF,)).fetchone()[0] > 0


def test_server_restart_mid_consolidation_then_rerun_equals_clean_run(server, inbox, clean, tmp_path):
    from ocop.warehouse import upgrade
    from ocop.warehouse.load import ADVISORY_LOCK_KEY

    url = server.create_db()
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    empty = state(url)
    # Hold the warehouse write lock so the run is caught inside its consolidation transaction.
    blocker = psycopg.connect(url, autocommit=True)
    proc = None
    try:
        blocker.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        proc = ocop_run(inbox, url, tmp_path / "home", wait=False)
        deadline = time.monotonic() + 120
        while not _waiting_for_write_lock(server.admin, url):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached its consolidation"
            time.sleep(0.1)
        server.restart()                      # every connection is cut, the transaction with it
        out, err = proc.communicate(timeout=120)
        assert proc.returncode != 0, out + err
        # the server's fast restart ends the session waiting for the write lock (SQLSTATE 57P01)
        said = " ".join(err.split())  # the CLI's traceback wraps long lines
        assert ("OperationalError: (psycopg.errors.AdminShutdown) terminating connection due to administrator "
                "command [SQL: SELECT pg_advisory_xact_lock(") in said, err[-3000:]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        blocker.close()
    assert state(url) == empty                # nothing of the failed run is in the warehouse

    rerun = ocop_run(inbox, url, tmp_path / "home")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "4 new submission(s)" in rerun.stdout
    assert state(url) == clean


def test_two_runs_at_once_load_each_submission_once(server, inbox, clean, tmp_path):
    from ocop.warehouse import upgrade

    url = server.create_db()
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    procs = [ocop_run(inbox, url, tmp_path / "home", wait=False) for _ in range(2)]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=300))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], outs
    assert state(url) == clean
    # Each submission id exactly once, and every accepted record linked to one product once.
    from ocop.warehouse import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            dup = conn.exec_driver_sql("SELECT province_code, sha256, count(*) FROM submission "
                                       "GROUP BY 1, 2 HAVING count(*) > 1").all()
    finally:
        engine.dispose()
    assert dup == []


_UPGRADE_AT_BARRIER = """
import json, sys, time
from pathlib import Path
from ocop.warehouse import upgrade
url, me, other = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
me.touch()                                   # imported and ready
deadline = time.monotonic() + 120
while not other.exists():                    # the barrier: both ready before either starts
    assert time.monotonic() < deadline, "the other process never got ready"
    time.sleep(0.001)
start = time.time()
upgrade(url)
print(json.dumps({"start": start, "end": time.time()}))
"""


def test_two_first_runs_at_once_on_an_empty_warehouse(server, tmp_path):
    """What two ``ocop run`` (or an ``airflow-init`` and a run) do first on an empty warehouse:
    ``upgrade`` it. Only that step is raced here (a full run each costs far more). Both processes
    wait at a barrier (each one's ready file) after their imports, so the two upgrades provably
    run at the same time: each starts before the other has finished."""
    import sqlalchemy as sa

    from alembic.script import ScriptDirectory

    from ocop.warehouse import make_engine, schema
    from ocop.warehouse.db import _alembic_config

    url = server.create_db().replace("postgresql://", "postgresql+psycopg://")
    head = ScriptDirectory.from_config(_alembic_config(url)).get_current_head()
    ready = [tmp_path / "ready-0", tmp_path / "ready-1"]
    procs = [subprocess.Popen([sys.executable, "-c", _UPGRADE_AT_BARRIER, url, str(ready[i]), str(ready[1 - i])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-1500:] for _, e in outs]
    spans = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert max(s["start"] for s in spans) < min(s["end"] for s in spans), spans  # they overlapped

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            assert set(schema.metadata.tables) <= set(insp.get_table_names())
            assert {"v_official_counts", "v_products_current", "v_submission_status"} <= set(insp.get_view_names())
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [head]
            provinces = dict(conn.exec_driver_sql("SELECT scheme, count(*) FROM ref_province GROUP BY scheme").all())
            assert provinces == {"2008": 63, "2025": 34}  # reference rows once, not twice
            assert conn.exec_driver_sql("SELECT count(*) FROM ref_product_group").scalar() == 6
    finally:
        engine.dispose()


def test_unwritable_reports_folder_fails_loudly_and_leaves_the_warehouse(server, inbox, tmp_path):
    url = server.create_db()
    first = tmp_path / "first"
    shutil.copytree(inbox / "01", first / "01")
    run_in_process(first, url, tmp_path / "home")
    before = state(url)

    reports = tmp_path / "reports"
    reports.write_text("a file where the reports folder should be")
    proc = ocop_run(inbox, url, tmp_path / "home", "--reports", str(reports))
    assert proc.returncode != 0, proc.stdout
    assert "reports" in proc.stderr and ("NotADirectoryError" in proc.stderr or "FileExistsError" in proc.stderr), \
        proc.stderr[-3000:]
    assert state(url) == before
    assert reports.read_text() == "a file where the reports folder should be"
