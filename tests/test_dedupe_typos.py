"""Real Vietnamese mistyping between two snapshots, short syllables included, and the hard
negatives that must stay apart whatever the typo tolerance (one test per kind).

Records carry what a register carries: decision number and date, rating, group. A product
listed in both snapshots without a new decision keeps its decision; a re-rated one has a newer
decision dated after the earlier snapshot.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ocop.dedupe import assign_products

S1, S2 = "2025-06-30", "2025-12-31"
NO_LINKS = pd.DataFrame(columns=["submission_id", "row_id", "product_id"])
NO_OVERRIDES = pd.DataFrame(columns=["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why"])


def record(snapshot, owner, product, decision=("120/QĐ-UBND", "2024-03-01"), rating="3", group=1, province="01"):
    return {"submission_id": f"{province}-{snapshot}", "province_code": province, "owner": owner,
            "product_name": product, "decision_no": decision[0], "decision_date": decision[1],
            "snapshot_date": snapshot, "rating_class": rating, "group_code": group}


def run(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["row_id"] = df.groupby("submission_id").cumcount()
    result = assign_products(df, NO_LINKS, NO_OVERRIDES, 1)
    return df.merge(result.links, on=["submission_id", "row_id"]), result


def one_product(links: pd.DataFrame, i: int, j: int) -> bool:
    return links.product_id.iat[i] == links.product_id.iat[j]


# (kind, S1 owner, S1 product, S2 owner, S2 product): a one-edit typo in a short syllable, with
# another harmless variation in the same row (legal form spelling, dropped diacritics, case).
SHORT_TYPOS = [
    ("substitution Phát/Phác + HTX/Hợp tác xã", "HTX Thịnh Phát", "Mật ong rừng", "Hợp tác xã Thịnh Phác", "Mật ong rừng"),
    ("deletion Minh/Min + no diacritics", "Công ty TNHH Minh Long", "Gạo lứt", "Cong ty TNHH Min Long", "Gao lut"),
    ("deletion Tín/Tí + HTX/Hợp tác xã", "HTX Tín Nghĩa", "Chè Shan tuyết", "Hợp tác xã Tí Nghĩa", "Chè Shan tuyết"),
    ("deletion Long/Log + case", "HKD Võ Thanh Long", "Ô mai", "HKD VÕ THANH LOG", "Ô mai"),
    ("deletion Việt/Việ + Cty/Công ty", "Công ty TNHH Sao Việt", "Nước mắm", "Cty TNHH Sao Việ", "Nước mắm"),
    ("substitution xanh/xgnh in the product + HTX", "HTX Tân Lộc", "Trà xanh", "Hợp tác xã Tân Lộc", "Trà xgnh"),
    ("deletion gai/gi in the product + no diacritics", "HTX Yên Sơn", "Bánh gai", "HTX Yen Son", "Banh gi"),
    ("insertion Sơn/Sơnm", "HTX Yên Sơn", "Miến dong", "HTX Yên Sơnm", "Miến dong"),
    ("doubling Lộc/Lộcc + dropped diacritics", "HTX Phú Lộc", "Bún khô", "HTX Phu Locc", "Bun kho"),
    ("transposition Lâm/Lmâ + HKD/Hộ kinh doanh", "HKD Ngô Bá Lâm", "Tương bần", "Hộ kinh doanh Ngô Bá Lmâ", "Tương bần"),
    ("telex Phát/Phats", "Công ty CP Thịnh Phát", "Cà phê rang xay", "CTCP Thịnh Phats", "Cà phê rang xay"),
    ("telex Đạt/Ddạt in a one-word core", "DNTN Đạt", "Rượu ngô", "Doanh nghiệp tư nhân Ddạt", "Rượu ngô"),
    ("a mark lost on one syllable + legal form", "HTX Mường Hoa", "Gạo nếp", "Hợp tác xã Muong Hoa", "Gạo nếp"),
    ("typo in the legal form and in a short syllable", "Hợp tác xã Hồng Hà", "Mật ong", "Hợp tá xã Hồng Hàa", "Mật ong"),
    ("short typos in owner and product", "HTX Kim Sơn", "Chè búp", "HTX Kim Sn", "Chè bp"),
]


@pytest.mark.parametrize(("kind", "o1", "p1", "o2", "p2"), SHORT_TYPOS, ids=[t[0] for t in SHORT_TYPOS])
def test_a_short_word_typo_with_the_same_decision_is_one_product(kind, o1, p1, o2, p2):
    links, result = run([record(S1, o1, p1), record(S2, o2, p2)])
    assert one_product(links, 0, 1), kind
    assert len(result.merges) == 1 and result.merges.rule.iloc[0] in {"fuzzy", "exact_key"}


@pytest.mark.parametrize(("kind", "o1", "p1", "o2", "p2"), SHORT_TYPOS[:5], ids=[t[0] for t in SHORT_TYPOS[:5]])
def test_a_short_word_typo_without_the_decisions_agreement_goes_to_review(kind, o1, p1, o2, p2):
    # re-rated in between: a newer decision, so only the names speak, and a short word is too little
    links, result = run([record(S1, o1, p1), record(S2, o2, p2, ("88/QĐ-UBND", "2025-09-01"), rating="4")])
    assert not one_product(links, 0, 1)
    assert len(result.review) == 1


def test_a_long_word_typo_is_one_product_on_the_names_alone():
    links, _ = run([record(S1, "HTX Chè Thượng Cương", "Chè Shan tuyết"),
                    record(S2, "HTX Chè Thượng Cươngg", "Chè Shan tuyết", ("88/QĐ-UBND", "2025-09-01"), rating="4")])
    assert one_product(links, 0, 1)


# ---- hard negatives: one test per kind -------------------------------------------------------

def test_different_owners_with_the_same_product_name_stay_apart():
    links, _ = run([record(S1, "HTX Hoà Bình", "Mật ong rừng"), record(S1, "HTX Ánh Dương", "Mật ong rừng", ("7/QĐ-UBND", "2024-03-01")),
                    record(S2, "HTX Hoà Bình", "Mật ong rừng"), record(S2, "HTX Ánh Dươngg", "Mật ong rừng", ("7/QĐ-UBND", "2024-03-01"))])
    assert not one_product(links, 0, 1) and one_product(links, 0, 2) and one_product(links, 1, 3)
    assert not one_product(links, 0, 3)


def test_an_added_product_line_word_stays_apart_even_under_one_decision():
    # one batch decision certifies both lines; the second is listed in S2 only, with a typo
    links, _ = run([record(S1, "HTX Hoà Bình", "Trà xanh"), record(S2, "HTX Hoà Bình", "Trà xanh túi lọc"),
                    record(S2, "Hợp tác xã Hoà Bình", "Trà xanh tú lọc")])
    assert not one_product(links, 0, 1) and not one_product(links, 0, 2)


@pytest.mark.parametrize(("a", "b"), [("Gạo ST25", "Gạo ST24"), ("Gạo ST25", "Gạo TS25"),
                                      ("Nước mắm 30 độ đạm", "Nước mắm 40 độ đạm")])
def test_a_number_or_model_code_stays_apart_even_under_one_decision(a, b):
    links, _ = run([record(S1, "HTX Hoà Bình", a), record(S2, "HTX Hoà Bình", b)])
    assert not one_product(links, 0, 1)


def test_near_identical_owners_are_different_people():
    # Nguyễn Văn An lapses after S1; Nguyễn Văn Anh is certified later with the same product
    links, result = run([record(S1, "HKD Nguyễn Văn An", "Bánh chưng", ("411/QĐ-UBND", "2023-04-28")),
                         record(S2, "HKD Nguyễn Văn Anh", "Bánh chưng", ("97/QĐ-UBND", "2025-10-02"))])
    assert not one_product(links, 0, 1)
    assert "an/anh" in result.review.reason.iloc[0]
    # both listed in both snapshots: never one product (a product appears once per snapshot)
    links, _ = run([record(S1, "HKD Nguyễn Văn An", "Bánh chưng"), record(S1, "HKD Nguyễn Văn Anh", "Bánh chưng"),
                    record(S2, "HKD Nguyễn Văn An", "Bánh chưng"), record(S2, "HKD Nguyễn Văn Anh", "Bánh chưng")])
    assert len(set(links.product_id)) == 2 and one_product(links, 0, 2) and one_product(links, 1, 3)


@pytest.mark.parametrize(("a", "b"), [("Rượu sim", "Rượu sâm"), ("Hạt điều", "Hạt tiêu"), ("Chả cá", "Chả cua")])
def test_product_lines_one_short_word_apart_stay_apart(a, b):
    # listed side by side, with a typo in the later snapshot
    links, _ = run([record(S1, "HTX Hoà Bình", a), record(S1, "HTX Hoà Bình", b),
                    record(S2, "HTX Hoà Bình", a), record(S2, "Hợp tác xã Hoà Bìnhh", b)])
    assert not one_product(links, 0, 1) and one_product(links, 0, 2) and one_product(links, 1, 3)
    # the first line lapses, the second is new with its own, newer decision
    links, _ = run([record(S1, "HTX Hoà Bình", a), record(S2, "HTX Hoà Bình", b, ("88/QĐ-UBND", "2025-09-01"))])
    assert not one_product(links, 0, 1)


def test_a_later_snapshot_citing_an_older_different_decision_is_another_product():
    links, result = run([record(S1, "HTX Thịnh Phát", "Mật ong"),
                         record(S2, "HTX Thịnh Phác", "Mật ong", ("33/QĐ-UBND", "2024-01-05"))])
    assert not one_product(links, 0, 1)
    assert result.review.empty or "decision" in result.review.reason.iloc[0]


def test_a_different_group_counts_against():
    newer = ("88/QĐ-UBND", "2025-09-01")
    same_group, _ = run([record(S1, "HTX Chè Thượng Cương", "Chè búp"), record(S2, "HTX Chè Thượng Cươngg", "Chè búp", newer)])
    other_group, result = run([record(S1, "HTX Chè Thượng Cương", "Chè búp"),
                               record(S2, "HTX Chè Thượng Cươngg", "Chè búp", newer, group=3)])
    assert one_product(same_group, 0, 1) and not one_product(other_group, 0, 1)
    assert "group 1/3" in result.review.reason.iloc[0]


def test_a_different_rating_under_one_decision_cancels_the_decisions_agreement():
    # one batch decision certifies several products; a different rating means another one of them
    links, result = run([record(S1, "HTX Thịnh Phát", "Mật ong"), record(S2, "HTX Thịnh Phác", "Mật ong", rating="4")])
    assert not one_product(links, 0, 1)
    assert "rating 3/4" in result.review.reason.iloc[0]
