"""Publishing the official counts of a period: frozen in the warehouse, written as files.

``publish(engine, "2026-Q2", out_dir)`` counts as of the period end, stores every breakdown in
``published_count`` (immutable: a trigger refuses UPDATE and DELETE) under a new
``publication`` row, and writes ``out_dir/<period>/`` ``counts.xlsx`` (Vietnamese, one sheet
per breakdown), ``counts.csv`` (the ``ocop counts`` CSV) and ``chart.png``. A period is
published once; publishing it again needs a reason, which marks the old publication
``superseded`` (its counts stay as they were) and links it to the new one.

Every publication names who approved it and when (``approved_by``, ``approved_at``: the Ministry
user who answered the approval task in Airflow, or ``<login> (ocop publish)`` for a scripted
run); the workbook prints both, and ``publication_decision`` keeps every approval answer,
rejections with their reason (:func:`record_rejection`).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from matplotlib.figure import Figure  # object API: renders with Agg, no pyplot state
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.engine import Connection, Engine

from ocop.warehouse import schema as s
from ocop.warehouse.bulk import insert_frame
from ocop.warehouse.counts import CLASS_COLUMNS, PROVINCE_HEADERS_VI, Counts, counts_as_of, counts_csv
from ocop.warehouse.load import take_write_lock

DEFINITION_VI = (
    "Số sản phẩm OCOP có giấy chứng nhận còn hiệu lực tại ngày {d}: sản phẩm có trong danh sách "
    "theo bản tổng hợp gần nhất được chấp nhận của tỉnh lập đến ngày đó, ngày quyết định công nhận "
    "không sau ngày đó, chưa hết hạn (36 tháng kể từ ngày quyết định nếu không ghi hạn) và không bị "
    "thu hồi. Mỗi sản phẩm chỉ được đếm một lần, tại tỉnh có quyết định gần nhất."
)
_CLASS_KEYS = {col: cls for cls, col in s.RATING_COLUMNS.items()}
UNKNOWN_KEY = "unknown"


class PublicationExists(Exception):
    """The period is already published; give a reason to supersede it."""


def period_end(period: str) -> date:
    """Last day of ``YYYY-Qn``, ``YYYY-MM`` or ``YYYY``."""
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        year, month = int(m[1]), 3 * int(m[2])
    elif m := re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", period):
        year, month = int(m[1]), int(m[2])
    elif m := re.fullmatch(r"\d{4}", period):
        year, month = int(period), 12
    else:
        raise ValueError(f"period must be YYYY-Qn, YYYY-MM or YYYY, not {period!r}")
    return date(year, month, calendar.monthrange(year, month)[1])


def count_rows(counts: Counts) -> pd.DataFrame:
    """All breakdowns as ``(dimension, province_code, key, n, share_pct)`` rows."""
    by_province = counts.with_national()
    parts = [
        by_province.melt(id_vars=["province_code"], value_vars=CLASS_COLUMNS, var_name="key", value_name="n")
        .assign(key=lambda d: d["key"].map(_CLASS_KEYS), share_pct=None),
        by_province[["province_code", "total", "share_pct"]].rename(columns={"total": "n"}).assign(key="total"),
    ]
    rows = pd.concat(parts, ignore_index=True).assign(dimension="province_class")
    for dimension, frame, column in (("group", counts.by_group, "group_code"),
                                     ("owner_type", counts.by_owner_type, "owner_type")):
        keys = frame[column].astype(object).where(frame[column].notna(), UNKNOWN_KEY).astype(str)
        rows = pd.concat([rows, pd.DataFrame({"dimension": dimension, "province_code": s.NATIONAL,
                                              "key": keys, "n": frame["n"], "share_pct": frame["share_pct"]})],
                         ignore_index=True)
    return rows


def _live_publication(conn: Connection, period: str) -> int | None:
    p = s.publication
    return conn.scalar(sa.select(p.c.publication_id).where(p.c.period == period, p.c.status == "published"))


def _utc_naive(at: datetime | None) -> datetime:
    at = at or datetime.now(timezone.utc)
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def _record_publication(conn: Connection, period: str, as_of: date, counts: Counts,
                        supersede_reason: str | None, approved_by: str, approved_at: datetime,
                        run_id: str | None = None) -> int:
    p = s.publication
    old = _live_publication(conn, period)
    if old is not None and not supersede_reason:
        raise PublicationExists(f"{period} is already published (publication {old}); "
                                "give a reason to supersede it")
    if old is not None:
        conn.execute(p.update().where(p.c.publication_id == old)
                     .values(status="superseded", superseded_reason=supersede_reason))
    new = conn.execute(p.insert().values(period=period, as_of=as_of, status="published",
                                         published_at=datetime.now(timezone.utc).replace(tzinfo=None),
                                         approved_by=approved_by, approved_at=approved_at)
                       ).inserted_primary_key[0]
    conn.execute(s.publication_decision.insert().values(
        period=period, decision="approved", decided_by=approved_by, decided_at=approved_at,
        publication_id=new, run_id=run_id))
    if old is not None:
        conn.execute(p.update().where(p.c.publication_id == old).values(superseded_by=new))
    insert_frame(conn, s.published_count, count_rows(counts).assign(publication_id=new, period=period, as_of=as_of))
    return new


def publish(engine: Engine, period: str, out_dir: Path, supersede_reason: str | None = None,
            approved_by: str | None = None, approved_at: datetime | None = None,
            run_id: str | None = None) -> Path:
    """Freeze the counts of ``period`` and write its files; returns ``out_dir/<period>``.
    ``approved_by``: who approved the freeze (required: nobody publishes anonymously)."""
    if not (approved_by or "").strip():
        raise ValueError("a publication needs the name of who approved it")
    approved_at = _utc_naive(approved_at)
    as_of = period_end(period)
    counts = counts_as_of(engine, as_of)
    folder = Path(out_dir) / period
    with engine.connect() as conn:
        conn.execution_options(write_lock=True)
        with conn.begin():  # files are written before the commit: no publication without files
            take_write_lock(conn)
            _record_publication(conn, period, as_of, counts, supersede_reason, approved_by.strip(), approved_at,
                                run_id)
            folder.mkdir(parents=True, exist_ok=True)
            write_xlsx(counts, folder / "counts.xlsx", period, approved_by.strip(), approved_at)
            (folder / "counts.csv").write_text(counts_csv(counts), encoding="utf-8")
            write_chart(counts, folder / "chart.png")
    return folder


def record_rejection(engine: Engine, period: str, who: str, reason: str | None,
                     at: datetime | None = None, run_id: str | None = None) -> int:
    """A Ministry user refused to publish ``period``: nothing is frozen, the answer and its
    reason are kept (``publication_decision``). Returns the decision id."""
    period_end(period)  # a clear error for a malformed period
    if not (who or "").strip():
        raise ValueError("a rejection needs the name of who rejected")
    with engine.begin() as conn:
        return conn.execute(s.publication_decision.insert().values(
            period=period, decision="rejected", decided_by=who.strip(), decided_at=_utc_naive(at),
            reason=(reason or "").strip() or "(no reason given)", run_id=run_id)).inserted_primary_key[0]


def _sheet(wb: Workbook, title: str, headers: list[str], rows: list[list], footnotes: list[str]) -> None:
    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([None if pd.isna(v) else v for v in r])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    ws.append([])
    for note in footnotes:
        ws.append([note])
    ws.column_dimensions["B"].width = 40


def write_xlsx(counts: Counts, path: Path, period: str, approved_by: str | None = None,
               approved_at: datetime | None = None) -> None:
    approval = (f"Phê duyệt công bố: {approved_by}, lúc {approved_at:%H:%M %d/%m/%Y} (UTC)."
                if approved_by and approved_at else "Chưa có phê duyệt.")
    footnotes = [f"Kỳ công bố: {period}. Số liệu chốt đến hết ngày {counts.as_of:%d/%m/%Y}.", approval,
                 DEFINITION_VI.format(d=f"{counts.as_of:%d/%m/%Y}"),
                 "Tỷ lệ (%): tỷ trọng trong tổng số sản phẩm toàn quốc."]
    wb = Workbook()
    wb.remove(wb.active)
    province_rows = counts.with_national().values.tolist()
    _sheet(wb, "Theo tỉnh và hạng sao", PROVINCE_HEADERS_VI, province_rows, footnotes)
    total = ["Toàn quốc", counts.national["total"], 100.0 if counts.national["total"] else None]
    _sheet(wb, "Theo nhóm sản phẩm", ["Mã nhóm", "Nhóm sản phẩm", "Số sản phẩm", "Tỷ lệ (%)"],
           [*counts.by_group.values.tolist(), ["", *total]], footnotes)
    _sheet(wb, "Theo loại hình chủ thể", ["Loại hình", "Tên loại hình", "Số sản phẩm", "Tỷ lệ (%)"],
           [*counts.by_owner_type.values.tolist(), ["", *total]], footnotes)
    wb.save(path)


def write_chart(counts: Counts, path: Path) -> None:
    """Stacked bars: products per province by rating class."""
    df = counts.by_province_class
    labels = {"stars_3": "3 sao", "stars_4": "4 sao", "potential_5": "Tiềm năng 5 sao", "stars_5": "5 sao"}
    fig = Figure(figsize=(14, 6))
    ax = fig.subplots()
    bottom = pd.Series(0, index=df.index)
    for col in CLASS_COLUMNS:
        ax.bar(df["province_name"], df[col], bottom=bottom, label=labels[col])
        bottom = bottom + df[col]
    ax.set_title(f"Sản phẩm OCOP còn hiệu lực theo tỉnh và hạng sao, ngày {counts.as_of:%d/%m/%Y}")
    ax.set_ylabel("Số sản phẩm")
    ax.tick_params(axis="x", labelrotation=75, labelsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
