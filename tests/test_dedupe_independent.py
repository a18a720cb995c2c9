"""Deduplication on registers drawn by ``bench/dedupe_independent.py``: its own vocabulary and
noise model, written by another hand than the matcher and the project's generator (issue 14:
a generator written with the matcher shares its assumptions). Three seeds, eight provinces,
two snapshots each."""

from __future__ import annotations

import pytest

from dedupe_independent import build, evaluate


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_independent_registers(seed):
    out = evaluate(build(seed))
    assert out["precision"] >= 0.998, out["false_merges"]
    assert out["recall"] >= 0.99, out["missed_kinds"]
