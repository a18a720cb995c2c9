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
