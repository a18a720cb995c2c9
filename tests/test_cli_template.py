"""`ocop template`: the register template a province fills in. Filled with valid rows, it passes
`ocop check` with no issue at all; its drop-down lists hold exactly one accepted written form
of each class the parser and the rules know."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import openpyxl
import pytest

from ingest_files import TEMPLATE_ROWS, fill_template
from ocop.ingest.values import parse_issuing_level, parse_owner_type, parse_rating, parse_status
from ocop.reference.groups import GROUPS_148, resolve_group
from ocop.validate.rules import RATING_CLASSES


def ocop(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "mau.xlsx"
    proc = ocop("template", "--out", path, "--province", "01")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert path.is_file() and str(path) in proc.stdout
    return path


def _header(ws) -> dict[str, str]:
    """{header text: column letter} of the data sheet's header row (row 5)."""
    return {c.value: c.column_letter for c in ws[5] if c.value}


def _dropdowns(wb) -> dict[str, list[str]]:
    """{header text: the values of the list validation over its column}."""
    ws = wb["Danh sách"]
    by_letter = {v: k for k, v in _header(ws).items()}
    found = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type != "list":
            continue
        sheet, cells = dv.formula1.lstrip("=").split("!")
        first, last = cells.replace("$", "").split(":")
        src = wb[sheet.strip("'")]
        values = [src[f"{first[0]}{r}"].value for r in range(int(first[1:]), int(last[1:]) + 1)]
        (rng,) = str(dv.sqref).split()
        assert rng.startswith(rng.split(":")[0]) and rng.split(":")[0][1:] == "6"   # from the first data row
        found[by_letter[rng[0]]] = values
    return found


