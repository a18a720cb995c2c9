"""Write a :class:`Submission` the way its province does: a grid of cells, then xlsx/xlsm/CSV.

``sheet_grid`` lays out the title block, the header (one row, or two under a merged
``Quyết định công nhận``), the data rows, the total row and the notes/signatures, and says on
which spreadsheet row the data starts (the truth's ``excel_row``). Values are written in the
layout's styles: ratings as ``3``/``3 sao``/``★★★``/``Ba sao``..., groups under Decision 148 or
1048 names, short forms or numbers, dates as real Excel dates, serial numbers or text.
Workbooks are written with openpyxl's write-only mode; a legacy-font layout has every text
cell turned into TCVN3/VNI mojibake with ``ocop.ingest.legacy.from_unicode``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ocop.generate.layout import DECISION_GROUP_TITLE, Layout
from ocop.generate.model import expiry
from ocop.generate.names import OWNER_TYPE_WORDS, STREET, place
from ocop.generate.submissions import Submission
from ocop.ingest.legacy import from_unicode
from ocop.reference.groups import GROUPS_148, GROUPS_1048, SHORT_FORMS
from ocop.reference.provinces import OLD_PROVINCES, PROVINCES

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DIGIT_WORD = {"3": "Ba", "4": "Bốn", "5": "Năm"}
_RATING = {
    "num": lambda s: int(s), "numtext": lambda s: s, "sao": lambda s: f"{s} sao",
    "star": lambda s: f"{s}*", "starchar": lambda s: f"{s}★", "stars": lambda s: "★" * int(s),
    "word": lambda s: f"{_DIGIT_WORD[s]} sao",
}
_POTENTIAL5 = ("Tiềm năng 5 sao", "4 sao (tiềm năng 5 sao)", "TN5S")
_DATE_TEXT = {"dmy": "%d/%m/%Y", "dmy_dash": "%d-%m-%Y", "dmy_dot": "%d.%m.%Y", "iso": "%Y-%m-%d"}
_LEVEL = {"central": "Trung ương", "provincial": "Tỉnh", "district": "Huyện"}
_STATUS = {"valid": "Còn hiệu lực", "expired": "Hết hạn", "revoked": "Thu hồi"}
_NOTES = ("Công nhận mới", "Công nhận lại", "Nâng hạng", "Đánh giá lại")


def _group_forms(code: int) -> dict[str, object]:
    name_1048 = next((n for n, c in GROUPS_1048.items() if c == code), GROUPS_148[code])
    short = next((n for n, c in SHORT_FORMS.items() if c == code), GROUPS_148[code])
    return {"148": GROUPS_148[code], "1048": name_1048, "short": short, "number": code}


_GROUP_FORMS = {code: _group_forms(code) for code in GROUPS_148}


@dataclass
class SheetGrid:
    rows: list[list[object]]
    merges: list[str] = field(default_factory=list)
    first_data_row: int = 1   # 1-based spreadsheet row of the first data row


def _date(d: pd.Timestamp, style: str, rng: np.random.Generator) -> object:
    day = d.date()
    if style == "mixed":
        style = "excel" if rng.random() < 0.6 else "dmy_short"
    if style == "excel":
        return day
    if style == "serial":
        return (day - _EXCEL_EPOCH).days
    if style == "dmy_short":
        return f"{day.day}/{day.month}/{day.year}"
    return day.strftime(_DATE_TEXT[style])


def _rating(cls: str, lay: Layout, rng: np.random.Generator) -> object:
    style = lay.rating_style
    if style == "mixed":
        style = list(_RATING)[rng.integers(len(_RATING))]
    if cls == "potential-5":
        if lay.has("potential5_raw"):
            cls = "4"
        else:
            return _POTENTIAL5[rng.integers(len(_POTENTIAL5))]
    return _RATING[style](cls)


def _group(code: int, lay: Layout, rng: np.random.Generator) -> object:
    style = lay.group_style
    if style == "mixed":
        style = ("148", "1048", "short", "number")[rng.integers(4)]
    return _GROUP_FORMS[code][style]


def _address(owner_id: int, old_code: str) -> str:
    h = owner_id * 7 + 3
    return f"{STREET[h % len(STREET)]} {h % 12 + 1}, xã {place(h)}, {OLD_PROVINCES[old_code].name}"


def _column(fld: str, sub: Submission, rng: np.random.Generator) -> list[object]:
    lay, rows, n = sub.layout, sub.rows, len(sub.rows)
    if fld == "row_number":
        return list(range(1, n + 1))
    if fld == "product_name":
        return rows["product"].tolist()
    if fld == "owner":
        return rows["owner"].tolist()
    if fld == "owner_type_raw":
        k = 1 if lay.owner_type_long else 0
        return [OWNER_TYPE_WORDS[t][k] for t in rows.owner_type]
    if fld == "address":
        return [_address(o, c) for o, c in zip(rows.owner_id, rows.old_code)]
    if fld == "province_raw":
        if lay.old_province_names:
            return [OLD_PROVINCES[c].name for c in rows.old_code]
        return [PROVINCES[c].short_name for c in rows.province]
    if fld == "group_raw":
        return [_group(g, lay, rng) for g in rows.group]
    if fld == "rating_raw":
        return [_rating(r, lay, rng) for r in rows.rating]
    if fld == "potential5_raw":
        return [lay.flag_word if r == "potential-5" else None for r in rows.rating]
    if fld == "decision_no_raw":
        if lay.combined_decision:
            return [f"{no} ngày {d.day}/{d.month}/{d.year}" for no, d in zip(rows.decision_no, rows.decision_date)]
        return rows.decision_no.tolist()
    if fld == "decision_date_raw":
        return [_date(d, lay.date_style, rng) for d in rows.decision_date]
    if fld == "issuing_level_raw":
        return [_LEVEL[v] for v in rows.level]
    if fld == "expiry_raw":
        style = "excel" if lay.date_style == "mixed" else lay.date_style
        return [_date(d, style, rng) for d in expiry(rows.decision_date)]
    if fld == "status_raw":
        expired = (expiry(rows.decision_date) <= pd.Timestamp(sub.snapshot)).to_numpy()
        return [_STATUS["expired" if e and s == "valid" else s] for s, e in zip(rows.status, expired)]
    if fld == "notes":
        return [_NOTES[rng.integers(len(_NOTES))] if rng.random() < 0.1 else None for _ in range(n)]
    return [None] * n


def data_cells(sub: Submission, rng: np.random.Generator) -> list[list[object]]:
    """The data rows of a submission as cell values, injected problems applied."""
    lay = sub.layout
    cols = [_column(f, sub, rng) for f in lay.fields]
    where = {f: i for i, f in enumerate(lay.fields)}
    for r, (fld, value) in enumerate(zip(sub.rows.set_field, sub.rows.set_value)):
        if fld:
            cols[where[fld]][r] = value
            if fld == "decision_date_raw" and "expiry_raw" in where:
                cols[where["expiry_raw"]][r] = None
    return [list(row) for row in zip(*cols)]


def _title(lay: Layout, snapshot: dt.date, width: int) -> tuple[list[list[object]], list[str]]:
    if not lay.title:
        return [], []
    p = PROVINCES[lay.code]
    kind = "THÀNH PHỐ" if p.name.startswith("Thành phố") else "TỈNH"
    heading = f"DANH SÁCH SẢN PHẨM OCOP {kind} {p.short_name.upper()} NĂM {snapshot.year}"
    as_of = (f"(Tính đến ngày {snapshot.day}/{snapshot.month}/{snapshot.year})",
             f"tính đến {snapshot:%d/%m/%Y}",
             f"Tính đến ngày {snapshot.day} tháng {snapshot.month} năm {snapshot.year}")[lay.title_form]
    last = get_column_letter(max(width, 2))
    pad = [None] * (width - 1)
    if lay.title_form == 0:
        office = [f"UBND {kind} {p.short_name.upper()}"] + pad
        return [office, [heading] + pad, [as_of] + pad, [None] * width], [f"A2:{last}2", f"A3:{last}3"]
    return [[heading] + pad, [as_of] + pad], [f"A1:{last}1", f"A2:{last}2"]


def _header(lay: Layout, top: int) -> tuple[list[list[object]], list[str]]:
    if not lay.decision_group:
        return [list(lay.headers)], []
    first, second, merges = [], [], []
    for i, (fld, text) in enumerate(zip(lay.fields, lay.headers)):
        col = get_column_letter(i + 1)
        if fld == "decision_no_raw":
            first.append(DECISION_GROUP_TITLE)
            merges.append(f"{col}{top}:{get_column_letter(i + 2)}{top}")
            second.append(text)
        elif fld == "decision_date_raw":
            first.append(None)
            second.append(text)
        else:
            first.append(text or None)
            second.append(None)
            if text:
                merges.append(f"{col}{top}:{col}{top + 1}")
    return [first, second], merges


def _tail(lay: Layout, n: int, width: int) -> list[list[object]]:
    rows: list[list[object]] = []
    if lay.total_row:
        total = [None] * width
        total[0] = "Tổng cộng" if n % 2 else "Cộng"
        total[1] = f"{n} sản phẩm"
        rows.append(total)
    if lay.footer:
        def line(*cells: tuple[int, str]) -> list[object]:
            row: list[object] = [None] * width
            for i, text in cells:
                row[min(i, width - 1)] = text
            return row
        rows += [[None] * width, line((0, f"Ghi chú: danh sách gồm {n} sản phẩm.")), [None] * width,
                 line((1, "Người lập biểu"), (width - 2, "GIÁM ĐỐC")),
                 line((1, "Nguyễn Thị Lan"), (width - 2, "Trần Văn Hùng"))]
    return rows


def sheet_grid(sub: Submission, rng: np.random.Generator) -> SheetGrid:
    """Every row of the data sheet, the merged ranges, and where the data starts."""
    lay = sub.layout
    width = len(lay.fields)
    title, merges = _title(lay, sub.snapshot, width)
    header, header_merges = _header(lay, len(title) + 1)
    data = data_cells(sub, rng)
    rows = title + header + data + _tail(lay, len(data), width)
    if lay.legacy:
        rows = [[from_unicode(v, lay.legacy) if isinstance(v, str) else v for v in r] for r in rows]
    return SheetGrid(rows, merges + header_merges, len(title) + len(header) + 1)


_LEAD_SHEET = ["HƯỚNG DẪN", "Mỗi dòng là một sản phẩm OCOP còn hiệu lực.",
               "Danh sách ở trang tiếp theo."]


def _write_workbook(path: Path, lay: Layout, grid: SheetGrid) -> None:
    wb = Workbook(write_only=True)
    if lay.lead_sheet:
        lead = wb.create_sheet("Hướng dẫn")
        for line in _LEAD_SHEET:
            lead.append([from_unicode(line, lay.legacy) if lay.legacy else line])
    ws = wb.create_sheet(lay.sheet)
    for row in grid.rows:
        ws.append(row)
    for rng_ in grid.merges:
        ws.merged_cells.add(rng_)
    wb.save(path)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258_form(ch: str) -> str:
    """A character as Windows-1258 spells it: precomposed base letter, combining tone mark."""
    try:
        ch.encode("cp1258")
        return ch
    except UnicodeEncodeError:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        return base + "".join(c for c in parts if c in _TONES)


def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese text in Windows-1258 (tones as combining marks, as Windows does)."""
    text = unicodedata.normalize("NFC", text)
    return text.translate({ord(ch): _cp1258_form(ch) for ch in set(text)}).encode("cp1258")


def _write_csv(path: Path, lay: Layout, grid: SheetGrid) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(
        ["" if v is None else v for v in row] for row in grid.rows)
    text = buf.getvalue()
    path.write_bytes(to_cp1258(text) if lay.encoding == "cp1258" else text.encode(lay.encoding))


def write(sub: Submission, inbox: Path, rng: np.random.Generator) -> SheetGrid:
    """Write the submission under ``inbox/<code>/``; returns its grid (for the ground truth)."""
    grid = sheet_grid(sub, rng)
    path = inbox / sub.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if sub.layout.fmt == "csv":
        _write_csv(path, sub.layout, grid)
    else:
        _write_workbook(path, sub.layout, grid)
    return grid
