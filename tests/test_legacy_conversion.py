"""TCVN3 / VNI <-> Unicode: every letter, real phrases, round trips, and conservative detection."""

from __future__ import annotations

import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop.ingest.legacy import (
    ENCODINGS,
    TCVN3,
    VNI,
    LegacyResult,
    convert,
    detect,
    from_unicode,
    is_vietnamese_syllable,
    to_unicode,
)

TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
LOWER_LETTERS = sorted(
    {unicodedata.normalize("NFC", b + t) for b in "aăâeêioôơuưy" for t in TONES} | {"đ"}
)
assert len(LOWER_LETTERS) == 12 * 6 + 1

PHRASES = [
    "Hợp tác xã Nông nghiệp Thành Công",
    "Công ty TNHH MTV Chè Thái Nguyên",
    "Mật ong bạc hà",
    "Nước mắm Phú Quốc thượng hạng",
    "Quýt hồng Lai Vung",
    "Hộ kinh doanh Nguyễn Thị Hường",
    "Đặc sản gạo ST25 Sóc Trăng",
    "Rượu ngô men lá Bắc Hà",
    "Tổ hợp tác sản xuất miến dong Bình Liêu",
    "Cơ sở sản xuất bánh tráng Mỹ Lồng",
]


# --- the tables, against UniKey's published converter tables ---------------------------------
# tests/data/legacy_vectors.tsv holds every letter's TCVN3 and VNI-Windows bytes as UniKey's
# VnConv tables give them (its header names the file and commit). These tests tie the module's
# tables to that independent source; the round trips further down only show they are consistent.

VECTORS_FILE = Path(__file__).parent / "data" / "legacy_vectors.tsv"


