"""Legacy Vietnamese font encodings (TCVN3 and VNI) to Unicode, and back.

Before Unicode, Vietnamese was typed in 8-bit fonts. A workbook typed in such a font stores the
font's byte values, which Excel and our readers show as the cp1252/Latin-1 characters of those
bytes ("mojibake in Unicode terms"):

- **TCVN3** (ABC, ``.VnTime`` fonts): one byte per letter. ``Hîp t¸c x·`` = ``Hợp tác xã``.
  TCVN3 has codes for the *lower-case* toned letters and for the seven upper-case base letters
  ``Ă Â Ê Ô Ơ Ư Đ`` only: capitals with a tone were typed with the lower-case code in an
  upper-case font (``.VnTimeH``). So a toned capital is not representable on its own;
  ``to_unicode`` restores it inside an all-capitals word (``HîP`` -> ``HỢP``: the word has two or
  more capitals and no small letter, or the whole text is in capitals), so ``Tû`` stays ``Tỷ``.
  ``from_unicode`` writes toned capitals with the lower-case code, as the ABC keyboard did.
- **VNI** (VNI-Windows fonts): a base letter followed by accent characters.
  ``Hôïp taùc xaõ`` = ``Hợp tác xã``. Every letter, upper and lower case, is representable.

Detection is deliberately conservative: a word is *evidence* only when it holds an ASCII letter
and a Latin-1 character, is not a valid Vietnamese syllable as written, and becomes one (or
more) after conversion. Ordinary Unicode Vietnamese, ASCII and Latin-1 words (``Café``,
``5°C``, ``½``) never convert.
"""

from __future__ import annotations

import re
from collections import Counter
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

TCVN3 = "tcvn3"
VNI = "vni"
ENCODINGS = (TCVN3, VNI)

# --- the Vietnamese letters ------------------------------------------------------------------

_BASES = "aăâeêioôơuưy"
# Tone order used by both tables below: grave, hook above, tilde, acute, dot below.
_TONE_MARKS = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
_TONED: dict[str, str] = {
    b: "".join(unicodedata.normalize("NFC", b + m) for m in _TONE_MARKS) for b in _BASES
}

# --- TCVN3 -----------------------------------------------------------------------------------

# Lower-case toned letters: five codes per base letter, in _TONE_MARKS order (bytes B5-FE).
_TCVN3_TONED = {
    "a": "µ¶·¸¹", "ă": "»¼½¾Æ", "â": "ÇÈÉÊË", "e": "ÌÎÏÐÑ", "ê": "ÒÓÔÕÖ", "i": "×ØÜÝÞ",
    "o": "ßáâãä", "ô": "åæçèé", "ơ": "êëìíî", "u": "ïñòóô", "ư": "õö÷øù", "y": "úûüýþ",
}
# Untoned letters with a code of their own (bytes A1-AE; ư is A8+5 = the soft hyphen AD).
_TCVN3_PLAIN = {
    "Ă": "¡", "Â": "¢", "Ê": "£", "Ô": "¤", "Ơ": "¥", "Ư": "¦", "Đ": "§",
    "ă": "¨", "â": "©", "ê": "ª", "ô": "«", "ơ": "¬", "ư": "\xad", "đ": "®",
}
_TCVN3_DECODE: dict[str, str] = dict((v, k) for k, v in _TCVN3_PLAIN.items())
for _base, _codes in _TCVN3_TONED.items():
    _TCVN3_DECODE.update(zip(_codes, _TONED[_base]))
_TCVN3_ENCODE: dict[str, str] = {u: c for c, u in _TCVN3_DECODE.items()}
# A toned capital has no code: use the lower-case one (the .VnTimeH convention).
_TCVN3_ENCODE.update({u.upper(): c for c, u in _TCVN3_DECODE.items() if u.upper() not in _TCVN3_ENCODE})
_TCVN3_TABLE = str.maketrans(_TCVN3_DECODE)

# --- VNI -------------------------------------------------------------------------------------

