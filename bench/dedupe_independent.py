"""Deduplication on registers written by another hand than the matcher's and its generator's.

The project's generator (``ocop.generate``) and its matcher were written together, and shared
an assumption that hid real misses (issue 14). This script draws two half-yearly snapshots of
a few provinces from its *own* vocabulary and its *own* noise model, written without reading
the matcher's rules, and measures pairwise precision and recall of ``assign_products`` on them,
split by the kind of variation a record carries.

What it does to the second snapshot (and sometimes the first):
- a typo in one word of the owner or product name, chosen among every word, short ones first
  in line (Vietnamese syllables are short): a neighbouring key, a dropped letter, an added one,
  two letters swapped, a Telex leftover (``Vieejt``);
- one syllable without its marks, or the whole record typed without diacritics;
- the legal form respelled (``HTX``/``Hợp tác xã``, ``Cty``/``Công ty``, ``TNHH MTV``/``TNHH``,
  ``HTX NN``/``HTX``), the case changed, spaces doubled;
- decision numbers written ``QD`` for ``QĐ`` or with spaces, dates unchanged;
- 1 to 3 of these on one record;
- products re-rated (new decision, 3 -> 4 stars) and renewed (new decision, same rating).

Hard negatives it plants, which must stay apart: one owner's two product lines differing by a
word (``Trà xanh`` / ``Trà xanh túi lọc``, ``Gạo ST25`` / ``Gạo ST24``), different owners with
the same product and names one short syllable apart (``Nguyễn Văn An`` / ``Nguyễn Văn Anh``),
and a product that lapses while a near-namesake of another owner appears.

    python bench/dedupe_independent.py [--seed N] [--products-per-province N]
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections import Counter

import numpy as np
import pandas as pd

PROVINCES = ["01", "15", "24", "37", "46", "52", "79", "92"]
S1, S2 = "2025-06-30", "2025-12-31"

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Vũ", "Đỗ", "Bùi", "Đào", "Hà", "Lò", "Triệu", "Chu"]
MIDDLES = ["Văn", "Thị", "Đình", "Hữu", "Xuân", "Thu", "Mạnh", "Gia", "Ánh"]
GIVENS = ["An", "Anh", "Tín", "Tí", "Minh", "Min", "Phát", "Phác", "Long", "Lộc", "Hà", "Hải", "Tú",
          "Tư", "Hoa", "Hoà", "Vy", "Vinh", "Việt", "Yên", "Bảy", "Ba", "Sáu", "Tám", "Hậu", "Lưu"]
PLACES = ["Bắc Sơn", "Tam Đảo", "Ba Vì", "Mộc Châu", "Tà Xùa", "Na Hang", "Yên Thế", "Lục Ngạn",
          "Cát Hải", "Kim Sơn", "Nga Sơn", "Hải Hậu", "Đông Triều", "Phú Quốc", "Cù Lao", "Hòn Đất",
          "Bến Lức", "Cái Bè", "Chợ Gạo", "Gò Công", "Lai Vung", "Hồng Ngự", "Tân Uyên", "Phong Thổ",
          "Si Ma Cai", "Mù Cang", "Ea Kar", "Krông Pắc", "Đạ Tẻh", "Bảo Lộc"]
TRADES = ["Phát Đạt", "Minh Long", "Việt Xanh", "An Khang", "Tín Nghĩa", "Hưng Thịnh", "Đại Lộc",
          "Sao Mai", "Hồng Phúc", "Kim Ngân", "Thái Hòa", "Bảo Tín", "Gia Huy", "Hải Nam"]
PRODUCTS = ["Trà xanh", "Chè shan tuyết", "Mật ong hoa nhãn", "Mật ong rừng", "Gạo tám thơm", "Gạo nếp cái",
            "Miến dong", "Bánh đa nem", "Bánh gai", "Nước mắm cá cơm", "Mắm tôm", "Cà phê bột",
            "Tiêu đen", "Hạt điều rang muối", "Nấm hương", "Măng khô", "Rượu ngô", "Rượu nếp cẩm",
            "Giò bò", "Chả mực", "Bưởi da xanh", "Cam sành", "Vải thiều sấy", "Mận hậu", "Tinh dầu sả",
            "Cao gắm", "Chổi đót", "Nón lá", "Chiếu cói", "Lụa tơ tằm", "Gốm men lam"]
LINE_PAIRS = [("Trà xanh", "Trà xanh túi lọc"), ("Gạo ST25", "Gạo ST24"), ("Mật ong", "Mật ong bạc hà"),
              ("Nước mắm 30 độ đạm", "Nước mắm 40 độ đạm"), ("Miến dong", "Miến dong sợi to"),
              ("Cà phê bột", "Cà phê hạt"), ("Bánh gai", "Bánh gai gấc")]
FORMS = {"HTX": [("HTX", "Hợp tác xã"), ("HTX NN", "Hợp tác xã nông nghiệp", "HTX")],
         "DN": [("Công ty TNHH", "Cty TNHH", "Công ty TNHH MTV"), ("Công ty CP", "Công ty cổ phần", "CTCP")],
         "HKD": [("Hộ kinh doanh", "HKD")]}
KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
TELEX = {"ă": "aw", "â": "aa", "ê": "ee", "ô": "oo", "ơ": "ow", "ư": "uw", "đ": "dd"}


def _neighbours(c: str) -> str:
    for r, line in enumerate(KEYS):
        i = line.find(c)
        if i >= 0:
            out = line[max(0, i - 1):i] + line[i + 1:i + 2]
            out += "".join(KEYS[rr][i] for rr in (r - 1, r + 1) if 0 <= rr < 3 and i < len(KEYS[rr]))
            return out
    return "aeiou"


def _strip(text: str) -> str:
    out = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in out if not unicodedata.combining(c)))


def typo(text: str, rng) -> tuple[str, str]:
    """One typo in one word (short words as likely as long ones); returns (text, kind)."""
    words = text.split(" ")
    i = int(rng.integers(len(words)))
    w = words[i]
    letters = [k for k, ch in enumerate(w) if ch.isalpha()]
    if len(letters) < 2:
        return text, "none"
    kind = ["substitute", "delete", "insert", "transpose", "telex"][int(rng.integers(5))]
    k = letters[int(rng.integers(len(letters)))]
    base = _strip(w[k]).lower()
    if kind == "substitute":
        nb = _neighbours(base)
        w = w[:k] + nb[int(rng.integers(len(nb)))] + w[k + 1:]
    elif kind == "delete":
        w = w[:k] + w[k + 1:]
    elif kind == "insert":
        nb = _neighbours(base)
        w = w[:k + 1] + nb[int(rng.integers(len(nb)))] + w[k + 1:]
    elif kind == "transpose":
        k = letters[int(rng.integers(len(letters) - 1))]
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:] if k + 1 < len(w) else w
    else:  # a Telex leftover: the vowel's modifier key typed twice or left in
        hits = [(k, ch) for k, ch in enumerate(_strip_tone(w)) if ch.lower() in TELEX]
        if not hits:
            return typo(text, rng)
        k, ch = hits[0]
        w = _strip(w[:k]) + TELEX[ch.lower()] + _strip(w[k + 1:])
    words[i] = w
    return " ".join(words), f"typo-{kind}-{'short' if len(_strip(text.split(' ')[i])) <= 4 else 'long'}"


def _strip_tone(word: str) -> str:
    """The word with tone marks removed but vowel modifiers (ă â ê ô ơ ư đ) kept."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", word) if c not in tones))


