"""Official counts (outputs.md §5) as of a date, their renderings, and the record-link export.

The counting SQL is :mod:`ocop.warehouse.schema` (``valid_versions``): this module runs it on a
date and formats the result. Shares are each line's percentage of the national total, rounded
to one decimal by the database.

CSV: header ``province_code,province_name,stars_3,stars_4,potential_5,stars_5,total,share_pct``,
the 34 provinces in code order, then one national line with province code ``VN`` and name
``Toàn quốc`` (share 100.0, or empty when the total is zero).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ocop.reference.groups import GROUPS_148
from ocop.warehouse import schema as s
from ocop.warehouse.bulk import read_frame

CLASS_COLUMNS = list(s.RATING_COLUMNS.values())
PROVINCE_COLUMNS = ["province_code", "province_name", *CLASS_COLUMNS, "total", "share_pct"]
NATIONAL_NAME = "Toàn quốc"
OWNER_TYPE_NAMES = {"HTX": "Hợp tác xã", "DN": "Doanh nghiệp", "THT": "Tổ hợp tác", "HKD": "Hộ kinh doanh"}
UNKNOWN = "không rõ"


@dataclass(frozen=True)
class Counts:
    as_of: date
    by_province_class: pd.DataFrame   # PROVINCE_COLUMNS, 34 rows
    by_group: pd.DataFrame            # group_code, group_name, n, share_pct
    by_owner_type: pd.DataFrame       # owner_type, owner_type_name, n, share_pct
    national: dict                    # stars_3, stars_4, potential_5, stars_5, total

    def with_national(self) -> pd.DataFrame:
        """``by_province_class`` plus the national line (``VN``, ``Toàn quốc``)."""
        total = self.national["total"]
        line = {"province_code": s.NATIONAL, "province_name": NATIONAL_NAME, **self.national,
                "share_pct": 100.0 if total else None}
        return pd.concat([self.by_province_class, pd.DataFrame([line])], ignore_index=True)


def _as_of(as_of: date) -> sa.ColumnElement:
    return sa.literal(as_of, sa.Date)


def _share(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(share_pct=pd.to_numeric(df["share_pct"]).astype(float))


def counts_as_of(engine: Engine, as_of: date) -> Counts:
    """The official counts on ``as_of``: by province x class, by group, by owner type."""
    with engine.connect() as conn:
        provinces = read_frame(conn, s.counts_by_province_class(_as_of(as_of)))
        groups = read_frame(conn, s.counts_by("group_code", _as_of(as_of)))
        owners = read_frame(conn, s.counts_by("owner_type", _as_of(as_of)))
    for col in [*CLASS_COLUMNS, "total"]:
        provinces[col] = provinces[col].astype(int)
    by_group = pd.DataFrame({"group_code": pd.array(groups["key"], dtype="Int64"),
                             "group_name": [GROUPS_148.get(k, UNKNOWN) for k in groups["key"]],
                             "n": groups["n"].astype(int), "share_pct": groups["share_pct"]})
    by_owner = pd.DataFrame({"owner_type": owners["key"],
                             "owner_type_name": [OWNER_TYPE_NAMES.get(k, UNKNOWN) for k in owners["key"]],
                             "n": owners["n"].astype(int), "share_pct": owners["share_pct"]})
    national = {c: int(provinces[c].sum()) for c in [*CLASS_COLUMNS, "total"]}
    return Counts(as_of, _share(provinces), _share(by_group), _share(by_owner), national)


def counts_csv(counts: Counts) -> str:
    return counts.with_national()[PROVINCE_COLUMNS].to_csv(index=False, float_format="%.1f")


def counts_json(counts: Counts) -> str:
    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records", force_ascii=False))

    return json.dumps({
        "as_of": counts.as_of.isoformat(),
        "national": counts.national,
        "by_province_class": records(counts.by_province_class),
        "by_group": records(counts.by_group),
        "by_owner_type": records(counts.by_owner_type),
    }, ensure_ascii=False, indent=2)


PROVINCE_HEADERS_VI = ["Mã tỉnh", "Tỉnh/thành phố", "3 sao", "4 sao", "Tiềm năng 5 sao", "5 sao",
                       "Tổng số", "Tỷ lệ (%)"]


def format_counts_table(counts: Counts) -> str:
    """Aligned plain-text table for a terminal, national line last."""
    df = counts.with_national()
    cells = [[str(r.province_code), str(r.province_name),
              *[f"{int(getattr(r, c)):,}" for c in [*CLASS_COLUMNS, "total"]],
              "" if pd.isna(r.share_pct) else f"{r.share_pct:.1f}"] for r in df.itertuples()]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(PROVINCE_HEADERS_VI)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    rule = "  ".join("-" * w for w in widths)
    title = f"Sản phẩm OCOP còn hiệu lực tính đến ngày {counts.as_of:%d/%m/%Y}"
    return "\n".join([title, line(PROVINCE_HEADERS_VI), rule, *map(line, cells[:-1]), rule, line(cells[-1])]) + "\n"


def export_links(engine: Engine) -> pd.DataFrame:
    """One line per kept (accepted/warned) source record of an accepted submission:
    ``product_id, province_code, file_name, sheet, row_number`` (the Excel row)."""
    rl, sr, sub = s.record_link, s.source_record, s.submission
    query = (sa.select(rl.c.product_id, sub.c.province_code, sub.c.file_name, sr.c.sheet,
                       sr.c.excel_row.label("row_number"))
             .join_from(rl, sr, sa.and_(rl.c.submission_id == sr.c.submission_id, rl.c.row_id == sr.c.row_id))
             .join(sub, sub.c.submission_id == sr.c.submission_id)
             .where(sub.c.outcome == s.ACCEPTED, sr.c.outcome.in_(s.ROW_KEPT))
             .order_by(sub.c.province_code, sub.c.file_name, sr.c.excel_row))
    with engine.connect() as conn:
        return read_frame(conn, query)


def registered_products(engine: Engine, province_code: str, before: date) -> pd.DataFrame:
    """Owner and product name of every product in ``province_code``'s register just before
    ``before`` (versions opened earlier and still open on that date)."""
    v = s.product_version
    query = (sa.select(v.c.owner, v.c.product_name)
             .where(v.c.province_code == province_code, v.c.valid_from < _as_of(before),
                    sa.or_(v.c.valid_to.is_(None), v.c.valid_to >= _as_of(before))))
    with engine.connect() as conn:
        return read_frame(conn, query)
