"""bench/incremental.py builds its large warehouses straight in the database. What it writes
must be what the pipeline would have loaded: the history's months are every province's register
(rows, issues, outcomes) as validation gives them, the derived tables come from ``ocop rebuild``,
and the new Hà Nội file it writes, run through ``ocop run``, parses into exactly the rows the
history would hold for that month and mostly matches products already in the warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import incremental as inc  # noqa: E402

from ocop.warehouse import make_engine, schema as s  # noqa: E402
from ocop.warehouse.bulk import read_frame  # noqa: E402

FACTS = ["row_id", "outcome", "product_name", "owner", "rating_class", "decision_no", "decision_date",
         "expiry_date", "group_code", "status", "issuing_level"]


def ocop(*args: str, home: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "ocop.cli", *args, "--home", str(home)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wh.db'}"
    return request.getfixturevalue("pg_url")


def _scalar(url: str, query) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(query)
    engine.dispose()
    return value


def _normalised(df: pd.DataFrame) -> list[tuple]:
    out = df[FACTS].astype(object)
    out = out.where(out.notna(), None)
    out["decision_date"] = out["decision_date"].map(lambda v: None if v is None else str(v))
    out["expiry_date"] = out["expiry_date"].map(lambda v: None if v is None else str(v))
    out["group_code"] = out["group_code"].map(lambda v: None if v is None else int(v))
    return [tuple(r) for r in out.itertuples(index=False)]


def test_history_then_next_hanoi_file(tmp_path, small_national, warehouse):
    inbox, truth = small_national
    home = tmp_path / "home"
    ocop("run", "--inbox", str(inbox), "--warehouse", warehouse, home=home)
    sr, sub, rl = s.source_record, s.submission, s.record_link
    count = sa.select(sa.func.count())
    before = _scalar(warehouse, count.select_from(sr))

    state = inc.write_history(warehouse, [warehouse], 3)
    months = state["dates"][:3]
    written = sum(len(r) for r in state["regs"].values())  # the last month's registers
    assert _scalar(warehouse, count.select_from(sub).where(sub.c.run_id.like("bench-history-%"))) == 3 * 34
    after = _scalar(warehouse, count.select_from(sr))
    assert 2.7 * written < after - before < 3.3 * written

    ocop("rebuild", "--warehouse", warehouse, home=home)
    kept = (count.select_from(sr.join(sub, sr.c.submission_id == sub.c.submission_id))
            .where(sub.c.outcome == "accepted", sr.c.outcome.in_(["accepted", "warning"])))
    assert _scalar(warehouse, count.select_from(rl)) == _scalar(warehouse, kept)  # every kept record linked
    counts = json.loads(ocop("counts", "--warehouse", warehouse, "--as-of", months[-1].isoformat(),
                             "--format", "json", home=home))
    assert counts["national"]["total"] > 0.5 * written  # most listed products hold a valid certificate

    # The next month of Hà Nội, as a file, through the whole pipeline.
    path, rows = inc.next_file(state, 3, tmp_path / "next")
    assert path.parent.name == "01"
    out = ocop("run", "--inbox", str(tmp_path / "next"), "--warehouse", warehouse, home=home)
    assert "1 new submission(s), 0 rejected whole" in out
    run_id = out.split()[1].rstrip(":")
    engine = make_engine(warehouse)
    with engine.connect() as conn:
        (sid, snapshot), = conn.execute(sa.select(sub.c.submission_id, sa.cast(sub.c.snapshot_date, sa.String))
                                        .where(sub.c.run_id == run_id)).all()
        got = read_frame(conn, sa.select(*[sr.c[c] for c in FACTS]).where(sr.c.submission_id == sid)
                         .order_by(sr.c.row_id))
        new_products = conn.scalar(count.select_from(s.product).where(s.product.c.created_run == run_id))
        linked = conn.scalar(count.select_from(rl).where(rl.c.submission_id == sid))
    engine.dispose()
    assert snapshot == state["dates"][3].isoformat()
    # The file parses into exactly the rows the history builder would have stored for the month.
    assert _normalised(got) == _normalised(rows)
    kept_rows = int(rows["outcome"].isin(["accepted", "warning"]).sum())
    assert linked == kept_rows
    # Continuations: the file mostly matches products already in the warehouse.
    assert new_products <= 0.05 * kept_rows + 2, (new_products, kept_rows)