_VNI_TONES = ("ø", "û", "õ", "ù", "ï")       # after a, e, o, u, y, ơ (ô), ư (ö)
_VNI_HAT_TONES = ("à", "å", "ã", "á", "ä")   # after the circumflex: â, ê, ô
_VNI_BREVE_TONES = ("è", "ú", "ü", "é", "ë")  # after the breve: ă
_VNI_LOWER: dict[str, str] = {
    "ă": "aê", "â": "aâ", "ê": "eâ", "ô": "oâ", "ơ": "ô", "ư": "ö", "đ": "ñ",
}
for _base, _prefix, _tones in (
    ("a", "a", _VNI_TONES), ("ă", "a", _VNI_BREVE_TONES), ("â", "a", _VNI_HAT_TONES),
    ("e", "e", _VNI_TONES), ("ê", "e", _VNI_HAT_TONES), ("o", "o", _VNI_TONES),
    ("ô", "o", _VNI_HAT_TONES), ("ơ", "ô", _VNI_TONES), ("u", "u", _VNI_TONES),
    ("ư", "ö", _VNI_TONES), ("y", "y", _VNI_TONES),
):
    _VNI_LOWER.update({u: _prefix + t for u, t in zip(_TONED[_base], _tones)})
_VNI_LOWER.update(zip(_TONED["i"], ("ì", "æ", "ó", "í", "ò")))  # i: one character per tone
_VNI_LOWER["ỵ"] = "î"                                            # ỵ: one character too
_VNI_ENCODE: dict[str, str] = {**_VNI_LOWER, **{u.upper(): v.upper() for u, v in _VNI_LOWER.items()}}


def _vni_decode_table() -> dict[str, str]:
    """VNI sequence -> letter; the accent may be typed in either case (the base decides)."""
    table: dict[str, str] = {}
    for u, seq in _VNI_LOWER.items():
        table[seq] = u
        table[seq.upper()] = u.upper()
        if len(seq) == 2:
            table[seq[0].upper() + seq[1]] = u.upper()
    return table


_VNI_DECODE = _vni_decode_table()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, _VNI_DECODE), key=len, reverse=True)))
# Base letter + accent character: the unmistakable VNI mark (``aù``); lone letters like ô are not.
_VNI_PAIR_RE = re.compile("|".join(re.escape(seq) for seq in _VNI_DECODE if len(seq) == 2))

# --- Vietnamese syllables (the detection yardstick) ------------------------------------------

_ONSET = "ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnpqrstvx]"  # q: quý = q + uy
_OPEN_ONLY = "ai ao au ay âu ây eo êu ia iu iêu oai oay oao oeo oi ôi ơi ua ui uôi uơ ưa ưi ưu ươi ươu uya uyu uây yêu y"
_CODA_REQUIRED = "ă â iê uô ươ yê uâ oă uyê oo"
_EITHER = "a e ê i o ô ơ u ư oa oe uê uy"


def _alts(words: str) -> str:
    return "|".join(sorted(words.split(), key=len, reverse=True))


