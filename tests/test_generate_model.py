"""The true world behind the generated data: national proportions and the noise helpers."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from ocop.dedupe.normalize import owner_key
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
    assert len(hard) >= 40
    assert (hard.groupby("owner_id").product_name.nunique() == 2).all()


def test_owners_recognisably_different_within_a_province(world):
    o = world.owners.assign(key=world.owners.legal_form + " " + world.owners.core)
    keys = o.key.map(owner_key)
    assert not keys.groupby(o.province).apply(lambda k: k.duplicated().any()).any()
    assert not o.core.map(fold).duplicated().any()


def test_same_seed_same_world():
    a, b = build_world(np.random.default_rng(3), 0.05), build_world(np.random.default_rng(3), 0.05)
    pd.testing.assert_frame_equal(a.listings, b.listings)
    pd.testing.assert_frame_equal(a.owners, b.owners)


@pytest.mark.parametrize("fn, text, expect", [
    (noise.tone_placement, "Hợp tác xã Hòa Bình", "Hợp tác xã Hoà Bình"),
    (noise.tone_placement, "Thủy sản", "Thuỷ sản"),
    (noise.tone_placement, "Mật ong", None),
    (noise.typo, "Gạo", None),
])
def test_noise_helpers(fn, text, expect):
    assert fn(text, np.random.default_rng(0)) == expect


def test_noise_keeps_the_owner():
    rng = np.random.default_rng(5)
    for _ in range(200):
        owner, product = noise.rewrite("Cty TNHH", "Thực phẩm Thành Công", "Mật ong bạc hà", rng)
        changed = (owner != "Cty TNHH Thực phẩm Thành Công") + (product != "Mật ong bạc hà")
        assert changed == 1
    assert noise.legal_form_variant("HTX", "Tân Lộc", rng) == "Hợp tác xã Tân Lộc"


def test_cp1258_round_trip():
    text = "Hợp tác xã Nông nghiệp Hòa Bình – Thực phẩm"
    assert to_cp1258(text).decode("cp1258") != text  # tones are combining marks
    assert unicodedata.normalize("NFC", to_cp1258(text).decode("cp1258")) == unicodedata.normalize("NFC", text)
