"""Header aliases: the column headers provinces write, per canonical field (submission-format.md).

Data, not logic: ``ALIASES`` lists the written forms of every field; ``GROUP_HEADERS`` the
sub-headers that only mean something under a merged group cell (``Quyết định công nhận`` over
``Số`` and ``Ngày``). Matching compares :func:`header_key` forms exactly, so case, diacritics,
NFC/NFD, tone placement, punctuation, line breaks, extra spaces and a trailing note in brackets
(``Ngày quyết định (dd/mm/yyyy)``) do not matter.

Ambiguous words are deliberate: ``Tỉnh`` alone is the province column; ``Số`` and ``Ngày``
alone match nothing except under a decision group. A group title written as a single header
(``Quyết định công nhận`` with no sub-headers) is the decision-number cell, which may also hold
the date (``1234/QĐ-UBND ngày 12/5/2024``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ocop.text import fold

ALIASES: dict[str, list[str]] = {
    "row_number": ["STT", "TT", "Số TT", "Số thứ tự", "Thứ tự"],
    "product_name": [
        "Tên sản phẩm", "Tên SP", "Sản phẩm", "Tên sản phẩm OCOP", "Sản phẩm OCOP",
        "Tên sản phẩm/dịch vụ", "Tên sản phẩm, dịch vụ", "Tên sản phẩm được công nhận",
        "Tên sản phẩm đạt OCOP", "Tên SP OCOP",
    ],
    "owner": [
        "Chủ thể", "Tên chủ thể", "Chủ thể sản xuất", "Chủ thể OCOP", "Đơn vị", "Chủ thể/Đơn vị",
        "Tên chủ thể sản xuất", "Tên chủ thể OCOP", "Chủ thể sản phẩm", "Chủ thể kinh tế",
        "Tên đơn vị", "Đơn vị sản xuất", "Tên đơn vị/chủ thể", "Tổ chức/cá nhân",
    ],
    "owner_type_raw": [
        "Loại hình chủ thể", "Loại hình", "Loại hình tổ chức", "Loại hình doanh nghiệp",
        "Loại hình kinh tế", "Loại chủ thể", "Hình thức tổ chức",
    ],
    "address": [
        "Địa chỉ", "Địa chỉ chủ thể", "Địa chỉ sản xuất", "Địa chỉ liên hệ", "Địa chỉ trụ sở",
    ],
    "commune": ["Xã/Phường", "Xã", "Phường", "Phường/Xã", "Xã/Phường/Thị trấn", "Xã, phường"],
    "district": ["Huyện", "Huyện/Thị xã", "Quận/Huyện", "Huyện/TP", "Huyện/Thị xã/Thành phố"],
    "province_raw": ["Tỉnh/Thành phố", "Tỉnh", "Tỉnh/TP", "Tỉnh, thành phố", "Tỉnh/Thành"],
    "group_raw": [
        "Nhóm sản phẩm", "Nhóm", "Ngành hàng", "Nhóm ngành", "Bộ sản phẩm", "Nhóm ngành hàng",
        "Nhóm sản phẩm OCOP", "Nhóm/Bộ sản phẩm", "Phân nhóm", "Phân nhóm sản phẩm",
    ],
    "rating_raw": [
        "Hạng sao", "Số sao", "Phân hạng", "Xếp hạng", "Kết quả phân hạng", "Hạng",
        "Hạng sao đạt được", "Số sao đạt được", "Xếp hạng sao", "Hạng sao OCOP",
        "Kết quả đánh giá", "Kết quả đánh giá, phân hạng", "Hạng sao được công nhận",
    ],
    "potential5_raw": ["Tiềm năng 5 sao", "Sản phẩm tiềm năng 5 sao", "Tiềm năng 5*", "TN5S"],
    "decision_no_raw": [
        "Số quyết định", "Quyết định số", "Số QĐ", "QĐ công nhận", "Số quyết định công nhận",
        "Số QĐ công nhận", "Số hiệu quyết định", "Quyết định công nhận",
        # one cell holding number and date
        "Số, ngày quyết định", "Số/ngày quyết định", "Số, ngày QĐ", "Số và ngày quyết định",
    ],
    "decision_date_raw": [
        "Ngày quyết định", "Ngày công nhận", "Ngày cấp", "Ngày QĐ", "Ngày ban hành quyết định",
        "Ngày ký quyết định", "Ngày quyết định công nhận", "Thời gian công nhận",
    ],
    "issuing_level_raw": [
        "Cấp công nhận", "Cấp quyết định", "Cơ quan công nhận", "Cấp ra quyết định",
        "Cơ quan ban hành", "Cơ quan ban hành quyết định", "Cấp đánh giá",
    ],
    "expiry_raw": [
        "Ngày hết hạn", "Hiệu lực đến", "Thời hạn", "Thời hạn hiệu lực", "Ngày hết hiệu lực",
        "Có hiệu lực đến", "Hiệu lực đến ngày",
    ],
    "status_raw": ["Tình trạng", "Trạng thái", "Tình trạng hiệu lực"],
    "notes": ["Ghi chú"],
}

_DECISION_SUBHEADERS: dict[str, list[str]] = {
    "decision_no_raw": ["Số", "Số QĐ", "Số quyết định", "Số hiệu"],
    "decision_date_raw": ["Ngày", "Ngày QĐ", "Ngày quyết định", "Ngày ban hành", "Ngày ký", "Ngày, tháng, năm"],
}
_DECISION_GROUPS = [
    "Quyết định công nhận", "Quyết định", "QĐ công nhận", "Quyết định công nhận OCOP",
    "Quyết định công nhận sản phẩm OCOP", "Quyết định phân hạng", "Giấy chứng nhận",
]

# decision_date_raw may instead be inside the decision-number cell ("Số, ngày quyết định").
REQUIRED_FIELDS = ("product_name", "owner", "group_raw", "rating_raw", "decision_no_raw", "decision_date_raw")
FIELDS = tuple(ALIASES)

_TRAILING_NOTE_RE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


@lru_cache(maxsize=4096)
def header_key(text: object) -> str:
    """Comparable form of a header cell: ``fold`` of it without a trailing bracketed note."""
    if text is None:
        return ""
    s = str(text)
    stripped = _TRAILING_NOTE_RE.sub("", s)
    return fold(stripped or s)


def _index(table: dict[str, list[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for field, aliases in table.items():
        for alias in aliases:
            key = header_key(alias)
            if index.setdefault(key, field) != field:
                raise ValueError(f"header alias {alias!r} is claimed by {index[key]} and {field}")
    return index


_INDEX = _index(ALIASES)
GROUP_HEADERS: dict[str, dict[str, str]] = {
    header_key(group): _index(_DECISION_SUBHEADERS) for group in _DECISION_GROUPS
}


def match_header(text: object) -> str | None:
    """Canonical field a single header cell names, or None (unknown column)."""
    return _INDEX.get(header_key(text))


def match_sub_header(group: object, sub: object) -> str | None:
    """Field of a sub-header ``sub`` under the merged group cell ``group``, or None."""
    subs = GROUP_HEADERS.get(header_key(group))
    return subs.get(header_key(sub)) if subs else None
