"""Harmless rewrites of an owner or product name (the same product, written differently).

Written independently of the matcher's rules: a typo may hit *any* word, short syllables and
the legal form included, and a record carries one to three variations at once.

Variation kinds (:data:`KINDS`; each function returns the rewritten text or None when it does
not apply, so a caller can try another):

- ``legal_form``: another spelling of the legal form (``HTX`` <-> ``Hợp tác xã``);
- ``tone_placement``: ``Hòa`` <-> ``Hoà``;
- ``marks_lost``: one syllable loses its tone and vowel marks (``Việt`` -> ``Viet``);
- ``no_diacritics``: the whole name is written without diacritics;
- ``letter_case``, ``spacing`` (extra spaces, punctuation);
- ``typo``: one keying mistake in one word (:data:`TYPOS`): ``substitution`` by a neighbouring
  QWERTY key, ``deletion``, ``insertion`` of a neighbouring key, ``doubling``,
  ``transposition``, and ``telex`` (a Telex key left in the text instead of its mark: ``Phát``
  -> ``Phats``, ``Đạt`` -> ``Ddạt``, ``Sơn`` -> ``Sown``, ``Việt`` -> ``Vieet``).

A mistyped legal form one edit from a form of another owner type (``THX``: HTX or THT?) is
not generated: nobody can tell the owner's type from it, so the truth could not either.
Model codes glued to numbers (``ST25``) are never mistyped: ``ST25``/``TS25`` must stay apart.
VNI leftovers (``Pha1t``) are not generated: a stray digit is indistinguishable from a grade or a
model number (``loại1``, ``ST25``), which must keep products apart.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import numpy as np

from rapidfuzz.distance import OSA

from ocop.generate.names import LEGAL_FORM_VARIANTS, LEGAL_FORMS

_TONE_SWAP = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "ùy": "uỳ", "úy": "uý",
              "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ", "òe": "oè", "óe": "oé"}
_TONE_RE = re.compile("|".join(_TONE_SWAP) + r"(?![a-zà-ỹđ])", re.IGNORECASE)
_WORD_RE = re.compile(r"(?<![\w])[^\W\d_]+(?![\w])")  # whole words of letters: not the ST of ST25

KINDS = ("legal_form", "tone_placement", "marks_lost", "no_diacritics", "letter_case", "spacing", "typo")
KIND_WEIGHTS = (0.12, 0.08, 0.14, 0.08, 0.1, 0.1, 0.38)
TYPOS = ("substitution", "deletion", "insertion", "doubling", "transposition", "telex")
VARIATIONS_PER_RECORD = {1: 0.6, 2: 0.3, 3: 0.1}
SHORT_WORD = 4  # letters: a typo in a word this short or shorter is a "short-word" typo

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_POS = {ch: (r, i) for r, row in enumerate(_ROWS) for i, ch in enumerate(row)}
NEIGHBOURS: dict[str, str] = {
    ch: "".join(other for other, (r2, i2) in _POS.items()
                if other != ch and abs(r2 - r) <= 1 and (i2 - i) in ((-1, 1) if r2 == r else (0, 1) if r2 < r else (-1, 0)))
    for ch, (r, i) in _POS.items()
}
# Telex: the key typed after a letter to give it its mark / tone.
_TELEX_TONE = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_TELEX_VOWEL = {"\u0302": None, "\u031b": "w", "\u0306": "w"}  # circumflex: double the vowel


class Variation(NamedTuple):
    owner: str
    product: str
    kinds: tuple[str, ...]  # e.g. ("legal_form", "typo:deletion:short:owner")


def legal_form_variant(legal: str, core: str, rng: np.random.Generator) -> str | None:
    for variants in LEGAL_FORM_VARIANTS:
        if legal in variants:
            others = [v for v in variants if v != legal]
            return f"{others[rng.integers(len(others))]} {core}"
    return None


def tone_placement(text: str, rng: np.random.Generator) -> str | None:
    out = _TONE_RE.sub(lambda m: _swap_case(m.group(0)), text, count=1)
    return out if out != text else None


def _swap_case(s: str) -> str:
    new = _TONE_SWAP[s.lower()]
    return new.capitalize() if s[0].isupper() else new


def letter_case(text: str, rng: np.random.Generator) -> str | None:
    return text.upper() if rng.random() < 0.6 else text.lower()


def spacing(text: str, rng: np.random.Generator) -> str | None:
    words = text.split(" ")
    i = int(rng.integers(1, len(words))) if len(words) > 1 else 1
    styles = ["  ".join(words), " ".join(words[:i]) + "  " + " ".join(words[i:]), f" {text}.",
              f"{text} ,", text.replace(" ", " - ", 1)]
    return styles[rng.integers(len(styles))]


def _plain(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    return {"đ": "d", "Đ": "D"}.get(ch, base)


def _strip(word: str) -> str:
    return "".join(_plain(c) for c in word)


def marks_lost(text: str, rng: np.random.Generator) -> str | None:
    """One syllable written without its marks."""
    marked = [m for m in _WORD_RE.finditer(text) if _strip(m.group(0)) != m.group(0)]
    if not marked:
        return None
    m = marked[rng.integers(len(marked))]
    return text[:m.start()] + _strip(m.group(0)) + text[m.end():]


def no_diacritics(text: str, rng: np.random.Generator) -> str | None:
    out = _strip(text)
    return out if out != text else None


def _keep_case(new: str, like: str) -> str:
    return new.upper() if like.isupper() else new


def _neighbour(ch: str, rng: np.random.Generator) -> str:
    keys = NEIGHBOURS[_plain(ch).lower()]
    return _keep_case(keys[rng.integers(len(keys))], ch)


def typo_word(word: str, kind: str, rng: np.random.Generator) -> str | None:
    """``word`` with one keying mistake of ``kind`` (:data:`TYPOS`), or None if it cannot apply."""
    n = len(word)
    letters = [i for i, c in enumerate(word) if _plain(c).lower() in NEIGHBOURS]
    if not letters:
        return None
    i = letters[rng.integers(len(letters))]
    if kind == "substitution":
        return word[:i] + _neighbour(word[i], rng) + word[i + 1:]
    if kind == "deletion":
        return word[:i] + word[i + 1:] if n >= 2 else None
    if kind == "insertion":
        j = i + int(rng.integers(2))
        return word[:j] + _neighbour(word[i], rng) + word[j:]
    if kind == "doubling":
        return word[:i + 1] + word[i] + word[i + 1:]
    if kind == "transposition":
        pairs = [k for k in range(n - 1) if _strip(word[k]).lower() != _strip(word[k + 1]).lower()]
        if not pairs:
            return None
        k = pairs[rng.integers(len(pairs))]
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    if kind == "telex":
        return _telex(word, rng)
    raise ValueError(kind)


def _telex(word: str, rng: np.random.Generator) -> str | None:
    """One mark of ``word`` left as its Telex key instead (the input method missed it)."""
    options = []
    for i, ch in enumerate(word):
        if ch in "đĐ":
            options.append(word[:i] + _keep_case("dd", ch) + word[i + 1:])
            continue
        parts = unicodedata.normalize("NFD", ch)
        for mark in parts[1:]:
            kept = unicodedata.normalize("NFC", parts.replace(mark, ""))
            if mark in _TELEX_TONE:
                options.append(word[:i] + kept + word[i + 1:] + _keep_case(_TELEX_TONE[mark], word))
            elif mark in _TELEX_VOWEL:
                key = _TELEX_VOWEL[mark] or _plain(ch).lower()
                options.append(word[:i] + kept + _keep_case(key, ch) + word[i + 1:])
    return options[rng.integers(len(options))] if options else None


def typo(text: str, rng: np.random.Generator, kind: str | None = None) -> tuple[str, str, int] | None:
    """``(text, kind, word length)`` with one keying mistake in one word (any length, no digits)."""
    words = [m for m in _WORD_RE.finditer(text)]
    if not words:
        return None
    for _ in range(4):
        m = words[rng.integers(len(words))]
        k = kind or TYPOS[rng.integers(len(TYPOS))]
        new = typo_word(m.group(0), k, rng)
        if new is not None and new != m.group(0):
            return text[:m.start()] + new + text[m.end():], k, len(m.group(0))
    return None


_FOLDED_FORMS = {t: {_strip(f).lower() for f in forms} for t, forms in LEGAL_FORMS.items()}


def _ambiguous_form(written: str, mistyped: str) -> bool:
    """Is the mistyped legal form one edit from a form of *another* owner type (``THX``: HTX or
    THT?). Nobody can tell the owner's type from it, so the truth could not say either."""
    own = next((t for t, forms in LEGAL_FORMS.items() if written in forms), None)
    text = _strip(mistyped).lower()
    return any(OSA.distance(text, f) <= 1 for t, forms in _FOLDED_FORMS.items() if t != own for f in forms)


