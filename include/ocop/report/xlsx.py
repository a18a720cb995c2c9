"""``report.xlsx``: the Vietnamese error report a provincial office can act on.

Two sheets:

- **Tóm tắt** (summary): the file, province, snapshot date, sha256, rows received /
  accepted / with warnings / rejected, rows per rule with the rule's message and fix, the
  file-level outcome and reason, and what to do next.
- **Dữ liệu** (data): the rows as sent, in file order: the Excel row number, every raw cell
  under its original header (``raw_json``), a status (Hợp lệ / Cảnh báo / Bị loại) and the
  list of problems. Offending cells are filled red (reject) or amber (warning) and carry a
  comment with the message and the fix; header frozen, auto filter on.

The sheets are laid out once as rows of plain values and :class:`Styled` cells, then written
straight as SpreadsheetML (``engine="direct"``, the default: :mod:`ocop.report.xlsx_direct`,
streamed in chunks), at a fifth of XlsxWriter's CPU on the national sample's reports.
``engine="xlsxwriter"`` writes the same cells with XlsxWriter: read back by openpyxl and
calamine the two are cell for cell the same, and LibreOffice Calc, an office suite that is
not ours, reads the direct writer's 69 national reports exactly as it reads XlsxWriter's
(``tests/test_report_writers.py``, ``bench/report_writers.py --office``). openpyxl's
write-only mode (``engine="openpyxl"``) stays for the benchmark, which measures the three
(figures in bench/results.md).

Submitted text is never written as a formula: strings starting with ``= + - @`` (or tab /
CR) are stored as text cells, and characters XML cannot hold are dropped.

The parser gives each column's header text by column letter (``header_labels``) and each
field's column (``columns``), so offending cells are placed exactly. For a submission without
them, the header of each field is recognised by value: the header whose cells equal the
field's values on most sampled (non legacy-converted) rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ocop.reference.provinces import PROVINCES
from ocop.validate.rules import FIELD_LABELS_VI, LEVEL_VI, rule

FILLS = {"reject": "FFC7CE", "warning": "FFEB9C", "header": "DDEBF7"}  # solid fill colours (RGB)
STATUS_VI = {"accepted": "Hợp lệ", "warning": "Cảnh báo", "rejected": "Bị loại"}
_BOLD = "bold"
_TITLE = "title"  # bold, 14 pt
_HEADER_FILL = "header"
_SAMPLE_ROWS = 200  # rows sampled to recognise each field's header
_MAX_WIDTH = 60
_IN_MEMORY_CELLS = 200_000  # larger reports are written in XlsxWriter's constant-memory mode
_COMMENT_SIZE = (320, 140)  # px
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # openpyxl would write these as formulas
# Characters an XML 1.0 document cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class Styled(NamedTuple):
    """A cell with a fill (a :data:`FILLS` key), a comment, a font (:data:`_BOLD` / :data:`_TITLE`)
    or wrapped text."""

    value: object
    fill: str | None = None
    comment: str | None = None
    font: str | None = None
    wrap: bool = False


@dataclass
class Sheet:
    """A sheet laid out: its rows (plain values or :class:`Styled`), column widths by 1-based
    column number, frozen panes (cell) and auto-filter range."""

    title: str
    widths: dict[int, float] = field(default_factory=dict)
    rows: list[list] = field(default_factory=list)
    freeze: str | None = None
    auto_filter: str | None = None


def _clean(value: object) -> object:
    return _ILLEGAL.sub("", value) if isinstance(value, str) else value


def _cell(value: object, *, fill: str | None = None, comment: str | None = None, font: str | None = None,
          wrap: bool = False) -> object:
    """A value of a row: a :class:`Styled` cell when it has a style, else the plain value.
    (Text is always written as text, never as a formula, whatever it starts with.)"""
    value = _clean(value)
    if not (fill or comment or font or wrap):
        return value
    return Styled(value, fill, _clean(comment) if comment else None, font, wrap)


def get_column_letter(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _date_vi(iso: str | None) -> str:
    if not iso:
        return "(không xác định)"
    y, m, d = iso[:10].split("-")
    return f"{d}/{m}/{y}"


def _province_vi(code: str) -> str:
    p = PROVINCES.get(code)
    return f"{p.name} (mã {code})" if p else code


def _next_steps(v) -> str:
    if v.file_outcome == "rejected":
        fix = rule(v.file_rule).fix_vi
        return f"Toàn bộ tệp chưa được tiếp nhận. {fix}"
    if v.counts["rejected"]:
        return ("Các dòng hợp lệ đã được tiếp nhận. Sửa các ô tô đỏ trong trang “Dữ liệu” "
                "(di chuột vào ô để xem hướng dẫn) và gửi lại toàn bộ danh sách trong lần cập nhật tới.")
    if v.counts["warned"]:
        return "Tệp đã được tiếp nhận. Vui lòng xem các ô tô vàng trong trang “Dữ liệu” và điều chỉnh ở lần gửi sau."
    return "Tệp đã được tiếp nhận đầy đủ, không cần làm gì thêm."


def _summary_sheet(v) -> Sheet:
    ws = Sheet("Tóm tắt", widths=dict(zip(range(1, 6), (34, 14, 12, 70, 70))))
    p, c = v.parsed, v.counts
    ws.rows.append([_cell("BÁO CÁO KIỂM TRA DANH SÁCH SẢN PHẨM OCOP", font=_TITLE)])
    ws.rows.append([])
    outcome = "Được tiếp nhận" if v.file_outcome == "accepted" else "Bị từ chối (không tiếp nhận tệp)"
    facts = [
        ("Tệp", p.file_name), ("Tỉnh/Thành phố gửi", _province_vi(p.province_code)),
        ("Mã lần nộp", p.submission_id), ("Ngày chốt số liệu", _date_vi(getattr(p, "snapshot_date", None))),
        ("Trang tính", getattr(p, "sheet", None)), ("SHA-256", p.sha256), ("Kết quả", outcome),
    ]
    if v.file_rule:
        facts += [("Lý do", v.file_message_vi), ("Chi tiết kỹ thuật", v.file_detail),
                  ("Cách khắc phục", rule(v.file_rule).fix_vi)]
    facts += [("Số dòng nhận được", c["received"]), ("Hợp lệ", c["accepted"]),
              ("Hợp lệ có cảnh báo", c["warned"]), ("Bị loại", c["rejected"])]
    if kept := _kept_rows(v):
        facts.append((KEPT_LABEL_VI, f"{len(kept)} dòng ({', '.join(map(str, kept[:50]))}"
                                     f"{', …' if len(kept) > 50 else ''}): {KEPT_NOTE_VI}"))
    facts.append(("Việc cần làm tiếp theo", _next_steps(v)))
    for label, value in facts:
        if value is not None:
            ws.rows.append([_cell(label, font=_BOLD), _cell(value)])
    ws.rows.append([])
    ws.rows.append([_cell(h, font=_BOLD, fill=_HEADER_FILL) for h in ("Mã lỗi", "Mức", "Số dòng", "Nội dung", "Cách sửa")])
    for code, n in c["by_rule"].items():
        r = rule(code)
        ws.rows.append([code, LEVEL_VI[r.level], n, _cell(r.message_vi, wrap=True), _cell(r.fix_vi, wrap=True)])
    return ws


KEPT_LABEL_VI = "Dòng bị loại nhưng sản phẩm vẫn được giữ"
KEPT_NOTE_VI = ("sản phẩm đã có trong danh sách được tiếp nhận lần trước nên vẫn được giữ theo thông tin lần "
                "trước; hãy sửa dòng này để cập nhật.")


def _kept_rows(v) -> list[int]:
    """Excel rows of the rejected rows whose product stays registered from the last snapshot."""
    kept = set(getattr(v, "kept_from_previous", ()) or ())
    return [int(x) for r, x in zip(v.records["row_id"], v.records["excel_row"]) if int(r) in kept] if kept else []


# A character XML cannot hold, as json.dumps escapes it (\b and \f are two of them).
_ESCAPED_ILLEGAL = re.compile(r"\\u00(?:0[0-8bcef]|1[0-9a-f])|\\[bf]", re.IGNORECASE)


def _raw_rows(records: pd.DataFrame) -> list[dict]:
    """Each row's raw cells; cleaned of characters XML cannot hold (only rows that have one)."""
    out = []
    for s in records["raw_json"]:
        row = json.loads(s) if isinstance(s, str) and s else {}
        if row and _ESCAPED_ILLEGAL.search(s):
            row = {k: _clean(x) for k, x in row.items()}
        out.append(row)
    return out


