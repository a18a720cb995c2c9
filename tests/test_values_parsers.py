"""Cell-value parsers, table-driven over the forms of submission-format.md."""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from ocop.ingest.values import (
    add_months,
    decision_no_well_formed,
    default_expiry,
    excel_serial_to_date,
    infer_issuing_level,
    infer_owner_type,
    parse_date,
    parse_decision,
    parse_expiry,
    parse_issuing_level,
    parse_owner_type,
    parse_potential_flag,
    parse_rating,
    parse_status,
    snapshot_date_from_filename,
    snapshot_date_from_title,
)

# --- rating ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    (3, "3"), (4, "4"), (5, "5"), (3.0, "3"), (np.int64(4), "4"), (np.float64(5.0), "5"),
    ("3", "3"), (" 4 ", "4"), ("5.0", "5"), ("3 sao", "3"), ("4 Sao", "4"), ("3*", "3"),
    ("5 *", "5"), ("3★", "3"), ("★★★", "3"), ("★★★★", "4"), ("* * * * *", "5"), ("4s", "4"),
    ("Ba sao", "3"), ("BỐN SAO", "4"), ("năm sao", "5"), ("Nam sao", "5"),
    (unicodedata.normalize("NFD", "Bốn sao"), "4"), ("Hạng 3 sao", "3"), ("3 sao OCOP", "3"),
    ("Tiềm năng 5 sao", "potential-5"), ("tiem nang 5 sao", "potential-5"),
    ("4 sao (tiềm năng 5 sao)", "potential-5"), ("TN5S", "potential-5"), ("TN 5 sao", "potential-5"),
    ("2", None), ("6 sao", None), ("A", None), ("", None), (None, None), (float("nan"), None),
    (4.5, None), (True, None), ("★★", None), ("★★★★★★", None), ("35", None), ("3 4", None),
    (pd.NA, None), (date(2024, 1, 1), None),
])
def test_parse_rating(value, expected):
    assert parse_rating(value) == expected


@pytest.mark.parametrize("flag", ["x", "X", "có", "Có", "co", "1", 1, 1.0, "TRUE", "true", True, "✓",
                                  "Tiềm năng 5 sao", "TN5S"])
def test_four_star_with_potential_flag_is_potential_five(flag):
    assert parse_potential_flag(flag) is True
    assert parse_rating(4, flag) == "potential-5"
    assert parse_rating("4 sao", flag) == "potential-5"
    assert parse_rating(3, flag) == "3"  # the flag marks 4-star rows only
    assert parse_rating(5, flag) == "5"


@pytest.mark.parametrize("flag", [None, "", "không", "0", 0, False, "FALSE", float("nan"), "-"])
def test_potential_flag_not_set(flag):
    assert parse_potential_flag(flag) is False
    assert parse_rating(4, flag) == "4"


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    (datetime(2024, 5, 12, 13, 30), date(2024, 5, 12)),
    (date(2024, 5, 12), date(2024, 5, 12)),
    (pd.Timestamp("2024-05-12"), date(2024, 5, 12)),
    (45658, date(2025, 1, 1)), (45658.75, date(2025, 1, 1)), (np.int64(45658), date(2025, 1, 1)),
    ("45658", date(2025, 1, 1)),
    ("12/05/2024", date(2024, 5, 12)), ("1/2/2024", date(2024, 2, 1)), ("12-05-2024", date(2024, 5, 12)),
    ("12.05.2024", date(2024, 5, 12)), ("2024-05-12", date(2024, 5, 12)),
    ("2024-05-12 00:00:00", date(2024, 5, 12)), ("2024-05-12T08:15:00", date(2024, 5, 12)),
    ("12/05/2024 00:00:00", date(2024, 5, 12)),
    ("ngày 12 tháng 5 năm 2024", date(2024, 5, 12)), ("Ngày 12/5/2024", date(2024, 5, 12)),
    ("  29/02/2024 ", date(2024, 2, 29)),
    ("31/02/2024", None), ("29/02/2023", None), ("12/5/24", None), ("13/13/2024", None),
    ("05/12", None), ("2024", None), ("abc", None), ("", None), (None, None), (float("nan"), None),
    (pd.NaT, None), (True, None), (100, None), (-1, None), (float("inf"), None), (3_000_000, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_day_first_always():
    assert parse_date("03/04/2024") == date(2024, 4, 3)
    assert parse_date("04/03/2024") == date(2024, 3, 4)


@pytest.mark.parametrize("serial,expected", [
    (45658, date(2025, 1, 1)), (43101, date(2018, 1, 1)), (32874, date(1990, 1, 1)),
    (32873, None), (73050, date(2099, 12, 31)), (73051, None), (float("nan"), None), ("45658", None),
])
def test_excel_serial_to_date(serial, expected):
    assert excel_serial_to_date(serial) == expected


@pytest.mark.parametrize("d,months,expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)), (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 5, 12), 36, date(2027, 5, 12)), (date(2024, 2, 29), 36, date(2027, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)), (date(2024, 3, 31), -1, date(2024, 2, 29)),
])
def test_add_months(d, months, expected):
    assert add_months(d, months) == expected