def rewrite(legal: str, core: str, product: str, rng: np.random.Generator) -> tuple[str, str]:
    """(owner text, product text) with one to three harmless changes (:func:`vary`)."""
    v = vary(legal, core, product, rng)
    return v.owner, v.product


def vary(legal: str, core: str, product: str, rng: np.random.Generator, n: int | None = None) -> Variation:
    """One to three variations (``n``; drawn from :data:`VARIATIONS_PER_RECORD` by default) of
    different kinds, applied one after the other to the owner's legal form, its core name or the
    product name; at least one applies."""
    if n is None:
        n = int(rng.choice(list(VARIATIONS_PER_RECORD), p=list(VARIATIONS_PER_RECORD.values())))
    texts = {"legal": legal, "core": core, "product": product}
    done: list[str] = []
    order = rng.choice(len(KINDS), size=len(KINDS), replace=False, p=np.array(KIND_WEIGHTS) / sum(KIND_WEIGHTS))
    for kind in (KINDS[k] for k in order):
        if len(done) == n:
            break
        label = _apply(kind, texts, rng)
        if label:
            done.append(label)
    return Variation(f"{texts['legal']} {texts['core']}".strip(), texts["product"], tuple(done))


def _apply(kind: str, texts: dict[str, str], rng: np.random.Generator) -> str | None:
    """Apply ``kind`` to one of ``texts`` in place; the variation's label, or None."""
    if kind == "legal_form":
        new = legal_form_variant(texts["legal"], "", rng)
        if new is None:
            return None
        texts["legal"] = new.strip()
        return kind
    fields = ["core", "product"] if kind != "typo" else ["legal", "core", "core", "product", "product"]
    field = fields[rng.integers(len(fields))]
    if kind == "typo":
        found = typo(texts[field], rng)
        if found is None or (field == "legal" and _ambiguous_form(texts["legal"], found[0])):
            return None
        texts[field], sub, length = found
        size = "short" if length <= SHORT_WORD else "long"
        return f"typo:{sub}:{size}:{'owner' if field != 'product' else 'product'}"
    fn = {"tone_placement": tone_placement, "marks_lost": marks_lost, "no_diacritics": no_diacritics,
          "letter_case": letter_case, "spacing": spacing}[kind]
    new = fn(texts[field], rng)
    if new is None or new == texts[field]:
        return None
    texts[field] = new
    return kind
