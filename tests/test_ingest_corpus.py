"""The ingest corpus: each file provinces really send parses to exactly the expected records.

Files are written at test time by ``tests/data/corpus`` (xlsx, xlsm, real BIFF8 xls, real ODS, CSV in
UTF-8 / UTF-8 BOM / Windows-1258 with comma or semicolon); see ``corpus/cases.py`` for the
variations and their expected records.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from corpus.build import EXPECTED_FIELDS
from corpus.cases import CASES
from corpus.writers import write_book
from ocop.ingest.parse import parse_file

ARRIVED = dt.datetime(2025, 7, 5, 8, 30, tzinfo=dt.timezone.utc)


def _plain(value):
    """Frame values as plain Python for comparison (NA -> None, numpy ints -> int)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _param(case):
    marks = [pytest.mark.xfail(reason=case.known_gap, strict=True)] if case.known_gap else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_corpus_file_parses_to_expected_records(case, tmp_path):
    path = write_book(case.book, tmp_path / case.file_name, case.fmt)
    parsed = parse_file(path, province_code=case.province_code, file_name=case.file_name, sha256="0" * 64,
                        submission_id=f"{case.province_code}-corpus", arrived_at=ARRIVED)
    frame = parsed.records
    got = [{f: _plain(v) for f, v in zip(EXPECTED_FIELDS, row)}
           for row in frame[list(EXPECTED_FIELDS)].itertuples(index=False)]
    assert got == case.records
    assert (parsed.snapshot_date, parsed.snapshot_date_source) == case.snapshot
    assert parsed.header_rows == case.header_rows
    assert parsed.sheet == case.sheet and set(frame["sheet"]) == {case.sheet}
    assert list(frame["row_id"]) == list(range(len(case.records)))
    for column, expected in case.extra.items():
        assert [_plain(v) for v in frame[column]] == expected, column
    for row_id, cells in case.raw_json.items():
        raw = json.loads(frame["raw_json"].iloc[row_id])
        assert {k: raw.get(k) for k in cells} == cells
    if case.unknown_columns is not None:
        assert parsed.unknown_columns == case.unknown_columns


def test_corpus_covers_every_format():
    formats = {c.fmt for c in CASES}
    assert {"xlsx", "xlsm", "xls", "ods", "csv:utf-8", "csv:utf-8-sig", "csv:cp1258", "csv:utf-8:;:lf"} <= formats