_SYLLABLE_RE = re.compile(
    rf"(?:{_ONSET})?(?:(?:{_alts(_OPEN_ONLY)})|(?:{_alts(_CODA_REQUIRED)})(?P<c1>ch|ng|nh|[cmnpt])"
    rf"|(?:{_alts(_EITHER)})(?P<c2>ch|ng|nh|[cmnpt])?)"
)
_TONE_SET = frozenset(_TONE_MARKS)
_STOP_TONES = frozenset(("\u0301", "\u0323"))  # only sắc / nặng before c, ch, p, t
_VIET_BEYOND_LATIN1 = re.compile("[ĂăĐđĨĩŨũƠơƯư\u0300-\u0323\u1ea0-\u1ef9]")
_TOKEN_RE = re.compile(r"[^\s!-/:-@\[-`{-~]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_LATIN1 = re.compile("[\xa0-\xff]")
# TCVN3 codes that are symbols in Latin-1, next to a letter (``t¸c``); ® © ¢ £ ¤ ¥ left out:
# they follow brand names in ordinary text.
_TCVN3_MARKS = "¡¦§¨ª«¬\xadµ¶·¸¹»¼½¾×÷"
_TCVN3_SYMBOL_IN_WORD = re.compile(f"[A-Za-z][{_TCVN3_MARKS}]|[{_TCVN3_MARKS}][A-Za-z]")

_MIN_SHARE_DETECT = 0.5   # share of evidence words that must convert for detect() to name it
_MIN_SHARE_OK = 0.8       # share needed for convert() to trust the conversion
_MIN_LEGACY_MARKS = 2     # words with legacy marks that make unconvertible text "look legacy"


@lru_cache(maxsize=65_536)
def is_vietnamese_syllable(word: str) -> bool:
    """True when ``word`` is spelled like one Vietnamese syllable (any case, at most one tone)."""
    parts = unicodedata.normalize("NFD", word.lower())
    tones = [ch for ch in parts if ch in _TONE_SET]
    if len(tones) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(ch for ch in parts if ch not in _TONE_SET))
    m = _SYLLABLE_RE.fullmatch(bare)
    if m is None:
        return False
    coda = m.group("c1") or m.group("c2")
    return not (coda in ("c", "ch", "p", "t") and tones and tones[0] not in _STOP_TONES)


def _is_vietnamese_text(text: str) -> bool:
    words = _TOKEN_RE.findall(text)
    return bool(words) and all(is_vietnamese_syllable(w) for w in words)


# --- conversion ------------------------------------------------------------------------------


_TCVN3_CAPITALS = frozenset(_TCVN3_PLAIN[ch] for ch in _TCVN3_PLAIN if ch.isupper())
_TCVN3_SMALL = frozenset(_TCVN3_PLAIN[ch] for ch in _TCVN3_PLAIN if ch.islower())


def _case_counts(text: str) -> tuple[int, bool]:
    """(capitals, any small letter) counting ASCII letters and TCVN3's untoned letter codes."""
    capitals = sum((ch.isascii() and ch.isupper()) or ch in _TCVN3_CAPITALS for ch in text)
    small = any((ch.isascii() and ch.islower()) or ch in _TCVN3_SMALL for ch in text)
    return capitals, small


def _tcvn3_to_unicode(text: str) -> str:
    """Translate; toned letters become capitals inside all-capitals words (``.VnTimeH`` text):
    a word with two or more capitals and no small letter, or any word of an all-capitals text."""
    capitals, small = _case_counts(text)
    all_caps = capitals >= 2 and not small

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        out = w.translate(_TCVN3_TABLE)
        capitals, small = _case_counts(w)
        return out.upper() if not small and (capitals >= 2 or all_caps) else out

    return re.sub(r"\S+", word, text)


def to_unicode(text: str, encoding: str) -> str:
    """Decode legacy-font mojibake in ``encoding`` ("tcvn3" or "vni") to NFC Unicode."""
    if encoding == TCVN3:
        out = _tcvn3_to_unicode(text)
    elif encoding == VNI:
        out = _VNI_RE.sub(lambda m: _VNI_DECODE[m.group(0)], text)
    else:
        raise ValueError(f"unknown legacy encoding {encoding!r}")
    return unicodedata.normalize("NFC", out)


def from_unicode(text: str, encoding: str) -> str:
    """The mojibake Unicode ``text`` becomes when typed in an ``encoding`` font (for test data)."""
    table = {TCVN3: _TCVN3_ENCODE, VNI: _VNI_ENCODE}.get(encoding)
    if table is None:
        raise ValueError(f"unknown legacy encoding {encoding!r}")
    return "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFC", text))


# --- detection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacyResult:
    """Outcome of :func:`convert`: the text to use, the encoding found, and whether to trust it."""

    text: str
    encoding: str | None
    ok: bool


