"""Matching keys for owners and product names.

Both keys start from :func:`ocop.text.fold` (NFC, unified tone marks, diacritic-free, lower
case, punctuation and quote variants turned into spaces) and then split glued numbers from
letters (``ST25`` -> ``st 25``, ``500g`` -> ``500 g``) so spacing never decides a match.

Owners additionally have their legal form separated from the distinctive name:
``split_owner("Công ty TNHH MTV Hoà Bình") == ("tnhh", "hoa binh")``. The legal form is one
canonical token (:data:`LEGAL_FORMS`); qualifiers that only decorate it (``NN``, ``DV``,
``MTV``, ``nông nghiệp`` ...) are dropped with it. ``owner_key`` is ``"<token> <core>"``
(or just the core when no legal form is written).

Keys are pure, deterministic and idempotent (``key(key(x)) == key(x)``); they are cached
because validation calls them once per row for in-file duplicate detection.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ocop.text import fold, nfc

# canonical token -> written heads (folded), matched on whole tokens at the start of the name.
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "htx": ("htx", "hop tac xa"),
    "tnhh": ("tnhh", "cong ty tnhh", "cty tnhh", "cong ty trach nhiem huu han", "cty trach nhiem huu han"),
    "cp": ("cp", "ctcp", "cong ty cp", "cty cp", "cong ty co phan", "cty co phan"),
    "dntn": ("dntn", "doanh nghiep tu nhan"),
    "cty": ("cty", "cong ty"),
    "dn": ("dn", "doanh nghiep"),
    "tht": ("tht", "to hop tac"),
    "hkd": ("hkd", "ho kinh doanh", "ho sxkd", "ho sx kd", "ho san xuat kinh doanh"),
    "cs": ("cs", "cssx", "cssxkd", "co so", "co so sx", "co so san xuat", "co so san xuat kinh doanh"),
}

# Words that only qualify a legal form ("HTX NN", "Công ty TNHH MTV", "HTX DV NN"); stripped
# right after a legal form, repeatedly, so that the core never starts with one (idempotency).
_QUALIFIERS: tuple[str, ...] = (
    "nn", "nong nghiep", "dv", "dich vu", "dvnn", "mtv", "mot thanh vien", "hai thanh vien",
    "sx", "san xuat", "kd", "kinh doanh", "sxkd", "va",
)

# Owner-type family of each legal form (spec: owner type HTX / DN / THT / HKD). Two written
# legal forms are compatible when either is missing or both are of one family.
LEGAL_FAMILY: dict[str, str] = {
    "htx": "HTX", "tnhh": "DN", "cp": "DN", "dntn": "DN", "cty": "DN", "dn": "DN",
    "tht": "THT", "hkd": "HKD", "cs": "HKD",
}


def _by_first_word(phrases: list[tuple[str, str]]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """``[(phrase, value)]`` -> first word -> ``[(phrase words, value)]``, longest phrase first."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, value in phrases:
        index.setdefault(phrase.split()[0], []).append((tuple(phrase.split()), value))
    return {word: sorted(found, key=lambda item: -len(item[0])) for word, found in index.items()}


_HEADS = _by_first_word([(head, token) for token, heads in LEGAL_FORMS.items() for head in heads])
_QUALIFIER_INDEX = _by_first_word([(q, q) for q in _QUALIFIERS])
_DIGIT_EDGE = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


def _tokens(text: object) -> list[str]:
    """Folded tokens with glued digits and letters separated."""
    return _DIGIT_EDGE.sub(" ", fold(nfc(text))).split()


def _strip_prefix(tokens: list[str], prefix: tuple[str, ...]) -> list[str] | None:
    n = len(prefix)
    return tokens[n:] if tuple(tokens[:n]) == prefix else None


@lru_cache(maxsize=500_000)
def split_owner(owner: object) -> tuple[str, str]:
    """``(legal_form_token, core_name)``; the token is ``""`` when no legal form is written."""
    legal, core = _split_once(_tokens(owner))
    while legal:  # "Công ty MTV TNHH X": re-split "cty tnhh x" until stable, so keys are idempotent
        again = _split_once([legal, *core])
        if again == (legal, core):
            break
        legal, core = again
    return legal, " ".join(core)


def _split_once(tokens: list[str]) -> tuple[str, list[str]]:
    for head, token in _HEADS.get(tokens[0], []) if tokens else []:
        rest = _strip_prefix(tokens, head)
        if rest is not None:
            return token, _strip_qualifiers(rest)
    return "", tokens


def _strip_qualifiers(tokens: list[str]) -> list[str]:
    while tokens:
        rest = next(
            (r for q, _ in _QUALIFIER_INDEX.get(tokens[0], []) if (r := _strip_prefix(tokens, q)) is not None), None
        )
        if rest is None:
            return tokens
        tokens = rest
    return tokens


@lru_cache(maxsize=500_000)
def owner_key(owner: object) -> str:
    """Legal-form token + core name: ``"HTX NN Hoà Bình"`` -> ``"htx hoa binh"``."""
    return " ".join(part for part in split_owner(owner) if part)


@lru_cache(maxsize=500_000)
def product_key(name: object) -> str:
    """Folded product name: ``"Gạo ST25 “Hoà Bình”"`` -> ``"gao st 25 hoa binh"``."""
    return " ".join(_tokens(name))


def legal_compatible(a: str, b: str) -> bool:
    """Legal forms that may belong to one owner: equal, one missing, or one owner-type family."""
    return not a or not b or LEGAL_FAMILY[a] == LEGAL_FAMILY[b]
