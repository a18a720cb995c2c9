"""Clustering: union-find over matched entity pairs, guarded against chaining.

Edges are applied strongest first (forced merges, then by evidence weight and score). Two clusters join only when
the join holds against *every* member, not just the one edge:

- no submission may appear on both sides (two different rows of one file are two products;
  identical in-file duplicates are already one entity, so they never reach this check);
- complete link: every cross pair of one province must itself be a merge for the pair scorer
  (:class:`ocop.dedupe.score.Scorer`: names and record evidence), so ``A~B`` and ``B~C`` cannot
  drag in a ``C`` that is not one product with ``A``; a cross pair of two provinces (joined by
  identical keys) must have compatible legal forms and names that are not ``different``;
- no ``split`` override may cross the join.

Forced merges (``merge`` overrides) skip the guards. Refused edges are returned so a person can
review them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ocop.dedupe.normalize import legal_compatible
from ocop.dedupe.score import DIFFERENT, MERGE, Scorer, relate

FORCED_RULE = "override_merge"


@dataclass
class _Cluster:
    members: list[int]
    submissions: set[int]


class EntityRecords:
    """Record positions of each entity, looked up on demand (only the entities that need it)."""

    def __init__(self, entity_of: np.ndarray) -> None:
        self._order = np.argsort(entity_of, kind="stable")
        self._starts = np.searchsorted(entity_of[self._order], np.arange(entity_of.max(initial=-1) + 2))

    def __call__(self, entity: int) -> np.ndarray:
        return self._order[self._starts[entity]:self._starts[entity + 1]]


class EntitySubmissions:
    """The submissions of each entity's records, looked up on demand (only clustered entities)."""

    def __init__(self, entity_of: np.ndarray, submission_id: pd.Series) -> None:
        self._codes = pd.factorize(submission_id)[0]
        self._records = EntityRecords(entity_of)

    def __call__(self, entity: int) -> set[int]:
        return set(self._codes[self._records(entity)].tolist())


@dataclass
class Clustering:
    """``labels[e]`` = cluster of entity ``e`` (the position of its root entity)."""

    labels: np.ndarray
    tree: pd.DataFrame  # a, b, rule, score: the edges that joined clusters (a spanning forest)
    refused: pd.DataFrame  # a, b, score, reason: edges the guards refused


def cluster(
    entities: pd.DataFrame, edges: pd.DataFrame, forbidden: set[tuple[int, int]], submissions: EntitySubmissions,
    scorer: Scorer,
) -> Clustering:
    """Cluster entities (columns province, legal, core, pkey) along ``edges`` (a, b, rule, score,
    optional weight); ``scorer`` decides the complete-link cross pairs.

    ``forbidden``: entity pairs ``(low, high)`` that a ``split`` override keeps apart.
    """
    parent = np.arange(len(entities))
    clusters: dict[int, _Cluster] = {}
    province, legal, core, pkey = (entities[c].to_numpy() for c in ("province", "legal", "core", "pkey"))

    def joinable(e: int, f: int) -> bool:
        if province[e] == province[f]:
            return scorer(e, f).decision == MERGE
        return (legal_compatible(legal[e], legal[f]) and relate(core[e], core[f])[0] != DIFFERENT
                and relate(pkey[e], pkey[f])[0] != DIFFERENT)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def state(root: int) -> _Cluster:
        if root not in clusters:
            clusters[root] = _Cluster([root], submissions(root))
        return clusters[root]

    def refusal(x: _Cluster, y: _Cluster) -> str:
        if x.submissions & y.submissions:
            return "same submission"
        for e in x.members:
            for f in y.members:
                if (min(e, f), max(e, f)) in forbidden:
                    return "split override"
                if not joinable(e, f):
                    return "complete-link check failed"
        return ""

    tree, refused = [], []
    for a, b, rule, score in _ordered(edges).itertuples(index=False):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        x, y = state(ra), state(rb)
        why = "" if rule == FORCED_RULE else refusal(x, y)
        if why:
            refused.append((a, b, score, why))
            continue
        if len(x.members) < len(y.members):
            ra, rb, x, y = rb, ra, y, x
        parent[rb] = ra
        x.members += y.members
        x.submissions |= y.submissions
        del clusters[rb]
        tree.append((a, b, rule, score))
    labels = np.fromiter((find(e) for e in range(len(entities))), int, len(entities))
    return Clustering(
        labels,
        pd.DataFrame(tree, columns=["a", "b", "rule", "score"]),
        pd.DataFrame(refused, columns=["a", "b", "score", "reason"]),
    )


def _ordered(edges: pd.DataFrame) -> pd.DataFrame:
    """Forced merges first, then by evidence weight, then by score (ties: by position)."""
    forced = (edges["rule"] == FORCED_RULE).astype(int)
    weight = edges["weight"].fillna(0).to_numpy(dtype=float) if "weight" in edges else np.zeros(len(edges))
    order = np.lexsort((edges["b"], edges["a"], -edges["score"].to_numpy(), -weight, -forced.to_numpy()))
    return edges.iloc[order][["a", "b", "rule", "score"]]
