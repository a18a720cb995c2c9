"""Harmless rewrites of an owner or product name (the same product, written differently).

Each function returns the rewritten text or None when it does not apply, so a caller can try
another: legal-form variant (``HTX`` <-> ``Hợp tác xã``), tone-mark placement (``Hòa`` <->
``Hoà``), letter case, extra spaces and punctuation, a one-character typo in a long word.
"""

from __future__ import annotations

import re

import numpy as np

from ocop.generate.names import LEGAL_FORM_VARIANTS

_TONE_SWAP = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "ùy": "uỳ", "úy": "uý",
              "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ", "òe": "oè", "óe": "oé"}
_TONE_RE = re.compile("|".join(_TONE_SWAP) + r"(?![a-zà-ỹđ])", re.IGNORECASE)
_LONG_WORD_RE = re.compile(r"\b[^\W\d_]{6,}\b")


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


def typo(text: str, rng: np.random.Generator) -> str | None:
    """Drop or double one inner letter of a word of six letters or more."""
    words = list(_LONG_WORD_RE.finditer(text))
    if not words:
        return None
    m = words[rng.integers(len(words))]
    k = m.start() + int(rng.integers(1, len(m.group(0)) - 1))
    return text[:k] + text[k + 1:] if rng.random() < 0.5 else text[:k] + text[k] + text[k:]


def rewrite(legal: str, core: str, product: str, rng: np.random.Generator) -> tuple[str, str]:
    """(owner text, product text) with one harmless change, chosen among those that apply."""
    owner = f"{legal} {core}"
    kinds = rng.permutation(5)
    for kind in kinds:
        if kind == 0 and (o := legal_form_variant(legal, core, rng)):
            return o, product
        if kind == 1:
            if o := tone_placement(owner, rng):
                return o, product
            if p := tone_placement(product, rng):
                return owner, p
        if kind == 2:
            return (letter_case(owner, rng), product) if rng.random() < 0.5 else (owner, letter_case(product, rng))
        if kind == 3:
            return (spacing(owner, rng), product) if rng.random() < 0.5 else (owner, spacing(product, rng))
        if kind == 4:
            if (c := typo(core, rng)) is not None:
                return f"{legal} {c}", product
            if (p := typo(product, rng)) is not None:
                return owner, p
    return owner.upper(), product
