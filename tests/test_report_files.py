"""report.xlsx and report.json read back: highlights, comments, no formulas, own rows only."""

import json

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ocop.report import write_reports
from ocop.validate.run import file_rejected, validate
from ocop.validate.testing import make_parsed

FORMULAS = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2+3", "=1+1"]


def _rows(tag: str, n: int) -> list[dict]:
    return [{"product_name": f"{tag} sản phẩm {i}", "owner": f"HTX {tag} {i}"} for i in range(n)]


def _validated(tmp_path, labels=True):
    rows = _rows("HN", 3) + [
        {"product_name": "Chè", "owner": "HTX Chè", "rating_raw": "6 sao"},
        {"product_name": "Cà phê", "owner": "HTX Cà phê", "owner_type_raw": None},
        {"product_name": FORMULAS[0], "owner": FORMULAS[1], "notes": FORMULAS[2], "address": FORMULAS[3],
         "group_raw": FORMULAS[4]},
    ]
    v = validate(make_parsed(rows, **({} if labels else {"header_labels": {}})))
    return v, write_reports(v, tmp_path / "01" / "2025-06-30_ocop")


# With the parser's header_labels the sheet has every column as sent, in order (empty ones too);
# without them (a submission that lacks them) the headers are recognised from the cells.
LAYOUTS = {
    "header_labels": ["Dòng", "Tên sản phẩm", "Chủ thể", "Tỉnh", "Nhóm sản phẩm", "Hạng sao", "Số quyết định",
                      "Ngày quyết định", "Cấp công nhận", "Loại hình", "Ngày hết hạn", "Tình trạng", "Ghi chú",
                      "Trạng thái", "Lỗi"],
    "recognised": ["Dòng", "Tên sản phẩm", "Chủ thể", "Nhóm sản phẩm", "Hạng sao", "Số quyết định",
                   "Ngày quyết định", "Loại hình", "Ghi chú", "Trạng thái", "Lỗi"],
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_xlsx_highlights_comments_and_never_writes_formulas(tmp_path, layout):
    v, paths = _validated(tmp_path, labels=layout == "header_labels")
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Tóm tắt", "Dữ liệu"]
    ws = wb["Dữ liệu"]
    header = [c.value for c in ws[1]]
    assert header == LAYOUTS[layout]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == f"A1:{get_column_letter(len(header))}7"
    col = {h: i for i, h in enumerate(header)}
    rows = list(ws.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [5, 6, 7, 8, 9, 10]

    rating = rows[3][col["Hạng sao"]]
    assert rating.value == "6 sao" and rating.fill.fgColor.rgb.endswith("FFC7CE")
    assert "Hạng sao không hợp lệ" in rating.comment.text and "Cách sửa: Ghi hạng sao là 3, 4 hoặc 5" in rating.comment.text
    assert rows[3][col["Trạng thái"]].value == "Bị loại"
    assert rows[3][col["Lỗi"]].value.startswith("R_RATING_INVALID: Hạng sao không hợp lệ")
    assert rows[4][col["Trạng thái"]].value == "Cảnh báo"
    owner_type = rows[4][col["Loại hình"]]  # blank cell, inferred from the owner's name
    assert owner_type.value is None and owner_type.fill.fgColor.rgb.endswith("FFEB9C")
    assert owner_type.comment.text.startswith("W_OWNER_TYPE_INFERRED: ")
    assert rows[4][col["Trạng thái"]].fill.fgColor.rgb.endswith("FFEB9C")
    assert rows[0][col["Trạng thái"]].value == "Hợp lệ" and rows[0][col["Hạng sao"]].comment is None
    group = rows[5][col["Nhóm sản phẩm"]]
    assert group.value == FORMULAS[4] and group.fill.fgColor.rgb.endswith("FFC7CE")

    texts = set()
    for sheet in wb:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", c.coordinate
                texts.add(c.value)
    assert {FORMULAS[0], FORMULAS[1], FORMULAS[2], FORMULAS[4]} <= texts

    summary = {r[0].value: r[1].value for r in wb["Tóm tắt"].iter_rows() if r[0].value}
    assert summary["Số dòng nhận được"] == 6 and summary["Bị loại"] == 2 and summary["Hợp lệ có cảnh báo"] == 1
    assert summary["R_RATING_INVALID"] == "Loại dòng"
    assert summary["Kết quả"] == "Được tiếp nhận"


def test_json_report_shape(tmp_path):
    v, paths = _validated(tmp_path)
    report = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert {k: report[k] for k in ("submission_id", "file_name", "snapshot_date", "province_code", "file_outcome")} == {
        "submission_id": "sub-1", "file_name": "ocop_2025-06-30.xlsx", "snapshot_date": "2025-06-30",
        "province_code": "01", "file_outcome": "accepted"}
    assert report["sha256"] == "0" * 64 and report["counts"] == v.counts
    assert [r["excel_row"] for r in report["rows"]] == [5, 6, 7, 8, 9, 10]
    assert report["rows"][0] == {"sheet": "Danh sách", "excel_row": 5, "outcome": "accepted", "issues": []}
    assert report["rows"][3]["issues"] == [{"rule": "R_RATING_INVALID", "column": "F", "field": "rating_raw",
                                           "severity": "reject",
                                           "message": "Hạng sao không hợp lệ: chỉ chấp nhận 3, 4, 5 sao hoặc tiềm năng 5 sao."}]


def test_each_province_report_holds_only_its_own_rows(tmp_path):
    out = {}
    for code, tag in (("01", "HN"), ("79", "HCM")):
        v = validate(make_parsed(_rows(tag, 3 if code == "01" else 2), province_code=code, submission_id=f"s-{code}"))
        out[code] = write_reports(v, tmp_path / code)
    for code, tag, n in (("01", "HN", 3), ("79", "HCM", 2)):
        report = json.loads(out[code]["json"].read_text(encoding="utf-8"))
        assert report["province_code"] == code and len(report["rows"]) == n
        names = [r[1].value for r in load_workbook(out[code]["xlsx"])["Dữ liệu"].iter_rows(min_row=2)]
        assert len(names) == n and all(name.startswith(f"{tag} ") for name in names)


def test_file_level_rejection_report_says_why_and_what_to_do(tmp_path):
    v = file_rejected({"submission_id": "s9", "province_code": "01", "file_name": "danh_sach.xls",
                       "sha256": "ab" * 32, "snapshot_date": None}, "F_UNREADABLE", "HTML disguised as .xls")
    paths = write_reports(v, tmp_path)
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Tóm tắt"]
    summary = {r[0].value: r[1].value for r in wb["Tóm tắt"].iter_rows() if r[0].value}
    assert summary["Kết quả"].startswith("Bị từ chối")
    assert summary["Lý do"].startswith("Không đọc được tệp")
    assert "Excel Workbook (.xlsx)" in summary["Cách khắc phục"]
    assert "Excel Workbook (.xlsx)" in summary["Việc cần làm tiếp theo"]
    report = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert (report["file_outcome"], report["file_rule"], report["rows"]) == ("rejected", "F_UNREADABLE", [])
