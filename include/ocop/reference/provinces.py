"""The 34 provinces (scheme 2025) and the 63 old ones (scheme 2008) each absorbed.

Codes were reused across schemes (15, 24, 44, 52, 80, 82, 91 name a different province before
and after 1 July 2025), so a code is never used without its scheme. ``resolve_province`` turns
any written form of a province name (old or new, with or without prefix or diacritics, either
tone-mark placement, NFC/NFD) into the 2025 province it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ocop.text import fold

SCHEME_2008 = "2008"
SCHEME_2025 = "2025"

# new code, official new name, short name, [(old code, old name), ...]
_TABLE: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("01", "Thành phố Hà Nội", "Hà Nội", [("01", "Hà Nội")]),
    ("04", "Cao Bằng", "Cao Bằng", [("04", "Cao Bằng")]),
    ("08", "Tuyên Quang", "Tuyên Quang", [("02", "Hà Giang"), ("08", "Tuyên Quang")]),
    ("11", "Điện Biên", "Điện Biên", [("11", "Điện Biên")]),
    ("12", "Lai Châu", "Lai Châu", [("12", "Lai Châu")]),
    ("14", "Sơn La", "Sơn La", [("14", "Sơn La")]),
    ("15", "Lào Cai", "Lào Cai", [("10", "Lào Cai"), ("15", "Yên Bái")]),
    ("19", "Thái Nguyên", "Thái Nguyên", [("06", "Bắc Kạn"), ("19", "Thái Nguyên")]),
    ("20", "Lạng Sơn", "Lạng Sơn", [("20", "Lạng Sơn")]),
    ("22", "Quảng Ninh", "Quảng Ninh", [("22", "Quảng Ninh")]),
    ("24", "Bắc Ninh", "Bắc Ninh", [("24", "Bắc Giang"), ("27", "Bắc Ninh")]),
    ("25", "Phú Thọ", "Phú Thọ", [("17", "Hòa Bình"), ("25", "Phú Thọ"), ("26", "Vĩnh Phúc")]),
    ("31", "Thành phố Hải Phòng", "Hải Phòng", [("30", "Hải Dương"), ("31", "Hải Phòng")]),
    ("33", "Hưng Yên", "Hưng Yên", [("33", "Hưng Yên"), ("34", "Thái Bình")]),
    ("37", "Ninh Bình", "Ninh Bình", [("35", "Hà Nam"), ("36", "Nam Định"), ("37", "Ninh Bình")]),
    ("38", "Thanh Hóa", "Thanh Hóa", [("38", "Thanh Hóa")]),
    ("40", "Nghệ An", "Nghệ An", [("40", "Nghệ An")]),
    ("42", "Hà Tĩnh", "Hà Tĩnh", [("42", "Hà Tĩnh")]),
    ("44", "Quảng Trị", "Quảng Trị", [("44", "Quảng Bình"), ("45", "Quảng Trị")]),
    ("46", "Thành phố Huế", "Huế", [("46", "Thừa Thiên Huế")]),
    ("48", "Thành phố Đà Nẵng", "Đà Nẵng", [("48", "Đà Nẵng"), ("49", "Quảng Nam")]),
    ("51", "Quảng Ngãi", "Quảng Ngãi", [("51", "Quảng Ngãi"), ("62", "Kon Tum")]),
    ("52", "Gia Lai", "Gia Lai", [("52", "Bình Định"), ("64", "Gia Lai")]),
    ("56", "Khánh Hòa", "Khánh Hòa", [("56", "Khánh Hòa"), ("58", "Ninh Thuận")]),
    ("66", "Đắk Lắk", "Đắk Lắk", [("54", "Phú Yên"), ("66", "Đắk Lắk")]),
    ("68", "Lâm Đồng", "Lâm Đồng", [("60", "Bình Thuận"), ("67", "Đắk Nông"), ("68", "Lâm Đồng")]),
    ("75", "Đồng Nai", "Đồng Nai", [("70", "Bình Phước"), ("75", "Đồng Nai")]),
    ("79", "Thành phố Hồ Chí Minh", "Hồ Chí Minh",
     [("74", "Bình Dương"), ("77", "Bà Rịa - Vũng Tàu"), ("79", "TP. Hồ Chí Minh")]),
    ("80", "Tây Ninh", "Tây Ninh", [("72", "Tây Ninh"), ("80", "Long An")]),
    ("82", "Đồng Tháp", "Đồng Tháp", [("82", "Tiền Giang"), ("87", "Đồng Tháp")]),
    ("86", "Vĩnh Long", "Vĩnh Long", [("83", "Bến Tre"), ("84", "Trà Vinh"), ("86", "Vĩnh Long")]),
    ("91", "An Giang", "An Giang", [("89", "An Giang"), ("91", "Kiên Giang")]),
    ("92", "Thành phố Cần Thơ", "Cần Thơ", [("92", "Cần Thơ"), ("93", "Hậu Giang"), ("94", "Sóc Trăng")]),
    ("96", "Cà Mau", "Cà Mau", [("95", "Bạc Liêu"), ("96", "Cà Mau")]),
]


@dataclass(frozen=True)
class Province:
    code: str          # 2025 code
    name: str          # official name, e.g. "Thành phố Hà Nội"
    short_name: str    # e.g. "Hà Nội"


@dataclass(frozen=True)
class OldProvince:
    code: str          # 2008 code
    name: str
    new_code: str      # the 2025 province that absorbed it


@dataclass(frozen=True)
class ProvinceMatch:
    code_2025: str     # the 2025 province the text belongs to
    scheme: str        # which scheme's name matched: "2025" or "2008"
    matched_code: str  # the code in that scheme
    matched_name: str


PROVINCES: dict[str, Province] = {c: Province(c, n, s) for c, n, s, _ in _TABLE}
OLD_PROVINCES: dict[str, OldProvince] = {
    oc: OldProvince(oc, on, c) for c, _, _, olds in _TABLE for oc, on in olds
}
assert len(PROVINCES) == 34 and len(OLD_PROVINCES) == 63


def province_name(code_2025: str) -> str:
    return PROVINCES[code_2025].short_name


_PREFIXES = ("thanh pho ", "tp ", "t ", "tinh ")
_EXTRA_ALIASES = {
    "hcm": "79", "tphcm": "79", "tp hcm": "79", "ho chi minh": "79", "sai gon": "79",
    "hn": "01", "brvt": "79", "ba ria vung tau": "79", "hue": "46", "tt hue": "46",
    "thua thien hue": "46", "dac lac": "66", "dak lak": "66", "dac nong": "68",
}


# "Hà Giang (cũ)", "Tuyên Quang (mới)", "Bắc Giang - cũ": annotations common since the merger.
_ANNOTATION_RE = re.compile(r"\s+(cu|moi|truoc sap nhap|sau sap nhap)$")


def _strip_prefix(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if key.startswith(p) and len(key) > len(p):
                key = key[len(p):]
                changed = True
    return key


@lru_cache(maxsize=1)
def _index() -> dict[str, ProvinceMatch]:
    idx: dict[str, ProvinceMatch] = {}
    # Old names first, so a new province whose name equals an old one's (Hà Nội, Tây Ninh...)
    # is reported as the 2025 scheme: overwritten below.
    for old in OLD_PROVINCES.values():
        idx[_strip_prefix(fold(old.name))] = ProvinceMatch(old.new_code, SCHEME_2008, old.code, old.name)
    for p in PROVINCES.values():
        m = ProvinceMatch(p.code, SCHEME_2025, p.code, p.name)
        idx[_strip_prefix(fold(p.name))] = m
        idx[_strip_prefix(fold(p.short_name))] = m
    for alias, code in _EXTRA_ALIASES.items():
        idx.setdefault(alias, ProvinceMatch(code, SCHEME_2025, code, PROVINCES[code].name))
    return idx


@lru_cache(maxsize=4096)
def resolve_province(text: object) -> ProvinceMatch | None:
    """Resolve any written province name (old or new) to its 2025 province; None if unknown."""
    key = _ANNOTATION_RE.sub("", fold(text)).strip()
    if not key:
        return None
    idx = _index()
    for candidate in (key, _strip_prefix(key), key.replace(" ", ""), _strip_prefix(key).replace(" ", "")):
        if candidate in idx:
            return idx[candidate]
    # "tphcm"-style glued prefixes
    for p in ("thanhpho", "tp", "tinh"):
        glued = key.replace(" ", "")
        if glued.startswith(p):
            rest = glued[len(p):]
            for k, m in idx.items():
                if k.replace(" ", "") == rest:
                    return m
    return None