def test_default_expiry_is_36_months():
    assert default_expiry(date(2022, 6, 30)) == date(2025, 6, 30)


@pytest.mark.parametrize("value,decided,expected", [
    ("12/05/2027", None, date(2027, 5, 12)), (46519, date(2024, 5, 12), date(2027, 5, 12)),
    ("36 tháng", date(2024, 5, 12), date(2027, 5, 12)), ("3 năm", date(2024, 2, 29), date(2027, 2, 28)),
    ("36 tháng", None, None), ("vô thời hạn", date(2024, 5, 12), None), (None, date(2024, 5, 12), None),
])
def test_parse_expiry(value, decided, expected):
    assert parse_expiry(value, decided) == expected


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("1234/QĐ-UBND ngày 12/5/2024", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("1234/QĐ-UBND", ("1234/QĐ-UBND", None)),
    ("56/QĐ-BNN-VPĐP", ("56/QĐ-BNN-VPĐP", None)),
    ("  1234 / QĐ - UBND  ", ("1234/QĐ-UBND", None)),
    ("1234/QĐ–UBND", ("1234/QĐ-UBND", None)),
    ("Số 1234/QĐ-UBND, ngày 12 tháng 5 năm 2024", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("Quyết định số 99/QĐ-UBND ngày 03/01/2024", ("99/QĐ-UBND", date(2024, 1, 3))),
    ("1234/QĐ-UBND\nngày 12/05/2024", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("1234/QĐ-UBND (12/05/2024)", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("1234/QĐ-UBND; 2024-05-12", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("12/2024/QĐ-UBND", ("12/2024/QĐ-UBND", None)),
    ("1234/QĐ-UBND ngày 31/02/2024", ("1234/QĐ-UBND", None)),
    ("12/05/2024", (None, date(2024, 5, 12))),
    ("ngày 12/5/2024, số 1234/QĐ-UBND", ("1234/QĐ-UBND", date(2024, 5, 12))),
    ("(Số: 12/QĐ-UBND)", ("12/QĐ-UBND", None)),
    (1234, ("1234", None)), (1234.0, ("1234", None)),
    ("", (None, None)), (None, (None, None)), (float("nan"), (None, None)),
])
def test_parse_decision(value, expected):
    assert parse_decision(value) == expected


def test_parse_decision_keeps_nfc():
    no, _ = parse_decision(unicodedata.normalize("NFD", "1234/QĐ-UBND"))
    assert no == unicodedata.normalize("NFC", no) == "1234/QĐ-UBND"


@pytest.mark.parametrize("no,ok", [
    ("1234/QĐ-UBND", True), ("56/QĐ-BNN-VPĐP", True), ("12/2024/QĐ-UBND", True), ("7/QĐ-TTg", True),
    ("1234a/QĐ-UBND", True), ("1234/qđ-ubnd", True),
    ("1234/QD-UBND", False), ("1234", False), ("QĐ-UBND", False), ("1234/UBND", False),
    ("1234/QĐ-", False), ("", False), (None, False), ("1234/QĐ-UBND ngày 12/5/2024", False),
])
def test_decision_no_well_formed(no, ok):
    assert decision_no_well_formed(no) is ok


# --- owner type ------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("Hợp tác xã", "HTX"), ("HTX", "HTX"), ("htx", "HTX"), ("Doanh nghiệp", "DN"), ("DN", "DN"),
    ("Công ty", "DN"), ("Tổ hợp tác", "THT"), ("THT", "THT"), ("Hộ kinh doanh", "HKD"),
    ("Hộ SXKD", "HKD"), ("HKD", "HKD"), ("Cơ sở sản xuất", "HKD"), ("CSSX", "HKD"),
    (unicodedata.normalize("NFD", "HỢP TÁC XÃ"), "HTX"), ("Khác", None), ("", None), (None, None), (3, None),
])
def test_parse_owner_type(value, expected):
    assert parse_owner_type(value) == expected


@pytest.mark.parametrize("owner,expected", [
    ("HTX Nông nghiệp Thành Công", "HTX"), ("HTX NN Tân Lập", "HTX"),
    ("Hợp tác xã nông nghiệp Hòa Bình", "HTX"), ("Công ty TNHH MTV Chè Thái Nguyên", "DN"),
    ("Cty TNHH Minh Phát", "DN"), ("CTCP Thực phẩm Hà Nội", "DN"), ("Công ty cổ phần ABC", "DN"),
    ("DNTN Hoàng Long", "DN"), ("Doanh nghiệp tư nhân Hải Hà", "DN"),
    ("THT sản xuất miến dong", "THT"), ("Tổ hợp tác chè Tân Cương", "THT"),
    ("Hộ kinh doanh Nguyễn Văn A", "HKD"), ("HKD Trần Thị B", "HKD"), ("Hộ SXKD Lê Văn C", "HKD"),
    ("CSSX bánh đa Kế", "HKD"), ("Cơ sở sản xuất nước mắm Hưng Thịnh", "HKD"), ("Cơ sở Mộc Lan", "HKD"),
    ("Hộ ông Nguyễn Văn D", "HKD"), ("Hộ bà Trần Thị E", "HKD"),
    ("Nguyễn Văn A", None), ("Dnxyz", None), ("Htxanh", None), ("Hồ Văn Nam", None), (None, None),
])
def test_infer_owner_type(owner, expected):
    assert infer_owner_type(owner) == expected


# --- issuing level ---------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("Trung ương", "central"), ("TW", "central"), ("Bộ", "central"), ("Bộ NN&PTNT", "central"),
    ("BNN", "central"), ("Cấp Trung ương", "central"), ("Tỉnh", "provincial"),
    ("UBND tỉnh", "provincial"), ("Cấp tỉnh", "provincial"), ("Thành phố", "provincial"),
    ("UBND Thành phố Hà Nội", "provincial"), ("Huyện", "district"), ("UBND huyện", "district"),
    ("Quận", "district"), ("Thị xã", "district"), ("Cấp huyện", "district"),
    ("Xã", None), ("", None), (None, None),
])
def test_parse_issuing_level(value, expected):
    assert parse_issuing_level(value) == expected


