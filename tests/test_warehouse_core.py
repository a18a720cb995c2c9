"""Warehouse on SQLite and PostgreSQL: migrations, consolidation, SCD2 history, counts, exports.

The scenario: Hà Nội (01) and TP. Hồ Chí Minh (79) each send two snapshots.

01 S1 2025-03-31: A 3★, B 4★, C 3★ (expires 2025-06-15), E 3★, H 3★ (also in 79 from 2025-04-30)
01 S2 2025-06-30: A re-rated 4★, C (status expired), D new 3★, E revoked; B is absent
79 S1 2025-04-30: F 5★, G 3★, H 3★ (decision 2024-09-09: the most recent, so H is counted in 79
                  from 2025-04-30 on, and in 01 before: 79's snapshot did not exist yet)
79 S2 2025-07-31: F, H; G's row is rejected (rating unreadable) so G stays as it was
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from ocop.warehouse import (Bundle, consolidate, counts_as_of, counts_csv, counts_json, downgrade,
                            export_links, format_counts_table, make_engine, upgrade)
from ocop.warehouse import schema

KEY = ["submission_id", "row_id"]


# ------------------------------------------------------------------------------ builders

def row(owner, name, rating, decision, *, status="valid", expiry=None, outcome="accepted", group=1):
    exp = expiry or (pd.Timestamp(decision) + pd.DateOffset(months=36)).date().isoformat()
    return {"owner": owner, "product_name": name, "rating_class": rating, "decision_date": decision,
            "decision_no": f"{decision[-2:]}/QĐ-UBND", "expiry_date": exp, "status": status,
            "group_code": group, "owner_type": "HTX" if owner.startswith("HTX") else "DN",
            "issuing_level": "central" if rating == "5" else "provincial", "outcome": outcome}


def bundle(province, snapshot, rows, received, *, file_outcome="accepted"):
    records = pd.DataFrame(rows)
    if not records.empty:
        records.insert(0, "row_id", range(len(records)))
        records["sheet"] = "Sheet1"
        records["excel_row"] = records["row_id"] + 4
        records["raw_json"] = [json.dumps({"Tên sản phẩm": r["product_name"]}, ensure_ascii=False)
                               for r in rows]
    sha = hashlib.sha256(f"{province}{snapshot}{rows}{file_outcome}".encode()).hexdigest()
    rejected = [r for r in rows if r["outcome"] == "rejected"]
    issues = pd.DataFrame([{"row_id": i, "excel_row": i + 4, "sheet": "Sheet1", "rule": "R_RATING_INVALID",
                            "field": "rating", "column_letter": "E", "severity": "reject",
                            "message_vi": "Hạng sao không hợp lệ"}
                           for i, r in enumerate(rows) if r["outcome"] == "rejected"])
    meta = {"submission_id": f"{province}-{snapshot}-{sha[:6]}", "province_code": province,
            "file_name": f"ocop_{snapshot}.xlsx", "sha256": sha, "landed_path": f"/landing/{sha}",
            "snapshot_date": snapshot, "snapshot_date_source": "title", "received_at": received,
            "sheet": "Sheet1", "file_outcome": file_outcome,
            "file_rule": None if file_outcome == "accepted" else "F_NO_HEADER",
            "file_message": None, "rows_received": len(rows),
            "rows_accepted": len(rows) - len(rejected), "rows_warned": 0, "rows_rejected": len(rejected),
            "legacy_encoding": None, "columns": {"product_name": "B"}}
    return Bundle(meta, records, issues)


A = ("HTX Minh Phát", "Mật ong hoa nhãn")
B = ("Công ty TNHH Trà Việt", "Trà xanh")
C = ("HTX Gạo Sạch", "Gạo ST25")
D = ("HTX Nấm Linh", "Nấm linh chi")
E = ("HTX Miến Dong", "Miến dong")
F = ("Công ty CP Cà phê Sài Gòn", "Cà phê rang xay")
G = ("HTX Bánh Pía", "Bánh pía sầu riêng")
H = ("HTX Sen Vàng", "Trà sen")

HN1 = bundle("01", "2025-03-31", [row(*A, "3", "2024-01-10"), row(*B, "4", "2023-05-01"),
                                  row(*C, "3", "2022-06-15"), row(*E, "3", "2024-04-04"),
                                  row(*H, "3", "2024-03-01")], "2025-04-02T08:00:00+07:00")
HN2 = bundle("01", "2025-06-30", [row(*A, "4", "2025-05-20"), row(*C, "3", "2022-06-15", status="expired"),
                                  row(*D, "3", "2025-06-01"), row(*E, "3", "2024-04-04", status="revoked"),
                                  row(*H, "3", "2024-03-01")], "2025-07-01T09:00:00+07:00")
SG1 = bundle("79", "2025-04-30", [row(*F, "5", "2024-08-01"), row(*G, "3", "2024-02-02"),
                                  row(*H, "3", "2024-09-09")], "2025-05-02T10:00:00+07:00")
SG2 = bundle("79", "2025-07-31", [row(*F, "5", "2024-08-01"), row(*G, None, "2024-02-02", outcome="rejected"),
                                  row(*H, "3", "2024-09-09")], "2025-08-01T10:00:00+07:00")
HN_BAD = bundle("01", "2025-09-30", [], "2025-10-01T10:00:00+07:00", file_outcome="rejected")
ALL = [HN1, SG1, HN2, SG2, HN_BAD]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    upgrade(url)
    return url


@pytest.fixture
def engine(url):
    eng = make_engine(url)
    yield eng
    eng.dispose()


def load(engine, bundles, run_id="run-1"):
    """Consolidate with the warehouse's own matcher (ocop.dedupe.assign_products)."""
    return consolidate(engine, bundles, run_id)


