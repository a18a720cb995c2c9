"""Scale benchmark of ``ocop.dedupe.assign_products`` (time, peak memory, quality).

Builds national-shaped registers directly in memory: 34 provinces of skewed size, ~1.8
products per owner, two snapshots per province (most products listed twice, some dropped, some
new), writing noise between snapshots (legal-form spelling, lost diacritics, case, punctuation,
one-letter typos in any word, short ones included), a decision number and date per product
(kept across snapshots), and hard negatives (same owner, ``X`` vs ``X túi lọc`` / ``ST25`` vs
``ST24``; two owners with one product name). Then times ``assign_products`` and scores it against the
truth it built.

    for n in 100000 300000 1000000; do .venv/bin/python bench/dedupe_scale.py $n; done

Peak memory is the process's peak resident set (``resource.getrusage``), which includes the
synthetic records themselves (``rss_before_mb``); tracemalloc is not used because it slows
pandas/rapidfuzz-heavy code several-fold and misses memory allocated by C extensions.

``synthetic_records`` is also used by the tests (small sizes).
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd

from ocop.dedupe import assign_products
from ocop.dedupe.evaluate import blocking_recall, evaluate
from ocop.generate import noise
from ocop.text import fold, strip_diacritics

PROVINCES = ["01", "04", "08", "11", "12", "14", "15", "19", "20", "22", "24", "25", "31", "33", "37",
             "38", "40", "42", "44", "46", "48", "51", "52", "56", "66", "68", "75", "79", "80", "82",
             "86", "91", "92", "96"]
LEGAL = [("HTX", "Hợp tác xã", "HTX NN"), ("Công ty TNHH", "Cty TNHH", "Công ty TNHH MTV"),
         ("Công ty CP", "CTCP", "Công ty cổ phần"), ("Hộ kinh doanh", "HKD", "Hộ SXKD"),
         ("CSSX", "Cơ sở sản xuất", "Cơ sở"), ("THT", "Tổ hợp tác", "THT"), ("DNTN", "Doanh nghiệp tư nhân", "DNTN")]
SYLLABLES = ("An Bình Cường Dũng Giang Hải Hạnh Hiếu Hòa Hùng Hương Khánh Khoa Lâm Lan Linh Long Mạnh Mai "
             "Nam Nga Nghĩa Nhung Phong Phúc Quân Sơn Tâm Thắng Thảo Thủy Tiến Trang Trung Tuấn Tùng Vân "
             "Việt Yến Đạt Tân Yên Đông Phú Thượng Vĩnh Thạch Kim Ngọc Thanh Tiên Đại Hồng Quảng Mường "
             "Cẩm Xuân Hưng Phước Mỹ Lạc Tam Cương Lộc Thành Thịnh Xuyên Điền Lợi Hiệp Thuận Quý Châu "
             "Khê Ninh Trạch Uyên Phát Minh Nguyễn Trần Phạm Hoàng Huỳnh Phan Đặng Bùi Ngô Dương").split()
PRODUCTS = ("Mật ong|Gạo|Chè|Trà xanh|Nước mắm|Rượu|Bánh chưng|Bánh đa|Miến dong|Nấm linh chi|Mắm tôm|"
            "Cà phê|Hạt điều|Tiêu|Bưởi|Cam|Vải thiều|Nhãn lồng|Măng khô|Chả cá|Giò lụa|Tương|Dầu lạc|"
            "Mứt gừng|Kẹo lạc|Bún khô|Phở khô|Cao dược liệu|Tinh dầu|Giỏ mây|Chiếu cói|Gốm|Lụa|Nem chua|"
            "Lạp xưởng|Trà hoa vàng|Cam thảo|Sâm|Tỏi đen|Nho|Thanh long|Xoài|Sầu riêng|Khô cá|Tôm khô").split("|")
QUALIFIER = ["", "", "", "sạch", "hữu cơ", "đặc sản", "truyền thống", "cao cấp", "loại 1", "hảo hạng"]


def _pick(rng: np.random.Generator, options: list[str], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(len(options), size=n)]


def _owners(rng: np.random.Generator, n_owners: int) -> pd.DataFrame:
    """Owner cores (2-4 syllables, distinct nationally once folded), a legal-form family each."""
    weights = rng.pareto(1.2, len(PROVINCES)) + 1
    province = rng.choice(PROVINCES, size=int(n_owners * 1.15), p=weights / weights.sum())
    length = rng.choice([2, 3, 4], size=len(province), p=[0.3, 0.5, 0.2])
    syl = np.asarray(SYLLABLES, dtype=object)[rng.integers(len(SYLLABLES), size=(len(province), 4))]
    core = pd.Series(syl[:, 0] + " " + syl[:, 1])
    core = core.where(length < 3, core + " " + syl[:, 2])
    core = core.where(length < 4, core + " " + syl[:, 3])
    owners = pd.DataFrame({"province": province, "core": core, "family": rng.integers(len(LEGAL), size=len(province))})
    # Owners with one folded name would be one owner by the spec (identical keys): not a test.
    # Near-identical names (one letter apart) are kept: they are different owners in the truth.
    distinct = ~core.map(fold).duplicated()
    return owners[distinct.to_numpy()].head(n_owners).reset_index(drop=True)


def _products(rng: np.random.Generator, owners: pd.DataFrame, n_products: int) -> pd.DataFrame:
    owner = np.sort(rng.integers(len(owners), size=n_products))
    name = pd.Series(_pick(rng, PRODUCTS, n_products)) + " " + pd.Series(_pick(rng, QUALIFIER, n_products))
    products = pd.DataFrame({"owner": owner, "name": name.str.strip()}).drop_duplicates(ignore_index=True)
    # hard negatives: a second product line of the same owner
    hard = products.sample(frac=0.03, random_state=int(rng.integers(1 << 31)))
    variant = np.where(rng.random(len(hard)) < 0.5, hard["name"] + " túi lọc", hard["name"] + " ST25")
    products = pd.concat([products, hard.assign(name=variant)], ignore_index=True)
    products.loc[products.index[-len(hard):][::2], "name"] = products["name"].str.replace("ST25", "ST24")
    return products.drop_duplicates(ignore_index=True).assign(truth=lambda d: np.arange(len(d)))


def _typo(text: str, rng: np.random.Generator) -> str:
    """One keying mistake in any word, short syllables included (``ocop.generate.noise.typo``)."""
    found = noise.typo(text, rng)
    return text if found is None else found[0]


def _noise(rng: np.random.Generator, legal: pd.Series, core: pd.Series, product: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Writing noise of a later snapshot: ``(owner, product)`` (typos hit the core name only)."""
    n = len(core)
    core, product = core.copy(), product.copy()
    typo_owner, typo_product = rng.random(n) < 0.02, rng.random(n) < 0.02
    core[typo_owner] = [_typo(t, rng) for t in core[typo_owner]]
    product[typo_product] = [_typo(t, rng) for t in product[typo_product]]
    owner = legal + " " + core
    lost = rng.random(n) < 0.08
    owner[lost] = owner[lost].map(strip_diacritics)
    product[lost] = product[lost].map(strip_diacritics)
    upper = rng.random(n) < 0.05
    product[upper] = product[upper].str.upper()
    punct = rng.random(n) < 0.05
    owner[punct] = owner[punct].str.replace(" ", "  ", n=1) + "."
    return owner, product


