"""Official counts worked out by hand (outputs.md §5 and §3), for a dozen small histories.

Each history below is a product's life across the snapshots of three provinces, written as the
rows a province sends, with the place (province, class) where the product must be counted on
each reference date, worked out by hand from the rules:

- §5: a product counts on D when its province's latest accepted snapshot dated on or before D
  holds it, its decision date is on or before D, D is before its expiry (decision + 36 months)
  and it is not revoked;
- §3: a product found in several provinces is counted once on D, in the province whose latest
  accepted snapshot on or before D holds it with the most recent decision date (ties: the later
  snapshot date, then the lower province code); a newer decision elsewhere moves it from that
  snapshot's date on, never before.

The same histories go (a) as CSV files through ``ocop run`` (``pipeline.run``) into a
warehouse, read back with ``counts_as_of``, and (b) as a records frame through the generator's
truth (``ocop.generate.truth._counts``). Both must give the hand-worked table, on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import uuid
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ocop import pipeline
from ocop.config import Settings
from ocop.warehouse.counts import counts_as_of

S1, S2 = "2025-06-30", "2025-12-31"
HN, CB, TQ = "01", "04", "08"  # Hà Nội, Cao Bằng, Tuyên Quang
DATES = ("2025-03-31", S1, "2025-09-30", S2, "2026-06-30")
STARS = {"3": "3 sao", "4": "4 sao", "potential-5": "Tiềm năng 5 sao", "5": "5 sao"}
CLASS_COLUMN = {"3": "stars_3", "4": "stars_4", "potential-5": "potential_5", "5": "stars_5"}


def row(province, snapshot, rating, decided, *, status="Còn hiệu lực", decision=None, level="Tỉnh"):
    return {"province": province, "snapshot": snapshot, "rating": rating, "decided": decided,
            "status": status, "decision": decision or f"{decided[8:]}{decided[5:7]}/QĐ-UBND", "level": level}


# name: (owner, product name, [rows as sent], {date: (province, class) counted, or absent: not counted})
HISTORIES = {
    "stable": ("HTX Mật ong Sóc Sơn", "Mật ong hoa nhãn",
               [row(HN, S1, "4", "2024-03-01"), row(HN, S2, "4", "2024-03-01")],
               # no snapshot of Hà Nội on or before 31/3/2025; counted from 30/6/2025 on
               {S1: (HN, "4"), "2025-09-30": (HN, "4"), S2: (HN, "4"), "2026-06-30": (HN, "4")}),
    "re-rated": ("Công ty TNHH Trà Ba Vì", "Trà xanh Ba Vì",
                 [row(HN, S1, "3", "2023-05-10"), row(HN, S2, "4", "2025-10-15")],
                 # 3 stars until the snapshot holding the new decision; 4 stars from 31/12/2025
                 {S1: (HN, "3"), "2025-09-30": (HN, "3"), S2: (HN, "4"), "2026-06-30": (HN, "4")}),
    "lapsing": ("HTX Nông nghiệp Đông Anh", "Gạo nếp cái hoa vàng",
                [row(HN, S1, "3", "2024-01-15")],
                # gone from Hà Nội's 31/12/2025 list: not counted from then on
                {S1: (HN, "3"), "2025-09-30": (HN, "3")}),
    "revoked": ("Hộ kinh doanh Nguyễn Văn Tám", "Giò chả Ước Lễ",
                [row(HN, S1, "4", "2023-08-20"), row(HN, S2, "4", "2023-08-20", status="Thu hồi")],
                {S1: (HN, "4"), "2025-09-30": (HN, "4")}),
    "expired": ("HTX Bánh cuốn Thanh Trì", "Bánh cuốn Thanh Trì",
                [row(HN, S1, "3", "2022-09-01"), row(HN, S2, "3", "2022-09-01")],
                # decided 1/9/2022: valid until 1/9/2025, still listed on 31/12/2025
                {S1: (HN, "3")}),
    "five-star": ("Công ty cổ phần Nông sản Hà Nội", "Miến dong Minh Hồng",
                  [row(HN, S1, "5", "2024-09-09", decision="99/QĐ-BNN-VPĐP", level="Trung ương"),
                   row(HN, S2, "5", "2024-09-09", decision="99/QĐ-BNN-VPĐP", level="Trung ương")],
                  {S1: (HN, "5"), "2025-09-30": (HN, "5"), S2: (HN, "5"), "2026-06-30": (HN, "5")}),
    "new": ("HTX Dược liệu Trùng Khánh", "Cao dược liệu Trùng Khánh",
            [row(CB, S2, "potential-5", "2025-11-20")],
            {S2: (CB, "potential-5"), "2026-06-30": (CB, "potential-5")}),
    "moving": ("HTX Chè Thái Hà", "Chè búp Thái Hà",
               [row(HN, S1, "4", "2024-02-10"), row(HN, S2, "4", "2024-02-10"),
                row(CB, S2, "4", "2025-10-01")],
               # Cao Bằng's newer decision moves it from Cao Bằng's 31/12/2025 snapshot on,
               # not before: on 30/6 and 30/9/2025 it is Hà Nội's
               {S1: (HN, "4"), "2025-09-30": (HN, "4"), S2: (CB, "4"), "2026-06-30": (CB, "4")}),
    "two-provinces": ("HTX Hạt dẻ Trùng Khánh", "Hạt dẻ rang Trùng Khánh",
                      [row(HN, S1, "3", "2023-01-10"), row(HN, S2, "3", "2023-01-10"),
                       row(CB, S1, "4", "2025-02-02"), row(CB, S2, "4", "2025-02-02")],
                      # Cao Bằng's decision is the newer one on every date
                      {S1: (CB, "4"), "2025-09-30": (CB, "4"), S2: (CB, "4"), "2026-06-30": (CB, "4")}),
    "tie": ("HTX Miến Phia Đén", "Miến dong Phia Đén",
            [row(HN, S2, "3", "2025-05-05"), row(CB, S2, "3", "2025-05-05")],
            # same decision date, same snapshot date: the lower province code, Hà Nội (01)
            {S2: (HN, "3"), "2026-06-30": (HN, "3")}),
    "back-from-revoked": ("Tổ hợp tác Bánh khảo Cao Bằng", "Bánh khảo Cao Bằng",
                          [row(CB, S1, "3", "2023-03-03", status="Thu hồi"), row(CB, S2, "3", "2025-09-09")],
                          {S2: (CB, "3"), "2026-06-30": (CB, "3")}),
    "listed-twice": ("HTX Lạp sườn Cao Bằng", "Lạp sườn hun khói",
                     [row(CB, S1, "4", "2024-04-04"), row(CB, S1, "4", "2024-04-04"),
                      row(CB, S2, "4", "2024-04-04")],
                     # the same facts twice in one file: counted once
                     {S1: (CB, "4"), "2025-09-30": (CB, "4"), S2: (CB, "4"), "2026-06-30": (CB, "4")}),
    # Tuyên Quang's 31/12/2025 file is loaded first, its 30/6/2025 file arrives late.
    "late-older-snapshot": ("HTX Cam sành Hàm Yên", "Cam sành Hàm Yên",
                            [row(TQ, S1, "4", "2024-06-06")],
                            # not in the later 31/12/2025 list
                            {S1: (TQ, "4"), "2025-09-30": (TQ, "4")}),
    "in-the-later-snapshot": ("HTX Bưởi Xuân Vân", "Bưởi đường Xuân Vân",
                              [row(TQ, S2, "3", "2025-08-01")],
                              # decided after 30/6/2025: Tuyên Quang's list of 30/9 is still 30/6's
                              {S2: (TQ, "3"), "2026-06-30": (TQ, "3")}),
}
LATE = (TQ, S1)  # the snapshot that arrives in the second run


def hand_counts(names=HISTORIES) -> dict[str, Counter]:
    """date -> Counter((province, class)) from the hand-worked places above."""
    out = {d: Counter() for d in DATES}
    for name in names:
        for d, place in HISTORIES[name][3].items():
            out[d][place] += 1
    return out


def test_the_hand_table_adds_up():
    """The hand-worked national totals, written out once more as numbers."""
    totals = {d: sum(c.values()) for d, c in hand_counts().items()}
    assert totals == {"2025-03-31": 0, S1: 10, "2025-09-30": 9, S2: 10, "2026-06-30": 10}


# --- (a) the real pipeline --------------------------------------------------------------------

HEADER = ["STT", "Tên sản phẩm", "Chủ thể", "Loại hình", "Nhóm sản phẩm", "Hạng sao", "Số quyết định",
          "Ngày quyết định", "Cấp công nhận", "Tình trạng"]


def _owner_type(owner: str) -> str:
    return {"HTX": "HTX", "Công": "DN", "Hộ": "HKD", "Tổ": "THT"}[owner.split()[0]]


def _files() -> dict[tuple[str, str], list[list]]:
    files: dict[tuple[str, str], list[list]] = {}
    for owner, product, rows, _ in HISTORIES.values():
        for r in rows:
            d = dt.date.fromisoformat(r["decided"])
            files.setdefault((r["province"], r["snapshot"]), []).append(
                [product, owner, _owner_type(owner), "Thực phẩm", STARS[r["rating"]], r["decision"],
                 f"{d.day}/{d.month}/{d.year}", r["level"], r["status"]])
    return files


def _write(inbox: Path, province: str, snapshot: str, rows: list[list]) -> None:
    path = inbox / province / f"ocop_{snapshot}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows([i, *r] for i, r in enumerate(rows, start=1))


def _warehouse_counts(engine, day: str) -> dict[tuple[str, str], int]:
    table = counts_as_of(engine, dt.date.fromisoformat(day)).by_province_class
    return {(p, cls): int(n) for p, *ns in table[["province_code", *CLASS_COLUMN.values()]].itertuples(index=False)
            for cls, n in zip(CLASS_COLUMN, ns) if n}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path_factory):
    """An empty warehouse for the module: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('oracle-wh') / 'warehouse.db'}"
        return
    import psycopg

    server = os.environ.get("OCOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"ocop_oracle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, warehouse_url):
    """The histories through ``ocop run`` twice: everything but Tuyên Quang's 30/6/2025 file,
    then that late, older file. Returns the engine and the counts after the first run."""
    tmp = tmp_path_factory.mktemp("oracle")
    inbox = tmp / "inbox"
    files = _files()
    for (province, snapshot), rows in files.items():
        if (province, snapshot) != LATE:
            _write(inbox, province, snapshot, rows)
    settings = Settings.from_env(inbox=inbox, landing=tmp / "landing", reports=tmp / "reports", runs=tmp / "runs",
                                 publications=tmp / "publications", warehouse_url=warehouse_url)
    first = pipeline.run(settings, run_id="oracle-1", settle_seconds=0)
    engine = pipeline.engine_for(settings)
    before_late = {d: _warehouse_counts(engine, d) for d in DATES}
    _write(inbox, *LATE, files[LATE])
    second = pipeline.run(settings, run_id="oracle-2", settle_seconds=0)
    loaded = [(s["province_code"], s["file_name"], s["file_outcome"], s["rows_rejected"])
              for run in (first, second) for s in run["submissions"]]
    assert sorted(loaded) == sorted((p, f"ocop_{d}.csv", "accepted", 0) for p, d in files)
    return engine, before_late