def table(engine, t: sa.Table, drop=()) -> pd.DataFrame:
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(sa.select(t)).mappings().all(), columns=list(t.c.keys()))
    df = df.drop(columns=list(drop))
    return df.sort_values(list(df.columns), ignore_index=True) if not df.empty else df


def history(engine) -> pd.DataFrame:
    """product_version keyed by owner/product name (ids depend on arrival order)."""
    return table(engine, schema.product_version, drop=["product_id"]).sort_values(
        ["owner", "product_name", "version_no"], ignore_index=True)


def cells(df: pd.DataFrame) -> list[list]:
    """Rows as lists of text, NULL as None (dates read back as date objects or text)."""
    return [[None if pd.isna(v) else str(v) for v in r] for r in df.itertuples(index=False)]


def province_line(counts, code):
    return counts.by_province_class.set_index("province_code").loc[code]


# ------------------------------------------------------------------------------------ tests

def test_migrations_up_down_up(url):
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            insp = sa.inspect(conn)
            assert set(schema.metadata.tables) <= set(insp.get_table_names())
            assert {"v_official_counts", "v_products_current", "v_submission_status"} <= set(insp.get_view_names())
            n = dict(conn.execute(sa.text("SELECT scheme, COUNT(*) FROM ref_province GROUP BY scheme")).all())
            assert n == {"2008": 63, "2025": 34}
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM ref_product_group")) == 6
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM v_official_counts")) == 34
        downgrade(url, "base")
        with eng.connect() as conn:
            insp = sa.inspect(conn)
            assert set(insp.get_table_names()) == {"alembic_version"} and not insp.get_view_names()
        upgrade(url)
        with eng.connect() as conn:
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM v_submission_status")) == 34
    finally:
        eng.dispose()


EXPECTED = {  # as_of: {province: (stars_3, stars_4, potential_5, stars_5, total)}
    "2025-03-30": {"01": (0, 0, 0, 0, 0), "79": (0, 0, 0, 0, 0)},
    "2025-03-31": {"01": (4, 1, 0, 0, 5), "79": (0, 0, 0, 0, 0)},   # H in 01 until 79 lists it
    "2025-05-15": {"01": (3, 1, 0, 0, 4), "79": (2, 0, 0, 1, 3)},
    "2025-06-15": {"01": (2, 1, 0, 0, 3), "79": (2, 0, 0, 1, 3)},   # C expired on 2025-06-15
    "2025-06-29": {"01": (2, 1, 0, 0, 3), "79": (2, 0, 0, 1, 3)},
    "2025-06-30": {"01": (1, 1, 0, 0, 2), "79": (2, 0, 0, 1, 3)},   # B absent, E revoked, A 4★, D new
    "2025-08-15": {"01": (1, 1, 0, 0, 2), "79": (2, 0, 0, 1, 3)},   # G kept by its rejected row
    "2027-03-01": {"01": (1, 1, 0, 0, 2), "79": (1, 0, 0, 1, 2)},   # G (2024-02-02 + 36 m) expired
}


def assert_expected(engine):
    for day, provinces in EXPECTED.items():
        counts = counts_as_of(engine, date.fromisoformat(day))
        for code, expected in provinces.items():
            got = province_line(counts, code)
            assert tuple(int(got[c]) for c in ["stars_3", "stars_4", "potential_5", "stars_5", "total"]) == expected, (day, code)
        assert counts.national["total"] == sum(v[4] for v in provinces.values())
        assert len(counts.by_province_class) == 34


