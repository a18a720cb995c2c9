"""report.xlsx is written by XlsxWriter; the former openpyxl writer, kept for the benchmark
(bench/report_writers.py), writes the same cells: values, fills, comments, bold, widths."""

from __future__ import annotations

from openpyxl import load_workbook

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