def test_layout_title_header_dates_freeze_filter(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames[:2] == ["Danh sách", "Hướng dẫn"]
    ws = wb["Danh sách"]
    assert ws["A1"].value == "DANH SÁCH SẢN PHẨM OCOP THÀNH PHỐ HÀ NỘI"
    assert ws["A2"].value == "Tính đến ngày" and ws["C2"].number_format == "DD/MM/YYYY"
    # The canonical headers of submission-format.md, in the template's order.
    assert [c.value for c in ws[5]] == [
        "STT", "Tên sản phẩm", "Chủ thể", "Loại hình chủ thể", "Địa chỉ", "Tỉnh/Thành phố", "Nhóm sản phẩm",
        "Hạng sao", "Số quyết định", "Ngày quyết định", "Cấp công nhận", "Ngày hết hạn", "Tình trạng", "Ghi chú"]
    assert ws.max_row == 5                                  # no example rows on the data sheet
    assert ws.freeze_panes == "A6" and ws.auto_filter.ref.startswith("A5:N")
    header = _header(ws)
    for name in ("Ngày quyết định", "Ngày hết hạn"):
        assert ws.column_dimensions[header[name]].number_format == "DD/MM/YYYY"
        assert any(dv.type == "date" and str(dv.sqref).startswith(f"{header[name]}6") for dv in
                   ws.data_validations.dataValidation)
    help_text = " ".join(str(c.value) for row in wb["Hướng dẫn"].iter_rows() for c in row if c.value)
    assert "Tính đến ngày" in help_text and "Ví dụ" in help_text and "1234/QĐ-UBND" in help_text
    assert "ocop check" in help_text
    # Without --province the title leaves the province to write in.
    blank = template.parent / "blank.xlsx"
    assert ocop("template", "--out", blank).returncode == 0
    assert openpyxl.load_workbook(blank)["Danh sách"]["A1"].value.startswith("DANH SÁCH SẢN PHẨM OCOP TỈNH/THÀNH PHỐ")
    bad = ocop("template", "--out", blank, "--province", "99")
    assert bad.returncode != 0 and "province code" in bad.stderr


def test_dropdowns_hold_exactly_the_accepted_values(template):
    lists = _dropdowns(openpyxl.load_workbook(template))
    assert set(lists) == {"Hạng sao", "Nhóm sản phẩm", "Loại hình chủ thể", "Cấp công nhận", "Tình trạng"}
    # Hand-written expectations: every value parses, and each class is offered exactly once.
    assert lists["Hạng sao"] == ["3 sao", "4 sao", "Tiềm năng 5 sao", "5 sao"]
    assert sorted(parse_rating(v) for v in lists["Hạng sao"]) == sorted(RATING_CLASSES) == \
        ["3", "4", "5", "potential-5"]
    assert lists["Nhóm sản phẩm"] == [
        "Thực phẩm", "Đồ uống", "Dược liệu và sản phẩm từ dược liệu", "Hàng thủ công mỹ nghệ", "Sinh vật cảnh",
        "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch"]
    assert [resolve_group(v) for v in lists["Nhóm sản phẩm"]] == [1, 2, 3, 4, 5, 6] == sorted(GROUPS_148)
    assert sorted(parse_owner_type(v) for v in lists["Loại hình chủ thể"]) == ["DN", "HKD", "HTX", "THT"]
    assert sorted(parse_issuing_level(v) for v in lists["Cấp công nhận"]) == ["central", "district", "provincial"]
    assert sorted(parse_status(v) for v in lists["Tình trạng"]) == ["expired", "revoked", "valid"]
    assert len(lists["Loại hình chủ thể"]) == 4 and len(lists["Cấp công nhận"]) == 3 and len(lists["Tình trạng"]) == 3


def test_filled_template_passes_check_with_no_issue(template, tmp_path):
    # Every drop-down value of rating, group, owner type and issuing level is used by some row.
    lists = _dropdowns(openpyxl.load_workbook(template))
    columns = {"Hạng sao": 7, "Nhóm sản phẩm": 6, "Loại hình chủ thể": 3, "Cấp công nhận": 10}
    for name, j in columns.items():
        assert set(lists[name]) == {r[j] for r in TEMPLATE_ROWS}, name
    filled = fill_template(template, tmp_path / "01" / "danh-sach.xlsx")
    proc = ocop("check", filled, "--out", tmp_path / "report", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["province_code"] == "01"                           # from the folder name
    assert result["snapshot_date"] == "2025-12-31" and result["snapshot_date_source"] == "title"
    assert result["file_outcome"] == "accepted" and result["issues_total"] == 0 and result["issues"] == []
    assert result["counts"] == {"received": 6, "accepted": 6, "warned": 0, "rejected": 0, "by_rule": {}}
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert [r["excel_row"] for r in report["rows"]] == [6, 7, 8, 9, 10, 11]
    assert all(r["outcome"] == "accepted" and r["issues"] == [] for r in report["rows"])


def test_the_snapshot_date_cell_is_the_title_date(template, tmp_path):
    """A date typed as text in the date cell (an Excel set to another locale) reads the same."""
    filled = fill_template(template, tmp_path / "ds.xlsx", rows=TEMPLATE_ROWS[:2], snapshot=None)
    wb = openpyxl.load_workbook(filled)
    wb["Danh sách"]["C2"] = "30/06/2025"
    wb.save(filled)
    proc = ocop("check", filled, "--province", "01", "--out", tmp_path / "r", "--format", "json")
    result = json.loads(proc.stdout)
    assert (result["snapshot_date"], result["snapshot_date_source"]) == ("2025-06-30", "title")
    # Rows decided after the snapshot date are rejected, as in a run: row 9 (2 July 2025) here.
    late = fill_template(template, tmp_path / "late.xlsx", snapshot=dt.date(2025, 6, 30))
    result = json.loads(ocop("check", late, "--province", "01", "--out", tmp_path / "r2", "--format", "json").stdout)
    assert [(i["cell"], i["rule"]) for i in result["issues"]] == [("Danh sách!J9", "R_DATE_AFTER_SNAPSHOT")]
