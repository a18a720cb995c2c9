"""report.xlsx is written by XlsxWriter; the SpreadsheetML writer (``ocop.report.xlsx_direct``,
``engine="direct"``) and openpyxl's, kept for the benchmark (bench/report_writers.py), write the
same cells: values, fills, comments, bold, widths, frozen panes and the auto filter."""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from ocop.report.xlsx import write_xlsx
from ocop.validate.run import validate
from ocop.validate.testing import make_parsed
from report_readback import xlsx_content

ROWS = [
    {},
    {"rating_raw": "6 sao"},  # reject: red cell with a comment
    {"product_name": "=HYPERLINK(\"http://x\")", "owner": "+84 912 345 678"},  # formulas stay text
    {"notes": "Trà Shan tuyết\x01\x0b cổ thụ", "owner_type_raw": None},  # XML-illegal characters dropped; type inferred
    {"product_name": "Nước mắm Phú Quốc " * 400, "decision_no_raw": "QĐ 12"},
]
# Text XlsxWriter escapes (& < >, _xHHHH_, CR) or cuts (over Excel's 32,767 characters) where openpyxl does not.
HOSTILE = [
    *ROWS,
    {"product_name": "  Mật ong <rừng> & \"sạch\"  ", "owner": "HTX _x0041_ Tam\rĐảo", "notes": "dòng 1\ndòng 2"},
    {"product_name": "Chè " + "ắ" * 33000, "rating_raw": "sáu sao"},
]


@pytest.mark.parametrize("engine", ["openpyxl", "xlsxwriter"])
def test_the_direct_writer_writes_what_the_others_write(tmp_path, engine):
    rows = ROWS if engine == "openpyxl" else HOSTILE
    v = validate(make_parsed(rows))
    direct = write_xlsx(v, tmp_path / "direct.xlsx", engine="direct")
    other = write_xlsx(v, tmp_path / f"{engine}.xlsx", engine=engine)
    assert xlsx_content(direct) == xlsx_content(other)
    with zipfile.ZipFile(direct) as zf:  # every part is well-formed XML (the VML too)
        for name in zf.namelist():
            ElementTree.fromstring(zf.read(name))
    wb = CalamineWorkbook.from_path(str(direct))  # a second, independent reader
    assert wb.sheet_names == ["Tóm tắt", "Dữ liệu"]
    data = wb.get_sheet_by_name("Dữ liệu").to_python()
    assert [r[0] for r in data[1:]] == [float(x) for x in v.records["excel_row"]]
    assert data[0][:3] == ["Dòng", "Tên sản phẩm", "Chủ thể"]


def test_both_writers_write_the_same_report(tmp_path):
    v = validate(make_parsed(ROWS))
    a = write_xlsx(v, tmp_path / "a.xlsx", engine="openpyxl")
    b = write_xlsx(v, tmp_path / "b.xlsx")
    ca, cb = xlsx_content(a), xlsx_content(b)
    assert ca == cb
    cells = cb["Dữ liệu"]["cells"]
    assert any(fill == "FFC7CE" and comment and "R_RATING_INVALID" in comment for _, fill, comment, _ in cells.values())
    assert any(fill == "FFEB9C" for _, fill, _, _ in cells.values())
    values = [x[0] for x in cells.values()]
    assert "=HYPERLINK(\"http://x\")" in values and "+84 912 345 678" in values
    assert "Trà Shan tuyết cổ thụ" in values
    ws = load_workbook(b)["Dữ liệu"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)  # nothing became a formula
    assert cb["Dữ liệu"]["freeze"] == "B2" and cb["Dữ liệu"]["filter"].endswith("6")  # header + 5 rows
