"""Stable product ids across consolidations, and the Ministry's overrides.

Ids (outputs.md §3, architecture "Consolidation"):

- a cluster keeps the smallest ``product_id`` its records had in the previous links; when two
  old products end in one cluster the smallest id survives and the other is retired;
- when a previous product splits, the part holding most of its records keeps the id (ties: the
  larger cluster, then the one whose first record sorts first) and the other parts fall back
  to another old id they hold that nobody claimed, else a fresh id;
- clusters of new records only take fresh ids from ``next_product_id`` upwards; an id is never
  handed out twice (fresh ids also start above every id seen in the previous links).

Overrides are applied on every run, before ids are assigned: ``merge`` rows become forced edges,
``split`` rows become forbidden pairs (a split between two records with identical keys first
peels the second record into its own entity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MERGE_ACTION, SPLIT_ACTION = "merge", "split"


def override_pairs(overrides: pd.DataFrame, position: pd.Series, action: str) -> np.ndarray:
    """``(n, 2)`` record positions of the override rows with ``action`` whose records both exist.

    ``position`` maps ``(submission_id, row_id)`` to record position.
    """
    rows = overrides[overrides["action"] == action]
    a = position.reindex(pd.MultiIndex.from_arrays([rows["a_submission_id"].astype(str), rows["a_row_id"].astype(int)]))
    b = position.reindex(pd.MultiIndex.from_arrays([rows["b_submission_id"].astype(str), rows["b_row_id"].astype(int)]))
    both = a.notna().to_numpy() & b.notna().to_numpy()
    return np.column_stack([a.to_numpy()[both], b.to_numpy()[both]]).astype(int).reshape(-1, 2)


def stable_ids(cluster: np.ndarray, previous: np.ndarray, next_product_id: int) -> tuple[np.ndarray, int]:
    """Product id per record.

    ``cluster``: cluster label per record, records in their canonical order (so a cluster's
    first record is its smallest); ``previous``: previous product id per record (NaN if new).
    Returns ``(product_id per record, next_product_id after this run)``.
    """
    frame = pd.DataFrame({"cluster": cluster, "previous": previous})
    first_seen = frame.groupby("cluster", sort=False).ngroup().to_numpy()
    frame["order"] = first_seen
    size = frame.groupby("cluster")["cluster"].transform("size")
    claims = (
        frame.dropna(subset=["previous"])
        .assign(size=size)
        .groupby(["previous", "cluster"], as_index=False)
        .agg(held=("order", "size"), size=("size", "first"), order=("order", "first"))
        .sort_values(["previous", "held", "size", "order"], ascending=[True, False, False, True])
    )
    assigned: dict[int, int] = {}
    used: set[int] = set()
    for prev, clus in zip(claims["previous"].astype(int), claims["cluster"], strict=True):
        if prev not in used and clus not in assigned:
            assigned[clus] = prev
            used.add(prev)
    fresh_start = max(next_product_id, int(np.nanmax(previous)) + 1 if np.isfinite(previous).any() else 0)
    new_clusters = pd.unique(frame.loc[~frame["cluster"].isin(list(assigned)), "cluster"])
    assigned.update(zip(new_clusters, range(fresh_start, fresh_start + len(new_clusters)), strict=True))
    return frame["cluster"].map(assigned).to_numpy(dtype=np.int64), fresh_start + len(new_clusters)