def _header_order(raw_rows: list[dict]) -> list[str]:
    """Every header in sheet order: each row's keys are in column order; a header first seen
    in a later row goes right after its left neighbour in that row."""
    order: list[str] = []
    for keys in {tuple(r): None for r in raw_rows}:
        prev = None
        for k in keys:
            if k not in order:
                order.insert(order.index(prev) + 1 if prev is not None else 0, k)
            prev = k
    return order


def _field_headers(records: pd.DataFrame, raw_rows: list[dict], fields) -> dict[str, str]:
    """Field -> the header whose cells hold that field's values (see the module docstring)."""
    plain = records["legacy_encoding"].isna().to_numpy() if "legacy_encoding" in records else None
    positions = [i for i in range(len(records)) if plain is None or plain[i]][:_SAMPLE_ROWS]
    found = {}
    for f in fields:
        if f not in records:
            continue
        values = records[f].to_numpy()
        votes = Counter(h for i in positions if isinstance(values[i], str)
                        for h, x in raw_rows[i].items() if x == values[i])
        if votes:
            found[f] = votes.most_common(1)[0][0]
    return found


def _issue_map(v, field_header: dict[str, str]):
    """row_id -> ({header: (severity, comment)}, [problem lines])."""
    cells: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    lines: dict[int, list[str]] = defaultdict(list)
    for row_id, code, fld, sev, msg in v.issues[["row_id", "rule", "field", "severity", "message_vi"]].itertuples(
            index=False):
        lines[row_id].append(f"{code}: {msg}")
        header = field_header.get(fld) if isinstance(fld, str) else None
        if header is None:
            continue
        note = f"{code}: {msg}\nCách sửa: {rule(code).fix_vi}"
        old_sev, old_note = cells[row_id].get(header, (sev, None))
        worst = "reject" if "reject" in (sev, old_sev) else "warning"
        cells[row_id][header] = (worst, f"{old_note}\n\n{note}" if old_note else note)
    return cells, lines


