"""assign_products end to end on small hand-made registers: variants merge, hard negatives stay
apart, the chaining guard holds, ids are stable across runs, overrides survive reruns."""

from __future__ import annotations

import pandas as pd
import pytest

from ocop.dedupe import DedupeResult, assign_products

COLUMNS = ["submission_id", "row_id", "province_code", "owner", "product_name", "decision_date",
           "snapshot_date", "rating_class"]
NO_LINKS = pd.DataFrame(columns=["submission_id", "row_id", "product_id"])
NO_OVERRIDES = pd.DataFrame(columns=["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why"])


def frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """(submission, province, owner, product) -> record frame, row ids numbered per submission."""
    df = pd.DataFrame(rows, columns=["submission_id", "province_code", "owner", "product_name"])
    return df.assign(
        row_id=df.groupby("submission_id").cumcount(), decision_date="2024-05-01",
        snapshot_date=df["submission_id"].map({"s1": "2025-01-01"}).fillna("2025-06-30"), rating_class="3",
    )[COLUMNS]


def run(records, links=NO_LINKS, overrides=NO_OVERRIDES, next_id=1) -> DedupeResult:
    return assign_products(records, links, overrides, next_id)


def product_of(result: DedupeResult, submission: str, row: int) -> int:
    links = result.links
    return int(links.loc[(links.submission_id == submission) & (links.row_id == row), "product_id"].iloc[0])


def same(result, a, b) -> bool:
    return product_of(result, *a) == product_of(result, *b)


NOISY_PAIRS = [
    (("HTX Hoà Bình", "Mật ong rừng"), ("Hợp tác xã nông nghiệp Hòa Bình", "MẬT ONG RỪNG")),
    (("Công ty TNHH Sao Việt", "Gạo ST25"), ("Cty TNHH MTV Sao Việt", "Gạo ST 25")),
    (("CTCP Thành Công", "Nước mắm 30 độ đạm"), ("Công ty cổ phần Thanh Cong", "Nuoc mam 30 do dam")),
    (("Hộ kinh doanh Nguyễn Văn Hùng", "Bánh chưng"), ("HKD Nguyen Van Hung", "Bánh-chưng")),
    (("Cơ sở sản xuất Phú Quý", "Trà shan tuyết"), ("CSSX Phú Quý", "Trà “Shan tuyết”")),
    (("THT Mây tre đan Tân Lộc", "Giỏ mây"), ("Tổ hợp tác Mây tre đan Tân Lộc", "Giỏ mây")),
    (("DNTN Hưng Thịnh", "Rượu chuối hột"), ("Doanh nghiệp tư nhân Hưng Thịnh", "Rượu chuối  hột")),
    (("HTX Chè Thượng Cương", "Chè Shan tuyết cổ thụ"), ("HTX Chè Thượng Cươngg", "Chè Shan tuyết cổ thụ")),  # owner typo
    (("HTX Dược liệu Yên Sơn", "Cao dược liệu"), ("HTX Dược liệu Yên Sơn", "Cao dươc liệuu")),  # product typo
    (("HTX Nấm Kim Lâm", "Nấm linh chi"), ("HTX Nấm Kim Lâm", "Nấm linh chí")),  # tone only
    (("HTX Cây ăn quả Mỹ Lạc", "Bưởi da xanh"), ("Cây ăn quả Mỹ Lạc", "Bưởi da xanh")),  # legal form missing
    (("HTX Rau Đông Phong", "Trà xanh túi lọc"), ("HTX Rau Đông Phong", "Tràxanh túi lọc")),  # spacing
]

HARD_NEGATIVES = [
    (("HTX Hoà Bình", "Mật ong"), ("HTX Ánh Dương", "Mật ong")),  # two owners, one product name
    (("HTX Hoà Bình", "Gạo ST25"), ("HTX Hoà Bình", "Gạo ST24")),
    (("HTX Hoà Bình", "Nước mắm 30 độ đạm"), ("HTX Hoà Bình", "Nước mắm 40 độ đạm")),
    (("HTX Hoà Bình", "Trà xanh"), ("HTX Hoà Bình", "Trà xanh túi lọc")),
    (("HKD Nguyễn Văn An", "Bánh chưng"), ("HKD Nguyễn Văn Anh", "Bánh chưng")),  # short given names
    (("HTX Hoà Bình", "Mật ong"), ("Công ty TNHH Hoà Bình", "Mật ong")),  # cooperative vs company
]


@pytest.mark.parametrize(("a", "b"), NOISY_PAIRS)
def test_noisy_variants_across_snapshots_merge(a, b):
    result = run(frame([("s1", "01", *a), ("s2", "01", *b)]))
    assert same(result, ("s1", 0), ("s2", 0))
    assert len(result.merges) == 1 and result.merges.rule.iloc[0] != "override_merge"


@pytest.mark.parametrize(("a", "b"), HARD_NEGATIVES)
def test_hard_negatives_stay_apart(a, b):
    result = run(frame([("s1", "01", *a), ("s2", "01", *b)]))
    assert not same(result, ("s1", 0), ("s2", 0))
    assert result.merges.empty


def test_short_word_difference_goes_to_review_and_legal_conflict_too():
    result = run(frame([
        ("s1", "01", "HKD Nguyễn Văn An", "Bánh chưng"), ("s2", "01", "HKD Nguyễn Văn Anh", "Bánh chưng"),
        ("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s2", "01", "Công ty TNHH Hoà Bình", "Mật ong"),
    ]))
    assert set(result.review.a_owner) == {"HKD Nguyễn Văn An", "HTX Hoà Bình"}
    assert {"a_product", "b_product", "score", "reason"} <= set(result.review.columns)


