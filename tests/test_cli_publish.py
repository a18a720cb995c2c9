"""`ocop publish --period`: freezes a period's counts once, writes the Ministry's files, and
refuses to publish the same period again unless superseded with a reason."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys

from ingest_files import write_xlsx


def ocop(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ocop.cli", *args], capture_output=True, text=True, timeout=300)
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    return proc


def test_publish_once_then_refused_then_superseded(tmp_path):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    (inbox / "08").mkdir(parents=True)
    write_xlsx(inbox / "08" / "ds.xlsx")
    ocop("run", "--inbox", str(inbox), "--home", str(home))

    out = ocop("publish", "--period", "2025-Q3", "--home", str(home), "--who", "lan.nguyen").stdout
    folder = home / "publications" / "2025-Q3"
    assert "published 2025-Q3" in out and "approved by lan.nguyen (ocop publish)" in out
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT approved_by FROM publication")) == "lan.nguyen (ocop publish)"
    engine.dispose()
    assert {"counts.xlsx", "counts.csv", "chart.png"} <= {p.name for p in folder.iterdir()}
    rows = {r["province_code"]: r for r in csv.DictReader((folder / "counts.csv").open(encoding="utf-8"))}
    assert rows["08"]["total"] == "3" and rows["08"]["potential_5"] == "1"

    refused = ocop("publish", "--period", "2025-Q3", "--home", str(home), ok=False)
    assert "not published" in refused.stderr and "--supersede-reason" in refused.stderr
    (folder / "counts.csv").unlink()
    again = ocop("publish", "--period", "2025-Q3", "--supersede-reason", "late file from province 08",
                 "--home", str(home)).stdout
    assert "published 2025-Q3" in again
    rows = {r["province_code"]: r for r in csv.DictReader((folder / "counts.csv").open(encoding="utf-8"))}
    assert rows["08"]["total"] == "3"                   # the files written again
    with sqlite3.connect(home / "warehouse.db") as db:  # the first publication kept, marked and linked
        pubs = db.execute("SELECT publication_id, period, status, superseded_reason, superseded_by "
                          "FROM publication ORDER BY publication_id").fetchall()
    assert pubs == [(1, "2025-Q3", "superseded", "late file from province 08", 2),
                    (2, "2025-Q3", "published", None, None)]
