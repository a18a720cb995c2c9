"""Pairwise evaluation, blocking recall, quality on a small noisy synthetic register, review helpers."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from ocop.dedupe import assign_products
from ocop.dedupe.evaluate import blocking_recall, evaluate
from ocop.dedupe.review import OVERRIDE_COLUMNS, override_row, review_table


def _bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "dedupe_scale.py"
    spec = importlib.util.spec_from_file_location("dedupe_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pairwise_metrics_count_pairs():
    links = pd.DataFrame({"record": list("abcde"), "product_id": [1, 1, 1, 2, 3]})
    result = evaluate(links, [["a", "b"], ["c"], ["d", "e"]])
    # predicted pairs ab ac bc; true pairs ab de; correct ab
    assert result["predicted_pairs"] == 3 and result["true_pairs"] == 2
    assert result["precision"] == pytest.approx(1 / 3) and result["recall"] == pytest.approx(1 / 2)
    assert result["f1"] == pytest.approx(0.4)


def test_quality_on_a_noisy_synthetic_register():
    bench = _bench()
    records, truth = bench.synthetic_records(6000, seed=3)
    result = assign_products(records, records.iloc[:0][["submission_id", "row_id"]].assign(product_id=0),
                             pd.DataFrame(columns=OVERRIDE_COLUMNS[:-1]), 1)
    ref = records["submission_id"] + "#" + records["row_id"].astype(str)
    links = result.links.assign(record=result.links["submission_id"] + "#" + result.links["row_id"].astype(str))
    quality = evaluate(links, pd.Series(ref.to_numpy()).groupby(truth).agg(list).tolist())
    assert quality["precision"] >= 0.995 and quality["recall"] >= 0.99
    assert blocking_recall(records, truth) >= 0.99


def test_review_table_and_override_row():
    review = pd.DataFrame([{
        "a_submission_id": "s1", "a_row_id": 0, "b_submission_id": "s2", "b_row_id": 3,
        "a_owner": "HKD Nguyễn Văn An", "a_product": "Bánh chưng", "b_owner": "HKD Nguyễn Văn Anh",
        "b_product": "Bánh chưng", "score": 0.92, "reason": "owner short words an vs anh",
    }])
    text = review_table(review)
    assert "Nguyễn Văn Anh" in text and "short words" in text
    assert review_table(review.iloc[:0]) == "No pairs to review."
    now = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)
    row = override_row(("s2", 3), ("s1", 0), "split", "bo.ocop", "two households", now)
    assert list(row) == OVERRIDE_COLUMNS
    assert (row["a_submission_id"], row["a_row_id"], row["b_submission_id"]) == ("s1", 0, "s2")
    assert row["created_at"] == "2025-07-01T09:00:00+00:00"
    with pytest.raises(ValueError):
        override_row(("s1", 0), ("s1", 0), "merge", "x", "y")
    with pytest.raises(ValueError):
        override_row(("s1", 0), ("s2", 0), "join", "x", "y")


def test_blocking_is_measured_per_named_pass():
    from ocop.dedupe.block import PASSES, candidate_pairs, same_owner
    from ocop.dedupe.evaluate import blocking_by_pass

    records, truth = _bench().synthetic_records(3000, seed=4)
    by_pass = blocking_by_pass(records, truth)
    assert list(by_pass) == [p.__name__ for p in PASSES] + ["all"]
    assert all(v["recall"] <= by_pass["all"]["recall"] for v in by_pass.values())
    assert by_pass["all"]["recall"] >= 0.99 and by_pass["same_decision"]["pairs"] > 0
    # a pass left out is left out: only one owner's products are paired
    assert blocking_recall(records, truth, passes=(same_owner,)) == by_pass["same_owner"]["recall"] < 1.0
    assert len(candidate_pairs(records.iloc[:0].assign(province="", okey="", core="", pkey=""))) == 0
