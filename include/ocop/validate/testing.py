"""Small ``ParsedSubmission``-shaped objects built by hand, for tests and examples.

``make_parsed([{"product_name": "Mật ong", ...}, ...])`` fills every record-frame column of
docs/architecture.md with a valid default, so a test states only what it is about. The raw
cells (``raw_json``) are rendered from the raw fields (the keys of ``FIELD_LABELS_VI``) under
typical Vietnamese headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from ocop.validate.rules import FIELD_LABELS_VI

# Raw field -> (header as offices write it, column letter) of the hand-made sheet.
HEADERS = {
    "product_name": ("Tên sản phẩm", "B"), "owner": ("Chủ thể", "C"), "province_raw": ("Tỉnh", "D"),
    "group_raw": ("Nhóm sản phẩm", "E"), "rating_raw": ("Hạng sao", "F"),
    "decision_no_raw": ("Số quyết định", "G"), "decision_date_raw": ("Ngày quyết định", "H"),
    "issuing_level_raw": ("Cấp công nhận", "I"), "owner_type_raw": ("Loại hình", "J"),
    "expiry_raw": ("Ngày hết hạn", "K"), "status_raw": ("Tình trạng", "L"), "notes": ("Ghi chú", "M"),
}

DEFAULT_ROW = {
    "product_name": "Mật ong hoa nhãn", "owner": "HTX Nông nghiệp Hòa Bình", "group_raw": "Thực phẩm",
    "rating_raw": "4 sao", "decision_no_raw": "1234/QĐ-UBND", "decision_date_raw": "2024-05-12",
    "rating_class": "4", "group_code": 1, "decision_no": "1234/QĐ-UBND", "decision_date": "2024-05-12",
    "expiry_date": "2027-05-12", "issuing_level": "provincial", "status": "valid", "owner_type": "HTX",
    "owner_type_inferred": False, "row_province_code": None, "row_province_unresolved": False,
    "legacy_encoding": None, "legacy_failed": False,
}


@dataclass
class ParsedLike:
    """The attributes of ``ocop.ingest.parse.ParsedSubmission`` that validation and reports use."""

    records: pd.DataFrame
    province_code: str = "01"
    file_name: str = "ocop_2025-06-30.xlsx"
    sha256: str = "0" * 64
    sheet: str = "Danh sách"
    snapshot_date: str = "2025-06-30"
    submission_id: str = "sub-1"
    columns: dict[str, str] = field(default_factory=lambda: {f: c for f, (_, c) in HEADERS.items()})
    legacy_encoding: str | None = None


def make_records(rows: list[dict], sheet: str = "Danh sách", first_excel_row: int = 5) -> pd.DataFrame:
    """A record frame: each dict overrides :data:`DEFAULT_ROW` (use ``None`` for a blank cell)."""
    full = [{**dict.fromkeys(FIELD_LABELS_VI), **DEFAULT_ROW, **row} for row in rows]
    frame = pd.DataFrame(full, dtype=object)
    frame.insert(0, "row_id", range(len(full)))
    frame.insert(1, "sheet", sheet)
    frame.insert(2, "excel_row", range(first_excel_row, first_excel_row + len(full)))
    frame["row_id"] = frame["row_id"].astype("int64")
    frame["excel_row"] = frame["excel_row"].astype("int64")
    frame["group_code"] = pd.array(frame["group_code"].tolist(), dtype="Int64")
    for flag in ("owner_type_inferred", "row_province_unresolved", "legacy_failed"):
        frame[flag] = frame[flag].astype(bool)
    frame["raw_json"] = [
        json.dumps({h: r[f] for f, (h, _) in HEADERS.items() if r.get(f) is not None}, ensure_ascii=False)
        for r in full]
    return frame


def make_parsed(rows: list[dict], **attrs) -> ParsedLike:
    """A ``ParsedSubmission``-like object holding :func:`make_records` of ``rows``."""
    return ParsedLike(records=make_records(rows, sheet=attrs.get("sheet", "Danh sách")), **attrs)
