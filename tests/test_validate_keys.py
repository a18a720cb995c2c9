"""A large validation's matching keys worked out in a second process judge duplicates exactly as
the keys computed in-process do (ocop.validate.checks.DuplicateKeys)."""

from __future__ import annotations

import pandas as pd

from ocop.validate import checks
from ocop.validate.run import validate
from ocop.validate.testing import make_parsed

OWNERS = ["HTX Nông nghiệp Hòa Bình", "Hợp tá xã Hoà Bình", "Công ty TNHH MTV Hoà Bình", "  ", None,
          "Cơ sở Ngô Quang Loan", "HKD Thu Hà", "Thu Hà"]
PRODUCTS = ["Mật ong hoa nhãn", "Mật ong  hoa nhãn", "Gạo ST25", "Gạo ST 25", "", None, "Trà Shan tuyết"]


def _rows(n: int) -> list[dict]:
    return [{"owner": OWNERS[i % len(OWNERS)], "product_name": PRODUCTS[(i // 3) % len(PRODUCTS)],
             "rating_raw": "4 sao" if i % 5 else "3 sao", "decision_no_raw": f"{100 + i % 4}/QĐ-UBND"}
            for i in range(n)]


def test_keys_from_a_second_process_judge_duplicates_the_same(monkeypatch):
    parsed = make_parsed(_rows(120))
    alone = validate(parsed)
    monkeypatch.setattr(checks, "PARALLEL_KEYS_FROM", 5)
    keys = checks.DuplicateKeys(parsed.records)
    assert keys._future is not None  # really worked out in the forked process
    owners, products = keys.maps()
    assert owners["Hợp tá xã Hoà Bình"] == owners["HTX Nông nghiệp Hòa Bình"] == "htx hoa binh"
    ahead = validate(parsed)
    assert alone.counts == ahead.counts and alone.counts["by_rule"].get("W_DUPLICATE_IDENTICAL")
    pd.testing.assert_frame_equal(alone.issues, ahead.issues)
    pd.testing.assert_frame_equal(alone.records, ahead.records)


def test_a_failed_second_process_falls_back_to_this_one(monkeypatch):
    parsed = make_parsed(_rows(60))
    alone = validate(parsed)
    monkeypatch.setattr(checks, "PARALLEL_KEYS_FROM", 5)

    def broken(*_args):
        raise RuntimeError("no keys here")

    monkeypatch.setattr(checks, "_key_maps", broken)  # the second process's work fails...
    keys = checks.DuplicateKeys(parsed.records)
    monkeypatch.undo()  # ...this process computes them
    monkeypatch.setattr(checks, "PARALLEL_KEYS_FROM", 5)
    frame = checks.duplicate_frame(parsed.records, pd.Series(False, index=parsed.records.index), keys=keys)
    plain = checks.duplicate_frame(parsed.records, pd.Series(False, index=parsed.records.index))
    pd.testing.assert_frame_equal(frame, plain)
    pd.testing.assert_frame_equal(alone.issues, validate(parsed).issues)
