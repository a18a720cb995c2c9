"""Blocking: which pairs of distinct keys are worth scoring, at near-linear cost.

Works on *entities* (distinct ``(province, owner_key, product_key)``: identical keys are already
one product). Passes, all inside one new province except the last:

1. owner pass: owners (distinct core names) sharing their first word, or their last word,
   are compared with ``rapidfuzz.process.cdist`` (C, score cut-off) inside each block; owner
   pairs that are not decisively different (``relate``) are expanded: every pair of entities
   of two such owners, and of one owner, becomes a candidate;
2. product pass: entities with the same product key are compared on the owner core
   (catches owners with typos in both their first and last word);
3. cross-province pass: identical owner and product keys in two provinces.

Blocks are small (a province's owners sharing one word), so the cost grows with the number of
entities, not its square.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from ocop.dedupe.score import DIFFERENT, PREFILTER, relate


def candidate_pairs(entities: pd.DataFrame) -> pd.DataFrame:
    """Pairs ``(a, b)``, ``a < b``, of entity positions; ``entities`` has province, okey, core, pkey."""
    ent = entities.reset_index(drop=True)
    owner_id = ent.groupby(["province", "core"], sort=False).ngroup().to_numpy()
    owners = ent.assign(owner=owner_id).drop_duplicates("owner").sort_values("owner")
    first_word = owners["core"].str.split(" ", n=1).str[0]
    last_word = owners["core"].str.rsplit(" ", n=1).str[-1]
    owner_pairs = _may_match(
        pd.concat(
            [
                _fuzzy_pairs(owners["province"] + "|" + first_word, owners["core"]),
                _fuzzy_pairs(owners["province"] + "|" + last_word, owners["core"]),
            ]
        ).drop_duplicates(),
        owners["core"],
    )
    members = pd.DataFrame({"owner": owner_id, "entity": np.arange(len(ent))})
    parts = [
        _expand_owner_pairs(owner_pairs, members),
        _same_key_pairs(members, "owner"),
        _fuzzy_pairs(ent["province"] + "|" + ent["pkey"], ent["core"]),
        _same_key_pairs(pd.DataFrame({"key": ent["okey"] + "|" + ent["pkey"], "entity": np.arange(len(ent))}), "key"),
    ]
    pairs = pd.concat(parts, ignore_index=True)
    lo, hi = np.minimum(pairs["a"], pairs["b"]), np.maximum(pairs["a"], pairs["b"])
    pairs = pd.DataFrame({"a": lo, "b": hi})
    return pairs[pairs["a"] != pairs["b"]].drop_duplicates(ignore_index=True)


def _fuzzy_pairs(block: pd.Series, text: pd.Series) -> pd.DataFrame:
    """Positions ``(a, b)`` inside each block whose texts have ``fuzz.ratio >= PREFILTER``."""
    order = np.argsort(block.to_numpy(), kind="stable")
    keys, texts = block.to_numpy()[order], text.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    found_a, found_b = [], []
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        sims = cdist(texts[start:end], texts[start:end], scorer=fuzz.ratio, score_cutoff=PREFILTER, dtype=np.uint8)
        i, j = np.nonzero(np.triu(sims, 1))
        found_a.append(order[start + i])
        found_b.append(order[start + j])
    if not found_a:
        return pd.DataFrame({"a": np.empty(0, int), "b": np.empty(0, int)})
    return pd.DataFrame({"a": np.concatenate(found_a), "b": np.concatenate(found_b)})


def _may_match(pairs: pd.DataFrame, core: pd.Series) -> pd.DataFrame:
    """Owner pairs whose cores are not decisively different (:func:`ocop.dedupe.score.relate`).

    Only these are expanded into the pairs of their products.
    """
    text = core.to_numpy(dtype=object)
    keep = [relate(text[a], text[b])[0] != DIFFERENT for a, b in zip(pairs["a"], pairs["b"], strict=True)]
    return pairs[np.asarray(keep, dtype=bool)]


def _expand_owner_pairs(owner_pairs: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Every entity of owner ``a`` against every entity of owner ``b``."""
    left = owner_pairs.merge(members.rename(columns={"owner": "a", "entity": "ea"}), on="a")
    both = left.merge(members.rename(columns={"owner": "b", "entity": "eb"}), on="b")
    return pd.DataFrame({"a": both["ea"].to_numpy(), "b": both["eb"].to_numpy()})


def _same_key_pairs(members: pd.DataFrame, key: str) -> pd.DataFrame:
    """Every pair of entities sharing ``key`` (keys of one entity only are skipped first)."""
    shared = members[members.duplicated(key, keep=False)]
    both = shared.merge(shared, on=key, suffixes=("_a", "_b"))
    both = both[both["entity_a"] < both["entity_b"]]
    return pd.DataFrame({"a": both["entity_a"].to_numpy(), "b": both["entity_b"].to_numpy()})