def _read_vectors() -> list[tuple[str, str, str]]:
    """(letter, TCVN3 text, VNI text): each byte read as the Latin-1 character a reader shows."""
    lines = [ln for ln in VECTORS_FILE.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    header, *rows = (ln.split("\t") for ln in lines)
    assert header == ["letter", "codepoint", "tcvn3", "vni", "name"]
    out = []
    for letter, codepoint, tcvn3, vni, name in rows:
        assert letter == chr(int(codepoint[2:], 16)) and unicodedata.name(letter) == name
        out.append((letter, bytes.fromhex(tcvn3).decode("latin-1"), bytes.fromhex(vni).decode("latin-1")))
    return out


VECTORS = _read_vectors()
# Toned capitals have no TCVN3 code: the file gives them the small letter's code.
TCVN3_OWN_CAPITALS = "ĂÂÊÔƠƯĐ"


def test_the_vectors_cover_every_vietnamese_letter_once():
    letters = [v[0] for v in VECTORS]
    expected = {ch for low in LOWER_LETTERS for ch in (low, low.upper()) if not ch.isascii()}
    assert len(letters) == len(set(letters)) == len(expected) == 134
    assert set(letters) == expected


@pytest.mark.parametrize("letter,tcvn3,vni", VECTORS, ids=[f"U+{ord(v[0]):04X}" for v in VECTORS])
def test_tcvn3_decodes_unikeys_code(letter, tcvn3, vni):
    if letter.islower() or letter in TCVN3_OWN_CAPITALS:
        assert to_unicode(tcvn3, TCVN3) == letter
        assert to_unicode(f"x{tcvn3}n", TCVN3) == f"x{letter}n"
    else:  # the small code typed in a capitals font: a capital inside an all-capitals word
        assert to_unicode(tcvn3, TCVN3) == letter.lower()
        assert to_unicode(f"X{tcvn3}N", TCVN3) == f"X{letter}N"


@pytest.mark.parametrize("letter,tcvn3,vni", VECTORS, ids=[f"U+{ord(v[0]):04X}" for v in VECTORS])
def test_tcvn3_encodes_to_unikeys_code(letter, tcvn3, vni):
    assert from_unicode(letter, TCVN3) == tcvn3


@pytest.mark.parametrize("letter,tcvn3,vni", VECTORS, ids=[f"U+{ord(v[0]):04X}" for v in VECTORS])
def test_vni_decodes_unikeys_bytes(letter, tcvn3, vni):
    assert to_unicode(vni, VNI) == letter
    assert to_unicode(f"x{vni}n", VNI) == f"x{letter}n"


@pytest.mark.parametrize("letter,tcvn3,vni", VECTORS, ids=[f"U+{ord(v[0]):04X}" for v in VECTORS])
def test_vni_encodes_to_unikeys_bytes(letter, tcvn3, vni):
    assert from_unicode(letter, VNI) == vni


# --- the tables, round trips (consistency only) ----------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_lower_case_letter_round_trips(encoding):
    for letter in LOWER_LETTERS:
        legacy = from_unicode(letter, encoding)
        assert all(ord(ch) < 256 for ch in legacy), letter
        assert to_unicode(legacy, encoding) == letter


def test_every_capital_round_trips_in_vni():
    for letter in LOWER_LETTERS:
        capital = letter.upper()
        assert to_unicode(from_unicode(capital, VNI), VNI) == capital


def test_every_capital_round_trips_in_tcvn3_inside_a_capital_word():
    # A toned capital has no TCVN3 code of its own (.VnTimeH shows the small code as a capital):
    # it is recovered from its all-capitals word.
    for letter in LOWER_LETTERS:
        word = f"N{letter.upper()}N"
        assert to_unicode(from_unicode(word, TCVN3), TCVN3) == word


def test_tcvn3_untoned_capitals_have_their_own_codes():
    assert from_unicode("ĂÂÊÔƠƯĐ", TCVN3) == "¡¢£¤¥¦§"
    assert to_unicode("¡¢£¤¥¦§", TCVN3) == "ĂÂÊÔƠƯĐ"


def test_tcvn3_lone_toned_capital_is_not_representable():
    # "Ấp" typed in ABC: the Ấ has only the small code; nothing says it was a capital.
    assert to_unicode(from_unicode("Ấp Bắc", TCVN3), TCVN3) == "ấp Bắc"
    assert to_unicode("Tû", TCVN3) == "Tỷ"  # one capital: a title-case word, not all capitals


def test_known_mojibake_from_the_spec():
    assert to_unicode("Hîp t¸c x·", TCVN3) == "Hợp tác xã"
    assert to_unicode("Hôïp taùc xaõ", VNI) == "Hợp tác xã"
    assert to_unicode("Céng hoµ x· héi chñ nghÜa ViÖt Nam", TCVN3) == "Cộng hoà xã hội chủ nghĩa Việt Nam"
    assert to_unicode("N\xadíc m¾m", TCVN3) == "Nước mắm"  # ư is the soft hyphen
    assert to_unicode("COÂNG TY", VNI) == "CÔNG TY"


def test_vni_accent_typed_in_either_case_follows_the_base():
    assert to_unicode("Aùnh", VNI) == "Ánh"
    assert to_unicode("AÙNH", VNI) == "ÁNH"


def test_to_unicode_returns_nfc_and_rejects_unknown_encodings():
    out = to_unicode("Thµnh", TCVN3)
    assert out == unicodedata.normalize("NFC", out) == "Thành"
    with pytest.raises(ValueError):
        to_unicode("x", "cp1258")
    with pytest.raises(ValueError):
        from_unicode("x", "cp1258")


# --- phrases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("phrase", PHRASES)
def test_real_phrases_are_detected_and_converted(phrase, encoding):
    legacy = from_unicode(phrase, encoding)
    assert legacy != phrase
    assert detect(legacy) == encoding
    assert convert(legacy) == LegacyResult(phrase, encoding, True)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_all_capitals_title_converts(encoding):
    title = "DANH SÁCH SẢN PHẨM OCOP TỈNH ĐIỆN BIÊN NĂM 2025"
    assert convert(from_unicode(title, encoding)) == LegacyResult(title, encoding, True)


# --- detection must stay quiet on ordinary text ----------------------------------------------


@pytest.mark.parametrize("text", PHRASES + [
    "Cà phê Trung Nguyên", "Chè Thái", "Bánh tét", "Trà xanh", "Nem chua", "Ô mai",
    "TNHH MTV", "ST25", "12/05/2024", "1234/QĐ-UBND", "",
    "Café", "5°C", "½ kg", "Crème brûlée", "naïve", "Hôtel", "Brand®", "Nhãn hiệu™ ©2024",
    "Mật ong 🍯", "Honey 🍯🐝", "Straße", "Ñandú", "µg/kg", "Giá: 50.000 ₫", "São Paulo",
    unicodedata.normalize("NFD", "Hợp tác xã Nông nghiệp Thành Công"),
])
def test_plain_text_is_left_alone(text):
    assert detect(text) is None
    assert convert(text) == LegacyResult(text, None, True)


def test_unconvertible_legacy_looking_text_is_not_ok():
    # TCVN3 marks inside words, but the words do not become Vietnamese.
    result = convert("Zx¸qw Kr·zt Pl¶vb")
    assert result.ok is False and result.text == "Zx¸qw Kr·zt Pl¶vb"


def test_unconvertible_vni_looking_text_is_not_ok():
    assert convert("xqaù zzoâ").ok is False
    assert convert("Thaùi Nguyeân xqaù zzoâ") == LegacyResult("Thaùi Nguyeân xqaù zzoâ", VNI, False)


def test_french_words_with_lone_vni_letters_pass():
    assert convert("Hôtel Côte Noël") == LegacyResult("Hôtel Côte Noël", None, True)


def test_mostly_convertible_text_with_junk_is_not_trusted():
    result = convert("Hîp t¸c Zx¸qw Kr·zt Pl¶vb")
    assert result.ok is False


def test_convert_tolerates_non_text():
    assert convert(None) == LegacyResult(None, None, True)
    assert detect(None) is None


@pytest.mark.parametrize("word,ok", [
    ("hợp", True), ("NGHIỆP", True), ("quýt", True), ("giếng", True), ("khuya", True),
    ("tốt", True), ("tèt", False), ("café", False), ("ăn", True), ("ă", False), ("hoà", True),
    ("xã", True), ("abc", False), ("nghiêng", True), ("ưng", True), ("hỏỉ", False),
])
def test_syllable_yardstick(word, ok):
    assert is_vietnamese_syllable(word) is ok


# --- properties ------------------------------------------------------------------------------

_small_word = st.text(alphabet=LOWER_LETTERS + list(string.ascii_lowercase), min_size=1, max_size=8)
# Title case only where TCVN3 can write the capital (ASCII or Ă Â Ê Ô Ơ Ư Đ), with a small
# ASCII letter left so the word does not read as all capitals.
_title_word = _small_word.filter(lambda w: w[0] in string.ascii_lowercase + "ăâêôơưđ").map(
    lambda w: w[0].upper() + w[1:]).filter(lambda w: any(ch in string.ascii_lowercase for ch in w))
_words = st.lists(st.one_of(_small_word, _title_word), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(_words)
def test_vni_round_trip_property(words):
    text = " ".join(words)
    assert to_unicode(from_unicode(text, VNI), VNI) == text


@settings(max_examples=300, deadline=None)
@given(_words)
def test_tcvn3_round_trip_property(words):
    text = " ".join(words)
    assert to_unicode(from_unicode(text, TCVN3), TCVN3) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=[ch.upper() for ch in LOWER_LETTERS] + list(string.ascii_uppercase),
                        min_size=1, max_size=8), min_size=1, max_size=6)
       .filter(lambda ws: sum(ch in string.ascii_uppercase + "ĂÂÊÔƠƯĐ" for ch in "".join(ws)) >= 2))
def test_all_capitals_round_trip_property(words):
    text = " ".join(words)
    for encoding in ENCODINGS:
        assert to_unicode(from_unicode(text, encoding), encoding) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_convert_never_raises_and_plain_ascii_is_untouched(text):
    result = convert(text)
    assert isinstance(result.ok, bool)
    if text.isascii():
        assert result == LegacyResult(text, None, True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PHRASES), min_size=1, max_size=3))
def test_unicode_vietnamese_never_detected(phrases):
    assert detect(" ".join(phrases)) is None
