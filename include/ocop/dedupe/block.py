"""Blocking: which pairs of distinct keys are worth scoring, at near-linear cost.

Works on *entities* (distinct ``(province, owner_key, product_key)``: identical keys are already
one product). Named passes (:data:`PASSES`), each measurable on its own
(:func:`pairs_by_pass`), all inside one province except the last:

- ``owner_words``: owners (distinct core names) sharing their first word, or their last word,
  are compared with ``rapidfuzz.process.cdist`` (C, cut-off :data:`OWNER_WORDS_CUTOFF`) inside each
  block; owner pairs that are not decisively different (``relate``) are expanded: every pair of
  entities of the two owners becomes a candidate;
- ``same_owner``: every pair of entities of one owner (product typos, short names included);
- ``same_product``: entities with the same product key are compared on the owner core (cut-off
  :data:`OWNER_CUTOFF`; owners with typos in both their first and their last word);
- ``same_decision``: entities citing the same decision number and date whose owner and product
  together have ``fuzz.ratio >= DECISION_CUTOFF`` (names that both changed; a batch decision
  certifies many products, so its products are compared, not all paired);
- ``cross_province``: identical owner and product keys in two provinces.

Blocks are small (a province's owners sharing one word, one owner's products, one decision's
products), so the cost grows with the number of entities, not its square.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from ocop.dedupe.score import DIFFERENT, relate

OWNER_WORDS_CUTOFF = 80.0  # owners sharing a word: blocks grow with the data, keep them tight
OWNER_CUTOFF = 70.0  # owners of one product key
DECISION_CUTOFF = 60.0  # owner and product together, inside one decision


@dataclass
class BlockInput:
    """Entities (columns province, okey, core, pkey) and, optionally, ``decisions``: one row per
    record with ``entity`` and ``key`` (province, decision number and date; blank when unknown)."""

    entities: pd.DataFrame
    decisions: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.entities = self.entities.reset_index(drop=True)
        ent = self.entities
        self.owner_id = ent.groupby(["province", "core"], sort=False).ngroup().to_numpy()
        self.members = pd.DataFrame({"owner": self.owner_id, "entity": np.arange(len(ent))})


def owner_words(block: BlockInput) -> pd.DataFrame:
    owners = block.entities.assign(owner=block.owner_id).drop_duplicates("owner").sort_values("owner")
    first_word = owners["core"].str.split(" ", n=1).str[0]
    last_word = owners["core"].str.rsplit(" ", n=1).str[-1]
    owner_pairs = _may_match(
        pd.concat(
            [
                _fuzzy_pairs(owners["province"] + "|" + first_word, owners["core"], OWNER_WORDS_CUTOFF),
                _fuzzy_pairs(owners["province"] + "|" + last_word, owners["core"], OWNER_WORDS_CUTOFF),
            ]
        ).drop_duplicates(),
        owners["core"],
    )
    return _expand_owner_pairs(owner_pairs, block.members)


def same_owner(block: BlockInput) -> pd.DataFrame:
    return _same_key_pairs(block.members, "owner")


def same_product(block: BlockInput) -> pd.DataFrame:
    ent = block.entities
    return _fuzzy_pairs(ent["province"] + "|" + ent["pkey"], ent["core"])


def same_decision(block: BlockInput) -> pd.DataFrame:
    if block.decisions is None or block.decisions.empty:
        return _empty()
    known = block.decisions[block.decisions["key"] != ""].drop_duplicates(["key", "entity"], ignore_index=True)
    known = known[known.duplicated("key", keep=False)].reset_index(drop=True)
    if known.empty:
        return _empty()
    ent = block.entities
    text = (ent["core"] + " | " + ent["pkey"]).to_numpy(dtype=object)[known["entity"].to_numpy()]
    # a batch decision certifies many products: compare names inside it rather than pair them all
    found = _fuzzy_pairs(known["key"], pd.Series(text), DECISION_CUTOFF)
    entity = known["entity"].to_numpy()
    return pd.DataFrame({"a": entity[found["a"].to_numpy()], "b": entity[found["b"].to_numpy()]})


def cross_province(block: BlockInput) -> pd.DataFrame:
    ent = block.entities
    return _same_key_pairs(pd.DataFrame({"key": ent["okey"] + "|" + ent["pkey"], "entity": np.arange(len(ent))}), "key")


PASSES: tuple[Callable[[BlockInput], pd.DataFrame], ...] = (
    owner_words, same_owner, same_product, same_decision, cross_province,
)


def pairs_by_pass(entities: pd.DataFrame, passes: Iterable[Callable] = PASSES,
                  decisions: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Each pass's own pairs ``(a, b)``, ``a < b``, by pass name."""
    block = BlockInput(entities, decisions)
    return {p.__name__: _canonical(p(block)) for p in passes}


def candidate_pairs(entities: pd.DataFrame, passes: Iterable[Callable] = PASSES,
                    decisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs ``(a, b)``, ``a < b``, of entity positions found by any of ``passes``."""
    found = pairs_by_pass(entities, passes, decisions)
    pairs = pd.concat([_empty(), *found.values()], ignore_index=True)
    return pairs.drop_duplicates(ignore_index=True)


def _canonical(pairs: pd.DataFrame) -> pd.DataFrame:
    lo, hi = np.minimum(pairs["a"], pairs["b"]), np.maximum(pairs["a"], pairs["b"])
    pairs = pd.DataFrame({"a": np.asarray(lo, dtype=np.int64), "b": np.asarray(hi, dtype=np.int64)})
    return pairs[pairs["a"] != pairs["b"]].drop_duplicates(ignore_index=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"a": np.empty(0, np.int64), "b": np.empty(0, np.int64)})


def _fuzzy_pairs(block: pd.Series, text: pd.Series, cutoff: float = OWNER_CUTOFF) -> pd.DataFrame:
    """Positions ``(a, b)`` inside each block whose texts have ``fuzz.ratio >= cutoff``."""
    order = np.argsort(block.to_numpy(), kind="stable")
    keys, texts = block.to_numpy()[order], text.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    found_a, found_b = [], []
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        sims = cdist(texts[start:end], texts[start:end], scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8)
        i, j = np.nonzero(np.triu(sims, 1))
        found_a.append(order[start + i])
        found_b.append(order[start + j])
    if not found_a:
        return _empty()
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
    shared = members[members.duplicated(key, keep=False)][[key, "entity"]]
    both = shared.merge(shared, on=key, suffixes=("_a", "_b"))
    both = both[both["entity_a"] < both["entity_b"]]
    return pd.DataFrame({"a": both["entity_a"].to_numpy(), "b": both["entity_b"].to_numpy()})