def unmark_one(text: str, rng) -> tuple[str, str]:
    words = text.split(" ")
    marked = [i for i, w in enumerate(words) if _strip(w) != w]
    if not marked:
        return text, "none"
    i = marked[int(rng.integers(len(marked)))]
    words[i] = _strip(words[i])
    return " ".join(words), "one-syllable-unmarked"


def respell_form(form: str, kind: str, rng) -> str:
    for group in FORMS[kind]:
        if form in group:
            others = [f for f in group if f != form]
            return others[int(rng.integers(len(others)))]
    return form


def build(seed: int = 11, per_province: int = 260) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows, pid = [], 0
    used: set[str] = set()  # one core name per owner nationally: two provinces' namesakes would be one product
    for code in PROVINCES:
        owners = []
        while len(owners) < per_province // 2:
            kind = ["HTX", "DN", "HKD"][int(rng.integers(3))]
            if kind == "HKD":
                core = f"{FAMILIES[rng.integers(len(FAMILIES))]} {MIDDLES[rng.integers(len(MIDDLES))]} {GIVENS[rng.integers(len(GIVENS))]}"
            elif kind == "HTX":
                core = PLACES[rng.integers(len(PLACES))] + ("" if rng.random() < 0.5 else f" {GIVENS[rng.integers(len(GIVENS))]}")
            else:
                core = f"{TRADES[rng.integers(len(TRADES))]} {PLACES[rng.integers(len(PLACES))]}"
            # Names equal without their marks (Hoa/Hoà) would be one owner to validation too:
            # two such rows in one file are rejected as a conflicting duplicate before dedupe.
            if _strip(core).lower() in used:
                continue
            used.add(_strip(core).lower())
            group = FORMS[kind][int(rng.integers(len(FORMS[kind])))]
            owners.append((kind, group[0], core))
        batch_days = sorted({f"202{rng.integers(3, 6)}-{rng.integers(1, 13):02d}-{rng.integers(1, 28):02d}"
                             for _ in range(12)})
        batch_days = [d for d in batch_days if d <= "2025-06-30"] or ["2024-05-05"]
        for o, (kind, form, core) in enumerate(owners):
            n = 1 + int(rng.random() < 0.45) + int(rng.random() < 0.15)
            names = list(rng.choice(PRODUCTS, size=n, replace=False))
            if rng.random() < 0.06:  # one owner, two lines one word apart
                names = list(LINE_PAIRS[int(rng.integers(len(LINE_PAIRS)))])
            for name in names:
                day = batch_days[int(rng.integers(len(batch_days)))]
                number = f"{(int(day[2:4]) * 97 + int(day[5:7]) * 13 + int(code)) % 900 + 100}/QĐ-UBND"
                rating = "3" if rng.random() < 0.7 else "4"
                rows.append(dict(pid=pid, province_code=code, form=form, kind=kind, core=core, product_name=name,
                                 decision_no=number, decision_date=day, rating_class=rating, group_code=1))
                pid += 1
    world = pd.DataFrame(rows)

    def owner(r) -> str:
        return f"{r['form']} {r['core']}"

    records = []
    for _, r in world.iterrows():
        in_s1, in_s2 = True, rng.random() > 0.05
        if rng.random() < 0.08:
            in_s1 = False  # new in S2
            r = r.copy()
            r["decision_date"] = f"2025-{rng.integers(7, 13):02d}-{rng.integers(1, 28):02d}"
            r["decision_no"] = f"{rng.integers(100, 999)}/QĐ-UBND"
        if in_s1:
            records.append(dict(r, snapshot_date=S1, owner=owner(r), kinds=""))
        if in_s2:
            s2 = dict(r, snapshot_date=S2, owner=owner(r))
            kinds = []
            if in_s1 and rng.random() < 0.05 and r["rating_class"] == "3":
                s2.update(rating_class="4", decision_date="2025-10-10", decision_no="777/QĐ-UBND")
                kinds.append("rerated")
            elif in_s1 and rng.random() < 0.02:
                s2.update(decision_date="2025-11-11", decision_no="812/QĐ-UBND")
                kinds.append("renewed")
            if rng.random() < 0.25:
                for _ in range(1 + int(rng.random() < 0.4) + int(rng.random() < 0.15)):
                    what = int(rng.integers(8))
                    field = "owner" if rng.random() < 0.55 else "product_name"
                    if what <= 2:
                        core, kind = typo(s2["core"], rng) if field == "owner" else (None, None)
                        if field == "owner":
                            s2["core"] = core
                            s2["owner"] = f"{s2['form']} {core}"
                        else:
                            s2["product_name"], kind = typo(s2["product_name"], rng)
                        kinds.append(f"{field}-{kind}")
                    elif what == 3:
                        s2[field], kind = unmark_one(s2[field], rng)
                        kinds.append(f"{field}-{kind}")
                    elif what == 4:
                        s2["owner"], s2["product_name"] = _strip(s2["owner"]), _strip(s2["product_name"])
                        kinds.append("no-diacritics")
                    elif what == 5:
                        s2["form"] = respell_form(s2["form"], s2["kind"], rng)
                        s2["owner"] = f"{s2['form']} {s2['core']}"
                        kinds.append("legal-form")
                    elif what == 6:
                        s2[field] = s2[field].upper() if rng.random() < 0.5 else s2[field].lower()
                        kinds.append("case")
                    else:
                        s2["decision_no"] = s2["decision_no"].replace("QĐ", "QD") if rng.random() < 0.5 \
                            else s2["decision_no"].replace("/", " / ")
                        kinds.append("decision-no-written")
            s2["kinds"] = "+".join(kinds)
            records.append(s2)
    recs = pd.DataFrame(records)
    recs["submission_id"] = recs["province_code"] + "-" + recs["snapshot_date"]
    recs["row_id"] = recs.groupby("submission_id").cumcount()
    return recs


