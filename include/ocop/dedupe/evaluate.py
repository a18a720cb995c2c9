"""Measuring deduplication against ground truth (the generator's ``truth.json``).

``evaluate`` scores the final links pairwise: a *pair* is two records in one product;
precision = predicted pairs that are true / predicted pairs, recall = true pairs found / true
pairs. A missed pair inflates official counts, a false pair deflates them.
``blocking_recall`` measures the first stage alone: the share of true pairs that reach scoring
(identical keys, or a candidate pair of :func:`ocop.dedupe.block.candidate_pairs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ocop.dedupe.assign import build_entities, decision_keys, key_records
from ocop.dedupe.block import PASSES, pairs_by_pass


def truth_labels(truth_clusters: Mapping[str, Iterable[str]] | Iterable[Iterable[str]]) -> pd.Series:
    """Record reference -> true product label, from a mapping or a list of clusters."""
    groups = truth_clusters.values() if isinstance(truth_clusters, Mapping) else truth_clusters
    pairs = [(ref, label) for label, refs in enumerate(groups) for ref in refs]
    return pd.Series(dict(pairs), name="truth")


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    sizes = np.asarray(sizes, dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def evaluate(links: pd.DataFrame, truth_clusters: Mapping[str, Iterable[str]] | Iterable[Iterable[str]]) -> dict:
    """Pairwise precision, recall, F1 of ``links`` (columns ``record``, ``product_id``).

    ``record`` uses the truth's reference format (``"<code>/<file>#<excel_row>"``); only records
    present on both sides are scored.
    """
    truth = truth_labels(truth_clusters)
    both = links[["record", "product_id"]].merge(truth, left_on="record", right_index=True)
    true_pairs = _pairs(both.groupby("truth").size())
    predicted_pairs = _pairs(both.groupby("product_id").size())
    correct = _pairs(both.groupby(["product_id", "truth"]).size())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs,
            "predicted_pairs": predicted_pairs, "records": len(both)}


def blocking_recall(records: pd.DataFrame, truth: np.ndarray, passes=PASSES) -> float:
    """Share of true record pairs (same ``truth`` label) that reach scoring (all ``passes``)."""
    return blocking_by_pass(records, truth, passes)["all"]["recall"]


def blocking_by_pass(records: pd.DataFrame, truth: np.ndarray, passes=PASSES) -> dict[str, dict]:
    """Per blocking pass (and ``all``): ``recall`` (share of true record pairs reaching scoring,
    identical keys included) and ``pairs`` (candidate entity pairs it generates)."""
    recs = key_records(records.assign(_truth=truth))
    entity_of, entities = build_entities(recs, np.empty((0, 2), dtype=int))
    per_entity = pd.DataFrame({"entity": entity_of, "truth": recs["_truth"].to_numpy()})
    cells = per_entity.groupby(["truth", "entity"]).size().rename("n").reset_index()
    true_pairs = _pairs(cells.groupby("truth")["n"].sum())
    same_entity = _pairs(cells["n"])
    found = pairs_by_pass(entities, passes, decision_keys(recs, entity_of))
    found["all"] = pd.concat(list(found.values()), ignore_index=True).drop_duplicates(ignore_index=True)
    a = cells.rename(columns={"entity": "a", "n": "na"})
    b = cells.rename(columns={"entity": "b", "n": "nb"})
    out = {}
    for name, pairs in found.items():
        reached = pairs.merge(a, on="a").merge(b, on=["b", "truth"])
        hit = same_entity + int((reached["na"] * reached["nb"]).sum())
        out[name] = {"recall": hit / true_pairs if true_pairs else 1.0, "pairs": len(pairs)}
    return out