def synthetic_records(n_records: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``(records, truth)``: an ``assign_products`` record frame and the true product of each row."""
    rng = np.random.default_rng(seed)
    n_products = max(2, int(n_records / 1.95))
    owners = _owners(rng, max(2, int(n_products / 1.8)))
    products = _products(rng, owners, n_products)
    o = owners.iloc[products["owner"].to_numpy()].reset_index(drop=True)
    legal = np.asarray(LEGAL, dtype=object)[o["family"].to_numpy()]
    s1 = rng.random(len(products)) < 0.95
    s2 = ~s1 | (rng.random(len(products)) < 0.95)
    frames = []
    for snapshot, listed, form in (("1", s1, 0), ("2", s2, None)):
        chosen = form if form is not None else rng.integers(3, size=len(products))
        written = pd.Series(legal[np.arange(len(products)), chosen])
        owner, product = written + " " + o["core"], products["name"]
        if form is None:
            owner, product = _noise(rng, written, o["core"], product)
        frames.append(pd.DataFrame({
            "submission_id": "P" + o["province"] + "-" + snapshot, "province_code": o["province"],
            "owner": owner, "product_name": product, "truth": products["truth"],
        })[listed])
    records = pd.concat(frames, ignore_index=True)
    records["row_id"] = records.groupby("submission_id").cumcount()
    # each product keeps its decision (one number per province and day) across the snapshots
    day = rng.integers(0, 900, size=len(products))[records["truth"].to_numpy()]
    records = records.assign(
        decision_date=(np.datetime64("2022-01-01") + day).astype(str), rating_class="3",
        decision_no=[f"{(d * 7919 + int(p)) % 4800 + 100}/QĐ-UBND" for d, p in zip(day, records["province_code"])],
        snapshot_date=np.where(records["submission_id"].str.endswith("1"), "2025-01-01", "2025-06-30"))
    return records.drop(columns="truth"), records["truth"].to_numpy()


def measure(n_records: int, seed: int = 0) -> dict:
    """Time, peak memory and quality of one ``assign_products`` call on ``n_records`` records."""
    records, truth = synthetic_records(n_records, seed)
    empty_links = pd.DataFrame(columns=["submission_id", "row_id", "product_id"])
    empty_overrides = pd.DataFrame(columns=["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = assign_products(records, empty_links, empty_overrides, 1)
    seconds = time.perf_counter() - start
    ref = records["submission_id"] + "#" + records["row_id"].astype(str)
    links = result.links.assign(record=result.links["submission_id"] + "#" + result.links["row_id"].astype(str))
    quality = evaluate(links, pd.Series(ref.to_numpy()).groupby(truth).agg(list).tolist())
    return {"records": len(records), "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_before_mb": round(rss_before / 1024),
            "precision": round(quality["precision"], 5), "recall": round(quality["recall"], 5),
            "blocking_recall": round(blocking_recall(records, truth), 5), "review": len(result.review)}


if __name__ == "__main__":
    # one size per process, so that peak RSS is this size's own (ru_maxrss never decreases)
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), flush=True)