def pairwise(labels_true: pd.Series, labels_pred: pd.Series) -> tuple[float, float, int, int]:
    def pairs(counts) -> int:
        return int(sum(n * (n - 1) // 2 for n in counts))

    both = pairs(Counter(zip(labels_true, labels_pred)).values())
    pred, true = pairs(Counter(labels_pred).values()), pairs(Counter(labels_true).values())
    return (both / pred if pred else 1.0), (both / true if true else 1.0), pred, true


def evaluate(recs: pd.DataFrame) -> dict:
    from ocop.dedupe import assign_products

    cols = ["submission_id", "row_id", "province_code", "owner", "product_name", "decision_no", "group_code",
            "decision_date", "snapshot_date", "rating_class"]
    empty = pd.DataFrame(columns=["submission_id", "row_id", "product_id"])
    overrides = pd.DataFrame(columns=["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why"])
    started = time.perf_counter()
    result = assign_products(recs[cols].copy(), empty, overrides, 1)
    seconds = time.perf_counter() - started
    got = recs.merge(result.links[["submission_id", "row_id", "product_id"]], on=["submission_id", "row_id"])
    precision, recall, predicted, true = pairwise(got["pid"], got["product_id"])
    # Misses by the kinds of variation on the S2 record of a true pair split apart.
    split = got.groupby("pid")["product_id"].nunique()
    missed = got[got["pid"].isin(split[split > 1].index) & (got["snapshot_date"] == S2)]
    merged = got.groupby("product_id")["pid"].nunique()
    false = got[got["product_id"].isin(merged[merged > 1].index)]
    return {"records": len(recs), "precision": precision, "recall": recall, "predicted_pairs": predicted,
            "true_pairs": true, "seconds": round(seconds, 2), "review": len(result.review),
            "missed_kinds": Counter(missed["kinds"]).most_common(), "false_merges": false}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--products-per-province", type=int, default=260)
    args = parser.parse_args()
    recs = build(args.seed, args.products_per_province)
    kinds = Counter(k for ks in recs["kinds"] for k in ks.split("+") if k)
    out = evaluate(recs)
    print(f"{out['records']} records, {out['true_pairs']} true pairs; precision {out['precision']:.4f}, "
          f"recall {out['recall']:.4f} ({out['predicted_pairs']} predicted); review {out['review']}; {out['seconds']} s")
    print("variations drawn:", dict(kinds.most_common()))
    print("missed (kinds on the second record):", out["missed_kinds"])
    if len(out["false_merges"]):
        print("false merges:\n", out["false_merges"][["pid", "product_id", "owner", "product_name", "snapshot_date"]])


if __name__ == "__main__":
    main()
