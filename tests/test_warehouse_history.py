"""The past is frozen: for generated histories and every reference date D, the official counts as
of D after loading only the snapshots dated on or before D equal the counts as of D after
loading everything (outputs.md §3 and §5), on SQLite and PostgreSQL.

The histories are drawn by hypothesis: three provinces, a pool of products, one to three
snapshots per province in any arrival order (older snapshots arriving late), each listing a
subset of the pool. Products move between provinces (a newer decision elsewhere), are re-rated,
lapse and come back, are revoked or expire, and some rows are rejected (the product is then
kept from its previous snapshot). Loading goes through the real ``consolidate`` with the real
``assign_products``.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_warehouse_core import bundle, row

from ocop.warehouse import consolidate, counts_as_of, make_engine, upgrade
from ocop.warehouse import schema

PROVINCES = ("01", "24", "79")
POOL = [  # (owner, product): far apart, so that only cross-province copies are one product
    ("HTX Minh Phát", "Mật ong hoa nhãn"), ("Công ty TNHH Trà Việt", "Trà xanh"),
    ("HTX Gạo Sạch Thái Bình", "Gạo ST25"), ("HTX Nấm Linh Chi Đông Anh", "Nấm linh chi"),
    ("Công ty CP Cà phê Sài Gòn", "Cà phê rang xay"), ("Hộ kinh doanh Nguyễn Văn Bảy", "Bánh pía sầu riêng"),
]
SNAPSHOT_DATES = ["2025-01-31", "2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"]
DECISION_DATES = ["2022-02-10", "2022-05-20", "2023-08-01", "2024-11-11", "2025-03-01", "2025-06-15",
                  "2025-09-01", "2025-12-01"]
RATINGS = ["3", "4", "potential-5", "5"]


@st.composite
def histories(draw):
    """``[(province, snapshot date, rows)]`` in arrival order."""
    snapshots = []
    for code in PROVINCES:
        dates = draw(st.lists(st.sampled_from(SNAPSHOT_DATES), min_size=0, max_size=3, unique=True))
        for day in dates:
            listed = draw(st.lists(st.sampled_from(range(len(POOL))), max_size=4, unique=True))
            rows = []
            for i in listed:
                decided = [d for d in DECISION_DATES if d <= day]
                rating = draw(st.sampled_from(RATINGS))
                status = draw(st.sampled_from(["valid", "valid", "valid", "revoked", "expired"]))
                rejected = draw(st.booleans()) and draw(st.booleans())
                rows.append(row(*POOL[i], None if rejected else rating, draw(st.sampled_from(decided)),
                                status=status, outcome="rejected" if rejected else "accepted"))
            snapshots.append((code, day, rows))
    return draw(st.permutations(snapshots))


def _bundles(history):
    clock = count()
    start = dt.datetime(2026, 1, 1, 8, 0)
    return [bundle(code, day, rows, (start + dt.timedelta(hours=next(clock))).isoformat())
            for code, day, rows in history]


def _reset(engine) -> None:
    """Empty every table the loads write (reference tables stay)."""
    keep = {"ref_province", "ref_product_group", "publication", "published_count"}
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            if table.name not in keep:
                conn.execute(table.delete())


def _counts(engine, day: str) -> list[tuple]:
    c = counts_as_of(engine, dt.date.fromisoformat(day))
    by_province = c.by_province_class[["province_code", "stars_3", "stars_4", "potential_5", "stars_5"]]
    return (sorted(map(tuple, by_province.itertuples(index=False)))
            + sorted(map(tuple, c.by_group[["group_code", "n"]].astype(str).itertuples(index=False)))
            + sorted(map(tuple, c.by_owner_type[["owner_type", "n"]].astype(str).itertuples(index=False))))


def _reference_dates(history) -> list[str]:
    days = {day for _, day, _ in history}
    before = {(dt.date.fromisoformat(d) - dt.timedelta(days=1)).isoformat() for d in days}
    return sorted(days | before | {"2026-06-30"})


def check_frozen(engine, history) -> None:
    bundles = _bundles(history)
    days = _reference_dates(history)
    alone = {}
    # Reference days with the same snapshots on or before them share one warehouse.
    by_loaded: dict[tuple, list[str]] = {}
    for day in days:
        by_loaded.setdefault(tuple(b.meta["snapshot_date"] <= day for b in bundles), []).append(day)
    for loaded, same in by_loaded.items():
        _reset(engine)
        early = [b for b, keep in zip(bundles, loaded) if keep]
        for i, b in enumerate(early):  # one run per arrival, in arrival order
            consolidate(engine, [b], f"until-{same[0]}-{i}")
        alone.update({day: _counts(engine, day) for day in same})
    _reset(engine)
    for i, b in enumerate(bundles):
        consolidate(engine, [b], f"all-{i}")
    for day in days:
        assert _counts(engine, day) == alone[day], day


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'warehouse.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def pg_engine():
    import uuid

    import psycopg

    from conftest import PG_SERVER

    name = f"ocop_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


PROPERTY = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@PROPERTY
@given(history=histories())
def test_past_frozen_sqlite(sqlite_engine, history):
    check_frozen(sqlite_engine, history)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=5)
@given(history=histories())
def test_past_frozen_postgres(pg_engine, history):
    check_frozen(pg_engine, history)


def test_a_product_moves_from_the_new_snapshot_on_never_before(sqlite_engine):
    """Worked by hand: a Hà Nội product (decision 2024-11-11) is listed from 2025-12-31 by Bắc
    Ninh with a newer decision (2025-09-01). It counts in Hà Nội up to 2025-12-30 and in Bắc Ninh
    from 2025-12-31, whichever order the files arrive in; ``province_conflict`` shows the choice
    for the period both list it."""
    honey = POOL[0]
    history = [("24", "2025-12-31", [row(*honey, "4", "2025-09-01")]),
               ("01", "2025-06-30", [row(*honey, "3", "2024-11-11")]),
               ("01", "2025-12-31", [row(*honey, "3", "2024-11-11")])]
    expected = {"2025-06-29": {}, "2025-06-30": {"01": (1, 0)}, "2025-12-30": {"01": (1, 0)},
                "2025-12-31": {"24": (0, 1)}, "2026-06-30": {"24": (0, 1)}}
    for order in (history, history[::-1]):
        _reset(sqlite_engine)
        for i, b in enumerate(_bundles(order)):
            consolidate(sqlite_engine, [b], f"move-{i}")
        for day, provinces in expected.items():
            lines = counts_as_of(sqlite_engine, dt.date.fromisoformat(day)).by_province_class
            got = {r.province_code: (int(r.stars_3), int(r.stars_4)) for r in lines.itertuples() if r.total}
            assert got == provinces, day
        with sqlite_engine.connect() as conn:
            conflicts = conn.execute(sa.select(schema.province_conflict.c.valid_from, schema.province_conflict.c.valid_to,
                                               schema.province_conflict.c.chosen_province,
                                               schema.province_conflict.c.decision_dates)).all()
        assert [tuple(map(lambda v: None if v is None else str(v), c)) for c in conflicts] == [
            ("2025-12-31", None, "24", "01:2024-11-11,24:2025-09-01")]
    versions = pd.read_sql(sa.select(schema.product_version), sqlite_engine)
    assert versions[["province_code", "valid_from"]].astype(str).values.tolist() == [
        ["01", "2025-06-30"], ["24", "2025-12-31"]]


def test_rebuild_restores_derived_tables(tmp_path):
    """``ocop rebuild`` recomputes identities and history from the stored records: after the
    derived tables are emptied (as migration 0003 leaves ``province_conflict``), it gives back
    exactly what the consolidations had written, ids included."""
    from typer.testing import CliRunner

    from ocop.cli import app

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    upgrade(url)
    engine = make_engine(url)
    honey, tea = POOL[0], POOL[1]
    history = [("01", "2025-06-30", [row(*honey, "3", "2024-11-11"), row(*tea, "4", "2023-08-01")]),
               ("24", "2025-12-31", [row(*honey, "4", "2025-09-01")]),
               ("01", "2025-12-31", [row(*honey, "3", "2024-11-11"), row(*tea, None, "2023-08-01",
                                                                            outcome="rejected")])]
    for i, b in enumerate(_bundles(history)):
        consolidate(engine, [b], f"run-{i}")
    derived = [schema.product_version, schema.province_conflict, schema.record_link]

    def snapshot():
        return {t.name: pd.read_sql(sa.select(t).order_by(*t.primary_key.columns), engine) for t in derived}

    before = snapshot()
    assert len(before["province_conflict"]) == 1 and len(before["product_version"]) == 3
    with engine.begin() as conn:
        conn.execute(schema.product_version.delete())
        conn.execute(schema.province_conflict.delete())
    result = CliRunner().invoke(app, ["rebuild", "--warehouse", url, "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    assert "rebuilt: 2 products, 3 versions (2 current), 1 products listed by several provinces" in result.output
    after = snapshot()
    # The conflict is found again, by the rebuild (its first detection was emptied with it).
    assert after["province_conflict"].pop("detected_run").str.startswith("rebuild-").all()
    before["province_conflict"].pop("detected_run")
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    engine.dispose()
