"""The register template a province fills in (``ocop template``): an ``.xlsx`` in Vietnamese.

- Sheet **Danh sách** (the register): a title block with the province and the snapshot date
  (``Tính đến ngày`` next to a date cell, which the parser reads as the title's date), the
  canonical header of submission-format.md (each field's first alias in
  :data:`ocop.reference.headers.ALIASES`), drop-down lists for the rating, product group,
  owner type, issuing level and status, date columns formatted and checked as dates, the
  header frozen and filters on. No example rows: what a province sends is only its own.
- Sheet **Hướng dẫn**: how to fill each column, with examples (one column per line, so the
  examples can never be read as a register).
- Sheet **Danh mục** (hidden): the values of the drop-down lists.

The drop-down values come from the tables the parser and the rules use
(:data:`ocop.validate.rules.RATING_LABELS_VI`, :data:`ocop.reference.groups.GROUPS_148`,
the label tables of :mod:`ocop.ingest.values`); :func:`dropdown_values` checks, when the
template is made, that each value parses back to its own class, so a value the parser would
reject never reaches a province.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ocop.ingest import values
from ocop.reference.groups import GROUPS_148, resolve_group
from ocop.reference.headers import ALIASES
from ocop.reference.provinces import PROVINCES
from ocop.validate.rules import PROGRAM_START, RATING_CLASSES, RATING_LABELS_VI, REQUIRED_FIELDS

DATA_SHEET, HELP_SHEET, LISTS_SHEET = "Danh sách", "Hướng dẫn", "Danh mục"
TITLE_ROW, DATE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3, 5
DATE_CELL = "C2"          # the snapshot date ("Tính đến ngày" in A2:B2)
FORM_ROWS = 5000          # rows under the header covered by the drop-downs and date checks
DATE_FORMAT = "DD/MM/YYYY"

# The columns, in order (the fields of submission-format.md; the address as one column, and
# "potential 5-star" as a value of the rating list rather than a second column).
FIELDS = ("row_number", "product_name", "owner", "owner_type_raw", "address", "province_raw", "group_raw",
          "rating_raw", "decision_no_raw", "decision_date_raw", "issuing_level_raw", "expiry_raw",
          "status_raw", "notes")
DATE_FIELDS = ("decision_date_raw", "expiry_raw")
WIDTHS = {"row_number": 6, "product_name": 34, "owner": 34, "owner_type_raw": 16, "address": 34,
          "province_raw": 16, "group_raw": 30, "rating_raw": 16, "decision_no_raw": 20,
          "decision_date_raw": 14, "issuing_level_raw": 14, "expiry_raw": 14, "status_raw": 14, "notes": 24}


def header_text(field: str) -> str:
    """The canonical header of a field: its first alias."""
    return ALIASES[field][0]


def _checked(field: str, labels: list[str], parse, classes) -> list[str]:
    got = [parse(v) for v in labels]
    if sorted(map(str, got)) != sorted(map(str, classes)):
        raise RuntimeError(f"the {field} drop-down {labels} parses to {got}, not to each of {list(classes)}")
    return labels


def dropdown_values() -> dict[str, list[str]]:
    """``{field: [value, ...]}`` of each drop-down list: one written form per class the parser
    accepts, each checked to parse back to its class."""
    return {
        "rating_raw": _checked("rating", [RATING_LABELS_VI[c] for c in RATING_CLASSES], values.parse_rating,
                               RATING_CLASSES),
        "group_raw": _checked("group", list(GROUPS_148.values()), resolve_group, list(GROUPS_148)),
        "owner_type_raw": _checked("owner type", [values.OWNER_TYPE_LABELS_VI[t] for t in values.OWNER_TYPES],
                                   values.parse_owner_type, values.OWNER_TYPES),
        "issuing_level_raw": _checked("issuing level",
                                      [values.ISSUING_LEVEL_LABELS_VI[x] for x in values.ISSUING_LEVELS],
                                      values.parse_issuing_level, values.ISSUING_LEVELS),
        "status_raw": _checked("status", [values.STATUS_LABELS_VI[x] for x in values.STATUSES],
                               values.parse_status, values.STATUSES),
    }


# How to fill each column (the instructions sheet): (what it holds, an example).
HELP_VI: dict[str, tuple[str, str]] = {
    "row_number": ("Số thứ tự (không bắt buộc).", "1"),
    "product_name": ("Tên sản phẩm đúng như trong quyết định công nhận.", "Trà hoa vàng Ba Chẽ"),
    "owner": ("Tên chủ thể, có loại hình ở đầu tên.", "Hợp tác xã Trà hoa vàng Ba Chẽ"),
    "owner_type_raw": ("Chọn trong danh sách. Để trống: suy ra từ tên chủ thể (có cảnh báo).", "Hợp tác xã"),
    "address": ("Địa chỉ của chủ thể (không bắt buộc).", "Thôn Làng Dạ, xã Ba Chẽ"),
    "province_raw": ("Để trống, hoặc ghi tên tỉnh/thành của mình (tên mới hoặc tên cũ trước sáp nhập).",
                     "Quảng Ninh"),
    "group_raw": ("Chọn một trong 6 nhóm theo Quyết định 148/QĐ-TTg.", "Đồ uống"),
    "rating_raw": ("Chọn 3 sao, 4 sao, 5 sao hoặc Tiềm năng 5 sao.", "4 sao"),
    "decision_no_raw": ("Số quyết định công nhận, theo mẫu số/QĐ-cơ quan.", "1234/QĐ-UBND"),
    "decision_date_raw": (f"Ngày quyết định, kiểu Ngày (ngày/tháng/năm), từ {dt.date.fromisoformat(PROGRAM_START):%d/%m/%Y} "
                          "và không sau ngày chốt số liệu.", "12/05/2024"),
    "issuing_level_raw": ("Chọn Trung ương, Tỉnh hoặc Huyện (Huyện: chỉ quyết định trước 01/07/2025). "
                          "Sản phẩm 5 sao do Trung ương công nhận. Để trống: suy ra từ số quyết định.", "Tỉnh"),
    "expiry_raw": ("Ngày hết hạn giấy chứng nhận (không bắt buộc; để trống: 36 tháng kể từ ngày quyết định).",
                   "12/05/2027"),
    "status_raw": ("Chọn trong danh sách (không bắt buộc; để trống: Còn hiệu lực).", "Còn hiệu lực"),
    "notes": ("Ghi chú (không bắt buộc).", ""),
}

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_THIN = Side(style="thin", color="9BA7B4")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _province_title(code: str | None) -> str:
    if code is None:
        return "DANH SÁCH SẢN PHẨM OCOP TỈNH/THÀNH PHỐ: ……………"
    p = PROVINCES[code]
    return f"DANH SÁCH SẢN PHẨM OCOP {p.name.upper()}"


def write_template(out: Path, province_code: str | None = None, snapshot_date: dt.date | None = None) -> Path:
    """Write the template to ``out`` (an .xlsx path; its folder is created)."""
    if province_code is not None and province_code not in PROVINCES:
        raise ValueError(f"not a 2025 province code: {province_code!r}")
    lists = dropdown_values()
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    last_col = get_column_letter(len(FIELDS))
    col = {f: get_column_letter(i + 1) for i, f in enumerate(FIELDS)}

    # title block
    ws.merge_cells(f"A{TITLE_ROW}:{last_col}{TITLE_ROW}")
    ws[f"A{TITLE_ROW}"] = _province_title(province_code)
    ws[f"A{TITLE_ROW}"].font = _TITLE
    ws[f"A{TITLE_ROW}"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A{DATE_ROW}:B{DATE_ROW}")
    ws[f"A{DATE_ROW}"] = "Tính đến ngày"
    ws[f"A{DATE_ROW}"].font = _BOLD
    ws[f"A{DATE_ROW}"].alignment = Alignment(horizontal="right")
    date_cell = ws[DATE_CELL]
    if snapshot_date is not None:
        date_cell.value = snapshot_date
    date_cell.number_format = DATE_FORMAT
    date_cell.fill = _INPUT_FILL
    date_cell.border = _BOX
    date_cell.font = _BOLD
    date_cell.comment = Comment("Ngày chốt số liệu của danh sách (ngày/tháng/năm). Bắt buộc nên ghi: "
                                "không có ngày này, ngày nhận tệp được dùng làm ngày chốt.", "OCOP")
    ws.merge_cells(f"A{NOTE_ROW}:{last_col}{NOTE_ROW}")
    ws[f"A{NOTE_ROW}"] = ("Cột tô cam là bắt buộc. Chọn giá trị trong danh sách thả xuống; ghi ngày theo "
                          "ngày/tháng/năm. Xem trang “Hướng dẫn”. Không sửa dòng tiêu đề cột.")
    ws[f"A{NOTE_ROW}"].alignment = Alignment(wrap_text=True)
    ws.row_dimensions[NOTE_ROW].height = 30

    # header
    required = set(REQUIRED_FIELDS) | {"decision_date_raw"}
    for f in FIELDS:
        c = ws[f"{col[f]}{HEADER_ROW}"]
        c.value = header_text(f)
        c.font = _BOLD
        c.alignment = _CENTRE
        c.border = _BOX
        c.fill = _REQUIRED_FILL if f in required else _HEADER_FILL
        c.comment = Comment(HELP_VI[f][0], "OCOP")
        ws.column_dimensions[col[f]].width = WIDTHS[f]
    ws.row_dimensions[HEADER_ROW].height = 32
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{HEADER_ROW + FORM_ROWS}"
    first, last = HEADER_ROW + 1, HEADER_ROW + FORM_ROWS

    # the drop-down values, on a hidden sheet (a list of values cannot hold commas inline)
    lw = wb.create_sheet(LISTS_SHEET)
    for j, (f, vals) in enumerate(lists.items(), start=1):
        letter = get_column_letter(j)
        lw[f"{letter}1"] = f"Danh mục: {header_text(f).lower()}"
        for i, v in enumerate(vals, start=2):
            lw[f"{letter}{i}"] = v
        lw.column_dimensions[letter].width = max(len(v) for v in vals) + 2
        dv = DataValidation(type="list", formula1=f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(vals) + 1}",
                            allow_blank=True, showDropDown=False, showErrorMessage=True, errorStyle="stop",
                            errorTitle="Giá trị không hợp lệ",
                            error=f"Chọn một giá trị trong danh sách “{header_text(f)}”.",
                            promptTitle=header_text(f), prompt="Chọn trong danh sách.", showInputMessage=True)
        dv.add(f"{col[f]}{first}:{col[f]}{last}")
        ws.add_data_validation(dv)
    lw.sheet_state = "hidden"

    # date columns: formatted and checked as dates from the programme's start
    start = dt.date.fromisoformat(PROGRAM_START)
    serial = str((start - dt.date(1899, 12, 30)).days)  # as Excel stores a date in a formula (1900 system)
    for f in DATE_FIELDS:
        ws.column_dimensions[col[f]].number_format = DATE_FORMAT
        dv = DataValidation(type="date", operator="greaterThanOrEqual", formula1=serial,
                            allow_blank=True, showErrorMessage=True, errorStyle="stop",
                            errorTitle="Ngày không hợp lệ",
                            error=f"Ghi một ngày (ngày/tháng/năm) từ {start:%d/%m/%Y} trở đi.",
                            promptTitle=header_text(f), prompt="Ngày/tháng/năm, ví dụ 12/05/2024.",
                            showInputMessage=True)
        dv.add(f"{col[f]}{first}:{col[f]}{last}")
        ws.add_data_validation(dv)
    dv = DataValidation(type="date", operator="greaterThanOrEqual", formula1=serial,
                        allow_blank=True, showErrorMessage=True, errorStyle="stop", errorTitle="Ngày không hợp lệ",
                        error="Ghi ngày chốt số liệu (ngày/tháng/năm).")
    dv.add(DATE_CELL)
    ws.add_data_validation(dv)
    for f in ("decision_no_raw",):
        ws.column_dimensions[col[f]].number_format = "@"  # "12/2024" must stay text, not become a date

    _help_sheet(wb, province_code, lists)
    wb.move_sheet(HELP_SHEET, offset=-1)  # Danh sách, Hướng dẫn, Danh mục (hidden)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _help_sheet(wb: Workbook, province_code: str | None, lists: dict[str, list[str]]) -> None:
    hs = wb.create_sheet(HELP_SHEET)
    hs.column_dimensions["A"].width = 24
    hs.column_dimensions["B"].width = 12
    hs.column_dimensions["C"].width = 70
    hs.column_dimensions["D"].width = 36
    where = PROVINCES[province_code].name if province_code else "tỉnh/thành của mình"
    lines = [
        ("HƯỚNG DẪN ĐIỀN DANH SÁCH SẢN PHẨM OCOP", _TITLE),
        (f"1. Trang “{DATA_SHEET}” là danh sách đầy đủ các sản phẩm OCOP còn giấy chứng nhận của {where} "
         "tại ngày chốt số liệu: mỗi sản phẩm một dòng, bắt đầu ngay dưới dòng tiêu đề cột.", None),
        (f"2. Ghi ngày chốt số liệu vào ô {DATE_CELL} (cạnh “Tính đến ngày”), kiểu ngày/tháng/năm.", None),
        ("3. Cột tô cam là bắt buộc. Các cột Loại hình chủ thể, Nhóm sản phẩm, Hạng sao, Cấp công nhận, "
         "Tình trạng: chọn trong danh sách thả xuống.", None),
        ("4. Không thêm dòng ví dụ, dòng tổng cộng hay ghi chú giữa các dòng dữ liệu; không sửa dòng tiêu đề cột.", None),
        ("5. Trước khi gửi, kiểm tra tệp: ocop check <tệp> (báo cáo report.xlsx chỉ rõ từng ô cần sửa).", None),
        ("", None),
    ]
    for text, font in lines:
        hs.append([text])
        if font:
            hs.cell(hs.max_row, 1).font = font
    hs.append(["Cột", "Bắt buộc", "Cách ghi", "Ví dụ"])
    for c in hs[hs.max_row]:
        c.font, c.fill, c.border = _BOLD, _HEADER_FILL, _BOX
    required = set(REQUIRED_FIELDS) | {"decision_date_raw"}
    for f in FIELDS:
        how, example = HELP_VI[f]
        if f in lists:
            how += " Danh sách: " + "; ".join(lists[f]) + "."
        hs.append([header_text(f), "có" if f in required else "", how, example])
        for c in hs[hs.max_row]:
            c.alignment, c.border = _WRAP, _BOX
