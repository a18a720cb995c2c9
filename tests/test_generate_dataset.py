"""The generated inbox and its ground truth: determinism, coverage, self-consistency, readability."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from ocop.generate import generate
from ocop.reference.provinces import PROVINCES

SCALE = 0.02


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    generate(root, seed=7, scale=SCALE)
    return root


@pytest.fixture(scope="module")
def truth(out) -> dict:
    return json.loads((out / "truth.json").read_text(encoding="utf-8"))


def _sheet_rows(path: Path, fmt: str, sheet: str) -> list[list[object]]:
    if fmt == "csv":
        return []
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def test_same_seed_same_truth_and_bytes(out, truth, tmp_path):
    generate(tmp_path, seed=7, scale=SCALE)
    assert (tmp_path / "truth.json").read_bytes() == (out / "truth.json").read_bytes()
    for f in truth["files"]:
        a, b = out / "inbox" / f["path"], tmp_path / "inbox" / f["path"]
        if f["format"] == "csv":
            assert a.read_bytes() == b.read_bytes()
        else:
            assert _sheet_rows(a, f["format"], f["sheet"]) == _sheet_rows(b, f["format"], f["sheet"])


def test_other_seed_other_data(truth, tmp_path):
    other = json.loads(generate(tmp_path, seed=8, scale=SCALE).read_text(encoding="utf-8"))
    assert other["counts"] != truth["counts"]


def test_every_province_sends_both_snapshots(truth):
    files = [f for f in truth["files"] if f["file_outcome"] == "accepted"]
    assert Counter(f["province_code"] for f in files) == {c: 2 for c in PROVINCES}
    assert {f["snapshot_date"] for f in files} == {"2025-06-30", "2025-12-31"}
    for date, counts in truth["counts"].items():
        assert set(counts) == set(PROVINCES)
    assert all(f["data_rows"] >= 10 for f in files)


def test_one_file_rejected_as_a_whole_between_snapshots(truth):
    rejected = [f for f in truth["files"] if f["file_outcome"] == "rejected"]
    assert len(rejected) == 1
    assert rejected[0]["file_rule"] == "F_TOO_MANY_REJECTED"
    assert "2025-06-30" < rejected[0]["snapshot_date"] < "2025-12-31"
    assert not [i for i in truth["issues"] if i["file"] == rejected[0]["path"]]


def test_variations_present(truth):
    formats = Counter(f["format"] for f in truth["files"])
    assert formats["xlsx"] and formats["xlsm"] and formats["csv"] >= 6
    rules = {i["rule"] for i in truth["issues"]}
    assert rules >= {
        "R_REQUIRED_MISSING", "R_RATING_INVALID", "R_GROUP_UNKNOWN", "R_DATE_INVALID",
        "R_DATE_BEFORE_PROGRAM", "R_DATE_AFTER_SNAPSHOT", "R_PROVINCE_MISMATCH",
        "R_FIVE_STAR_NOT_CENTRAL", "R_DUPLICATE_CONFLICT", "W_DUPLICATE_IDENTICAL",
        "W_DECISION_NO_FORMAT", "W_EXPIRED", "W_OWNER_TYPE_INFERRED", "W_LEGACY_CONVERTED",
    }


def test_truth_consistent(truth):
    accepted = {f["path"]: f for f in truth["files"] if f["file_outcome"] == "accepted"}
    rows = {(p, r) for p, f in accepted.items()
            for r in range(f["first_data_row"], f["first_data_row"] + f["data_rows"])}
    rejected = {(i["file"], i["excel_row"]) for i in truth["issues"] if i["rule"].startswith("R_")}
    assert rejected <= rows
    refs = [ref for cluster in truth["clusters"] for ref in cluster]
    assert len(refs) == len(set(refs))  # every record in exactly one product
    loaded = {(ref.rsplit("#", 1)[0], int(ref.rsplit("#", 1)[1])) for ref in refs}
    assert loaded == rows - rejected
    # a product never spans two files of one snapshot of one province; within a file it is listed
    # at most twice (an identical duplicate row)
    snapshot_of = {f["path"]: (f["province_code"], f["snapshot_date"]) for f in truth["files"]}
    for cluster in truth["clusters"]:
        rows_per_file = Counter(ref.rsplit("#", 1)[0] for ref in cluster)
        files_per_snapshot = Counter(snapshot_of[f] for f in rows_per_file)
        assert max(files_per_snapshot.values()) == 1 and max(rows_per_file.values()) <= 2, cluster
    duplicate_conflicts = Counter(i["file"] for i in truth["issues"] if i["rule"] == "R_DUPLICATE_CONFLICT")
    assert all(n % 2 == 0 for n in duplicate_conflicts.values())
    for date, counts in truth["counts"].items():
        total = sum(sum(c.values()) for c in counts.values())
        assert 0 < total <= len(truth["clusters"])


def test_count_proportions(truth):
    s2 = truth["counts"]["2025-12-31"]
    total = Counter()
    for c in s2.values():
        total.update(c)
    n = sum(total.values())
    assert 0.55 < total["3"] / n < 0.85 and 0.15 < total["4"] / n < 0.4


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1258")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_files_open_and_hold_their_rows(out, truth):
    for f in truth["files"]:
        path = out / "inbox" / f["path"]
        first, n = f["first_data_row"], f["data_rows"]
        if f["format"] == "csv":
            grid = _csv_rows(path)
        else:
            grid = _sheet_rows(path, f["format"], f["sheet"])
            values = [list(r) for r in load_workbook(path)[f["sheet"]].iter_rows(values_only=True)]
            assert len(values) == len(grid)
        data = grid[first - 1:first - 1 + n]
        assert len(data) == n and all(sum(v not in ("", None) for v in r) >= 3 for r in data)
        after = grid[first - 1 + n] if len(grid) > first - 1 + n else []
        assert sum(v not in ("", None) for v in after) <= 2  # total row, blank or end of sheet


def test_cp1258_csv_is_windows_1258(out, truth):
    csvs = [out / "inbox" / f["path"] for f in truth["files"] if f["format"] == "csv"]
    encodings = Counter()
    for path in csvs:
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            encodings["utf-8-sig"] += 1
            continue
        try:
            raw.decode("utf-8")
            encodings["utf-8"] += 1
        except UnicodeDecodeError:
            text = unicodedata.normalize("NFC", raw.decode("cp1258"))
            assert re.search("[\u1ea0-\u1ef9]", text)  # Vietnamese letters, composed again
            encodings["cp1258"] += 1
    assert set(encodings) == {"utf-8", "utf-8-sig", "cp1258"}