def test_province_separates_unless_keys_identical():
    result = run(frame([
        ("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s3", "31", "Hợp tác xã Hoà Bình", "Mật ong"),
        ("s1", "01", "HTX Tân Lộc", "Chè xanh"), ("s3", "31", "HTX Tân Lộcc", "Chè xanh"),
    ]))
    assert same(result, ("s1", 0), ("s3", 0))  # cross-province duplicate: one product
    assert "cross_province" in set(result.merges.rule)
    assert not same(result, ("s1", 1), ("s3", 1))  # only a typo apart in another province: apart


def test_identical_in_file_duplicates_are_one_product_but_near_ones_are_not():
    result = run(frame([
        ("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s1", "01", "Hợp tác xã Hoà Bình", "Mật ong"),
        ("s1", "01", "HTX Hoà Bình", "Mật ongg rừng"), ("s1", "01", "HTX Hoà Bình", "Mật ong rưngg"),
    ]))
    assert same(result, ("s1", 0), ("s1", 1))
    assert not same(result, ("s1", 2), ("s1", 3))  # one typo apart, but two rows of one file


def test_chaining_guard_refuses_a_cluster_of_non_typos():
    # B is a typo of A and of C, but A and C differ by two edits: complete link keeps C out.
    result = run(frame([
        ("s1", "01", "HTX Hoà Bình", "Chè Thượng Cương"),
        ("s2", "01", "HTX Hoà Bình", "Chè Thượng Cươngg"),
        ("s3", "01", "HTX Hoà Bình", "Chè Thượng Cươnggg"),
    ]))
    ids = {product_of(result, s, 0) for s in ("s1", "s2", "s3")}
    assert len(ids) == 2
    assert (result.review.reason == "complete-link check failed").any()


def test_outputs_shape_and_audit():
    records = frame([("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s2", "01", "HTX Hoà Bình", "Mật ong"),
                     ("s2", "01", "HTX Tân Lộc", "Chè")])
    result = run(records, next_id=100)
    assert list(result.links.columns) == ["submission_id", "row_id", "product_id", "rule", "score"]
    assert len(result.links) == 3 and sorted(result.links.product_id) == [100, 100, 101]
    assert result.next_product_id == 102
    assert result.merges[["product_id", "rule"]].values.tolist() == [[100, "exact_key"]]


def test_ids_are_stable_across_runs():
    first = frame([
        ("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s1", "01", "HTX Hoà Bình", "Gạo ST25"),
        ("s1", "01", "HTX Tân Lộc", "Chè xanh"),
    ])
    r1 = run(first)
    second = pd.concat([first, frame([
        ("s2", "01", "Hợp tác xã Hòa Bình", "Mật ong"),  # renamed owner spelling, re-rated
        ("s2", "01", "HTX Ánh Dương", "Nấm linh chi"),  # new product
    ]).assign(rating_class="4")], ignore_index=True)
    r2 = run(second, r1.links[["submission_id", "row_id", "product_id"]], next_id=r1.next_product_id)
    assert product_of(r2, "s2", 0) == product_of(r1, "s1", 0)
    assert product_of(r2, "s1", 2) == product_of(r1, "s1", 2)
    assert product_of(r2, "s2", 1) == r1.next_product_id
    # Tân Lộc's chè disappears: its id is retired, the next new product gets a fresh one.
    third = pd.concat([second[second.owner != "HTX Tân Lộc"],
                       frame([("s3", "01", "HTX Phú Quý", "Rượu")])], ignore_index=True)
    r3 = run(third, r2.links[["submission_id", "row_id", "product_id"]], next_id=r2.next_product_id)
    retired = product_of(r1, "s1", 2)
    assert retired not in set(r3.links.product_id)
    assert product_of(r3, "s3", 0) == r2.next_product_id


def test_two_old_ids_in_one_cluster_keep_the_smallest_and_a_split_gives_the_larger_part_the_id():
    records = frame([("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s2", "01", "HTX Hoà Bình", "Mật ong"),
                     ("s3", "01", "HTX Hoà Bình", "Mật ong")])
    links = pd.DataFrame({"submission_id": ["s1", "s2", "s3"], "row_id": [0, 0, 0], "product_id": [7, 5, 5]})
    assert set(run(records, links, next_id=10).links.product_id) == {5}
    split = pd.DataFrame([("s1", 0, "s3", 0, "split", "bo", "two products")], columns=NO_OVERRIDES.columns)
    links = pd.DataFrame({"submission_id": ["s1", "s2", "s3"], "row_id": [0, 0, 0], "product_id": [5, 5, 5]})
    result = run(records, links, split, next_id=10)
    assert product_of(result, "s1", 0) == 5 and product_of(result, "s2", 0) == 5
    assert product_of(result, "s3", 0) == 10


def test_overrides_survive_reruns():
    records = frame([("s1", "01", "HTX Hoà Bình", "Mật ong"), ("s2", "01", "HTX Hoà Bình", "Mật ong"),
                     ("s1", "01", "HTX Tân Lộc", "Chè"), ("s2", "01", "HTX Tân Lộc mới", "Chè Tân Lộc")])
    overrides = pd.DataFrame(
        [("s1", 0, "s2", 0, "split", "bo", "two lots"), ("s1", 1, "s2", 1, "merge", "bo", "renamed")],
        columns=NO_OVERRIDES.columns,
    )
    r1 = run(records, overrides=overrides)
    r2 = run(records, r1.links[["submission_id", "row_id", "product_id"]], overrides, r1.next_product_id)
    for result in (r1, r2):
        assert not same(result, ("s1", 0), ("s2", 0))
        assert same(result, ("s1", 1), ("s2", 1))
        assert "override_merge" in set(result.merges.rule)
    assert r2.links.product_id.tolist() == r1.links.product_id.tolist()
