"""What a Ministry user decides (review items, publication approval, deadlines) and what the
answers do to the warehouse: the same overrides `ocop dedupe override` records, attributed to
the user who answered, kept through later runs; rejections publish nothing and keep the reason."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ocop.warehouse import consolidate, make_engine, schema, upgrade
from ocop.warehouse import decisions as d
from test_warehouse_core import bundle, row
from test_warehouse_incremental import derived

SEN = ("HTX Sen Vàng", "Trà sen")
HN = bundle("01", "2025-03-31", [row(*SEN, "3", "2024-01-10"), row("HTX Bình An", "Gạo tám thơm", "3", "2024-02-01"),
                                 row("HTX Bình Anh", "Gạo tám thơm", "4", "2024-02-01")], "2025-04-02T08:00:00+07:00")
SG = bundle("79", "2025-04-30", [row(*SEN, "4", "2024-09-09"), row("HTX Cà phê Chợ Lớn", "Cà phê phin", "5", "2024-03-03")],
            "2025-05-02T08:00:00+07:00")
HN_LATER = bundle("01", "2025-06-30", [row(*SEN, "3", "2024-01-10"), row("HTX Bình An", "Gạo tám thơm", "3", "2024-02-01"),
                                       row("HTX Bình Anh", "Gạo tám thơm", "4", "2024-02-01")], "2025-07-02T08:00:00+07:00")
LAN = {"chosen_options": None, "params_input": {}, "responded_by_user": {"id": "lan", "name": "Nguyễn Thị Lan"},
       "responded_at": "2025-07-03T02:15:00+00:00"}


def answer(option: str, **extra) -> dict:
    return {**LAN, "chosen_options": [option], **extra}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    upgrade(url)
    eng = make_engine(url)
    consolidate(eng, [HN, SG], "run-1")
    yield eng
    eng.dispose()


def assert_full_rebuild_changes_nothing(engine) -> None:
    """An answer rebuilds only the provinces it touches; ``ocop rebuild`` must agree."""
    from ocop.warehouse import rebuild_all

    scoped = derived(engine)
    rebuild_all(engine, "full-check")
    assert derived(engine) == scoped


def items_by_kind(engine) -> dict[str, list[dict]]:
    items = d.open_review_items(engine)
    return {k: [i for i in items if i["kind"] == k] for k in ("pair", "conflict")}


def product_of(engine, owner: str, province: str | None = None) -> set[int]:
    sr, rl, sub = schema.source_record, schema.record_link, schema.submission
    q = (sa.select(rl.c.product_id).join_from(rl, sr, sa.and_(sr.c.submission_id == rl.c.submission_id,
                                                               sr.c.row_id == rl.c.row_id))
         .join(sub, sub.c.submission_id == sr.c.submission_id).where(sr.c.owner == owner))
    if province:
        q = q.where(sub.c.province_code == province)
    with engine.connect() as conn:
        return set(conn.scalars(q))


def current_province(engine, owner: str) -> list[str]:
    pv = schema.product_version
    with engine.connect() as conn:
        return sorted(conn.scalars(sa.select(pv.c.province_code).where(pv.c.owner == owner, pv.c.is_current)))


def test_open_items_ask_the_borderline_pair_and_the_cross_province_product(engine):
    items = items_by_kind(engine)
    assert len(items["pair"]) == 1 and len(items["conflict"]) == 1
    pair, conflict = items["pair"][0], items["conflict"][0]
    assert pair["options"] == [d.MERGE, d.APART, d.LEAVE_OPEN] and pair["defaults"] == [d.LEAVE_OPEN]
    assert "HTX Bình An" in pair["body"] and "HTX Bình Anh" in pair["body"]
    assert conflict["options"] == [d.keep_option("01"), d.keep_option("79"), d.APART, d.LEAVE_OPEN]
    assert "counted in 01 Hà Nội" in conflict["options"][0]
    assert "now in **79" in conflict["body"]    # the most recent decision wins until someone decides
    assert current_province(engine, SEN[0]) == ["79"]


def test_merge_answer_is_a_dedupe_override_by_the_airflow_user_and_survives_reruns(engine):
    pair = items_by_kind(engine)["pair"][0]
    assert len(product_of(engine, "HTX Bình An") | product_of(engine, "HTX Bình Anh")) == 2
    done = d.apply_review_answer(engine, pair, answer(d.MERGE, params_input={"reason": "cùng một HTX"}), "review-1")
    assert done == {"key": pair["key"], "decision": "merge", "who": "Nguyễn Thị Lan"}
    with engine.connect() as conn:
        o = conn.execute(sa.select(schema.dedupe_override)).mappings().one()
        rd = conn.execute(sa.select(schema.review_decision)).mappings().one()
    assert (o["action"], o["who"], o["why"]) == ("merge", "Nguyễn Thị Lan", "cùng một HTX")
    assert (rd["item_key"], rd["decision"], rd["who"]) == (pair["key"], "merge", "Nguyễn Thị Lan")
    assert str(rd["decided_at"])[:16] == "2025-07-03 02:15"
    merged = product_of(engine, "HTX Bình An") | product_of(engine, "HTX Bình Anh")
    assert len(merged) == 1                               # counts refreshed: one product now
    assert_full_rebuild_changes_nothing(engine)
    assert not items_by_kind(engine)["pair"]              # decided: not asked again
    consolidate(engine, [HN_LATER], "run-2")              # a later run rebuilds everything
    assert product_of(engine, "HTX Bình An") | product_of(engine, "HTX Bình Anh") == merged
    assert not items_by_kind(engine)["pair"]


def test_keep_in_province_answer_moves_the_product_and_survives_reruns(engine):
    conflict = items_by_kind(engine)["conflict"][0]
    d.apply_review_answer(engine, conflict, answer(d.keep_option("01")), "review-1")
    assert current_province(engine, SEN[0]) == ["01"]
    assert_full_rebuild_changes_nothing(engine)
    assert not items_by_kind(engine)["conflict"]
    consolidate(engine, [HN_LATER], "run-2")
    assert current_province(engine, SEN[0]) == ["01"]
    assert not items_by_kind(engine)["conflict"]


def test_keep_apart_answer_splits_the_product_in_two(engine):
    conflict = items_by_kind(engine)["conflict"][0]
    assert len(product_of(engine, SEN[0])) == 1
    d.apply_review_answer(engine, conflict, answer(d.APART), "review-1")
    assert product_of(engine, SEN[0], "01") != product_of(engine, SEN[0], "79")
    assert current_province(engine, SEN[0]) == ["01", "79"]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.province_conflict)) == 0
        assert conn.scalar(sa.select(schema.dedupe_override.c.action)) == "split"
    assert not items_by_kind(engine)["conflict"]
    assert_full_rebuild_changes_nothing(engine)


def test_no_answer_or_leave_open_records_nothing(engine):
    items = d.open_review_items(engine)
    for item in items:
        assert d.apply_review_answer(engine, item, answer(d.LEAVE_OPEN), "review-1")["decision"] == "open"
        assert d.apply_review_answer(engine, item, None, "review-1")["decision"] == "open"
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.review_decision)) == 0
    assert [i["key"] for i in d.open_review_items(engine)] == [i["key"] for i in items]
    with pytest.raises(ValueError, match="not an option"):
        d.apply_review_answer(engine, items[0], answer("Publish everything"), "review-1")
    with pytest.raises(ValueError, match="without the user"):
        d.apply_review_answer(engine, items[0], {"chosen_options": [items[0]["options"][0]]}, "review-1")


def test_approval_page_shows_counts_changes_and_open_items_and_rejection_publishes_nothing(engine, tmp_path):
    from ocop.warehouse.publish import publish, record_rejection

    first = d.publication_summary(engine, "2025-05")
    assert first["national_total"] == 4 and first["open_items"] == 2
    assert "| 01 Hà Nội | 1 | 1 | 0 | 0 | 2 |" in first["body"]   # Trà sen counts in 79 (latest decision)
    assert "| VN Toàn quốc | 1 | 2 | 0 | 1 | 4 |" in first["body"]
    assert "No earlier publication" in first["body"] and "Same product?" in first["body"]

    decision = record_rejection(engine, "2025-05", "Nguyễn Thị Lan", "chờ Hà Nội gửi lại")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.publication)) == 0
        r = conn.execute(sa.select(schema.publication_decision)).mappings().one()
    assert (r["decision_id"], r["decision"], r["decided_by"], r["reason"], r["publication_id"]) == (
        decision, "rejected", "Nguyễn Thị Lan", "chờ Hà Nội gửi lại", None)
    assert not (tmp_path / "2025-05").exists()

    publish(engine, "2025-05", tmp_path, approved_by="Nguyễn Thị Lan")
    d.apply_review_answer(engine, items_by_kind(engine)["pair"][0], answer(d.MERGE), "review-1")
    later = d.publication_summary(engine, "2025-06")
    assert later["national_total"] == 3 and later["open_items"] == 1
    assert {"province_code": "01", "class": "total", "before": 2, "now": 1} in later["changes"]
    assert "From 2025-05" in later["body"] and "| 01 Hà Nội | total | 2 | 1 | -1 |" in later["body"]
    assert "| VN Toàn quốc | total | 4 | 3 | -1 |" in later["body"]


def test_deadline_lists_provinces_without_a_register_for_the_period(engine, tmp_path):
    from ocop.monitor import check_deadline, submission_deadline

    assert submission_deadline("2025-04", day=10) == dt.date(2025, 5, 10)
    assert submission_deadline("2025-12", day=10) == dt.date(2026, 1, 10)
    configured = tmp_path / "deadlines.yaml"
    configured.write_text("2025-04: 2025-05-20\n", encoding="utf-8")
    assert submission_deadline("2025-04", configured, day=10) == dt.date(2025, 5, 20)

    before = check_deadline(engine, today=dt.date(2025, 5, 10), period="2025-04", deadline=dt.date(2025, 5, 10))
    assert not before.passed and before.late == []
    after = check_deadline(engine, today=dt.date(2025, 5, 11), period="2025-04", deadline=dt.date(2025, 5, 10))
    late = {x.province_code for x in after.late}
    assert after.passed and "79" not in late and "01" in late and len(late) == 33   # 01's is dated 31/03
    subject, body = after.message()
    assert "33 province(s) missed the 2025-04 submission deadline (2025-05-10)" in subject
    assert "01 Hà Nội: last accepted snapshot 2025-03-31" in body


def test_a_rejection_stands_until_the_warehouse_changes(engine, tmp_path):
    from ocop import pipeline
    from ocop.warehouse.publish import record_rejection

    url = engine.url.render_as_string(hide_password=False)
    settings = pipeline.Settings.from_env(warehouse_url=url, publications=tmp_path / "pub")
    today = dt.date(2025, 6, 3)
    assert pipeline.publication_due(settings, today)["period"] == "2025-05"
    record_rejection(engine, "2025-05", "Nguyễn Thị Lan", "chờ Hà Nội")
    assert pipeline.publication_due(settings, today) is None             # nothing new: not asked again
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    d.apply_review_answer(engine, items_by_kind(engine)["pair"][0], answer(d.MERGE, responded_at=later), "review-1")
    again = pipeline.publication_due(settings, today)                     # a decision changed the counts
    assert again["period"] == "2025-05" and "Publish the official OCOP counts of 2025-05" in again["body"]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0004_adds_the_approval_columns_and_tables_to_an_older_warehouse(kind, request):
    from ocop.warehouse import downgrade

    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
    upgrade(url)
    downgrade(url, "0002")                        # the warehouse as it was before 0004
    eng = make_engine(url)
    try:
        insp = sa.inspect(eng)
        assert not {"publication_decision", "review_decision"} & set(insp.get_table_names())
        assert not {"approved_by", "approved_at"} & {c["name"] for c in insp.get_columns("publication")}
        upgrade(url)
        insp = sa.inspect(eng)
        assert {"publication_decision", "review_decision"} <= set(insp.get_table_names())
        assert {"approved_by", "approved_at"} <= {c["name"] for c in insp.get_columns("publication")}
        consolidate(eng, [HN, SG], "run-1")       # and it works
        assert items_by_kind(eng)["conflict"]
    finally:
        eng.dispose()


def test_the_review_reads_stored_pairs_and_migration_0006_fills_them_for_an_older_warehouse(engine):
    """The review workflow reads ``review_pair`` (what the rebuilds stored) instead of running
    dedupe over the whole warehouse; a warehouse from before 0006 gets it filled on upgrade
    with the pairs dedupe gives for its stored records."""
    from ocop.dedupe import assign_products
    from ocop.warehouse import downgrade, review_pairs
    from ocop.warehouse.rebuild import borderline_pairs

    url = engine.url.render_as_string(hide_password=False)
    stored = review_pairs(engine)
    assert len(stored) == 1 and {stored.loc[0, "a_owner"], stored.loc[0, "b_owner"]} == {"HTX Bình An", "HTX Bình Anh"}
    with engine.connect() as conn:
        computed = borderline_pairs(conn, assign_products)
    assert stored.to_dict("records") == computed.to_dict("records")
    engine.dispose()
    downgrade(url, "0005")
    assert "review_pair" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    upgrade(url)
    assert review_pairs(engine).to_dict("records") == stored.to_dict("records")
