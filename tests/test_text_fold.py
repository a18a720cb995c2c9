"""``strip_diacritics`` (a translate table filled per character) equals its definition: NFD,
drop every combining mark (Unicode category Mn), then đ/Đ -> d/D."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ocop.text import strip_diacritics


def _definition(text: str) -> str:
    s = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn").replace("đ", "d").replace("Đ", "D")


def test_every_character_below_u3000():
    for code in range(0x3000):
        if not 0xD800 <= code < 0xE000:
            assert strip_diacritics(chr(code)) == _definition(chr(code)), hex(code)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_text(text):
    assert strip_diacritics(text) == _definition(text)
