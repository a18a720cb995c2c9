"""The fast load path keeps the warehouse's contents: COPY text round-trips (NULL vs empty
string, quotes, new lines, mixed-type fallback), bundles that could conflict still go through
ON CONFLICT DO NOTHING, and the records the rebuild takes from memory equal a read-back."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from ocop.warehouse import Bundle, consolidate, make_engine, upgrade
from ocop.warehouse import rebuild, schema
from ocop.warehouse.bulk import csv_chunks, insert_frame, prepare, read_frame
from test_warehouse_core import ALL, HN1, MERGES, bundle, merges, row, table


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def test_text_round_trip_and_fallback(engine):
    frame = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "submission_id": "s", "rule": "R", "n": [1, 2, 3, 4]})
    with engine.begin() as conn:
        insert_frame(conn, schema.submission, pd.DataFrame([{
            "submission_id": "s", "province_code": "01", "file_name": "f", "sha256": "x",
            "snapshot_date": "2025-01-01", "received_at": "2025-01-01T00:00:00", "processed_at": "2025-01-01T00:00:00",
            "run_id": "r", "outcome": "accepted", "rows_received": 0, "rows_accepted": 0, "rows_warned": 0,
            "rows_rejected": 0}]))
        texts = ["", None, 'quote " and , comma', "dòng 1\ndòng 2"]
        insert_frame(conn, schema.record_issue, pd.DataFrame({
            "submission_id": "s", "row_id": [0, 1, 2, 3], "rule": "R", "severity": "reject", "message_vi": texts}))
        mixed = frame.assign(rule=["R1", 2, "R3", None])          # a number in a text column
        assert csv_chunks(schema.dq_rule_count, prepare(schema.dq_rule_count, mixed))[0].endswith(r"NULL '\N'")
        insert_frame(conn, schema.dq_rule_count, mixed.dropna())
        got = read_frame(conn, sa.select(schema.record_issue.c.row_id, schema.record_issue.c.message_vi)
                         .order_by(schema.record_issue.c.row_id))
        rules = sorted(conn.scalars(sa.select(schema.dq_rule_count.c.rule)))
    assert got["message_vi"].tolist()[0] == "" and got["message_vi"].isna().tolist() == [False, True, False, False]
    assert got["message_vi"].tolist()[2:] == texts[2:]
    assert rules == ["2", "R1", "R3"]


def test_duplicate_row_ids_still_first_wins(engine):
    """A bundle whose row ids repeat is loaded with ON CONFLICT DO NOTHING (first copy kept)."""
    dup = bundle("01", "2025-03-31", [row("HTX A", "Mật ong", "3", "2024-01-10"),
                                      row("HTX B", "Trà", "4", "2024-01-10")], "2025-04-02T08:00:00+07:00")
    dup.records["row_id"] = [0, 0]
    result = consolidate(engine, [dup, ALL[1]], "run-1")
    assert len(result.loaded) == 2
    records = table(engine, schema.source_record)
    one = records[records["submission_id"] == dup.meta["submission_id"]]
    assert one["product_name"].tolist() == ["Mật ong"]
    assert result.stats.products == 1 + 3
    # two different products and one 79 snapshot: nothing joined
    assert table(engine, schema.dedupe_merge).empty


def test_memory_records_equal_read_back(engine, monkeypatch):
    """The records a consolidation has just inserted are taken from memory: they must equal
    what reading them back gives (values and dtypes), kept and rejected alike."""
    seen = []

    def checked(ids, conn, loaded):
        kept, rejected = original(ids, conn, loaded)
        snaps = rebuild.accepted_snapshots(conn)
        read_kept, read_rejected = original(ids, conn, None)
        for mine, read in ((kept, read_kept), (rejected, read_rejected)):
            pd.testing.assert_frame_equal(rebuild._placed(mine, snaps).sort_values(rebuild.KEY, ignore_index=True),
                                          rebuild._placed(read, snaps).sort_values(rebuild.KEY, ignore_index=True))
        seen.append((len(kept), len(rejected), bool(loaded and loaded.submission_ids & set(ids))))
        return kept, rejected

    original = rebuild._kept_of
    monkeypatch.setattr(rebuild, "_kept_of", checked)
    consolidate(engine, ALL[2:], "late")      # HN2, SG2 (a rejected row), HN_BAD
    consolidate(engine, ALL[:2], "early")     # earlier ones read back + new in memory
    assert seen == [(7, 1, True), (15, 1, True)]
    # loaded late ones first, early ones second: the same records joined, by the same rules
    assert {(name, rule) for name, _, rule in merges(engine)} == {(name, rule) for name, _, rule in MERGES}
    assert len(merges(engine)) == len(MERGES)


def test_taken_submission_id_is_not_copied_again(engine):
    consolidate(engine, [HN1], "run-1")
    before = table(engine, schema.source_record)
    clash = Bundle({**HN1.meta, "sha256": "f" * 64}, HN1.records.assign(owner="khác"), HN1.issues)
    consolidate(engine, [clash, ALL[1]], "run-2")  # same id, other file: rows kept
    after = table(engine, schema.source_record)
    pd.testing.assert_frame_equal(before, after[after["submission_id"] == HN1.meta["submission_id"]]
                                  .reset_index(drop=True))
