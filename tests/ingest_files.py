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
