"""``assign_products``: every accepted source record -> a stable product id, with its audit.

Steps: key every record (:mod:`normalize`); collapse identical keys within a province into
*entities* (rule ``exact_key``); pick candidate pairs (:mod:`block`); score them (:mod:`score`);
cluster with the chaining guard and the overrides (:mod:`cluster`, :mod:`identity`); give each
cluster its stable id (:mod:`identity`). The warehouse calls this inside the consolidation
transaction with the previous links and the override table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ocop.dedupe.block import PASSES, _same_key_pairs, candidate_pairs, cross_province
from ocop.dedupe.cluster import FORCED_RULE, Clustering, EntityRecords, EntitySubmissions, cluster
from ocop.dedupe.identity import MERGE_ACTION, SPLIT_ACTION, override_pairs, stable_ids
from ocop.dedupe.normalize import legal_compatible, product_key, split_owner
from ocop.dedupe.score import DIFFERENT, MERGE, REVIEW, FactGroup, Facts, Scorer, group_facts, relate, score_pairs
from ocop.text import fold

EXACT_RULE, UNIQUE_RULE, CROSS_RULE = "exact_key", "unique", "cross_province"
LINK_COLUMNS = ["submission_id", "row_id", "product_id", "rule", "score"]
MERGE_COLUMNS = ["product_id", "a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "rule", "score"]
REVIEW_COLUMNS = [
    "a_submission_id", "a_row_id", "b_submission_id", "b_row_id",
    "a_owner", "a_product", "b_owner", "b_product", "score", "reason",
]


@dataclass
class DedupeResult:
    """Links (one per record), merges (the audit of every join), review pairs, next free id."""

    links: pd.DataFrame
    merges: pd.DataFrame
    review: pd.DataFrame
    next_product_id: int


def assign_products(
    records: pd.DataFrame, previous_links: pd.DataFrame, overrides: pd.DataFrame, next_product_id: int,
    passes=PASSES,
) -> DedupeResult:
    """Cluster ``records`` into products and give each product its stable id (see module doc).

    ``records``: submission_id, row_id, province_code, owner, product_name, snapshot_date and,
    used as evidence when present, decision_no, decision_date, rating_class, group_code.
    ``passes``: the blocking passes (:data:`ocop.dedupe.block.PASSES`).

    Two levels, so that a province's products depend on that province's records only:

    1. **inside each province**, entities are paired by the passes, scored and clustered
       (:func:`ocop.dedupe.cluster.cluster`) into *local products*;
    2. **across provinces**, local products sharing an identical owner and product key are
       linked (:func:`link_provinces`), at most one local product per province.

    An optional ``local`` column fixes level 1 for some records: the records of a province that
    received nothing new come with the label of their local product (any value, unique per
    province and local product; the warehouse passes the stored product id), and only level 2
    runs for them. Their links then carry no rule or score (the stored ones stay true), and
    their level-1 merges are not listed. With every record of those local products given, the
    result equals the one without ``local`` (the warehouse's incremental == full).
    """
    if records.empty:  # e.g. a first run whose every file was rejected whole
        return DedupeResult(pd.DataFrame(columns=LINK_COLUMNS), pd.DataFrame(columns=MERGE_COLUMNS),
                            pd.DataFrame(columns=REVIEW_COLUMNS), next_product_id)
    recs = key_records(records)
    fixed = recs["local"].notna().to_numpy() if "local" in recs else np.zeros(len(recs), dtype=bool)
    position = pd.Series(np.arange(len(recs)), index=pd.MultiIndex.from_arrays([recs["submission_id"], recs["row_id"]]))
    splits = override_pairs(overrides, position, SPLIT_ACTION)
    forced = override_pairs(overrides, position, MERGE_ACTION)
    entity_of, entities = build_entities(recs, splits)
    n_entities = len(entities)
    free = np.zeros(n_entities, dtype=bool)
    free[entity_of[~fixed]] = True  # entities clustered at level 1 (a fixed province has none)
    scorer = Scorer(entities, EntityFacts(recs, entity_of))
    within = tuple(p for p in passes if p is not cross_province)
    chosen = np.flatnonzero(free)
    keys = decision_keys(recs, entity_of)
    keys = keys[free[keys["entity"].to_numpy()]]
    remap = np.full(n_entities, -1)
    remap[chosen] = np.arange(len(chosen))
    pairs = candidate_pairs(entities.iloc[chosen], within, keys.assign(entity=remap[keys["entity"].to_numpy()]))
    pairs = pd.DataFrame({"a": chosen[pairs["a"].to_numpy()], "b": chosen[pairs["b"].to_numpy()]})
    scored = score_pairs(pairs, entities, scorer)
    fa, fb = entity_of[forced[:, 0]], entity_of[forced[:, 1]]
    province = entities["province"].to_numpy(dtype=object)
    inside = (province[fa] == province[fb]) & free[fa] & free[fb]
    edges = pd.concat(
        [
            scored.loc[scored["decision"] == MERGE, ["a", "b", "rule", "score", "weight"]],
            pd.DataFrame({"a": fa[inside], "b": fb[inside], "rule": FORCED_RULE, "score": 1.0}),
        ],
        ignore_index=True,
    )
    forbidden = {(min(a, b), max(a, b)) for a, b in zip(entity_of[splits[:, 0]], entity_of[splits[:, 1]], strict=True)}
    local = cluster(entities, edges, forbidden, EntitySubmissions(entity_of, recs["submission_id"]), scorer)
    labels = local.labels.copy()
    if fixed.any():  # a fixed local product: its first entity stands for all of them
        given = pd.MultiIndex.from_arrays([recs["province"].to_numpy()[fixed], recs["local"].to_numpy()[fixed]])
        first = pd.Series(entity_of[fixed]).groupby(given.factorize()[0]).transform("min").to_numpy()
        labels[entity_of[fixed]] = first
    national = Clustering(labels, local.tree.iloc[:0], local.refused.iloc[:0])
    if cross_province in passes:
        national = link_provinces(entities, labels, pd.DataFrame({"a": fa[~inside], "b": fb[~inside]}), forbidden)
    previous = _previous_ids(recs, previous_links)
    product_id, next_id = stable_ids(national.labels[entity_of], previous, next_product_id)
    recs["product_id"] = product_id
    rep = _representatives(entity_of)
    review = pd.concat([scored.loc[scored["decision"] == REVIEW], local.refused, national.refused], ignore_index=True)
    labels_a, labels_b = (national.labels[review[c].to_numpy(dtype=int)] for c in ("a", "b"))
    review = review[labels_a != labels_b]
    links = _links(recs, entity_of, rep, local.tree)
    links.loc[fixed, ["rule", "score"]] = np.nan
    merges = _merges(recs, entity_of, rep, local.tree, skip=fixed)
    return DedupeResult(
        links=links,
        merges=pd.concat([merges, _tree_merges(recs, rep, national.tree)], ignore_index=True),
        review=_review(recs, rep, review),
        next_product_id=next_id,
    )


def link_provinces(entities: pd.DataFrame, local: np.ndarray, forced: pd.DataFrame,
                   forbidden: set[tuple[int, int]]) -> Clustering:
    """Level 2: join local products (``local[e]``: the local product of entity ``e``, labelled by
    one of its entities) of different provinces that share an identical owner and product key.

    Joins are tried forced merges first (``forced``: entity pairs of a ``merge`` override across
    provinces; no guard), then key by key in entity order. A join is refused when it would put
    two local products of one province in one product, when a ``split`` override crosses it, or
    when a pair of entities across it has incompatible legal forms or different names.
    Returns the national labels (a root entity per product), the joining edges and the refused
    ones (``cross_province``, score 1).
    """
    province, legal, core, pkey = (entities[c].to_numpy(dtype=object) for c in ("province", "legal", "core", "pkey"))
    shared = pd.DataFrame({"key": entities["okey"] + "|" + entities["pkey"], "entity": np.arange(len(entities))})
    pairs = _same_key_pairs(shared, "key")
    pairs = pairs[province[pairs["a"].to_numpy()] != province[pairs["b"].to_numpy()]]
    ordered = [(int(a), int(b), FORCED_RULE) for a, b in zip(forced["a"], forced["b"], strict=True)]
    ordered += [(int(a), int(b), CROSS_RULE) for a, b in
                pairs.sort_values(["a", "b"]).itertuples(index=False)]
    members: dict[int, list[int]] = {}  # local product -> its entities, in entity order
    for entity, label in enumerate(local.tolist()):
        members.setdefault(int(label), []).append(entity)
    parent = {r: r for r in members}
    state = {r: (m, {province[m[0]]}) for r, m in members.items()}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def refusal(x, y) -> str:
        if x[1] & y[1]:
            return "one local product per province"
        for e in x[0]:
            for f in y[0]:
                if (min(e, f), max(e, f)) in forbidden:
                    return "split override"
                if province[e] != province[f] and not (
                        legal_compatible(legal[e], legal[f]) and relate(core[e], core[f])[0] != DIFFERENT
                        and relate(pkey[e], pkey[f])[0] != DIFFERENT):
                    return "complete-link check failed"
        return ""

    tree, refused = [], []
    for a, b, rule in ordered:
        ra, rb = find(int(local[a])), find(int(local[b]))
        if ra == rb:
            continue
        x, y = state[ra], state[rb]
        why = "" if rule == FORCED_RULE else refusal(x, y)
        if why:
            refused.append((a, b, 1.0, why))
            continue
        if len(x[0]) < len(y[0]) or (len(x[0]) == len(y[0]) and rb < ra):
            ra, rb, x, y = rb, ra, y, x
        parent[rb] = ra
        state[ra] = (x[0] + y[0], x[1] | y[1])
        del state[rb]
        tree.append((a, b, rule, 1.0))
    labels = np.fromiter((find(int(local[e])) for e in range(len(entities))), int, len(entities))
    return Clustering(labels, pd.DataFrame(tree, columns=["a", "b", "rule", "score"]),
                      pd.DataFrame(refused, columns=["a", "b", "score", "reason"]))


def key_records(records: pd.DataFrame) -> pd.DataFrame:
    """Records in canonical order (submission, row) with their matching keys."""
    recs = records.assign(submission_id=records["submission_id"].astype(str), row_id=records["row_id"].astype(int))
    recs = recs.sort_values(["submission_id", "row_id"], ignore_index=True)
    owners = pd.unique(recs["owner"])
    split = [split_owner(o) for o in owners]
    legal = pd.Series([s[0] for s in split], index=owners)
    core = pd.Series([s[1] for s in split], index=owners)
    names = pd.unique(recs["product_name"])
    pkey = pd.Series([product_key(n) for n in names], index=names)
    recs["legal"] = recs["owner"].map(legal).to_numpy()
    recs["core"] = recs["owner"].map(core).to_numpy()
    recs["okey"] = (recs["legal"] + " " + recs["core"]).str.strip()
    recs["pkey"] = recs["product_name"].map(pkey).to_numpy()
    recs["province"] = recs["province_code"].astype(str)
    return recs


def _text(recs: pd.DataFrame, column: str, dates: bool = False) -> np.ndarray:
    """A fact column as strings (ISO dates), None where missing or absent."""
    if column not in recs:
        return np.full(len(recs), None, dtype=object)
    codes, uniques = pd.factorize(recs[column], use_na_sentinel=True)
    values = pd.Series(uniques)  # each distinct value converted once
    if dates:
        values = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
    elif column == "decision_no":
        values = values.map(lambda v: fold(v).replace(" ", "") if isinstance(v, str) else None)
    else:
        values = values.map(lambda v: None if pd.isna(v) else str(int(v)) if isinstance(v, float) else str(v))
    out = np.append(values.to_numpy(dtype=object), None)[codes]
    out[pd.isna(out)] = None
    out[out == ""] = None
    return out


class EntityFacts:
    """The :class:`ocop.dedupe.score.Facts` of each entity's records, built on demand."""

    def __init__(self, recs: pd.DataFrame, entity_of: np.ndarray) -> None:
        self._records = EntityRecords(entity_of)
        self._columns = [_text(recs, "snapshot_date", dates=True), _text(recs, "decision_no"),
                         _text(recs, "decision_date", dates=True), _text(recs, "rating_class"),
                         _text(recs, "group_code")]

    def __call__(self, entity: int) -> list[FactGroup]:
        return group_facts([Facts(*(c[i] for c in self._columns)) for i in self._records(entity)])


def decision_keys(recs: pd.DataFrame, entity_of: np.ndarray) -> pd.DataFrame:
    """``entity``, ``key`` (province, decision number and date) per record with a known decision."""
    number, date = _text(recs, "decision_no"), _text(recs, "decision_date", dates=True)
    known = pd.notna(number) & pd.notna(date)
    key = np.where(known, recs["province"].to_numpy(dtype=object) + "|" + number.astype(str) + "|" + date.astype(str), "")
    return pd.DataFrame({"entity": entity_of, "key": key})


def build_entities(recs: pd.DataFrame, splits: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """Entity position per record, and the entity frame (identical keys within one province).

    The second record of a ``split`` override is peeled off into an entity of its own, so that
    even identical keys can be kept apart.
    """
    peel = np.zeros(len(recs), dtype=np.int64)
    peel[splits[:, 1]] = splits[:, 1] + 1
    keys = [recs["province"], recs["okey"], recs["pkey"], pd.Series(peel)]
    entity_of = pd.MultiIndex.from_arrays(keys).factorize()[0]
    # factorize numbers entities by first record; records are in canonical order.
    firsts = np.unique(entity_of, return_index=True)[1]
    entities = recs.iloc[firsts][["province", "legal", "core", "okey", "pkey"]].reset_index(drop=True)
    return entity_of, entities


def _previous_ids(recs: pd.DataFrame, previous_links: pd.DataFrame) -> np.ndarray:
    prev = previous_links.assign(
        submission_id=previous_links["submission_id"].astype(str), row_id=previous_links["row_id"].astype(int)
    )
    prev = prev.drop_duplicates(["submission_id", "row_id"])
    joined = recs[["submission_id", "row_id"]].merge(prev, on=["submission_id", "row_id"], how="left")
    return joined["product_id"].to_numpy(dtype=float)


def _representatives(entity_of: np.ndarray) -> np.ndarray:
    """First record position of each entity."""
    return np.unique(entity_of, return_index=True)[1]


def _links(recs: pd.DataFrame, entity_of: np.ndarray, rep: np.ndarray, tree: pd.DataFrame) -> pd.DataFrame:
    first_edge = pd.concat([tree[["a", "rule", "score"]], tree[["b", "rule", "score"]].rename(columns={"b": "a"})])
    first_edge = first_edge.drop_duplicates("a").set_index("a")
    n = len(entity_of)
    rule = np.full(n, EXACT_RULE, dtype=object)
    score = np.ones(n)
    is_rep = np.zeros(n, dtype=bool)
    is_rep[rep] = True
    entity_rule = first_edge["rule"].reindex(range(len(rep))).fillna(UNIQUE_RULE).to_numpy()
    entity_score = first_edge["score"].reindex(range(len(rep))).fillna(1.0).to_numpy()
    rule[is_rep] = entity_rule[entity_of[is_rep]]
    score[is_rep] = entity_score[entity_of[is_rep]]
    return pd.DataFrame(
        {"submission_id": recs["submission_id"], "row_id": recs["row_id"], "product_id": recs["product_id"],
         "rule": rule, "score": score}
    )[LINK_COLUMNS]


def _merges(recs: pd.DataFrame, entity_of: np.ndarray, rep: np.ndarray, tree: pd.DataFrame,
            skip: np.ndarray | None = None) -> pd.DataFrame:
    """The exact-key joins (each record to its entity's first) and the ``tree``'s edges;
    records where ``skip`` is true are left out."""
    not_rep = ~np.isin(np.arange(len(entity_of)), rep)
    others = np.flatnonzero(not_rep if skip is None else not_rep & ~skip)
    a = np.r_[rep[entity_of[others]], rep[tree["a"].to_numpy(dtype=int)]].astype(int)
    b = np.r_[others, rep[tree["b"].to_numpy(dtype=int)]].astype(int)
    return pd.DataFrame(
        {
            "product_id": recs["product_id"].to_numpy()[a],
            "a_submission_id": recs["submission_id"].to_numpy()[a], "a_row_id": recs["row_id"].to_numpy()[a],
            "b_submission_id": recs["submission_id"].to_numpy()[b], "b_row_id": recs["row_id"].to_numpy()[b],
            "rule": np.r_[np.full(len(others), EXACT_RULE, dtype=object), tree["rule"].to_numpy(dtype=object)],
            "score": np.r_[np.ones(len(others)), tree["score"].to_numpy(dtype=float)],
        }
    )[MERGE_COLUMNS]


def _tree_merges(recs: pd.DataFrame, rep: np.ndarray, tree: pd.DataFrame) -> pd.DataFrame:
    """Level 2's joins, between the first records of the two entities."""
    a, b = rep[tree["a"].to_numpy(dtype=int)], rep[tree["b"].to_numpy(dtype=int)]
    col = {c: recs[c].to_numpy() for c in ("submission_id", "row_id", "product_id")}
    return pd.DataFrame({"product_id": col["product_id"][a], "a_submission_id": col["submission_id"][a],
                         "a_row_id": col["row_id"][a], "b_submission_id": col["submission_id"][b],
                         "b_row_id": col["row_id"][b], "rule": tree["rule"].to_numpy(dtype=object),
                         "score": tree["score"].to_numpy(dtype=float)})[MERGE_COLUMNS]


def _review(recs: pd.DataFrame, rep: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    a, b = rep[pairs["a"].to_numpy(dtype=int)], rep[pairs["b"].to_numpy(dtype=int)]
    col = {c: recs[c].to_numpy() for c in ("submission_id", "row_id", "owner", "product_name")}
    return pd.DataFrame(
        {
            "a_submission_id": col["submission_id"][a], "a_row_id": col["row_id"][a],
            "b_submission_id": col["submission_id"][b], "b_row_id": col["row_id"][b],
            "a_owner": col["owner"][a], "a_product": col["product_name"][a],
            "b_owner": col["owner"][b], "b_product": col["product_name"][b],
            "score": pairs["score"].to_numpy(dtype=float), "reason": pairs["reason"].to_numpy(dtype=object),
        }
    )[REVIEW_COLUMNS].sort_values("score", ascending=False, ignore_index=True)
