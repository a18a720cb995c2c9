"""Pair scoring: named, weighed pieces of evidence that two entities are one product.

**Names** (owner cores, product keys; see :mod:`ocop.dedupe.normalize`, which has already
folded case, diacritics, tone placement, punctuation and the legal form) compare word by word
(:func:`compare_names`). The words both sides share are set aside; what is left over relates as

- ``equal``: nothing left over, or only spacing (``tra xanh`` / ``traxanh``);
- ``typo``: the leftover words pair up one-to-one, each pair one edit apart (optimal string
  alignment: one insertion, deletion, substitution or transposition), *whatever the length of
  the word*. Each pair costs :func:`word_doubt` points of doubt, more for a short word (a
  one-letter change turns many short syllables into other real ones: ``an``/``anh``), and a name
  of which no word agrees exactly costs :data:`NO_WORD_AGREES` more;
- ``different``: a number or a code (two vowel-less tokens: ``st``/``sr``) differs, one side has a
  word the other lacks (``tra xanh`` / ``tra xanh tui loc``), or a word has no partner one edit
  away. Decisive: the pair stays apart whatever else agrees.

>>> compare_names("hoa binh", "hoa bihn")
NameMatch(relation='typo', doubt=3, reason='binh/bihn')
>>> compare_names("thuong cuong", "thuong cuongg")
NameMatch(relation='typo', doubt=1, reason='cuong/cuongg')
>>> compare_names("gao st 25", "gao st 24").relation, compare_names("tra xanh", "tra xanh tui loc").relation
('different', 'different')

**The record** adds what the registers say about the product (:func:`record_evidence`, only
between two snapshots of one province; a product appears once per snapshot):

- ``decision``: the same decision number *and* date in two snapshots: :data:`SAME_DECISION`
  points for one product; the later snapshot citing a *different* decision dated on or before
  the earlier snapshot (which should then have shown it): :data:`DECISION_CONFLICT`;
- ``rating``: a different rating class without a newer decision: :data:`RATING_CONFLICT` (as
  strong as the decision's agreement: one batch decision certifies several products, each with
  its own rating);
- ``group``: a different OCOP group: :data:`GROUP_CONFLICT`.

The pieces add up to the pair's ``weight`` (:func:`weigh`). It is **merged** when nothing is
``different``, the legal forms are compatible and ``weight >= MERGE_AT``; otherwise it goes to
**review** while ``weight >= REVIEW_AT`` (a person decides) and stays apart below. So a typo in a
long word merges on the names alone; a typo in a short word needs the decision's agreement:

>>> names_only = weigh("htx", "htx", "hoa binh", "hoa bihn", "mat ong", "mat ong")
>>> names_only.decision, names_only.weight
('review', -3)
>>> same_decision = weigh("htx", "", "hoa binh", "hoa bihn", "mat ong", "mat ong", record=SAME_DECISION)
>>> same_decision.decision, same_decision.weight
('merge', 3)
>>> weigh("htx", "tnhh", "hoa binh", "hoa binh", "mat ong", "mat ong").decision  # cooperative vs company
'review'

A long owner name is not in itself specific: household owners share family and middle names
(``Nguyễn Văn An`` / ``Nguyễn Văn Anh`` agree on nine letters and are two people), so the length
of the agreeing part earns nothing; only the registers' own facts do.

rapidfuzz ratios (0-100) of the two names are the pair's ``score`` (for people and for ordering)
and a cheap vectorised pre-filter: pairs below :data:`PREFILTER` on a name *and* more than
:data:`PREFILTER_EDITS` edits apart on it are never one product and skip the word rules.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist

from ocop.dedupe.normalize import legal_compatible, syllable_like

EQUAL, TYPO, DIFFERENT = "equal", "typo", "different"
PREFILTER = 80.0
PREFILTER_EDITS = 2

# Evidence weights (points; positive = one product). See the module docstring.
LONG_WORD = 5              # a one-edit pair whose longer word has this many letters is a plain typo
NO_WORD_AGREES = 2
DEBRIS = 3
SAME_DECISION = 6
DECISION_CONFLICT = -6
RATING_CONFLICT = -6
GROUP_CONFLICT = -2
MERGE_AT = -2
REVIEW_AT = -9

MERGE, REVIEW, APART = "merge", "review", "apart"
_VOWELS = frozenset("aeiouy")


def word_doubt(a: str, b: str) -> int:
    """Doubt points of one word pair one edit apart, by the length of the longer word.

    >>> word_doubt("cuong", "cuongg"), word_doubt("minh", "min"), word_doubt("tin", "ti"), word_doubt("o", "ao")
    (1, 3, 3, 4)
    """
    n = max(len(a), len(b))
    return 1 if n >= LONG_WORD else 3 if n >= 3 else 4


class NameMatch(NamedTuple):
    relation: str  # equal / typo / different
    doubt: int     # points against (0 when equal)
    reason: str    # the deciding words


@lru_cache(maxsize=1_000_000)
def compare_names(a: str, b: str, owner: bool = False) -> NameMatch:
    """How two normalised names relate (see the module docstring).

    ``owner``: owner cores, where a leftover token that cannot be a syllable (a mistyped legal
    form or qualifier the normaliser left in: ``nj`` for ``NN``) is debris costing
    :data:`DEBRIS` doubt, not a word of the name:

    >>> compare_names("nj nam tam my", "nam tam my", owner=True)
    NameMatch(relation='typo', doubt=3, reason='debris nj')
    """
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return NameMatch(EQUAL, 0, "")
    ta, tb = a.split(), b.split()
    only_a, only_b = _leftover_words(ta, tb)
    numbers = [t for t in only_a + only_b if t.isdigit()]
    if numbers:
        return NameMatch(DIFFERENT, 0, "number " + "/".join(numbers))
    doubt, remaining, pairs, unpaired = 0, list(only_b), [], []
    for word in only_a:
        match = min((w for w in remaining if OSA.distance(word, w, score_cutoff=1) <= 1),
                    key=lambda w: OSA.distance(word, w), default=None)
        if match is None:
            unpaired.append(word)
            continue
        remaining.remove(match)
        if not (_VOWELS & set(word) or _VOWELS & set(match)):
            if not owner:
                return NameMatch(DIFFERENT, 0, f"code {word}/{match}")
            unpaired += [word, match]
            continue
        doubt += word_doubt(word, match)
        pairs.append(f"{word}/{match}")
    unpaired += remaining
    debris = [w for w in unpaired if owner and _debris(w)]
    if len(debris) < len(unpaired):
        return NameMatch(DIFFERENT, 0, "words " + "/".join(w for w in unpaired if w not in debris))
    if debris:
        doubt += DEBRIS * len(debris)
        pairs.append("debris " + "/".join(debris))
    if pairs and (len(only_a) == len(ta) or len(only_b) == len(tb)):
        doubt += NO_WORD_AGREES
    return NameMatch(TYPO, doubt, " ".join(pairs))


def _debris(word: str) -> bool:
    return word.isalpha() and len(word) <= 5 and not syllable_like(word)


def relate(a: str, b: str) -> tuple[str, str]:
    """``(relation, reason)`` of two normalised names (:func:`compare_names` without the doubt).

    >>> relate("an", "anh"), relate("tra xanh", "tra xanh tui loc")
    (('typo', 'an/anh'), ('different', 'words loc/tui'))
    """
    match = compare_names(a, b)
    return match.relation, match.reason


def _leftover_words(ta: list[str], tb: list[str]) -> tuple[list[str], list[str]]:
    """Multiset difference both ways (names are a few words: lists beat Counter here)."""
    only_b, only_a = list(tb), []
    for word in ta:
        if word in only_b:
            only_b.remove(word)
        else:
            only_a.append(word)
    return sorted(only_a), sorted(only_b)


class Facts(NamedTuple):
    """What a register says about one record besides its names."""

    snapshot: str
    decision_no: str | None
    decision_date: str | None
    rating: str | None
    group: str | None


def record_evidence(fa: list[Facts], fb: list[Facts]) -> tuple[int, str]:
    """``(points, reason)`` of the decision, rating and group pieces between two entities' records
    (each entity lists its records' :class:`Facts`). Records of one snapshot say nothing.

    >>> s1 = Facts("2025-06-30", "120/QĐ-UBND", "2024-03-01", "3", "1")
    >>> record_evidence([s1], [s1._replace(snapshot="2025-12-31")])
    (6, 'same decision')
    >>> record_evidence([s1], [s1._replace(snapshot="2025-12-31", decision_no="7/QĐ-UBND", decision_date="2025-01-02")])
    (-6, 'decision 120/QĐ-UBND 2024-03-01 vs 7/QĐ-UBND 2025-01-02')
    >>> record_evidence([s1], [s1._replace(snapshot="2025-12-31", decision_no="9/QĐ-UBND", decision_date="2025-09-01", rating="4")])
    (0, '')
    """
    tally = _Tally()
    for a in fa:
        for b in fb:
            if a.snapshot == b.snapshot:
                continue
            tally.add(*((a, b) if a.snapshot < b.snapshot else (b, a)))
    return tally.result()


class FactGroup(NamedTuple):
    """The records of one entity that say the same thing (decision, rating, group), with the
    distinct snapshots they come from, sorted. A product listed every month for years is one
    group, so scoring costs the same whatever the length of its history."""

    facts: Facts              # ``snapshot`` is the group's first snapshot
    snapshots: tuple[str, ...]


def group_facts(facts: list[Facts]) -> list[FactGroup]:
    """``facts`` grouped by everything but the snapshot, in order of first appearance."""
    groups: dict[tuple, set[str]] = {}
    first: dict[tuple, Facts] = {}
    for f in facts:
        key = f[1:]
        groups.setdefault(key, set()).add(f.snapshot)
        first.setdefault(key, f)
    return [FactGroup(first[k], tuple(sorted(v))) for k, v in groups.items()]


def group_evidence(ga: list[FactGroup], gb: list[FactGroup]) -> tuple[int, str]:
    """:func:`record_evidence` of the records the groups stand for, in points (a tie between two
    reasons of equal points may name the other one).

    The points of an (early, late) pair of records depend on the early record's snapshot only
    through ``late.decision_date`` compared with it (a threshold), so of all the early
    snapshots that have a later one on the other side, the first and the last cover every case.

    >>> s1 = Facts("2025-06-30", "120/QĐ-UBND", "2024-03-01", "3", "1")
    >>> group_evidence(group_facts([s1]), group_facts([s1._replace(snapshot="2025-12-31")]))
    (6, 'same decision')
    """
    tally = _Tally()
    for x in ga:
        for y in gb:
            for early, late in ((x, y), (y, x)):
                bound = late.snapshots[-1]
                cut = bisect_left(early.snapshots, bound)  # early snapshots before late's last
                if not cut:
                    continue
                for snap in {early.snapshots[0], early.snapshots[cut - 1]}:
                    tally.add(early.facts._replace(snapshot=snap), late.facts)
    return tally.result()


class _Tally:
    """The best positive pair, else the worst conflict, over (early, late) record pairs."""

    def __init__(self) -> None:
        self.best, self.best_why, self.conflict = 0, "", (0, "")

    def add(self, early: Facts, late: Facts) -> None:
        same = bool(early.decision_no) and early.decision_no == late.decision_no \
            and early.decision_date == late.decision_date
        points, why = 0, []
        if same:
            points += SAME_DECISION
            why.append("same decision")
        elif late.decision_date and early.decision_date and late.decision_date <= early.snapshot and (
                late.decision_date != early.decision_date
                or (early.decision_no and late.decision_no and early.decision_no != late.decision_no)):
            points += DECISION_CONFLICT
            why.append(f"decision {early.decision_no} {early.decision_date} vs {late.decision_no} {late.decision_date}")
        newer = bool(late.decision_date) and bool(early.decision_date) and late.decision_date > early.snapshot
        if early.rating and late.rating and early.rating != late.rating and not newer:
            points += RATING_CONFLICT
            why.append(f"rating {early.rating}/{late.rating}")
        if early.group and late.group and early.group != late.group:
            points += GROUP_CONFLICT
            why.append(f"group {early.group}/{late.group}")
        if points > self.best:
            self.best = points
            self.best_why = "; ".join(why)
        if points < self.conflict[0] or (points == self.conflict[0] and why and not self.conflict[1]):
            self.conflict = (points, "; ".join(why))

    def result(self) -> tuple[int, str]:
        return (self.best, self.best_why) if self.best > 0 else self.conflict


class Weighed(NamedTuple):
    decision: str  # merge / review / apart
    weight: int
    reason: str


def weigh(legal_a: str, legal_b: str, core_a: str, core_b: str, pkey_a: str, pkey_b: str,
          record: int = 0, record_why: str = "") -> Weighed:
    """The decision on one pair from its names and ``record`` (points of :func:`record_evidence`)."""
    owner, product = compare_names(core_a, core_b, True), compare_names(pkey_a, pkey_b)
    if DIFFERENT in (owner.relation, product.relation):
        why = owner.reason if owner.relation == DIFFERENT else product.reason
        return Weighed(APART, REVIEW_AT - 1, why)
    weight = record - owner.doubt - product.doubt
    reasons = [f"owner {owner.reason}" if owner.reason else "", f"product {product.reason}" if product.reason else "",
               record_why]
    legal_ok = legal_compatible(legal_a, legal_b)
    if not legal_ok:
        reasons.append(f"legal form {legal_a}/{legal_b}")
    reason = "; ".join(r for r in reasons if r)
    if legal_ok and weight >= MERGE_AT:
        return Weighed(MERGE, weight, reason)
    return Weighed(REVIEW if weight >= REVIEW_AT else APART, weight, reason)


class Scorer:
    """Decides pairs of entities (positions into ``entities``: columns province, legal, core,
    pkey) with the record evidence of ``facts(entity) -> list[FactGroup]``; used for candidate
    pairs and again by the clustering's complete-link check."""

    def __init__(self, entities: pd.DataFrame, facts) -> None:
        self.province, self.legal, self.core, self.pkey = (
            entities[c].to_numpy(dtype=object) for c in ("province", "legal", "core", "pkey"))
        self.facts = facts
        self._cache: dict[tuple[int, int], Weighed] = {}

    def __call__(self, a: int, b: int) -> Weighed:
        key = (a, b) if a < b else (b, a)
        found = self._cache.get(key)
        if found is None:
            points, why = (0, "") if self.province[a] != self.province[b] else group_evidence(self.facts(a), self.facts(b))
            found = weigh(self.legal[a], self.legal[b], self.core[a], self.core[b], self.pkey[a], self.pkey[b],
                          points, why)
            self._cache[key] = found
        return found


def ratios(left: pd.Series, right: pd.Series, scorer=fuzz.ratio) -> np.ndarray:
    """rapidfuzz ``scorer`` of aligned string columns (element-wise, in C, all cores)."""
    if not len(left):
        return np.empty(0)
    return cpdist(left.to_numpy(dtype=object), right.to_numpy(dtype=object), scorer=scorer, workers=-1)


def _close(left: pd.Series, right: pd.Series, ratio: np.ndarray) -> np.ndarray:
    """Ratio >= PREFILTER, or at most PREFILTER_EDITS edits apart (short names)."""
    close = ratio >= PREFILTER
    if (~close).any():
        close[~close] = ratios(left[~close], right[~close], OSA.distance) <= PREFILTER_EDITS
    return close


def score_pairs(pairs: pd.DataFrame, entities: pd.DataFrame, scorer: Scorer) -> pd.DataFrame:
    """Decide each candidate pair ``(a, b)`` of entity positions.

    Returns the pairs that are not plainly apart, with ``owner_score``, ``product_score``,
    ``score`` (0-1), ``weight`` (evidence points), ``decision`` (merge/review), ``rule``
    (legal_form/cross_province/fuzzy) and ``reason``.
    """
    a, b = entities.iloc[pairs["a"].to_numpy()], entities.iloc[pairs["b"].to_numpy()]
    out = pairs[["a", "b"]].reset_index(drop=True).assign(
        owner_score=ratios(a["core"], b["core"]), product_score=ratios(a["pkey"], b["pkey"])
    )
    keep = (_close(a["core"], b["core"], out["owner_score"].to_numpy())
            & _close(a["pkey"], b["pkey"], out["product_score"].to_numpy()))
    out, a, b = out[keep], a[keep], b[keep]
    decided = [scorer(x, y) for x, y in zip(out["a"].to_numpy(), out["b"].to_numpy(), strict=True)]
    out = out.assign(
        decision=[d.decision for d in decided],
        weight=np.array([d.weight for d in decided], dtype=np.int64),
        reason=[d.reason for d in decided],
        score=(np.minimum(out["owner_score"], out["product_score"]) / 100).round(4),
        rule=_rules(a, b),
    )
    return out[out["decision"] != APART].reset_index(drop=True)


def _rules(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    exact = (a["core"].to_numpy() == b["core"].to_numpy()) & (a["pkey"].to_numpy() == b["pkey"].to_numpy())
    cross = a["province"].to_numpy() != b["province"].to_numpy()
    return np.where(cross, "cross_province", np.where(exact, "legal_form", "fuzzy"))
