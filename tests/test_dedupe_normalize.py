"""Owner and product keys: every legal form of the spec, tone/case/spacing/quote variants, idempotency."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop.dedupe.normalize import legal_compatible, owner_key, product_key, split_owner

LEGAL_TABLE = [
    ("HTX Hoà Bình", "htx"),
    ("HTX NN Hoà Bình", "htx"),
    ("Hợp tác xã Hoà Bình", "htx"),
    ("Hợp tác xã nông nghiệp Hoà Bình", "htx"),
    ("HTX DV NN Hoà Bình", "htx"),
    ("Công ty TNHH Hoà Bình", "tnhh"),
    ("Cty TNHH Hoà Bình", "tnhh"),
    ("Công ty TNHH MTV Hoà Bình", "tnhh"),
    ("TNHH một thành viên Hoà Bình", "tnhh"),
    ("Công ty CP Hoà Bình", "cp"),
    ("CTCP Hoà Bình", "cp"),
    ("Công ty cổ phần Hoà Bình", "cp"),
    ("DNTN Hoà Bình", "dntn"),
    ("Doanh nghiệp tư nhân Hoà Bình", "dntn"),
    ("THT Hoà Bình", "tht"),
    ("Tổ hợp tác Hoà Bình", "tht"),
    ("Hộ kinh doanh Hoà Bình", "hkd"),
    ("HKD Hoà Bình", "hkd"),
    ("Hộ SXKD Hoà Bình", "hkd"),
    ("Hộ sản xuất kinh doanh Hoà Bình", "hkd"),
    ("CSSX Hoà Bình", "cs"),
    ("Cơ sở sản xuất Hoà Bình", "cs"),
    ("Cơ sở Hoà Bình", "cs"),
]


@pytest.mark.parametrize(("owner", "token"), LEGAL_TABLE)
def test_every_legal_form_of_the_spec(owner, token):
    assert split_owner(owner) == (token, "hoa binh")
    assert owner_key(owner) == f"{token} hoa binh"


@pytest.mark.parametrize(
    "variant",
    [
        "Hợp tác xã Hòa Bình",  # old tone placement
        unicodedata.normalize("NFD", "Hợp tác xã Hoà Bình"),
        "  HỢP TÁC XÃ   hoà-bình ",
        "Hop tac xa Hoa Binh",
        "HTX. \"Hoà Bình\"",
        "H.T.X  “Hoà Bình”".replace("H.T.X", "HTX"),
    ],
)
def test_owner_writing_variants_share_one_key(variant):
    assert owner_key(variant) == "htx hoa binh"


def test_no_legal_form_and_reordered_qualifiers():
    assert split_owner("Nguyễn Văn An") == ("", "nguyen van an")
    assert split_owner("Công ty MTV TNHH Sao Việt") == ("tnhh", "sao viet")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Gạo ST25", "gạo  st 25"),
        ("Trà ‘Shan tuyết’", "TRA \"SHAN TUYET\""),
        ("Nước mắm 30 độ đạm", "Nuoc mam 30do dam"),
        ("Bánh chưng Thuý", "Bánh chưng Thúy"),
    ],
)
def test_product_variants_share_one_key(a, b):
    assert product_key(a) == product_key(b)


def test_product_lines_keep_distinct_keys():
    assert product_key("Gạo ST25") != product_key("Gạo ST24")
    assert product_key("Trà xanh") != product_key("Trà xanh túi lọc")


def test_legal_compatibility():
    assert legal_compatible("", "htx")
    assert legal_compatible("tnhh", "cp")
    assert legal_compatible("hkd", "cs")
    assert not legal_compatible("htx", "tnhh")


_WORDS = st.sampled_from(
    ["HTX", "Hợp tác xã", "nông nghiệp", "NN", "DV", "Công ty", "Cty", "TNHH", "MTV", "CP", "cổ phần",
     "Hộ", "kinh doanh", "Cơ sở", "sản xuất", "và", "Hoà", "Bình", "ST25", "500g", "“x”", "-", "Đ"]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_WORDS, max_size=8).map(" ".join), st.text(max_size=30)))
def test_keys_are_idempotent(text):
    assert owner_key(owner_key(text)) == owner_key(text)
    assert product_key(product_key(text)) == product_key(text)
    legal, core = split_owner(text)
    assert split_owner(owner_key(text)) == (legal, core)
