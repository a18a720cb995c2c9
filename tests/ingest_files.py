"""Builders for small register files in the layouts provinces really send (test corpus code)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

HEADER = ["STT", "Tên sản phẩm", "Chủ thể", "Nhóm sản phẩm", "Hạng sao", "Số quyết định", "Ngày quyết định", "Tỉnh/Thành phố"]
ROWS = [
    [1, "Mật ong bạc hà", "HTX Mật ong Mèo Vạc", "Thực phẩm", "4 sao", "1234/QĐ-UBND", dt.datetime(2024, 5, 12), "Hà Giang"],
    [2, "Chè Shan tuyết", "Công ty TNHH Chè Hà Giang", "Đồ uống", "★★★", "567/QĐ-UBND", "03/07/2023", "Tuyên Quang"],
    [3, "Cao dược liệu", "Hộ kinh doanh Lý Văn A", "Thảo dược", "Tiềm năng 5 sao", "89/QĐ-UBND", 45292, "Tỉnh Tuyên Quang"],
]


def write_xlsx(path: Path, header=HEADER, rows=ROWS, title=True, total=True, notes=True, two_row=False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    if title:
        ws.append(["DANH SÁCH SẢN PHẨM OCOP TỈNH TUYÊN QUANG NĂM 2025"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append(["(Tính đến ngày 30/6/2025)"])
        ws.append([])
    if two_row:
        top = [h if h not in ("Số quyết định", "Ngày quyết định") else None for h in header]
        i = header.index("Số quyết định")
        top[i] = "Quyết định công nhận"
        ws.append(top)
        ws.append([("Số" if h == "Số quyết định" else "Ngày" if h == "Ngày quyết định" else None) for h in header])
    else:
        ws.append(header)
    for r in rows:
        ws.append(r)
    if total:
        ws.append(["Tổng cộng", None, None, None, None, None, None, None])
    if notes:
        ws.append([])
        ws.append([None, "Người lập biểu", None, None, "GIÁM ĐỐC"])
        ws.append([None, "Nguyễn Văn B"])
    wb.save(path)
    return path


# Valid rows for the register template of ``ocop template`` (its columns, in order), province 01:
# one per rating class, product group, owner type and issuing level, as the drop-downs write them.
TEMPLATE_ROWS = [
    [1, "Trà hoa vàng", "Hợp tác xã Trà Sóc Sơn", "Hợp tác xã", "Xã Sóc Sơn", "Hà Nội", "Đồ uống", "4 sao",
     "1234/QĐ-UBND", dt.date(2024, 5, 12), "Tỉnh", None, "Còn hiệu lực", None],
    [2, "Miến dong", "Công ty TNHH Miến Việt", "Doanh nghiệp", None, "Thành phố Hà Nội", "Thực phẩm", "5 sao",
     "56/QĐ-BNN-VPĐP", dt.date(2025, 3, 1), "Trung ương", dt.date(2028, 3, 1), "Còn hiệu lực", "đạt 5 sao"],
    [3, "Mây tre đan", "Tổ hợp tác Mây tre Phú Vinh", "Tổ hợp tác", None, None, "Hàng thủ công mỹ nghệ", "3 sao",
     "77/QĐ-UBND", dt.date(2023, 6, 1), "Huyện", None, None, None],
    [4, "Lan hồ điệp", "Hộ kinh doanh Nguyễn Văn An", "Hộ kinh doanh", None, None, "Sinh vật cảnh",
     "Tiềm năng 5 sao", "88/QĐ-UBND", dt.date(2025, 7, 2), "Tỉnh", None, None, None],
    [5, "Cao actiso", "Hợp tác xã Dược liệu Ba Vì", "Hợp tác xã", None, None, "Dược liệu và sản phẩm từ dược liệu",
     "4 sao", "99/QĐ-UBND", dt.date(2024, 1, 15), "Tỉnh", None, None, None],
    [6, "Làng cổ Đường Lâm", "Hợp tác xã Du lịch Đường Lâm", "Hợp tác xã", None, None,
     "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch", "3 sao", "100/QĐ-UBND",
     dt.date(2023, 9, 9), "Tỉnh", None, None, None],
]


def fill_template(template: Path, out: Path, rows=TEMPLATE_ROWS, snapshot: dt.date | None = dt.date(2025, 12, 31)) -> Path:
    """The template of ``ocop template`` filled as a province would: the snapshot date in its
    cell, then ``rows`` under the header (through openpyxl, the template's styles kept)."""
    from ocop.template import DATA_SHEET, DATE_CELL, HEADER_ROW

    wb = openpyxl.load_workbook(template)
    ws = wb[DATA_SHEET]
    if snapshot is not None:
        ws[DATE_CELL] = snapshot
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.cell(HEADER_ROW + 1 + i, 1 + j, value)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
