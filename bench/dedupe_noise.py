"""Dedupe quality on the generator's broadened noise, split by kind of variation.

Builds the generator's world and submissions in memory (``ocop.generate``: the same rows the
inbox files hold, without writing and parsing them), keeps the rows the pipeline would load, and
runs ``ocop.dedupe.assign_products`` on them. Prints, as one table:

- overall pairwise precision and recall (``ocop.dedupe.evaluate``), blocking recall, review size;
- recall of the true pairs that involve a record written differently, per kind of variation
  (typo kind x short/long word x owner/product, marks lost, legal form, ..., and by the number
  of variations the record carries);
- per kind of hard negative: how many pairs of different products there are and how many ended
  in one product (false merges);
- per blocking pass: the candidate pairs it generates and the recall it reaches alone.

    .venv/bin/python bench/dedupe_noise.py --scale 1 --seed 2025
    .venv/bin/python bench/dedupe_noise.py --scale 3 --seed 2025
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import pandas as pd

from ocop.dedupe import assign_products
from ocop.dedupe.evaluate import blocking_by_pass, evaluate
from ocop.generate.layout import design_layouts
from ocop.generate.model import build_world
from ocop.generate.submissions import build_submissions

NO_LINKS = pd.DataFrame(columns=["submission_id", "row_id", "product_id"])
NO_OVERRIDES = pd.DataFrame(columns=["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why"])


def generated_records(seed: int, scale: float) -> tuple[pd.DataFrame, object]:
    """Loaded records of the generated inbox (``assign_products`` columns plus pid, variations)."""
    rng = np.random.default_rng(seed)
    layouts = design_layouts(rng)
    world = build_world(rng, scale)
    subs = build_submissions(world, layouts, rng)
    parts = []
    for sub in subs:
        if sub.rejected_rule:
            continue
        rows = sub.rows.reset_index(drop=True)
        number = np.where(rows.set_field == "decision_no_raw", rows.set_value.astype(object), rows.decision_no)
        parts.append(pd.DataFrame({
            "submission_id": sub.path, "row_id": np.arange(len(rows)), "province_code": sub.layout.code,
            "owner": rows.owner, "product_name": rows["product"], "decision_no": number,
            "decision_date": rows.decision_date, "snapshot_date": sub.snapshot.isoformat(),
            "rating_class": rows.rating, "group_code": rows.group, "pid": rows.pid,
            "variations": rows.variations, "rejected": rows.rejected,
        }))
    records = pd.concat(parts, ignore_index=True)
    return records[~records.rejected].drop(columns="rejected").reset_index(drop=True), world


def _kinds(variations: tuple[str, ...]) -> list[str]:
    out = [f"{len(variations)} variation(s)"] if variations else []
    for v in variations:
        parts = v.split(":")
        if parts[0] == "typo":
            _, sub, size, field = parts
            out += [f"typo {sub}", f"typo {size} word", f"typo {size} word, {field}"]
        else:
            out.append(v)
    return out


def recall_by_kind(records: pd.DataFrame, product_id: np.ndarray) -> pd.DataFrame:
    """Per kind: true pairs with a record of that kind, and the share found."""
    df = records[["pid", "variations"]].assign(product_id=product_id, pos=np.arange(len(records)))
    members = df.groupby("pid")
    total, found = Counter(), Counter()
    for _, group in members:
        if len(group) < 2 or not any(group.variations.str.len() > 0):
            continue
        prods = group.product_id.to_numpy()
        for j, kinds in enumerate(group.variations):
            if not kinds:
                continue
            others = np.delete(prods, j)
            hit = int((others == prods[j]).sum())
            for kind in _kinds(kinds):
                total[kind] += len(others)
                found[kind] += hit
    table = pd.DataFrame({"true_pairs": pd.Series(total), "found": pd.Series(found)}).fillna(0).astype(int)
    table["recall"] = (table.found / table.true_pairs).round(4)
    return table.sort_index()


def hard_negatives(records: pd.DataFrame, product_id: np.ndarray, world) -> pd.DataFrame:
    """Per kind of hard negative: pairs of different products (record pairs) and false merges."""
    p = world.products
    kinds = p.set_index("pid").hard_kind
    df = records[["pid", "owner", "province_code"]].assign(product_id=product_id, kind=records.pid.map(kinds))
    rows = []
    hard = df[df.kind != ""]
    by_owner = p.set_index("pid").owner_id
    twin = world.owners.set_index("owner_id").twin_of
    for kind, group in hard.groupby("kind"):
        if kind == "near_owner":  # the twin's product against its original's
            owner = group.pid.map(by_owner)
            partner = owner.map(lambda o: twin.get(o, -1)).where(lambda t: t >= 0, owner)
        else:  # the two product lines of one owner
            partner = group.pid.map(by_owner)
        pairs = merged = 0
        for _, g in group.groupby(partner.to_numpy()):
            pids, prods = g.pid.to_numpy(), g.product_id.to_numpy()
            diff = pids[:, None] != pids[None, :]
            pairs += int(np.triu(diff, 1).sum())
            merged += int(np.triu(diff & (prods[:, None] == prods[None, :]), 1).sum())
        rows.append({"kind": kind, "record_pairs": pairs, "merged": merged})
    # different owners, one product name, one province (occurs naturally)
    name = records.product_name.str.lower()
    same = df.assign(name=name).groupby(["province_code", "name"])
    pairs = merged = 0
    for _, g in same:
        if g.pid.nunique() < 2:
            continue
        pids, prods = g.pid.to_numpy(), g.product_id.to_numpy()
        diff = pids[:, None] != pids[None, :]
        pairs += int(np.triu(diff, 1).sum())
        merged += int(np.triu(diff & (prods[:, None] == prods[None, :]), 1).sum())
    rows.append({"kind": "other_owner_same_product", "record_pairs": pairs, "merged": merged})
    return pd.DataFrame(rows).set_index("kind")


def measure(seed: int, scale: float) -> dict:
    records, world = generated_records(seed, scale)
    start = time.perf_counter()
    result = assign_products(records.drop(columns=["pid", "variations"]), NO_LINKS, NO_OVERRIDES, 1)
    seconds = time.perf_counter() - start
    links = result.links.merge(records[["submission_id", "row_id"]].reset_index(), on=["submission_id", "row_id"])
    product_id = links.sort_values("index").product_id.to_numpy()
    ref = records.submission_id + "#" + records.row_id.astype(str)
    quality = evaluate(pd.DataFrame({"record": ref, "product_id": product_id}),
                       pd.Series(ref.to_numpy()).groupby(records.pid.to_numpy()).agg(list).tolist())
    blocking = blocking_by_pass(records.drop(columns=["pid", "variations"]), records.pid.to_numpy())
    return {"records": len(records), "seconds": round(seconds, 1), "quality": quality, "review": len(result.review),
            "by_kind": recall_by_kind(records, product_id), "hard": hard_negatives(records, product_id, world),
            "blocking": pd.DataFrame(blocking).T}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    m = measure(args.seed, args.scale)
    q = m["quality"]
    print(f"scale {args.scale} seed {args.seed}: {m['records']} records, assign_products {m['seconds']} s, "
          f"review {m['review']}")
    print(f"pairwise precision {q['precision']:.5f} recall {q['recall']:.5f} "
          f"(predicted {q['predicted_pairs']}, true {q['true_pairs']})")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print("\nrecall by kind of variation (true pairs with a record of that kind)")
        print(m["by_kind"].to_string())
        print("\nhard negatives (record pairs of different products; merged = false merges)")
        print(m["hard"].to_string())
        print("\nblocking passes (candidate entity pairs; recall of the pass alone, identical keys included)")
        print(m["blocking"].to_string())


if __name__ == "__main__":
    main()
