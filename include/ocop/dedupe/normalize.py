"""Matching keys for owners and product names.

Both keys start from :func:`ocop.text.fold` (NFC, unified tone marks, diacritic-free, lower
case, punctuation and quote variants turned into spaces) and then split glued numbers from
letters (``ST25`` -> ``st 25``, ``500g`` -> ``500 g``) so spacing never decides a match.

Owners additionally have their legal form separated from the distinctive name:
``split_owner("Công ty TNHH MTV Hoà Bình") == ("tnhh", "hoa binh")``. The legal form is one
canonical token (:data:`LEGAL_FORMS`); qualifiers that only decorate it (``NN``, ``DV``,
``MTV``, ``nông nghiệp`` ...) are dropped with it. ``owner_key`` is ``"<token> <core>"``
(or just the core when no legal form is written).

A legal form or qualifier mistyped by one edit is still recognised (:func:`_fuzzy_prefix`;
a longer form one edit off wins over a shorter exact one): in a phrase of several words one
word may be one edit off (``Hợp tá xã``, ``Hộo kinh doanh``, ``Côngg ty TNHH``, ``Cơ xở``); a
one-word abbreviation of three letters or more only when the written token cannot be a
Vietnamese syllable (:func:`syllable_like`: ``TNH``, ``HXT``, ``CTCOP``, but never ``Thu`` for
``THT``). Two-letter qualifiers (``NN``, ``DV``) are not guessed: ``Ng`` may be ``Ngô``.

>>> split_owner("Hợp tá xã Hoà Bình"), split_owner("Côngg ty TNHH Hoà Bình"), split_owner("HXT Hoà Bình")
(('htx', 'hoa binh'), ('tnhh', 'hoa binh'), ('htx', 'hoa binh'))
>>> split_owner("Doanh nghiệp tư hnân Ngô Quang Loan"), split_owner("Thu Hà")
(('dntn', 'ngo quang loan'), ('', 'thu ha'))

Keys are pure, deterministic and idempotent (``key(key(x)) == key(x)``); they are cached
because validation calls them once per row for in-file duplicate detection.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import OSA

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
    exact = next(((rest, token) for head, token in (_HEADS.get(tokens[0], []) if tokens else [])
                  if (rest := _strip_prefix(tokens, head)) is not None), None)
    found = _fuzzy_prefix(tokens, _HEADS)  # a longer head one edit off beats a shorter exact one
    if found is not None and (exact is None or len(found[0]) < len(exact[0])):
        exact = found
    if exact is not None:
        return exact[1], _strip_qualifiers(exact[0])
    return "", tokens


def _strip_qualifiers(tokens: list[str]) -> list[str]:
    while tokens:
        rest = next(
            (r for q, _ in _QUALIFIER_INDEX.get(tokens[0], []) if (r := _strip_prefix(tokens, q)) is not None), None
        )
        if rest is None:
            found = _fuzzy_prefix(tokens, _QUALIFIER_INDEX)
            rest = found[0] if found is not None else None
        if rest is None:
            return tokens
        tokens = rest
    return tokens


_VOWELS = "aeiouy"
# Consonants a Vietnamese syllable may start with (folded).
ONSETS = frozenset("b c d g h k l m n p q r s t v x ch gh gi kh ng ngh nh ph qu th tr".split()) | {""}
CODAS = frozenset("c ch m n ng nh p t".split()) | {""}


def syllable_like(token: str) -> bool:
    """Could ``token`` be a (folded) Vietnamese syllable: a vowel after a valid onset?

    >>> syllable_like("thu"), syllable_like("nghiep"), syllable_like("tht"), syllable_like("ctcop"), syllable_like("utx")
    (True, True, False, False, False)
    """
    i = next((k for k, ch in enumerate(token) if ch in _VOWELS), None)
    if i is None or token[:i] not in ONSETS:
        return False
    j = i
    while j < len(token) and token[j] in _VOWELS:
        j += 1
    return token[j:] in CODAS


def _fuzzy_word(written: str, canonical: str, alone: bool, min_len: int = 3) -> bool:
    """One edit off a legal-form word of >= ``min_len`` letters; an abbreviation standing alone
    (``alone``) only when the written token cannot be a syllable (:func:`syllable_like`)."""
    if len(canonical) < min_len or not written or (alone and (len(canonical) < 3 or syllable_like(written))):
        return False
    return OSA.distance(written, canonical, score_cutoff=1) <= 1


@lru_cache(maxsize=100_000)
def _near_firsts(index_id: int, head: str) -> tuple[str, ...]:
    """First words of the phrases of index ``index_id`` (_HEADS or _QUALIFIER_INDEX) equal to
    ``head`` or one edit from it (cached: heads are a few thousand distinct syllables)."""
    index = _HEADS if index_id == id(_HEADS) else _QUALIFIER_INDEX
    return tuple(first for first in index
                 if first == head or (abs(len(first) - len(head)) <= 1 and _fuzzy_word(head, first, False, 1)))


def _fuzzy_prefix(tokens: list[str], index: dict) -> tuple[list[str], str] | None:
    """``(rest, value)`` of the longest phrase of ``index`` that starts ``tokens`` with exactly
    one word one edit off (:func:`_fuzzy_word`), or None."""
    if not tokens:
        return None
    best: tuple[int, list[str], str] | None = None
    ambiguous = 0
    head = tokens[0]
    for first in _near_firsts(id(index), head):
        for phrase, value in index[first]:
            n = len(phrase)
            if n > len(tokens) or (best is not None and n < best[0]):
                continue
            off = [i for i in range(n) if tokens[i] != phrase[i]]
            # the other words of a phrase, written exactly, vouch for a short one
            if len(off) == 1 and _fuzzy_word(tokens[off[0]], phrase[off[0]], n == 1, 1 if n >= 3 else 2):
                if best is not None and n == best[0] and value != best[2]:
                    ambiguous = n  # ``HT``: HTX or THT? Neither: the token stays in the core
                elif best is None or n > best[0]:
                    best, ambiguous = (n, tokens[n:], value), 0
    return None if best is None or ambiguous == best[0] else (best[1], best[2])


@lru_cache(maxsize=500_000)
def owner_key(owner: object) -> str:
    """Legal-form token + core name.

    >>> owner_key("HTX NN Hoà Bình"), owner_key("Công ty TNHH MTV Hoà Bình"), owner_key("Hoà Bình")
    ('htx hoa binh', 'tnhh hoa binh', 'hoa binh')
    """
    return " ".join(part for part in split_owner(owner) if part)


@lru_cache(maxsize=500_000)
def product_key(name: object) -> str:
    """Folded product name, digits split from letters.

    >>> product_key("Gạo ST25 “Hoà Bình”"), product_key("Mật ong 500g")
    ('gao st 25 hoa binh', 'mat ong 500 g')
    """
    return " ".join(_tokens(name))


def legal_compatible(a: str, b: str) -> bool:
    """Legal forms that may belong to one owner: equal, one missing, or one owner-type family.

    >>> legal_compatible("tnhh", "cp"), legal_compatible("htx", ""), legal_compatible("htx", "tnhh")
    (True, True, False)
    """
    return not a or not b or LEGAL_FAMILY[a] == LEGAL_FAMILY[b]