def test_consolidate_history_and_counts(engine):
    result = load(engine, ALL)
    assert len(result.loaded) == 5 and result.skipped == []
    assert result.stats.products == 8 and result.stats.conflicts == 1
    assert_expected(engine)
    hist = history(engine).set_index(["owner", "product_name", "version_no"])
    # B ends on the date of the snapshot it is absent from; G's version stays open.
    assert str(hist.loc[(*B, 1), "valid_to"]) == "2025-06-30"
    assert pd.isna(hist.loc[(*G, 1), "valid_to"]) and bool(hist.loc[(*G, 1), "is_current"])
    assert list(hist.loc[A]["rating_class"]) == ["3", "4"]
    # H is one product: in 01 from 01's first snapshot, in 79 (most recent decision) from the
    # day 79 lists it; the conflict is that period, with its choice.
    h = hist.loc[H]
    assert cells(h[["province_code", "valid_from", "valid_to"]]) == [
        ["01", "2025-03-31", "2025-04-30"], ["79", "2025-04-30", None]]
    conflicts = table(engine, schema.province_conflict)
    assert cells(conflicts[["valid_from", "valid_to", "provinces", "chosen_province", "decision_dates"]]) == [
        ["2025-04-30", None, "01,79", "79", "01:2024-03-01,79:2024-09-09"]]


LABELS = {"01-2025-03-31": "01 S1", "01-2025-06-30": "01 S2", "79-2025-04-30": "79 S1", "79-2025-07-31": "79 S2"}


def merges(engine) -> set[tuple[str, frozenset, str]]:
    """dedupe_merge as (product name, {the two records as "<file> #<row>"}, rule)."""
    m = table(engine, schema.dedupe_merge)
    names = table(engine, schema.source_record).set_index(["submission_id", "row_id"])["product_name"]

    def label(sid, rid):
        return f"{LABELS[sid.rsplit('-', 1)[0]]} #{rid}"

    out = set()
    for r in m.itertuples():
        name_a, name_b = names[(r.a_submission_id, r.a_row_id)], names[(r.b_submission_id, r.b_row_id)]
        assert name_a == name_b, (r, name_a, name_b)
        out.add((name_a, frozenset({label(r.a_submission_id, r.a_row_id), label(r.b_submission_id, r.b_row_id)}),
                 r.rule))
    return out


# By hand, from the scenario: each product found in two snapshots is one merge per pair of
# consecutive records; H (in both provinces) also joins across provinces. B and D appear once,
# G's second record is rejected: no merge for them.
MERGES = {
    (A[1], frozenset({"01 S1 #0", "01 S2 #0"}), "exact_key"),
    (C[1], frozenset({"01 S1 #2", "01 S2 #1"}), "exact_key"),
    (E[1], frozenset({"01 S1 #3", "01 S2 #3"}), "exact_key"),
    (H[1], frozenset({"01 S1 #4", "01 S2 #4"}), "exact_key"),
    (F[1], frozenset({"79 S1 #0", "79 S2 #0"}), "exact_key"),
    (H[1], frozenset({"79 S1 #2", "79 S2 #2"}), "exact_key"),
    (H[1], frozenset({"01 S1 #4", "79 S1 #2"}), "cross_province"),
}


def test_dedupe_merge_records_which_records_joined_and_by_which_rule(engine):
    load(engine, ALL)
    assert merges(engine) == MERGES
    m = table(engine, schema.dedupe_merge)
    assert set(m["run_id"]) == {"run-1"} and set(m["score"]) == {1.0}
    # every merge joins records of the one product both are linked to
    links = table(engine, schema.record_link).set_index(["submission_id", "row_id"])["product_id"]
    for r in m.itertuples():
        assert links[(r.a_submission_id, r.a_row_id)] == links[(r.b_submission_id, r.b_row_id)] == r.product_id


def test_idempotent_reload_changes_nothing(engine):
    load(engine, ALL)
    before = {t.name: table(engine, t) for t in schema.metadata.sorted_tables}
    again = load(engine, ALL, run_id="run-2")
    assert again.loaded == [] and sorted(again.skipped) == sorted(b.meta["submission_id"] for b in ALL)
    after = {t.name: table(engine, t) for t in schema.metadata.sorted_tables}
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)


