"""Small ``ParsedSubmission``-shaped objects built by hand, for tests and examples.

``make_parsed([{"product_name": "Mật ong", ...}, ...])`` takes the cells of each row as a
province types them (the raw fields, the keys of ``FIELD_LABELS_VI``; ``None`` for a blank cell)
over a valid default row, and derives every parsed field (rating class, group code, dates,
expiry, issuing level, owner type, row province, status) from them with the parser's own value
parsing (``ocop.ingest.parse._parse_values``), so a row can never hold a parsed value its cells
contradict. Only what the parser decides about the whole text, ``legacy_encoding`` and
``legacy_failed``, may be given directly. The raw cells (``raw_json``) sit under typical
Vietnamese headers, and ``header_labels`` / ``columns`` name them by column letter as the parser
does, so reports take the same layout branch as for a real file. (Tests about the real path
start from a real file: tests/test_report_real_layout.py.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from ocop.ingest.parse import RAW_FIELDS, _parse_values
from ocop.validate.rules import FIELD_LABELS_VI

# Raw field -> (header as offices write it, column letter) of the hand-made sheet.
HEADERS = {
    "product_name": ("Tên sản phẩm", "B"), "owner": ("Chủ thể", "C"), "province_raw": ("Tỉnh", "D"),
    "group_raw": ("Nhóm sản phẩm", "E"), "rating_raw": ("Hạng sao", "F"),
    "decision_no_raw": ("Số quyết định", "G"), "decision_date_raw": ("Ngày quyết định", "H"),
    "issuing_level_raw": ("Cấp công nhận", "I"), "owner_type_raw": ("Loại hình", "J"),
    "expiry_raw": ("Ngày hết hạn", "K"), "status_raw": ("Tình trạng", "L"), "notes": ("Ghi chú", "M"),
}

# The cells of a valid row (a provincial 4-star decision of 12/5/2024, owner type given).
DEFAULT_ROW = {
    "product_name": "Mật ong hoa nhãn", "owner": "HTX Nông nghiệp Hòa Bình", "group_raw": "Thực phẩm",
    "rating_raw": "4 sao", "decision_no_raw": "1234/QĐ-UBND", "decision_date_raw": "12/05/2024",
    "owner_type_raw": "HTX",
}
# Set by the parser from the whole text, not from a cell's value: may be given per row.
PARSER_FLAGS = {"legacy_encoding": None, "legacy_failed": False}


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
    # column letter -> header text, as the parser gives it; {} for a submission without it
    header_labels: dict[str, str] = field(default_factory=lambda: {c: h for h, c in sorted(HEADERS.values(),
                                                                                            key=lambda hc: hc[1])})
    legacy_encoding: str | None = None


def make_records(rows: list[dict], sheet: str = "Danh sách", first_excel_row: int = 5) -> pd.DataFrame:
    """A record frame: each dict overrides the cells of :data:`DEFAULT_ROW` (``None``: blank)."""
    raw_keys = set(FIELD_LABELS_VI) | set(RAW_FIELDS)
    for row in rows:
        if wrong := set(row) - raw_keys - set(PARSER_FLAGS):
            raise TypeError(f"make_records takes cells, not parsed fields: {sorted(wrong)}; "
                            "write the cell as sent and let the parser's value parsing derive them")
    full = [{**dict.fromkeys(raw_keys), **DEFAULT_ROW, **{k: v for k, v in row.items() if k not in PARSER_FLAGS}}
            for row in rows]
    columns = {f: [r[f] for r in full] for f in RAW_FIELDS}
    parsed = _parse_values(columns, {f: columns[f] for f in ("decision_date_raw", "expiry_raw")})
    frame = pd.DataFrame({f: pd.Series([r[f] for r in full], dtype=object) for f in sorted(raw_keys)})
    for f, values in parsed.items():
        frame[f] = values
    for flag, default in PARSER_FLAGS.items():
        frame[flag] = [row.get(flag, default) for row in rows]
    frame["legacy_encoding"] = frame["legacy_encoding"].astype(object)
    for flag in ("owner_type_inferred", "row_province_unresolved", "legacy_failed"):
        frame[flag] = frame[flag].astype(bool)
    frame.insert(0, "row_id", pd.array(range(len(full)), dtype="int64"))
    frame.insert(1, "sheet", sheet)
    frame.insert(2, "excel_row", pd.array(range(first_excel_row, first_excel_row + len(full)), dtype="int64"))
    frame["raw_json"] = [
        json.dumps({h: r[f] for f, (h, _) in HEADERS.items() if r.get(f) is not None}, ensure_ascii=False)
        for r in full]
    return frame


def make_parsed(rows: list[dict], **attrs) -> ParsedLike:
    """A ``ParsedSubmission``-like object holding :func:`make_records` of ``rows``."""
    return ParsedLike(records=make_records(rows, sheet=attrs.get("sheet", "Danh sách")), **attrs)
