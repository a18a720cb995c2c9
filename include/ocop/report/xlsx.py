"""``report.xlsx``: the Vietnamese error report a provincial office can act on.

Two sheets:

- **Tóm tắt** (summary): the file, province, snapshot date, sha256, rows received /
  accepted / with warnings / rejected, rows per rule with the rule's message and fix, the
  file-level outcome and reason, and what to do next.
- **Dữ liệu** (data): the rows as sent, in file order: the Excel row number, every raw cell
  under its original header (``raw_json``), a status (Hợp lệ / Cảnh báo / Bị loại) and the
  list of problems. Offending cells are filled red (reject) or amber (warning) and carry a
  comment with the message and the fix; header frozen, auto filter on.

The workbook is written in openpyxl's write-only (streaming) mode, which keeps 100k rows fast
and small in memory while still allowing fills and comments on individual cells.

Submitted text is never written as a formula: strings starting with ``= + - @`` (or tab /
CR) are stored as text cells, and characters XML cannot hold are dropped.

The parser gives each column's header text by column letter (``header_labels``) and each
field's column (``columns``), so offending cells are placed exactly. For a submission without
them, the header of each field is recognised by value: the header whose cells equal the
field's values on most sampled (non legacy-converted) rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ocop.reference.provinces import PROVINCES
from ocop.validate.rules import FIELD_LABELS_VI, LEVEL_VI, rule

FILLS = {"reject": PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C")}
STATUS_VI = {"accepted": "Hợp lệ", "warning": "Cảnh báo", "rejected": "Bị loại"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_SAMPLE_ROWS = 200  # rows sampled to recognise each field's header
_MAX_WIDTH = 60


def _clean(value: object) -> object:
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _cell(ws, value: object, *, fill: PatternFill | None = None, comment: str | None = None,
          font: Font | None = None, wrap: bool = False) -> object:
    """A value for ``ws.append``: a styled / text-forced cell when needed, else the plain value."""
    value = _clean(value)
    as_text = isinstance(value, str) and value.startswith(_FORMULA_START)
    if not (as_text or fill or comment or font or wrap):
        return value
    c = WriteOnlyCell(ws, value=value)
    if as_text:
        c.data_type = "s"  # text, never a formula
    if fill:
        c.fill = fill
    if font:
        c.font = font
    if wrap:
        c.alignment = _WRAP
    if comment:
        c.comment = Comment(_clean(comment), "OCOP", width=320, height=140)
    return c


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


def _summary_sheet(wb: Workbook, v) -> None:
    ws = wb.create_sheet("Tóm tắt")
    for col, width in zip("ABCDE", (34, 14, 12, 70, 70)):
        ws.column_dimensions[col].width = width
    p, c = v.parsed, v.counts
    ws.append([_cell(ws, "BÁO CÁO KIỂM TRA DANH SÁCH SẢN PHẨM OCOP", font=Font(bold=True, size=14))])
    ws.append([])
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
            ws.append([_cell(ws, label, font=_BOLD), _cell(ws, value)])
    ws.append([])
    ws.append([_cell(ws, h, font=_BOLD, fill=_HEADER_FILL) for h in ("Mã lỗi", "Mức", "Số dòng", "Nội dung", "Cách sửa")])
    for code, n in c["by_rule"].items():
        r = rule(code)
        ws.append([code, LEVEL_VI[r.level], n, _cell(ws, r.message_vi, wrap=True), _cell(ws, r.fix_vi, wrap=True)])


KEPT_LABEL_VI = "Dòng bị loại nhưng sản phẩm vẫn được giữ"
KEPT_NOTE_VI = ("sản phẩm đã có trong danh sách được tiếp nhận lần trước nên vẫn được giữ theo thông tin lần "
                "trước; hãy sửa dòng này để cập nhật.")


def _kept_rows(v) -> list[int]:
    """Excel rows of the rejected rows whose product stays registered from the last snapshot."""
    kept = set(getattr(v, "kept_from_previous", ()) or ())
    return [int(x) for r, x in zip(v.records["row_id"], v.records["excel_row"]) if int(r) in kept] if kept else []


def _raw_rows(records: pd.DataFrame) -> list[dict]:
    return [json.loads(s) if isinstance(s, str) and s else {} for s in records["raw_json"]]


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


def _data_sheet(wb: Workbook, v) -> None:
    ws = wb.create_sheet("Dữ liệu")
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
    for i, w in enumerate([8, *_widths(headers, raw_rows), 12, 80], start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(all_headers))}{len(records) + 1}"
    ws.append([_cell(ws, h, font=_BOLD, fill=_HEADER_FILL) for h in all_headers])

    kept = set(getattr(v, "kept_from_previous", ()) or ())
    for row_id, excel_row, outcome, raw in zip(records["row_id"], records["excel_row"], records["outcome"], raw_rows):
        if row_id in kept:
            lines[row_id].append(f"Lưu ý: {KEPT_NOTE_VI}")
        marks = cells.get(row_id, {})
        row = [int(excel_row)]
        for h in headers:
            sev, note = marks.get(h, (None, None))
            row.append(_cell(ws, raw.get(h), fill=FILLS.get(sev), comment=note))
        status_fill = FILLS.get({"rejected": "reject", "warning": "warning"}.get(outcome))
        row.append(_cell(ws, STATUS_VI[outcome], fill=status_fill))
        row.append(_cell(ws, "\n".join(lines.get(row_id, ()))))
        ws.append(row)


def write_xlsx(validated, path: Path) -> Path:
    """Write ``report.xlsx`` for one validated submission (or file-level rejection)."""
    wb = Workbook(write_only=True)
    _summary_sheet(wb, validated)
    if len(validated.records):
        _data_sheet(wb, validated)
    wb.save(path)
    return path
