"""OCOP product groups: Decision 148/QĐ-TTg (current, stored) and 1048/QĐ-TTg (older names)."""

from __future__ import annotations

from functools import lru_cache

from ocop.text import fold

GROUPS_148: dict[int, str] = {
    1: "Thực phẩm",
    2: "Đồ uống",
    3: "Dược liệu và sản phẩm từ dược liệu",
    4: "Hàng thủ công mỹ nghệ",
    5: "Sinh vật cảnh",
    6: "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch",
}

# Names under Decision 1048/QĐ-TTg (2019) -> 148 code.
GROUPS_1048: dict[str, int] = {
    "Thực phẩm": 1,
    "Đồ uống": 2,
    "Thảo dược": 3,
    "Vải và may mặc": 4,
    "Lưu niệm - nội thất - trang trí": 4,
    "Dịch vụ du lịch nông thôn, bán hàng": 6,
}

SHORT_FORMS: dict[str, int] = {
    "TP": 1, "Dược liệu": 3, "Thủ công mỹ nghệ": 4, "TCMN": 4, "SVC": 5,
    "Du lịch": 6, "Dịch vụ du lịch": 6, "Thủ công": 4, "Đồ uống": 2,
}


@lru_cache(maxsize=1)
def _index() -> dict[str, int]:
    idx: dict[str, int] = {}
    for code, name in GROUPS_148.items():
        idx[fold(name)] = code
        idx[str(code)] = code
    for name, code in {**GROUPS_1048, **SHORT_FORMS}.items():
        idx[fold(name)] = code
    return idx


@lru_cache(maxsize=4096)
def resolve_group(text: object) -> int | None:
    """Any accepted written form of a product group -> its Decision 148 code (1-6), else None."""
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text) if float(text).is_integer() and 1 <= int(text) <= 6 else None
    key = fold(text)
    if key.startswith("nhom "):
        key = key[5:]
    return _index().get(key)
