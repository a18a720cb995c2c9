"""report.xlsx is written straight as SpreadsheetML (``ocop.report.xlsx_direct``, the default);
XlsxWriter's writer and openpyxl's, kept for the benchmark (bench/report_writers.py), write the
same cells: values, fills, comments, bold, widths, frozen panes and the auto filter. LibreOffice
Calc reads the direct writer's files as it reads XlsxWriter's."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from ocop.pipeline import parse_one
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


def office_suite_reading(paths: list, out_dir) -> list:
    """What LibreOffice Calc reads in each workbook: opened headless and saved again as xlsx
    (``soffice --convert-to xlsx``), then read back. A workbook Calc cannot open is not written."""
    soffice = os.environ.get("OCOP_SOFFICE", "/usr/bin/soffice")
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / "profile"  # its own profile: parallel test workers never share one
    proc = subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                           "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), *map(str, paths)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    read = []
    for p in paths:
        saved = out_dir / Path(p).name
        assert saved.exists(), f"LibreOffice could not open {p}: {proc.stdout} {proc.stderr}"
        read.append(xlsx_content(saved))
    return read


def test_libreoffice_reads_the_direct_writers_reports_as_it_reads_xlsxwriters(tmp_path, small_national):
    """The direct writer is the default because an office suite that is not ours reads its files
    as it reads XlsxWriter's: every value, fill, comment, bold font, width and filter,
    on hostile text and on real provinces' reports (three of the small national sample)."""
    inbox, _ = small_national
    validated = [validate(make_parsed(HOSTILE))]
    for path in sorted(inbox.rglob("*.xls*"))[::25][:3]:
        meta = {"submission_id": path.stem, "province_code": path.parent.name, "file_name": path.name,
                "sha256": "0" * 64, "received_at": "2025-12-31T00:00:00+00:00"}
        parsed, rejected = parse_one(path, meta)
        validated.append(rejected if parsed is None else validate(parsed))
    pairs = []
    for i, v in enumerate(validated):
        (tmp_path / "direct").mkdir(exist_ok=True), (tmp_path / "xlsxwriter").mkdir(exist_ok=True)
        pairs.append((write_xlsx(v, tmp_path / "direct" / f"r{i}.xlsx", engine="direct"),
                      write_xlsx(v, tmp_path / "xlsxwriter" / f"r{i}.xlsx", engine="xlsxwriter")))
    direct = office_suite_reading([d for d, _ in pairs], tmp_path / "lo-direct")
    other = office_suite_reading([x for _, x in pairs], tmp_path / "lo-xlsxwriter")
    assert direct == other
    hostile = direct[0]["Dữ liệu"]
    assert any(fill == "FFC7CE" and comment and "R_RATING_INVALID" in comment
               for _, fill, comment, _ in hostile["cells"].values())   # Calc kept the comments and fills
    assert hostile["filter"] and hostile["widths"]   # (headless Calc keeps no view, so no frozen panes)
    assert sum(len(d["Dữ liệu"]["cells"]) for d in direct[1:]) > 100   # real reports, not empty sheets
