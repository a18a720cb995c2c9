"""Pair scoring: is a candidate pair of distinct keys one product, not, or for a person to decide?

Two names (owner cores or product keys, see :mod:`ocop.dedupe.normalize`) relate as:

- ``equal``: identical keys, or identical once spaces are removed (``tra xanh`` / ``traxanh``);
- ``typo``: the words left over on each side pair up one-to-one with an edit distance of 1
  (optimal string alignment: one insertion, deletion, substitution or transposition) on words of
  at least :data:`TYPO_MIN_LEN` letters (``hoa binh`` / ``hoa bihn``);
- ``near``: the same, but a paired word is short or not a typo pair of a long word
  (``an`` / ``anh``, ``loai a`` / ``loai b``): too little evidence either way, so a person decides;
- ``different``: a number differs (``st 25`` / ``st 24``, ``30 do dam`` / ``40 do dam``) or one
  side has a meaningful word the other lacks (``tra xanh`` / ``tra xanh tui loc``): decisive.

A pair is **merged** when its legal forms are compatible and both the owner and the product
relate as ``equal`` or ``typo``; it goes to **review** when nothing is ``different`` but something
is ``near`` or the legal forms conflict; otherwise the records stay apart. rapidfuzz ratios
(0-100) are the pair's score and a cheap vectorised pre-filter (:data:`PREFILTER`): pairs below it
on either name are never the same product and skip the word rules.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist

from ocop.dedupe.normalize import legal_compatible

EQUAL, TYPO, NEAR, DIFFERENT = "equal", "typo", "near", "different"
TOLERATED = frozenset({EQUAL, TYPO})
TYPO_MIN_LEN = 5
PREFILTER = 80.0

MERGE, REVIEW, APART = "merge", "review", "apart"


@lru_cache(maxsize=1_000_000)
def relate(a: str, b: str) -> tuple[str, str]:
    """``(relation, reason)`` of two normalised keys; ``reason`` names the deciding words."""
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return EQUAL, ""
    only_a, only_b = _leftover_words(a.split(), b.split())
    numbers = [t for t in only_a + only_b if t.isdigit()]
    if numbers:
        return DIFFERENT, "number " + "/".join(numbers)
    if len(only_a) != len(only_b):
        return DIFFERENT, "words " + "/".join(only_a + only_b)
    return _pair_words(only_a, only_b)


def _leftover_words(ta: list[str], tb: list[str]) -> tuple[list[str], list[str]]:
    """Multiset difference both ways (names are a few words: lists beat Counter here)."""
    only_b, only_a = list(tb), []
    for word in ta:
        if word in only_b:
            only_b.remove(word)
        else:
            only_a.append(word)
    return sorted(only_a), sorted(only_b)


def _pair_words(only_a: list[str], only_b: list[str]) -> tuple[str, str]:
    """Match leftover words one-to-one; every pair must be a one-edit typo of a long word."""
    relation, remaining = TYPO, list(only_b)
    for word in only_a:
        match = next((w for w in remaining if OSA.distance(word, w) <= 1), None)
        if match is None:
            return DIFFERENT, f"words {word}/{'/'.join(remaining)}"
        remaining.remove(match)
        if max(len(word), len(match)) < TYPO_MIN_LEN:
            relation = NEAR
    return relation, "" if relation == TYPO else f"short words {'/'.join(only_a)} vs {'/'.join(only_b)}"


def ratios(left: pd.Series, right: pd.Series) -> np.ndarray:
    """rapidfuzz ratio (0-100) of aligned string columns (element-wise, in C, all cores)."""
    if not len(left):
        return np.empty(0)
    return cpdist(left.to_numpy(dtype=object), right.to_numpy(dtype=object), scorer=fuzz.ratio, workers=-1)


def score_pairs(pairs: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """Decide each candidate pair ``(a, b)`` of entity positions.

    ``entities`` has columns ``province``, ``legal``, ``core``, ``pkey``. Returns the pairs that
    are not plainly apart, with ``owner_score``, ``product_score``, ``score`` (0-1), ``decision``
    (merge/review), ``rule`` (legal_form/cross_province/fuzzy) and ``reason``.
    """
    a, b = entities.iloc[pairs["a"].to_numpy()], entities.iloc[pairs["b"].to_numpy()]
    out = pairs.reset_index(drop=True).assign(
        owner_score=ratios(a["core"], b["core"]), product_score=ratios(a["pkey"], b["pkey"])
    )
    keep = (out["owner_score"] >= PREFILTER) & (out["product_score"] >= PREFILTER)
    out, a, b = out[keep.to_numpy()], a[keep.to_numpy()], b[keep.to_numpy()]
    columns = [side[c].to_numpy(dtype=object) for c in ("legal", "core", "pkey") for side in (a, b)]
    decided = [decide(*row) for row in zip(*columns, strict=True)]
    out = out.assign(
        decision=[d[0] for d in decided],
        reason=[d[1] for d in decided],
        score=(np.minimum(out["owner_score"], out["product_score"]) / 100).round(4),
        rule=_rules(a, b),
    )
    return out[out["decision"] != APART].reset_index(drop=True)


def decide(legal_a: str, legal_b: str, core_a: str, core_b: str, pkey_a: str, pkey_b: str) -> tuple[str, str]:
    """``(merge|review|apart, reason)`` for one pair of keys."""
    owner, owner_why = relate(core_a, core_b)
    product, product_why = relate(pkey_a, pkey_b)
    if DIFFERENT in (owner, product):
        return APART, ""
    legal_ok = legal_compatible(legal_a, legal_b)
    if legal_ok and owner in TOLERATED and product in TOLERATED:
        return MERGE, ""
    reasons = [f"owner {owner_why}" if owner == NEAR else "", f"product {product_why}" if product == NEAR else ""]
    if not legal_ok:
        reasons.append(f"legal form {legal_a}/{legal_b}")
    return REVIEW, "; ".join(r for r in reasons if r)


def _rules(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    exact = (a["core"].to_numpy() == b["core"].to_numpy()) & (a["pkey"].to_numpy() == b["pkey"].to_numpy())
    cross = a["province"].to_numpy() != b["province"].to_numpy()
    return np.where(cross, "cross_province", np.where(exact, "legal_form", "fuzzy"))
