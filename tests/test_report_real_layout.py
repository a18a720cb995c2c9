"""report.xlsx for real files: written by the corpus writers, read by ``parse_file``, validated,
reported, and read back with openpyxl the way a provincial office opens it.

The expected layout is written by hand: the data sheet has the file's own headers in the file's
own order, and exactly these cells are filled (red: the row is rejected for this cell; amber: a
warning) with a comment naming the rule, what is wrong and how to fix it. Every other cell has
no fill and no comment. Nothing here builds a parsed submission by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from corpus.build import Table, item, one_table_case
from corpus.cases import FOOTER, FOOTER_MERGES, TITLE, TITLE_MERGES
from corpus.writers import write_book
from ocop.ingest.parse import parse_file
from ocop.report import write_reports
from ocop.validate.run import validate

ARRIVED = dt.datetime(2025, 7, 5, 8, 30, tzinfo=dt.timezone.utc)
RED, AMBER = "FFC7CE", "FFEB9C"

COLS = [("stt", "STT"), ("name", "Tên sản phẩm"), ("owner", "Chủ thể"), ("type", "Loại hình"),
        ("group", "Nhóm sản phẩm"), ("rating", "Hạng sao"), ("no", "Số quyết định"), ("date", "Ngày quyết định"),
        ("prov", "Tỉnh/Thành phố"), ("note", "Ghi chú")]


def _row(stt, name, owner, otype, group, rating, no, date, prov, note=None):
    cells = {"stt": stt, "name": name, "owner": owner, "type": otype, "group": group, "rating": rating,
             "no": no, "date": date, "prov": prov, "note": note}
    return item({k: v for k, v in cells.items() if v is not None}, *([None] * 8))


# Seven products of Tuyên Quang (code 08), title block above (header on Excel row 6), total and
# signatures below. Rows 8, 9 and 11 are rejected (3 of 7: the file is accepted).
ITEMS = [
    _row(1, "Mật ong bạc hà Mèo Vạc", "HTX Mật ong Mèo Vạc", "HTX", "Thực phẩm", "4 sao", "1234/QĐ-UBND",
         "12/05/2024", "Hà Giang"),
    _row(2, "Chè Shan tuyết Hồng Thái", "Công ty TNHH Chè Hà Giang", "Doanh nghiệp", "Đồ uống", "6 sao",
         "567/QĐ-UBND", "03/07/2023", "Tuyên Quang"),
    _row(3, "Xe đạp tre Na Hang", "Hộ kinh doanh Lý Văn Páo", "Hộ kinh doanh", "Xe máy", "3 sao",
         "89/QĐ-UBND", "01/01/2024", "Tuyên Quang"),
    _row(4, "Miến dong Na Hang", "Tổ hợp tác Miến dong Hoà Phú", "Tổ hợp tác", "Thực phẩm", "3 sao",
         "QĐ 56", "01/02/2024", "Tuyên Quang", "Cấp lại"),
    _row(5, "Bánh chưng đen Lâm Bình", "HTX Bánh chưng Lâm Bình", "HTX", "Thực phẩm", "3 sao",
         "77/QĐ-UBND", "05/03/2024", "Đà Nẵng"),
    _row(6, "Khăn thổ cẩm Lũng Cú", "Cơ sở sản xuất Thổ cẩm Lũng Cú", "Hộ kinh doanh", "Thủ công mỹ nghệ",
         "5 sao", "1010/QĐ-BNN-VPĐP", "20/11/2024", "Hà Giang"),
    _row(7, "Cam sành Hàm Yên", "HTX Cam sành Hàm Yên", "HTX", "Thực phẩm", "4 sao", "12/QĐ-UBND",
         "10/10/2024", "Tuyên Quang"),
]
HEADERS = [label for _, label in COLS]
FIRST_ROW = 7

# Excel row -> {header: (fill, the comment's first line)}: the offending cells, by hand.
MARKED = {
    8: {"Hạng sao": (RED, "R_RATING_INVALID: Hạng sao không hợp lệ: chỉ chấp nhận 3, 4, 5 sao hoặc tiềm năng 5 sao.")},
    9: {"Nhóm sản phẩm": (RED, "R_GROUP_UNKNOWN: Nhóm sản phẩm không đúng danh mục theo Quyết định 148/QĐ-TTg.")},
    10: {"Số quyết định": (AMBER, "W_DECISION_NO_FORMAT: Số quyết định không theo mẫu thông thường “số/QĐ-…”.")},
    11: {"Tỉnh/Thành phố": (RED, "R_PROVINCE_MISMATCH: Cột Tỉnh/Thành phố ghi một tỉnh khác (hoặc không xác định "
                                 "được tỉnh) so với tỉnh gửi danh sách.")},
}
FIXES = {
    "R_RATING_INVALID": "Cách sửa: Ghi hạng sao là 3, 4 hoặc 5 (hoặc “Tiềm năng 5 sao”).",
    "R_GROUP_UNKNOWN": "Cách sửa: Ghi một trong các nhóm: Thực phẩm; Đồ uống;",
    "W_DECISION_NO_FORMAT": "Cách sửa: Ghi số quyết định theo mẫu, ví dụ 1234/QĐ-UBND.",
    "R_PROVINCE_MISMATCH": "Cách sửa: Chỉ gửi sản phẩm của tỉnh mình;",
}
STATUS = {7: "Hợp lệ", 8: "Bị loại", 9: "Bị loại", 10: "Cảnh báo", 11: "Bị loại", 12: "Hợp lệ", 13: "Hợp lệ"}
STATUS_FILL = {"Hợp lệ": None, "Bị loại": RED, "Cảnh báo": AMBER}

FORMATS = [("xlsx", "DS_OCOP_2025-06-30.xlsx"), ("xls", "DS_OCOP_2025-06-30.xls"),
           ("ods", "DS_OCOP_2025-06-30.ods"), ("csv:cp1258", "DS_OCOP_2025-06-30.csv")]


def _fill(cell) -> str | None:
    if cell.fill is None or cell.fill.fill_type != "solid":
        return None
    return cell.fill.fgColor.rgb[-6:]


def _report(tmp_path, fmt: str, name: str):
    table = Table(columns=COLS, items=ITEMS, title=TITLE, title_merges=TITLE_MERGES, footer=FOOTER,
                  footer_merges=FOOTER_MERGES)
    case = one_table_case(f"report-{fmt}", fmt, name, table, ("2025-06-30", "title"))
    path = write_book(case.book, tmp_path / name, fmt)
    parsed = parse_file(path, province_code="08", file_name=name, sha256="0" * 64, submission_id="08-report",
                        arrived_at=ARRIVED)
    paths = write_reports(validate(parsed), tmp_path / "reports" / "08")
    return load_workbook(paths["xlsx"])


@pytest.mark.parametrize("fmt,name", FORMATS, ids=[f for f, _ in FORMATS])
def test_real_file_report_marks_exactly_the_offending_cells(tmp_path, fmt, name):
    wb = _report(tmp_path, fmt, name)
    assert wb.sheetnames == ["Tóm tắt", "Dữ liệu"]
    ws = wb["Dữ liệu"]
    header = [c.value for c in ws[1]]
    assert header == ["Dòng", *HEADERS, "Trạng thái", "Lỗi"]
    rows = list(ws.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == list(range(FIRST_ROW, FIRST_ROW + len(ITEMS)))
    for r, it in zip(rows, ITEMS):
        excel_row = r[0].value
        marked = MARKED.get(excel_row, {})
        for (key, label), cell in zip(COLS, r[1:]):
            sent = it.cells.get(key)
            assert (cell.value if cell.value is None or key != "stt" else int(float(cell.value))) == sent, \
                (excel_row, label)
            want_fill, first_line = marked.get(label, (None, None))
            assert _fill(cell) == want_fill, (excel_row, label)
            if first_line is None:
                assert cell.comment is None, (excel_row, label, cell.comment.text)
            else:
                lines = cell.comment.text.splitlines()
                code = first_line.split(":", 1)[0]
                assert lines[0] == first_line and lines[1].startswith(FIXES[code]), cell.comment.text
        status, problems = r[len(COLS) + 1], r[len(COLS) + 2]
        assert status.value == STATUS[excel_row] and _fill(status) == STATUS_FILL[status.value]
        assert (problems.value or "") == "\n".join(line for _, line in marked.values())

    summary = {r[0].value: r[1].value for r in wb["Tóm tắt"].iter_rows() if r[0].value}
    assert (summary["Số dòng nhận được"], summary["Hợp lệ"], summary["Hợp lệ có cảnh báo"], summary["Bị loại"]) \
        == (7, 3, 1, 3)
    assert summary["Kết quả"] == "Được tiếp nhận" and summary["Ngày chốt số liệu"] == "30/06/2025"
    assert {code: summary[code] for code in FIXES} == {
        "R_RATING_INVALID": "Loại dòng", "R_GROUP_UNKNOWN": "Loại dòng", "R_PROVINCE_MISMATCH": "Loại dòng",
        "W_DECISION_NO_FORMAT": "Cảnh báo"}