@pytest.mark.parametrize("day", DATES)
def test_ocop_run_counts_match_the_hand_table(loaded, day):
    engine, _ = loaded
    assert _warehouse_counts(engine, day) == dict(hand_counts()[day])


@pytest.mark.parametrize("day", [S2, "2026-06-30"])
def test_a_late_older_snapshot_changes_no_later_count(loaded, day):
    """Tuyên Quang's 30/6/2025 list arrived after its 31/12/2025 one: the counts from 31/12/2025
    on are what they were before it came (and what the hand table says)."""
    engine, before_late = loaded
    assert before_late[day] == _warehouse_counts(engine, day) == dict(hand_counts()[day])


# --- (b) the generator's truth ------------------------------------------------------------------


def _records() -> pd.DataFrame:
    """The histories as ``ocop.generate.truth`` holds a generated data set's rows."""
    rows = []
    for pid, (owner, product, history, _) in enumerate(HISTORIES.values()):
        for r in history:
            rows.append({"pid": pid, "province": r["province"], "rating": r["rating"],
                         "decision_date": pd.Timestamp(r["decided"]),
                         "status": "revoked" if r["status"] == "Thu hồi" else "valid",
                         "rejected": False, "snapshot": pd.Timestamp(r["snapshot"])})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("day", DATES)
def test_the_generators_truth_matches_the_hand_table(day):
    from ocop.generate.truth import _counts

    got = _counts(_records(), dt.date.fromisoformat(day))
    flat = {(p, cls): n for p, by_class in got.items() for cls, n in by_class.items() if n}
    assert flat == dict(hand_counts()[day])