def _widths(headers: list[str], raw_rows: list[dict]) -> list[float]:
    sample = raw_rows[:_SAMPLE_ROWS]
    return [min(_MAX_WIDTH, max([len(h)] + [len(str(r.get(h, ""))) for r in sample]) + 2) for h in headers]


def _data_sheet(v) -> Sheet:
    ws = Sheet("Dữ liệu")
    records = v.records
    raw_rows = _raw_rows(records)
    labels = getattr(v.parsed, "header_labels", None) or {}
    columns = getattr(v.parsed, "columns", None) or {}
    if labels:  # the parser knows each column's header: lay the sheet out exactly as sent
        headers = list(dict.fromkeys(labels.values()))
        field_header = {f: labels[letter] for f, letter in columns.items() if letter in labels}
    else:
        headers = _header_order(raw_rows)
        field_header = _field_headers(records, raw_rows, FIELD_LABELS_VI)
    cells, lines = _issue_map(v, field_header)

    all_headers = ["Dòng", *headers, "Trạng thái", "Lỗi"]
    ws.widths = dict(enumerate([8, *_widths(headers, raw_rows), 12, 80], start=1))
    ws.freeze = "B2"
    ws.auto_filter = f"A1:{get_column_letter(len(all_headers))}{len(records) + 1}"
    ws.rows.append([_cell(h, font=_BOLD, fill=_HEADER_FILL) for h in all_headers])

    kept = set(getattr(v, "kept_from_previous", ()) or ())
    for row_id, excel_row, outcome, raw in zip(records["row_id"], records["excel_row"], records["outcome"], raw_rows):
        if row_id in kept:
            lines[row_id].append(f"Lưu ý: {KEPT_NOTE_VI}")
        marks = cells.get(row_id, {})
        row = [int(excel_row)]
        if marks:
            for h in headers:
                sev, note = marks.get(h, (None, None))
                row.append(Styled(raw.get(h), sev, _clean(note)) if sev else raw.get(h))
        else:
            row.extend(raw.get(h) for h in headers)
        row.append(_cell(STATUS_VI[outcome], fill={"rejected": "reject", "warning": "warning"}.get(outcome)))
        row.append(_clean("\n".join(lines.get(row_id, ()))))
        ws.rows.append(row)
    return ws


def sheets(validated) -> list[Sheet]:
    """The report's sheets, laid out (what either writer writes)."""
    return [_summary_sheet(validated), *([_data_sheet(validated)] if len(validated.records) else [])]


def write_xlsx(validated, path: Path, engine: str = "direct") -> Path:
    """Write ``report.xlsx`` for one validated submission (or file-level rejection)."""
    return write_sheets(sheets(validated), path, engine)


