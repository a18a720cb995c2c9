"""The true world behind the generated data: national proportions and the noise helpers."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from ocop.generate import noise
from ocop.generate.model import S1, S2, build_world
from ocop.generate.render import to_cp1258
from ocop.reference.provinces import PROVINCES
from ocop.text import fold


@pytest.fixture(scope="module")
def world():
    return build_world(np.random.default_rng(11), 1.0)


def test_national_scale_and_proportions(world):
    listed = world.listings.groupby("snapshot").size()
    assert 16_000 < listed[S2.isoformat()] < 20_000
    assert 9_000 < len(world.owners) < 11_500
    assert 1.6 < len(world.products) / len(world.owners) < 2.0
    s2 = world.listings[world.listings.snapshot == S2.isoformat()]
    hanoi = (s2.province == "01").sum()
    assert 3_000 < hanoi < 3_800
    assert set(s2.province) == set(PROVINCES)
    share = s2.rating.value_counts(normalize=True)
    assert 0.65 < share["3"] < 0.75 and 0.2 < share["4"] < 0.33
    assert 0.005 < share["potential-5"] < 0.025 and share["5"] < 0.01
    food = (world.products.group == 1).mean()
    assert 0.65 < food < 0.8


def test_changes_between_snapshots(world):
    s1 = world.listings[world.listings.snapshot == S1.isoformat()].set_index(["province", "pid"])
    s2 = world.listings[world.listings.snapshot == S2.isoformat()].set_index(["province", "pid"])
    left = 1 - s1.index.isin(s2.index).mean()
    new = 1 - s2.index.isin(s1.index).mean()
    assert 0.03 < left < 0.09 and 0.07 < new < 0.14
    both = s1.join(s2, lsuffix="1", rsuffix="2", how="inner")
    rerated = ((both.rating1 == "3") & (both.rating2 == "4")).mean()
    assert 0.02 < rerated < 0.06
    assert (both.decision_date2[both.rating1 != both.rating2] > pd.Timestamp(S1)).all()
    assert 0.03 < both.noisy2.mean() < 0.07
    assert 0.01 < both.noisy1.mean() < 0.03  # the older snapshot is sometimes the one written differently


def test_cross_province_duplicates_and_hard_negatives(world):
    per_snapshot = world.listings.groupby(["snapshot", "pid"]).province.nunique()
    assert 5 <= (per_snapshot > 1).sum() // 2 <= 20
    # Movers: listed by one province on S1 and by two on S2, the second with the newer decision.
    counts = per_snapshot.unstack(0)
    movers = counts.index[(counts[S1.isoformat()] == 1) & (counts[S2.isoformat()] == 2)]
    assert len(movers) >= 2
    s2 = world.listings[(world.listings.snapshot == S2.isoformat()) & world.listings.pid.isin(movers)]
    home = world.products.set_index("pid").province
    newest = s2.sort_values("decision_date").groupby("pid").province.last()
    assert (newest != newest.index.map(home)).all()
    hard = world.products[world.products.hard_negative]
    lines = hard[hard.hard_kind != "near_owner"]
    assert len(lines) >= 40
    assert (lines.groupby("owner_id").product_name.nunique() == 2).all()
    assert set(lines.hard_kind) == {"product_line_word", "number_or_code", "short_word_line"}
    pairs = lines.groupby("owner_id").product_name.agg(sorted)
    assert ["Rượu sim", "Rượu sâm"] in pairs.tolist() and ["Hạt tiêu", "Hạt điều"] in pairs.tolist()


def test_near_identical_owners_are_different_products_in_the_truth(world):
    """Owners one letter apart (checked here with a plain edit distance, not the matcher's keys)
    sell the same product and are different pids."""
    o = world.owners.set_index("owner_id")
    twins = o[o.twin_of >= 0]
    assert len(twins) >= 30
    p = world.products.set_index("owner_id")
    for twin, row in twins.iterrows():
        original = o.loc[row.twin_of]
        assert original.province == row.province
        a, b = original.core.split(), row.core.split()
        assert len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1
        x, y = next((x, y) for x, y in zip(a, b) if x != y)
        assert Levenshtein.distance(fold(x), fold(y)) == 1
        ours = p.loc[[twin]]
        theirs = p.loc[[row.twin_of]]
        assert ours.product_name.iloc[0] in set(theirs.product_name)
        assert ours.pid.iloc[0] not in set(theirs.pid)


def test_owner_names_are_not_kept_far_apart(world):
    """Issue 20: no distance filter. Owners of one province one edit apart occur naturally too."""
    folded = world.owners.assign(f=world.owners.core.map(fold))
    close = 0
    for _, group in folded[folded.twin_of < 0].groupby("province"):
        d = cdist(group.f.tolist(), group.f.tolist(), scorer=Levenshtein.distance, score_cutoff=1, workers=1)
        close += (int((d <= 1).sum()) - len(group)) // 2
    assert close >= 5
    assert not folded.f.duplicated().any()  # identical folded names would be one owner by the spec


def test_same_seed_same_world():
    a, b = build_world(np.random.default_rng(3), 0.05), build_world(np.random.default_rng(3), 0.05)
    pd.testing.assert_frame_equal(a.listings, b.listings)
    pd.testing.assert_frame_equal(a.owners, b.owners)


@pytest.mark.parametrize("fn, text, expect", [
    (noise.tone_placement, "Hợp tác xã Hòa Bình", "Hợp tác xã Hoà Bình"),
    (noise.tone_placement, "Thủy sản", "Thuỷ sản"),
    (noise.tone_placement, "Mật ong", None),
    (noise.typo, "ST25", None),  # model codes are never mistyped
    (noise.marks_lost, "Mật ong", "Mat ong"),
])
def test_noise_helpers(fn, text, expect):
    assert fn(text, np.random.default_rng(0)) == expect


@pytest.mark.parametrize(("word", "kind", "edits"), [
    ("Phát", "substitution", 1), ("Minh", "deletion", 1), ("gai", "insertion", 1), ("Tín", "doubling", 1),
    ("Long", "transposition", 2), ("Việt", "telex", 1), ("Đạt", "telex", 1),
])
def test_typos_hit_short_words_one_keystroke_at_a_time(word, kind, edits):
    """Every typo kind applies to short syllables; after folding it is one edit (a transposition
    is two in plain Levenshtein) and never a digit."""
    for seed in range(20):
        out = noise.typo_word(word, kind, np.random.default_rng(seed))
        assert out is not None and out != word and not any(c.isdigit() for c in out)
        assert 1 <= Levenshtein.distance(fold(word), fold(out)) <= edits


def test_substitutions_use_neighbouring_keys():
    assert set(noise.NEIGHBOURS["g"]) == set("tyfhvb") and set(noise.NEIGHBOURS["a"]) == set("qwsz")
    rng = np.random.default_rng(1)
    for _ in range(50):
        out = noise.typo_word("xanh", "substitution", rng)
        (i,) = [k for k in range(4) if out[k] != "xanh"[k]]
        assert out[i] in noise.NEIGHBOURS["xanh"[i]]


def test_variations_combine_one_to_three_kinds():
    rng = np.random.default_rng(5)
    counts = {1: 0, 2: 0, 3: 0}
    kinds = set()
    for _ in range(400):
        v = noise.vary("Cty TNHH", "Thực phẩm Thành Công", "Mật ong bạc hà", rng)
        assert (v.owner, v.product) != ("Cty TNHH Thực phẩm Thành Công", "Mật ong bạc hà")
        counts[len(v.kinds)] += 1
        kinds |= {k.split(":")[0] if not k.startswith("typo") else ":".join(k.split(":")[:3]) for k in v.kinds}
    assert counts[1] > counts[2] > counts[3] > 10
    assert {"legal_form", "marks_lost", "no_diacritics", "typo:deletion:short", "typo:telex:short"} <= kinds
    assert noise.legal_form_variant("HTX", "Tân Lộc", rng) == "Hợp tác xã Tân Lộc"


def test_cp1258_round_trip():
    text = "Hợp tác xã Nông nghiệp Hòa Bình – Thực phẩm"
    assert to_cp1258(text).decode("cp1258") != text  # tones are combining marks
    assert unicodedata.normalize("NFC", to_cp1258(text).decode("cp1258")) == unicodedata.normalize("NFC", text)