@pytest.mark.parametrize("rating,no,expected", [
    ("5", "56/QĐ-BNN-VPĐP", "central"), ("5", "12/QĐ-BNNMT", "central"), ("5", "7/QĐ-TTg", "central"),
    ("4", "1234/QĐ-UBND", "provincial"), ("5", "1234/QĐ-UBND", "provincial"),
    ("5", None, "central"), ("5", "1234", "central"), ("3", None, "provincial"),
    ("potential-5", "99/QĐ-SNN", "provincial"), (None, None, "provincial"),
])
def test_infer_issuing_level(rating, no, expected):
    assert infer_issuing_level(rating, no) == expected


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("Còn hiệu lực", "valid"), ("", "valid"), (None, "valid"), ("Chưa hết hạn", "valid"),
    ("Hết hạn", "expired"), ("Hết hiệu lực", "expired"), ("HẾT HẠN", "expired"), ("Quá hạn", "expired"),
    ("Thu hồi", "revoked"), ("Đã thu hồi", "revoked"), ("Bị thu hồi", "revoked"),
    ("đang xem xét", "valid"), ("xyz", "valid"), (float("nan"), "valid"),
])
def test_parse_status(value, expected):
    assert parse_status(value) == expected


# --- snapshot date ---------------------------------------------------------------------------


@pytest.mark.parametrize("lines,expected", [
    (["DANH SÁCH SẢN PHẨM OCOP TỈNH HÀ GIANG NĂM 2025", "Tính đến ngày 30/6/2025"], date(2025, 6, 30)),
    (["(tính đến 30/06/2025)"], date(2025, 6, 30)),
    (["Danh sách sản phẩm OCOP đến ngày 31 tháng 12 năm 2025"], date(2025, 12, 31)),
    (["Cập nhật đến 30.6.2025"], date(2025, 6, 30)),
    (["TÍNH ĐẾN HẾT NGÀY 31/12/2024"], date(2024, 12, 31)),
    ([unicodedata.normalize("NFD", "Tính đến ngày 30/6/2025")], date(2025, 6, 30)),
    ([None, 42, "Tính đến ngày 31/02/2025", "tính đến 1/7/2025"], date(2025, 7, 1)),
    (["DANH SÁCH SẢN PHẨM OCOP NĂM 2025"], None), (["Tính đến ngày 30/6/1999"], None), ([], None),
])
def test_snapshot_date_from_title(lines, expected):
    assert snapshot_date_from_title(lines) == expected


@pytest.mark.parametrize("name,expected", [
    ("ocop_2025-06-30.xlsx", date(2025, 6, 30)), ("OCOP_20250630.xlsx", date(2025, 6, 30)),
    ("DS OCOP 30-06-2025.xls", date(2025, 6, 30)), ("ocop_30_06_2025.csv", date(2025, 6, 30)),
    ("ocop 30.6.2025.xlsx", date(2025, 6, 30)), ("inbox/01/ocop_2025_06_30.xlsx", date(2025, 6, 30)),
    ("ocop_2025-6-30.xlsx", date(2025, 6, 30)), ("ocop_30062025.xlsx", date(2025, 6, 30)),
    ("ocop_2024-01-01_capnhat_2025-06-30.xlsx", date(2025, 6, 30)),
    ("ocop_12345678.xlsx", None), ("ocop_2025.xlsx", None), ("ocop_99999999.xlsx", None),
    ("ocop_19990101.xlsx", None), ("ocop_31-02-2025.xlsx", None), ("bao cao.xlsx", None), ("", None),
])
def test_snapshot_date_from_filename(name, expected):
    assert snapshot_date_from_filename(name) == expected


def test_nan_like_inputs_everywhere():
    for value in (None, math.nan, pd.NA, pd.NaT, np.nan, ""):
        assert parse_rating(value) is None
        assert parse_date(value) is None
        assert parse_decision(value) == (None, None)
        assert parse_owner_type(value) is None
        assert parse_issuing_level(value) is None
        assert parse_status(value) == "valid"