def test_out_of_order_snapshots_equal_in_order(url, engine, tmp_path, request):
    load(engine, [HN2, SG2], run_id="late-first")
    load(engine, [HN1, SG1, HN_BAD], run_id="early-second")
    assert_expected(engine)
    late = history(engine)
    other_url = f"sqlite:///{tmp_path / 'in_order.db'}"
    upgrade(other_url)
    in_order = make_engine(other_url)
    try:
        for b in ALL:
            load(in_order, [b])
        pd.testing.assert_frame_equal(late.drop(columns=KEY), history(in_order).drop(columns=KEY),
                                      check_dtype=False)
    finally:
        in_order.dispose()


def test_rejected_file_and_submission_status(engine):
    load(engine, ALL)
    with engine.connect() as conn:
        status = pd.DataFrame(conn.execute(sa.text("SELECT * FROM v_submission_status")).mappings().all())
        rules = dict(conn.execute(sa.text("SELECT rule, SUM(n) FROM dq_rule_count GROUP BY rule")).all())
        run = conn.execute(sa.text("SELECT submissions, rows_received, rows_rejected FROM dq_run")).one()
    hn = status.set_index("province_code").loc["01"]
    assert hn["latest_outcome"] == "rejected" and hn["latest_file_rule"] == "F_NO_HEADER"
    assert str(hn["last_accepted_snapshot"]) == "2025-06-30"
    assert rules == {"R_RATING_INVALID": 1, "F_NO_HEADER": 1}
    assert tuple(run) == (5, 16, 1)


def test_renderings_and_export_links(engine):
    load(engine, ALL)
    counts = counts_as_of(engine, date(2025, 8, 15))
    csv_lines = counts_csv(counts).splitlines()
    assert csv_lines[0] == "province_code,province_name,stars_3,stars_4,potential_5,stars_5,total,share_pct"
    assert len(csv_lines) == 36
    assert csv_lines[1].startswith("01,Hà Nội,1,1,0,0,2,40.0")
    assert csv_lines[-1] == "VN,Toàn quốc,3,1,0,1,5,100.0"
    text = format_counts_table(counts)
    assert "Hồ Chí Minh" in text and "Toàn quốc" in text and "60.0" in text
    doc = json.loads(counts_json(counts))
    assert doc["national"]["total"] == 5 and doc["as_of"] == "2025-08-15"
    assert counts.by_group[["group_code", "n", "share_pct"]].values.tolist() == [[1, 5, 100.0]]
    assert counts.by_owner_type.set_index("owner_type")["n"].to_dict() == {"DN": 1, "HTX": 4}
    links = export_links(engine)
    assert list(links.columns) == ["product_id", "province_code", "file_name", "sheet", "row_number"]
    assert len(links) == 5 + 5 + 3 + 2   # every kept row; the rejected G row is not exported
    assert links.groupby("product_id").size().max() == 4   # H: two rows in 01, two in 79


# ------------------------------------------------------------------ publication and roles

def test_publish_freezes_counts_and_files(engine, tmp_path):
    from openpyxl import load_workbook

    from ocop.warehouse.publish import PublicationExists, publish

    load(engine, [HN1, SG1])
    folder = publish(engine, "2025-Q2", tmp_path, approved_by="Nguyễn Thị Lan",
                     approved_at=dt.datetime(2025, 7, 2, 9, 30, tzinfo=dt.timezone.utc))
    assert folder == tmp_path / "2025-Q2"
    assert (folder / "counts.csv").read_text(encoding="utf-8").splitlines()[-1] == "VN,Toàn quốc,4,1,0,1,6,100.0"
    assert (folder / "chart.png").read_bytes()[:4] == b"\x89PNG"
    wb = load_workbook(folder / "counts.xlsx")
    assert wb.sheetnames == ["Theo tỉnh và hạng sao", "Theo nhóm sản phẩm", "Theo loại hình chủ thể"]
    sheet = wb["Theo tỉnh và hạng sao"]
    assert [c.value for c in sheet[1]][:3] == ["Mã tỉnh", "Tỉnh/thành phố", "3 sao"]
    assert [c.value for c in sheet[36]][:2] == ["VN", "Toàn quốc"]
    assert any("30/06/2025" in str(r[0].value) for r in sheet.iter_rows(min_row=37) if r[0].value)
    notes = [str(r[0].value) for r in sheet.iter_rows(min_row=37) if r[0].value]
    assert "Phê duyệt công bố: Nguyễn Thị Lan, lúc 09:30 02/07/2025 (UTC)." in notes

    with pytest.raises(ValueError, match="who approved"):
        publish(engine, "2025-Q3", tmp_path)    # nobody publishes anonymously
    with pytest.raises(PublicationExists):
        publish(engine, "2025-Q2", tmp_path, approved_by="Nguyễn Thị Lan")
    load(engine, [HN2, SG2])                    # late data changes the quarter's count
    publish(engine, "2025-Q2", tmp_path, supersede_reason="Hà Nội gửi bổ sung", approved_by="Trần Văn Minh")
    with engine.connect() as conn:
        pubs = conn.execute(sa.text("SELECT publication_id, status, superseded_reason, superseded_by "
                                    "FROM publication ORDER BY publication_id")).all()
        totals = dict(conn.execute(sa.text(
            "SELECT publication_id, n FROM published_count "
            "WHERE dimension = 'province_class' AND province_code = 'VN' AND key = 'total'")).all())
    assert [tuple(p) for p in pubs] == [(1, "superseded", "Hà Nội gửi bổ sung", 2), (2, "published", None, None)]
    assert totals == {1: 6, 2: 5}               # the superseded figures are kept as published
    with engine.connect() as conn:
        approvals = conn.execute(sa.text("SELECT publication_id, approved_by, approved_at FROM publication "
                                         "ORDER BY publication_id")).all()
        decisions = conn.execute(sa.text("SELECT period, decision, decided_by, publication_id "
                                         "FROM publication_decision ORDER BY decision_id")).all()
    assert [(a[0], a[1]) for a in approvals] == [(1, "Nguyễn Thị Lan"), (2, "Trần Văn Minh")]
    assert str(approvals[0][2])[:16] == "2025-07-02 09:30"
    assert [tuple(d) for d in decisions] == [("2025-Q2", "approved", "Nguyễn Thị Lan", 1),
                                             ("2025-Q2", "approved", "Trần Văn Minh", 2)]
    for statement in ("UPDATE published_count SET n = n + 1", "DELETE FROM published_count"):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(sa.text(statement))