def _evidence_words(text: str) -> list[str]:
    """Words that hold an ASCII letter and a Latin-1 character and are not Vietnamese as written."""
    return [
        w for w in _TOKEN_RE.findall(text)
        if _LATIN1.search(w) and _ASCII_LETTER.search(w) and not is_vietnamese_syllable(w)
    ]


@lru_cache(maxsize=65_536)
def _converts(word: str, encoding: str) -> bool:
    return _is_vietnamese_text(to_unicode(word, encoding))


def _score(text: str) -> tuple[str | None, float]:
    """(best encoding, share of the evidence words it turns into Vietnamese)."""
    words = _evidence_words(text)
    if not words:
        return None, 0.0
    best, best_good = None, 0
    for enc in ENCODINGS:  # ties go to TCVN3, the more common font
        good = sum(_converts(w, enc) for w in words)
        if good > best_good:
            best, best_good = enc, good
    return best, best_good / len(words)


def _plain(text: str) -> bool:
    """Text that cannot be legacy mojibake: ASCII, or holding real Vietnamese Unicode letters."""
    return text.isascii() or _VIET_BEYOND_LATIN1.search(text) is not None


def detect(text: str) -> str | None:
    """``"tcvn3"``, ``"vni"`` or None (plain Unicode/ASCII, or not convincingly legacy)."""
    if not isinstance(text, str) or _plain(text):
        return None
    enc, share = _score(text)
    return enc if share >= _MIN_SHARE_DETECT else None


def _looks_legacy(text: str) -> bool:
    """Unconvertible text that still carries legacy marks in several words (``t¸c``, ``aù``)."""
    marked = sum(
        bool(_TCVN3_SYMBOL_IN_WORD.search(w) or _VNI_PAIR_RE.search(w)) for w in _evidence_words(text)
    )
    return marked >= _MIN_LEGACY_MARKS


@lru_cache(maxsize=200_000)
def convert(text: str) -> LegacyResult:
    """Convert ``text`` if it is legacy-font mojibake.

    ``ok`` is False when the text looks legacy-encoded but too few of its words become
    Vietnamese: the caller rejects the row rather than load mojibake.
    """
    if not isinstance(text, str) or _plain(text):
        return LegacyResult(text, None, True)
    enc, share = _score(text)
    if enc is not None and share >= _MIN_SHARE_OK:
        return LegacyResult(to_unicode(text, enc), enc, True)
    if (enc is not None and share >= _MIN_SHARE_DETECT) or _looks_legacy(text):
        return LegacyResult(text, enc, False)
    return LegacyResult(text, None, True)


def dominant_encoding(texts, min_votes: int = 2, min_share: float = 0.6) -> str | None:
    """The legacy font a whole sheet was typed in, by majority of its cells' detections.

    A single short cell is ambiguous (``Soá QÑ`` reads as both fonts); a register typed in a
    legacy font has dozens of cells that agree, so the vote is decided over all of them."""
    votes = Counter(enc for t in texts if isinstance(t, str) and (enc := detect(t)))
    if not votes:
        return None
    enc, n = votes.most_common(1)[0]
    return enc if n >= min_votes and n / sum(votes.values()) >= min_share else None


@lru_cache(maxsize=200_000)
def convert_as(text: str, encoding: str) -> LegacyResult:
    """Convert ``text`` from the sheet's known legacy ``encoding``.

    The sheet's font was decided by a vote over all its cells, so every text is read in it,
    except text that is real Unicode Vietnamese or ASCII as written. Text that still carries
    legacy marks after conversion is flagged (``ok=False``) so its row is rejected."""
    if not isinstance(text, str) or _plain(text):
        return LegacyResult(text, None, True)
    converted = to_unicode(text, encoding)
    if converted == text or (_is_vietnamese_text(text) and not _is_vietnamese_text(converted)):
        return LegacyResult(text, None, True)
    if _looks_legacy(converted):
        return LegacyResult(text, encoding, False)
    return LegacyResult(converted, encoding, True)
