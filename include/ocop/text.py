"""Vietnamese text normalisation shared by every stage.

- ``nfc``: Unicode NFC with the "new" tone-mark placement unified to the "old" one
  (``hoà`` -> ``hòa``), whitespace collapsed.
- ``fold``: a diacritic-free, lower-case key with ``đ`` -> ``d`` and punctuation turned into
  spaces: ``"  Hợp tác xã  Hoà-Bình "`` -> ``"hop tac xa hoa binh"``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# "New style" tone placement (on the second vowel of oa/oe/uy) -> the traditional placement the
# NSO lists use most.  Both spellings occur in registers; we pick one so equal names compare equal.
_TONE_PAIRS = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_TONE_PAIRS.update({k.upper(): v.upper() for k, v in list(_TONE_PAIRS.items())})
_TONE_PAIRS.update({k[0].upper() + k[1:]: v[0].upper() + v[1:] for k, v in list(_TONE_PAIRS.items()) if k.islower()})
# Only at the end of a syllable (hoà, thuý) – "hoàng", "quyết" must not change.
_TONE_RE = re.compile("(" + "|".join(sorted(map(re.escape, _TONE_PAIRS), key=len, reverse=True)) + r")(?![a-zA-Zà-ỹÀ-Ỹđ])")
_WS_RE = re.compile(r"\s+")
_PUNCT_RE = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=200_000)
def _nfc_str(text: str) -> str:
    s = unicodedata.normalize("NFC", text)
    s = _TONE_RE.sub(lambda m: _TONE_PAIRS[m.group(1)], s)
    return _WS_RE.sub(" ", s).strip()


def nfc(text: object) -> str:
    """Composed Unicode, unified tone marks, single spaces, stripped. ``None`` -> ``""``."""
    if text is None:
        return ""
    return _nfc_str(text if type(text) is str else str(text))


class _Unmarked(dict):
    """``str.translate`` table: combining marks (category Mn) -> removed, đ/Đ -> d/D, any other
    character kept; filled per distinct character on first sight (a C-level look-up after)."""

    def __missing__(self, code: int):
        value = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = value
        return value


_UNMARKED = _Unmarked({ord("đ"): "d", ord("Đ"): "D"})


def strip_diacritics(text: str) -> str:
    """Remove every combining mark and map đ/Đ to d/D (NFD leaves đ alone)."""
    return unicodedata.normalize("NFD", text).translate(_UNMARKED)


@lru_cache(maxsize=200_000)
def fold(text: object) -> str:
    """Lower-case, diacritic-free key; punctuation and runs of spaces become one space."""
    if text is None:
        return ""
    s = strip_diacritics(unicodedata.normalize("NFC", str(text))).lower()
    return _PUNCT_RE.sub(" ", s).strip()
