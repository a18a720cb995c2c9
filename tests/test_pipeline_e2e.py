"""`ocop run` end to end on the generated national sample, on SQLite and on real PostgreSQL,
checked against the generator's ground truth."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from compare_truth import compare

from ocop.reference.provinces import PROVINCES


def ocop(*args: str, env_home) -> str:
    proc = subprocess.run([sys.executable, "-m", "ocop.cli", *args, "--home", str(env_home)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def counts_from_csv(text: str) -> dict:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["province_code", "province_name", "stars_3", "stars_4", "potential_5", "stars_5", "total", "share_pct"]
    return {r["province_code"]: {"3": int(r["stars_3"]), "4": int(r["stars_4"]), "potential-5": int(r["potential_5"]),
                                 "5": int(r["stars_5"])} for r in rows if r["province_code"] in PROVINCES}


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wh.db'}"
    return request.getfixturevalue("pg_url")


def test_cli_run_counts_and_links_equal_truth(tmp_path, small_national, warehouse):
    inbox, truth = small_national
    home = tmp_path / "home"
    out = ocop("run", "--inbox", str(inbox), "--warehouse", warehouse, env_home=home)
    assert f"{len(truth['files'])} new submission(s)" in out

    for day in truth["snapshot_dates"]:
        got = counts_from_csv(ocop("counts", "--warehouse", warehouse, "--as-of", day, "--format", "csv", env_home=home))
        assert got == truth["counts"][day], day

    # Every injected problem reported with its rule, nothing else; files rejected as expected;
    # deduplication within the targets.
    result = compare(truth, warehouse)
    assert not any(result["counts"].values()), result["counts"]
    assert result["files"] == {}
    assert result["issues"] == {}
    assert result["dedupe"]["precision"] >= 0.995 and result["dedupe"]["recall"] >= 0.99, result["dedupe"]

    accepted_records = sum(len(c) for c in truth["clusters"])
    links = ocop("export", "links", "--warehouse", warehouse, "--format", "csv", env_home=home)
    lines = links.strip().splitlines()
    assert lines[0] == "product_id,province_code,file_name,sheet,row_number"
    assert len(lines) - 1 == accepted_records

    # Idempotent: the same inbox again processes nothing and changes no count.
    out = ocop("run", "--inbox", str(inbox), "--warehouse", warehouse, env_home=home)
    assert "0 new submission(s)" in out
    day = truth["snapshot_dates"][-1]
    assert counts_from_csv(ocop("counts", "--warehouse", warehouse, "--as-of", day, "--format", "csv", env_home=home)) == truth["counts"][day]
    js = json.loads(ocop("counts", "--warehouse", warehouse, "--as-of", day, "--format", "json", env_home=home))
    classes = {"3": "stars_3", "4": "stars_4", "potential-5": "potential_5", "5": "stars_5"}
    assert js["as_of"] == day
    assert {r["province_code"]: {c: r[col] for c, col in classes.items()} for r in js["by_province_class"]} \
        == truth["counts"][day]
    assert js["national"] == {**{col: sum(p[c] for p in truth["counts"][day].values()) for c, col in classes.items()},
                              "total": sum(sum(p.values()) for p in truth["counts"][day].values())}


def test_past_counts_frozen_when_later_snapshots_arrive(tmp_path, small_national, warehouse):
    """The counts as of the first snapshot date, taken when only the files of that date are
    loaded, stay the same once every later file is loaded (outputs.md §3: a later decision
    elsewhere moves a product from that snapshot's date on, never before), and equal the truth."""
    import shutil
    from pathlib import Path

    inbox, truth = small_national
    first_day = truth["snapshot_dates"][0]
    staged = tmp_path / "inbox"
    later = [f for f in truth["files"] if f["snapshot_date"] > first_day]
    assert later and len(later) < len(truth["files"])
    for f in truth["files"]:
        if f["snapshot_date"] <= first_day:
            (staged / Path(f["path"]).parent).mkdir(parents=True, exist_ok=True)
            shutil.copy(inbox / f["path"], staged / f["path"])
    home = tmp_path / "home"
    days = [first_day, "2025-09-30"]

    def counts_now() -> dict:
        return {d: counts_from_csv(ocop("counts", "--warehouse", warehouse, "--as-of", d, "--format", "csv",
                                        env_home=home)) for d in days}

    ocop("run", "--inbox", str(staged), "--warehouse", warehouse, env_home=home)
    before = counts_now()
    assert before[first_day] == truth["counts"][first_day]
    for f in later:
        (staged / Path(f["path"]).parent).mkdir(parents=True, exist_ok=True)
        shutil.copy(inbox / f["path"], staged / f["path"])
    out = ocop("run", "--inbox", str(staged), "--warehouse", warehouse, env_home=home)
    assert f"{len(later)} new submission(s)" in out
    assert counts_now()[first_day] == before[first_day]
    # 2025-09-30 lies between the snapshots: only the first snapshots are in force on it.
    assert counts_now()["2025-09-30"] == before["2025-09-30"]