@pytest.mark.postgres
def test_readonly_role(pg_url):
    import uuid

    import psycopg

    from ocop.warehouse.roles import create_readonly_role

    upgrade(pg_url)
    engine = make_engine(pg_url)
    role = f"ocop_reader_{uuid.uuid4().hex[:8]}"
    try:
        create_readonly_role(engine, role, password="s3cret'pw")
        create_readonly_role(engine, role)        # idempotent
        with engine.connect() as conn:
            conn.exec_driver_sql(f'SET ROLE "{role}"')
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM v_official_counts")) == 34
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM submission")) == 0
            for statement in ("INSERT INTO product VALUES (1, now(), 'x')",
                              "UPDATE ref_province SET name = 'x'", "DELETE FROM ref_province"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with conn.begin_nested() if conn.in_transaction() else conn.begin():
                        conn.execute(sa.text(statement))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        engine.dispose()
        with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_source_record_needs_its_submission(url, engine):
    """A source record without its submission is refused, and so is deleting a submission that
    still has records: a declared foreign key on SQLite, statement-level set-based triggers on
    PostgreSQL (migration 0002); a record of a real submission is accepted by both."""
    load(engine, [HN1])
    sid = HN1.meta["submission_id"]
    orphan = {"submission_id": "nowhere", "row_id": 0, "outcome": "accepted"}
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        with conn.begin():
            conn.execute(schema.source_record.insert(), [{**orphan, "submission_id": sid, "row_id": 99}, orphan])
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        with conn.begin():
            conn.execute(schema.source_record.update().where(schema.source_record.c.row_id == 0)
                         .values(submission_id="nowhere"))
    for statement in (schema.submission.delete().where(schema.submission.c.submission_id == sid),
                      schema.submission.update().values(submission_id="renamed")):
        with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
            with conn.begin():
                conn.execute(sa.delete(schema.record_issue))
                conn.execute(statement)
    with engine.begin() as conn:  # nothing of the refused statements stayed; a real parent is fine
        conn.execute(schema.source_record.insert(), [{**orphan, "submission_id": sid, "row_id": 99}])
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.source_record)) == 6


@pytest.mark.postgres
def test_record_key_migration_down_and_up(pg_url):
    """0002 down restores the row-by-row foreign key; up again replaces it."""
    upgrade(pg_url)
    eng = make_engine(pg_url)

    def keys():
        with eng.connect() as conn:
            insp = sa.inspect(conn)
            fks = {fk["referred_table"] for fk in insp.get_foreign_keys("source_record")}
            triggers = set(conn.scalars(sa.text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%source_record%'")))
            return fks, triggers

    try:
        assert keys() == (set(), {"source_record_submission_ins", "source_record_submission_upd",
                                  "submission_source_record_del", "submission_source_record_upd"})
        downgrade(pg_url, "0001")
        assert keys() == ({"submission"}, set())
        upgrade(pg_url)
        assert keys()[0] == set()
    finally:
        eng.dispose()
