"""Reading what provinces send: title blocks, split headers, totals, notes, formats."""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile

import pytest

from ingest_files import HEADER, ROWS, write_xlsx
from ocop.ingest.parse import parse_file
from ocop.ingest.readers import FileRejected, column_letter

ARRIVED = dt.datetime(2025, 7, 5, tzinfo=dt.timezone.utc)


def parse(path, **kw):
    return parse_file(path, province_code="08", file_name=path.name, sha256="0" * 64,
                      submission_id="08-test", arrived_at=ARRIVED, **kw)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 keeps base letters precomposed (â, ơ, ư, đ) and tones as combining marks."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in text:
        d = unicodedata.normalize("NFD", ch)
        out.append(unicodedata.normalize("NFC", "".join(c for c in d if c not in tones)) + "".join(c for c in d if c in tones))
    return "".join(out).encode("cp1258")


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 16383)] == ["A", "Z", "AA", "AZ", "XFD"]


def test_title_block_total_row_and_notes_are_not_data(tmp_path):
    p = parse(write_xlsx(tmp_path / "ds.xlsx"))
    r = p.records
    assert list(r["excel_row"]) == [5, 6, 7]
    assert p.snapshot_date == "2025-06-30" and p.snapshot_date_source == "title"
    assert list(r["rating_class"]) == ["4", "3", "potential-5"]
    assert list(r["group_code"]) == [1, 2, 3]
    assert list(r["decision_date"]) == ["2024-05-12", "2023-07-03", "2024-01-01"]
    assert list(r["expiry_date"]) == ["2027-05-12", "2026-07-03", "2027-01-01"]
    assert list(r["row_province_code"]) == ["08", "08", "08"]
    assert list(r["owner_type"]) == ["HTX", "DN", "HKD"] and r["owner_type_inferred"].all()
    assert p.columns["product_name"] == "B" and p.columns["decision_date_raw"] == "G"
    assert p.sheet == "Danh sách"


def test_two_row_header_under_merged_decision_group(tmp_path):
    p = parse(write_xlsx(tmp_path / "ds.xlsx", two_row=True))
    assert p.header_rows == [4, 5]
    assert list(p.records["excel_row"]) == [6, 7, 8]
    assert list(p.records["decision_no"]) == ["1234/QĐ-UBND", "567/QĐ-UBND", "89/QĐ-UBND"]
    assert p.records["decision_date"].notna().all()


def test_columns_in_any_order_and_unknown_columns_kept(tmp_path):
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    header = [HEADER[i] for i in order] + ["Mã vạch"]
    rows = [[row[i] for i in order] + ["893000"] for row in ROWS]
    p = parse(write_xlsx(tmp_path / "ds.xlsx", header=header, rows=rows, title=False))
    assert list(p.records["product_name"]) == [r[1] for r in ROWS]
    assert "Mã vạch" in p.unknown_columns
    assert '"Mã vạch": "893000"' in p.records["raw_json"].iloc[0]


def test_csv_utf8_bom_and_windows_1258(tmp_path):
    text = ",".join(HEADER) + "\n" + "1,Mật ong bạc hà,HTX Hoà Bình,Thực phẩm,3,12/QĐ-UBND,01/02/2024,Tuyên Quang\n"
    a = tmp_path / "a_2025-06-30.csv"
    a.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    b = tmp_path / "b_30-06-2025.csv"
    b.write_bytes(to_cp1258(text))
    for path in (a, b):
        p = parse(path)
        assert p.records["product_name"].iloc[0] == "Mật ong bạc hà"
        assert p.records["owner"].iloc[0] == "HTX Hòa Bình"  # NFC and tone marks unified
        assert p.snapshot_date == "2025-06-30" and p.snapshot_date_source == "filename"


@pytest.mark.parametrize("make, rule", [
    (lambda p: p.write_bytes(b""), "F_EMPTY"),
    (lambda p: p.write_bytes(b"<html><body><table><tr><td>x</td></tr></table></body></html>"), "F_UNREADABLE"),
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated garbage"), "F_UNREADABLE"),
])
def test_hostile_files_are_file_level_rejections(tmp_path, make, rule):
    path = tmp_path / "x.xlsx"
    make(path)
    with pytest.raises(FileRejected) as exc:
        parse(path)
    assert exc.value.rule == rule


def test_zip_bomb_is_rejected_before_reading(tmp_path):
    from ocop.config import Limits

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (20 * 1024 * 1024))
    with pytest.raises(FileRejected) as exc:
        parse(path, limits=Limits(max_uncompressed_bytes=10 * 1024 * 1024))
    assert exc.value.rule == "F_TOO_LARGE"


def test_no_header_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", header=["A", "B", "C"], rows=[[1, 2, 3]] * 3)
    with pytest.raises(FileRejected) as exc:
        parse(path)
    assert exc.value.rule == "F_NO_HEADER"