def write_sheets(laid_out: list[Sheet], path: Path, engine: str = "direct") -> Path:
    """Write sheets laid out by :func:`sheets` as ``path``."""
    {"direct": _write_direct, "xlsxwriter": _write_xlsxwriter, "openpyxl": _write_openpyxl}[engine](laid_out, path)
    return path


def _write_direct(laid_out: list[Sheet], path: Path) -> None:
    """SpreadsheetML written straight (:mod:`ocop.report.xlsx_direct`), the same cells as XlsxWriter's."""
    from ocop.report import xlsx_direct

    xlsx_direct.write(laid_out, path, styled_type=Styled, fills=FILLS, bold=_BOLD, title=_TITLE,
                      comment_size=_COMMENT_SIZE)


def _write_xlsxwriter(laid_out: list[Sheet], path: Path) -> None:
    import xlsxwriter

    cells = sum(len(row) for sheet in laid_out for row in sheet.rows)
    # Small reports in memory (no temporary files: creating and removing them cost more than
    # the writing here); large ones streamed row by row to keep memory flat.
    mode = {"in_memory": True} if cells <= _IN_MEMORY_CELLS else {"constant_memory": True}
    wb = xlsxwriter.Workbook(str(path), {**mode, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    formats: dict[tuple, object] = {}

    def fmt(c: Styled):
        key = (c.fill, c.font, c.wrap)
        if key not in formats:
            spec = {}
            if c.fill:
                spec.update(pattern=1, bg_color="#" + FILLS[c.fill])
            if c.font:
                spec.update(bold=True, **({"font_size": 14} if c.font == _TITLE else {}))
            if c.wrap:
                spec.update(text_wrap=True, valign="top")
            formats[key] = wb.add_format(spec) if spec else None
        return formats[key]

    width, height = _COMMENT_SIZE
    for sheet in laid_out:
        ws = wb.add_worksheet(sheet.title)
        for col, w in sheet.widths.items():
            ws.set_column(col - 1, col - 1, w)
        if sheet.freeze:
            ws.freeze_panes(sheet.freeze)
        if sheet.auto_filter:
            ws.autofilter(sheet.auto_filter)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                f = None
                if isinstance(value, Styled):
                    f = fmt(value)
                    if value.comment:
                        ws.write_comment(r, c, value.comment, {"author": "OCOP", "x_scale": width / 128,
                                                                "y_scale": height / 74})
                    value = value.value
                if value is None or value == "":
                    if f is not None:
                        ws.write_blank(r, c, None, f)
                elif isinstance(value, str):
                    ws.write_string(r, c, value, f)
                elif isinstance(value, bool):
                    ws.write_boolean(r, c, value, f)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value, f)
                else:
                    ws.write_string(r, c, str(value), f)
    wb.close()


def _write_openpyxl(laid_out: list[Sheet], path: Path) -> None:
    """The same sheets in openpyxl's write-only mode (the former writer; kept to measure against)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    fills = {k: PatternFill("solid", fgColor=v) for k, v in FILLS.items()}
    fonts = {_BOLD: Font(bold=True), _TITLE: Font(bold=True, size=14)}
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook(write_only=True)
    for sheet in laid_out:
        ws = wb.create_sheet(sheet.title)
        for col, w in sheet.widths.items():
            ws.column_dimensions[get_column_letter(col)].width = w
        if sheet.freeze:
            ws.freeze_panes = sheet.freeze
        if sheet.auto_filter:
            ws.auto_filter.ref = sheet.auto_filter
        for row in sheet.rows:
            out = []
            for value in row:
                styled = isinstance(value, Styled)
                v = value.value if styled else value
                as_text = isinstance(v, str) and v.startswith(_FORMULA_START)
                if not (styled or as_text):
                    out.append(v)
                    continue
                c = WriteOnlyCell(ws, value=v)
                if as_text:
                    c.data_type = "s"  # text, never a formula
                if styled:
                    if value.fill:
                        c.fill = fills[value.fill]
                    if value.font:
                        c.font = fonts[value.font]
                    if value.wrap:
                        c.alignment = wrap
                    if value.comment:
                        c.comment = Comment(value.comment, "OCOP", width=_COMMENT_SIZE[0], height=_COMMENT_SIZE[1])
                out.append(c)
            ws.append(out)
    wb.save(path)
