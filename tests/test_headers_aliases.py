"""Header aliases: every documented header resolves, robust to how the cell is written."""

from __future__ import annotations

import unicodedata

import pytest

from ocop.reference.headers import (
    ALIASES,
    FIELDS,
    GROUP_HEADERS,
    REQUIRED_FIELDS,
    header_key,
    match_header,
    match_sub_header,
)

ARCHITECTURE_FIELDS = {
    "row_number", "product_name", "owner", "owner_type_raw", "address", "commune", "district",
    "province_raw", "group_raw", "rating_raw", "potential5_raw", "decision_no_raw",
    "decision_date_raw", "issuing_level_raw", "expiry_raw", "status_raw", "notes",
}

# The "typical headers" column of submission-format.md, verbatim.
SPEC_HEADERS = {
    "row_number": ["STT", "TT", "Số TT"],
    "product_name": ["Tên sản phẩm", "Tên SP", "Sản phẩm", "Tên sản phẩm OCOP"],
    "owner": ["Chủ thể", "Tên chủ thể", "Chủ thể sản xuất", "Chủ thể OCOP", "Đơn vị", "Chủ thể/Đơn vị"],
    "owner_type_raw": ["Loại hình chủ thể", "Loại hình", "Loại hình tổ chức"],
    "address": ["Địa chỉ", "Địa chỉ chủ thể"],
    "commune": ["Xã/Phường"],
    "district": ["Huyện"],
    "province_raw": ["Tỉnh/Thành phố", "Tỉnh", "Tỉnh/TP"],
    "group_raw": ["Nhóm sản phẩm", "Nhóm", "Ngành hàng", "Nhóm ngành", "Bộ sản phẩm"],
    "rating_raw": ["Hạng sao", "Số sao", "Phân hạng", "Xếp hạng", "Kết quả phân hạng", "Hạng"],
    "potential5_raw": ["Tiềm năng 5 sao"],
    "decision_no_raw": ["Số quyết định", "Quyết định số", "Số QĐ", "QĐ công nhận"],
    "decision_date_raw": ["Ngày quyết định", "Ngày công nhận", "Ngày cấp", "Ngày QĐ"],
    "issuing_level_raw": ["Cấp công nhận", "Cấp quyết định", "Cơ quan công nhận"],
    "expiry_raw": ["Ngày hết hạn", "Hiệu lực đến", "Thời hạn"],
    "status_raw": ["Tình trạng", "Trạng thái"],
    "notes": ["Ghi chú"],
}


def test_fields_are_the_architecture_names():
    assert set(FIELDS) == set(ALIASES) == ARCHITECTURE_FIELDS
    assert REQUIRED_FIELDS == ("product_name", "owner", "group_raw", "rating_raw", "decision_no_raw", "decision_date_raw")


@pytest.mark.parametrize("field,header", [(f, h) for f, hs in SPEC_HEADERS.items() for h in hs])
def test_every_spec_header_matches(field, header):
    assert header in ALIASES[field]
    assert match_header(header) == field


@pytest.mark.parametrize("field,header", [(f, h) for f, hs in ALIASES.items() for h in hs])
def test_every_alias_matches_however_written(field, header):
    variants = [
        header, header.upper(), header.lower(), unicodedata.normalize("NFD", header),
        f"  {header}\n", header.replace(" ", "\n", 1), header.replace(" ", "   "), f"{header} (*)",
        f"{header}:",
    ]
    assert {match_header(v) for v in variants} == {field}


@pytest.mark.parametrize("header,field", [
    ("Tên sản phẩm OCOP", "product_name"), ("Hạng sao đạt được", "rating_raw"),
    ("Số, ngày quyết định", "decision_no_raw"), ("Số/ngày QĐ", "decision_no_raw"), ("TÊN\nSẢN PHẨM", "product_name"),
    ("Chủ thể / Đơn vị", "owner"), ("Tỉnh / TP", "province_raw"), ("Ngày quyết định\n(dd/mm/yyyy)", "decision_date_raw"),
    ("Hạng sao (3, 4, 5 sao)", "rating_raw"), ("Thoà", None),
    # ambiguous on their own
    ("Số", None), ("Ngày", None), ("Tháng", None), ("", None), (None, None), ("Đơn giá", None),
])
def test_match_header(header, field):
    assert match_header(header) == field


def test_tone_placement_does_not_matter():
    assert header_key("Hoà Bình") == header_key("Hòa Bình") == "hoa binh"


@pytest.mark.parametrize("group", ["Quyết định công nhận", "QUYẾT ĐỊNH\nCÔNG NHẬN", "Quyết định", "QĐ công nhận"])
def test_decision_group_sub_headers(group):
    assert match_sub_header(group, "Số") == "decision_no_raw"
    assert match_sub_header(group, "Ngày") == "decision_date_raw"
    assert match_sub_header(group, "Số QĐ") == "decision_no_raw"
    assert match_sub_header(group, "Ngày, tháng, năm") == "decision_date_raw"
    assert match_sub_header(group, "Ghi chú") is None


def test_sub_headers_mean_nothing_under_other_groups():
    assert match_sub_header("Địa chỉ", "Số") is None
    assert match_sub_header(None, "Ngày") is None


def test_group_headers_are_keyed_by_header_key():
    for group, subs in GROUP_HEADERS.items():
        assert header_key(group) == group
        assert all(header_key(sub) == sub for sub in subs)
        assert set(subs.values()) == {"decision_no_raw", "decision_date_raw"}
