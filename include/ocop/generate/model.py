"""The "true world" of the synthetic data set: owners, products and what each snapshot lists.

Everything is drawn from one ``numpy.random.Generator`` so a seed gives the same world. Product
counts follow the national scale of submission-format.md (about 18,000 products listed at the
end of 2025 at ``scale=1``, Hà Nội about 3,400; about 1.8 products per owner).

Two snapshots are listed: 2025-06-30 (``S1``) and 2025-12-31 (``S2``). Between them some
products leave, some are re-rated 3 -> 4 with a new decision, some are written differently
(noise that must not break identity), and new products appear with decisions from the second
half of 2025. A few products are listed by two provinces at once (cross-province duplicates);
some of them only from S2 on, with a newer decision there ("movers": their province changes on
S2's date, never before).

``World.listings`` has one row per product listed in a province's snapshot; defects and file
layouts are added later (``ocop.generate.submissions``).

Owners are *not* kept far apart: near-identical names occur as they do in registers (household
names share family and middle names), and :func:`_near_owners` adds owners whose core differs
from another owner's of the same province by one letter of one syllable (``Nguyễn Văn An`` /
``Nguyễn Văn Anh``) selling the *same* product: different products in the truth (different
pids). Cores stay distinct once folded, nationally: identical folded owner and product keys are
one product by the spec's own rule (in a file: a duplicate row; across provinces: a
cross-province duplicate), so such a pair would be a contradiction in the truth, not a test.
Product kinds of hard negatives are in ``products.hard_kind``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist, extractOne

from ocop.generate import names
from ocop.reference.provinces import OLD_PROVINCES, PROVINCES
from ocop.text import fold

S1 = dt.date(2025, 6, 30)
S2 = dt.date(2025, 12, 31)
SNAPSHOTS = (S1, S2)
PROGRAM_START = dt.date(2018, 1, 1)
VALIDITY_YEARS = 3  # 36 months; generated decisions never fall on 29 February

NATIONAL_LISTED = 18_000
HANOI_LISTED = 3_400
MIN_PER_PROVINCE = 15
NEW_SHARE = 0.10          # products first listed in S2
LEAVE_SHARE = 0.05        # of S1 products, absent from S2
RERATE_SHARE = 0.05       # of S1 3-star products, 4-star with a new decision in S2
NOISE_SHARE = 0.05        # of products listed in both, written differently in S2
EXPIRED_SHARE = 0.03      # of S1 products, decision 36+ months before S1
RATING_SHARE = {"3": 0.705, "4": 0.275, "potential-5": 0.014, "5": 0.006}
DISTRICT_SHARE = 0.15     # of 3-star decisions before 1 July 2025
HARD_NEGATIVE_OWNERS = 30   # per unit of scale
NEAR_OWNERS = 40            # per unit of scale: owners one letter from another owner, same product
NOISE_SHARE_S1 = 0.02       # of products listed in both, written differently in S1 (not in S2)
CROSS_PROVINCE_DUPLICATES = 10  # per unit of scale
MOVER_SHARE = 0.4         # of cross-province duplicates, listed by the second province from S2 only
_DISTANCE_CHECK_MAX = 4_000  # owners per province above which cores get a place qualifier at once
_MIN_CORE_DISTANCE = 3  # a cross-province copy goes to a province without an owner this close
_PLAIN_ATTEMPTS = 3  # draws of plain names before names get a place qualifier


@dataclass
class World:
    owners: pd.DataFrame    # owner_id, province, old_code, owner_type, legal_form, core
    products: pd.DataFrame  # pid, owner_id, province, group, product_name, new_in_s2, hard_negative, hard_kind
    listings: pd.DataFrame  # pid, province, snapshot, rating, decision_no, decision_date, level, noisy


def _to_days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _as_dates(days: np.ndarray) -> np.ndarray:
    """Epoch days -> datetime64[D], moving 29 February to the 28th (exact 36-month expiry)."""
    d = days.astype("datetime64[D]")
    s = pd.Series(d)
    leap = ((s.dt.month == 2) & (s.dt.day == 29)).to_numpy()
    return np.where(leap, d - np.timedelta64(1, "D"), d)


def expiry(decision: pd.Series) -> pd.Series:
    """Decision date + 36 months (datetime64 series)."""
    return decision + pd.DateOffset(years=VALIDITY_YEARS)


def province_sizes(rng: np.random.Generator, scale: float) -> dict[str, int]:
    """Products ever listed (both snapshots) per 2025 province."""
    n_old = pd.Series([o.new_code for o in OLD_PROVINCES.values()]).value_counts()
    others = [c for c in PROVINCES if c != "01"]
    w = np.array([n_old[c] for c in others], float) * rng.uniform(0.6, 1.5, len(others))
    listed = dict(zip(others, w / w.sum() * (NATIONAL_LISTED - HANOI_LISTED)))
    listed["01"] = HANOI_LISTED
    ever = 1 / (1 - NEW_SHARE) / (1 - LEAVE_SHARE + NEW_SHARE / (1 - NEW_SHARE))
    return {c: max(MIN_PER_PROVINCE, round(listed[c] * scale * ever)) for c in PROVINCES}


def _owner_sizes(rng: np.random.Generator, n_products: int) -> np.ndarray:
    sizes = np.minimum(rng.geometric(1 / 1.8, size=n_products), 12)
    cut = np.searchsorted(np.cumsum(sizes), n_products)
    sizes = sizes[: cut + 1]
    sizes[-1] -= sizes.sum() - n_products
    return sizes


def _candidate_cores(rng: np.random.Generator, types: np.ndarray, with_place: bool) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (core, distinctive part) per owner type; the activity word is not distinctive."""
    n = len(types)
    person = (np.array(names.FAMILY)[rng.integers(0, len(names.FAMILY), n)] + " "
              + np.array(names.MIDDLE)[rng.integers(0, len(names.MIDDLE), n)] + " "
              + np.array(names.GIVEN)[rng.integers(0, len(names.GIVEN), n)])
    place = np.array([names.place(i) for i in rng.integers(0, names.N_PLACES, n)])
    syl = np.array(names.TRADE_SYLLABLE)
    trade = syl[rng.integers(0, len(syl), n)] + " " + syl[rng.integers(0, len(syl), n)]
    dnt = (types == "DN") & (rng.random(n) < 0.15)  # private enterprises often bear a person's name
    distinct = np.select([types == "HKD", dnt, types == "DN"], [person, person, trade], place)
    if with_place:
        distinct = distinct + " " + np.array([names.place(i) for i in rng.integers(0, names.N_PLACES, n)])
    coop_act = np.array(names.COOP_ACTIVITY)[rng.integers(0, len(names.COOP_ACTIVITY), n)]
    coop_act = np.where(rng.random(n) < 0.3, "", coop_act)
    firm_act = np.array(names.TRADE_ACTIVITY)[rng.integers(0, len(names.TRADE_ACTIVITY), n)]
    act = np.select([(types == "HKD") | dnt, types == "DN"], ["", firm_act], coop_act)
    return np.char.strip(np.char.add(np.char.add(act, " "), distinct)), distinct


def spec_core(core: str) -> str:
    """The folded core as the spec reads it: words that qualify a legal form (``nông nghiệp``,
    ``dịch vụ``, ``sản xuất``, ``và`` ...: names.LEGAL_QUALIFIERS) at its start belong to the form."""
    words = fold(core).split()
    while words:
        for q in names.LEGAL_QUALIFIERS:
            n = len(q.split())
            if words[:n] == q.split():
                words = words[n:]
                break
        else:
            break
    return " ".join(words)


def owner_cores(rng: np.random.Generator, types: np.ndarray, taken: set[str]) -> list[str]:
    """Core names for one province's owners: distinctive parts unique in the province once
    folded, cores unique nationally as the spec reads them (:func:`spec_core`; not in
    ``taken``, which grows); near-identical names are allowed."""
    n = len(types)
    with_place = n > _DISTANCE_CHECK_MAX
    cores: list[str | None] = [None] * n
    keys: list[str | None] = [None] * n
    todo = np.arange(n)
    for attempt in itertools.count():
        if not len(todo):
            break
        with_place |= attempt >= _PLAIN_ATTEMPTS  # plain names too crowded: qualify with a place
        cand, distinct = _candidate_cores(rng, types[todo], with_place)
        done = [i for i in range(n) if cores[i] is not None]
        key = pd.Series([keys[i] for i in done] + [fold(d) for d in distinct])
        full = [spec_core(cores[i]) for i in done] + [spec_core(c) for c in cand]
        ok = ~key.duplicated().to_numpy() & ~pd.Series(full).isin(taken).to_numpy()
        ok = ok[len(done):]
        for i, c, d in zip(todo[ok], cand[ok], distinct[ok]):
            cores[i], keys[i] = c, fold(d)
        todo = todo[~ok]
    taken.update(spec_core(c) for c in cores)
    return cores  # type: ignore[return-value]


def _province_owners(rng: np.random.Generator, code: str, n_products: int, first_id: int,
                     taken: set[str]) -> pd.DataFrame:
    sizes = _owner_sizes(rng, n_products)
    n = len(sizes)
    types = rng.choice(list(names.OWNER_TYPE_SHARE), size=n, p=list(names.OWNER_TYPE_SHARE.values()))
    forms = np.array([names.LEGAL_FORMS[t][rng.integers(len(names.LEGAL_FORMS[t]))] for t in types])
    olds = [o.code for o in OLD_PROVINCES.values() if o.new_code == code]
    return pd.DataFrame({
        "owner_id": np.arange(first_id, first_id + n),
        "province": code,
        "old_code": rng.choice(olds, size=n),
        "owner_type": types,
        "legal_form": forms,
        "core": owner_cores(rng, types, taken),
        "n_products": sizes,
        "group": rng.choice(list(names.GROUP_SHARE), size=n, p=list(names.GROUP_SHARE.values())),
    })


def _product_names(rng: np.random.Generator, owners: pd.DataFrame) -> pd.DataFrame:
    """Products of each owner: distinct bases, mostly of the owner's main group."""
    groups = np.array(list(names.GROUP_SHARE))
    gp = np.array(list(names.GROUP_SHARE.values()))
    rows = []
    for oid, main, k in zip(owners.owner_id.to_numpy(), owners.group.to_numpy(), owners.n_products.to_numpy()):
        own = np.where(rng.random(k) < 0.85, main, rng.choice(groups, size=k, p=gp))
        used: set[str] = set()
        for g in own:
            bases = names.PRODUCTS[g]
            base = bases[rng.integers(len(bases))]
            while base in used:
                base = bases[rng.integers(len(bases))] if len(used) < len(bases) - 1 else base + " loại 2"
            used.add(base)
            qual = names.PRODUCT_QUALIFIER[rng.integers(len(names.PRODUCT_QUALIFIER))]
            rows.append((oid, int(g), f"{base} {qual}".strip()))
    return pd.DataFrame(rows, columns=["owner_id", "group", "product_name"])


def _hard_negatives(rng: np.random.Generator, products: pd.DataFrame, owners: pd.DataFrame, scale: float) -> None:
    """Give some owners two genuinely different product lines (in place)."""
    multi = owners.owner_id[(owners.n_products >= 2) & (owners.twin_of < 0)].to_numpy()
    multi = multi[~np.isin(multi, owners.twin_of)]
    n = min(len(multi), max(2, round(HARD_NEGATIVE_OWNERS * scale)))
    chosen = rng.choice(multi, size=n, replace=False)
    first = products.groupby("owner_id").head(2)
    for k, oid in enumerate(chosen):
        g, a, b, kind = names.HARD_NEGATIVE_LINES[k % len(names.HARD_NEGATIVE_LINES)]
        idx = first.index[first.owner_id == oid]
        products.loc[idx, ["group", "product_name", "hard_negative", "hard_kind"]] = [(g, a, True, kind),
                                                                                      (g, b, True, kind)]


def _syllable_neighbours() -> dict[str, list[str]]:
    """Folded syllable -> real syllables (as written) one edit apart once folded."""
    vocab = {w for words in (names.FAMILY, names.MIDDLE, names.GIVEN, names.PLACE_HEAD, names.PLACE_TAIL,
                             names.TRADE_SYLLABLE, names.EXTRA_SYLLABLES) for w in words}
    folded: dict[str, str] = {}
    for w in sorted(vocab):
        folded.setdefault(fold(w), w)
    out: dict[str, list[str]] = {}
    for a in folded:
        out[a] = [folded[b] for b in folded if b != a and Levenshtein.distance(a, b) == 1]
    return out


_ACTIVITIES = sorted({fold(a) for a in names.COOP_ACTIVITY + names.TRADE_ACTIVITY if a}, key=len, reverse=True)


def _distinct_part(core: str) -> str:
    """The folded core without its activity words (what tells a province's owners apart)."""
    text = fold(core)
    for act in _ACTIVITIES:
        if text.startswith(act + " "):
            return text[len(act) + 1:]
    return text


def _near_owners(rng: np.random.Generator, owners: pd.DataFrame, scale: float, taken: set[str]) -> pd.DataFrame:
    """Owners whose core differs from another owner's (same province) by one letter of one
    syllable, each with one product: the other owner's first product (set in build_world)."""
    near = _syllable_neighbours()
    want = max(2, round(NEAR_OWNERS * scale))
    used = {(p, _distinct_part(c)) for p, c in zip(owners.province, owners.core)}
    rows = []
    for i in rng.permutation(len(owners)):
        if len(rows) == want:
            break
        o = owners.iloc[i]
        words = o.core.split(" ")
        own = len(words) - len(_distinct_part(o.core).split())  # change the distinctive part only
        spots = [k for k, w in enumerate(words) if k >= own and near.get(fold(w))]
        if not spots:
            continue
        k = spots[rng.integers(len(spots))]
        options = near[fold(words[k])]
        words[k] = options[rng.integers(len(options))]
        core = " ".join(words)
        distinct = (o.province, _distinct_part(core))
        if spec_core(core) in taken or distinct in used:
            continue
        taken.add(spec_core(core))
        used.add(distinct)
        rows.append({**o.to_dict(), "core": core, "n_products": 1, "twin_of": int(o.owner_id)})
    twins = pd.DataFrame(rows)
    twins["owner_id"] = np.arange(owners.owner_id.max() + 1, owners.owner_id.max() + 1 + len(twins))
    return twins


def _uniform_days(rng: np.random.Generator, lo: dt.date, hi: dt.date, n: int) -> np.ndarray:
    return rng.integers(_to_days(lo), _to_days(hi) + 1, n)


def _decision_dates(rng: np.random.Generator, n: int, expired: np.ndarray) -> np.ndarray:
    """S1 decisions: a few 36+ months old, the rest rising towards the snapshot date."""
    lo, hi = _to_days(dt.date(2022, 7, 1)), _to_days(S1)
    u = rng.random(n)
    ramp = np.where(rng.random(n) < 0.7, np.sqrt(u), u)
    days = lo + np.round(ramp * (hi - lo)).astype(int)
    old = _uniform_days(rng, dt.date(2019, 3, 1), dt.date(2022, 6, 30), n)
    return _as_dates(np.where(expired, old, days))


def decision_numbers(province: np.ndarray, dates: np.ndarray, central: np.ndarray) -> np.ndarray:
    """One number per province and day (one decision certifies a batch of products)."""
    day = dates.astype("datetime64[D]").astype(int)
    prov = province.astype(int)
    local = (day * 7919 + prov * 104_729) % 4800 + 100
    nat = (day * 31) % 900 + 10
    return np.where(central, np.char.add(nat.astype(str), "/QĐ-BNN-VPĐP"),
                    np.char.add(local.astype(str), "/QĐ-UBND"))


def _levels(rng: np.random.Generator, rating: np.ndarray, dates: np.ndarray) -> np.ndarray:
    district = (rating == "3") & (dates < np.datetime64("2025-07-01")) & (rng.random(len(rating)) < DISTRICT_SHARE)
    return np.select([rating == "5", district], ["central", "district"], "provincial")


def _listing(products: pd.DataFrame, snapshot: dt.date, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    out = products[["pid", "province"]].copy()
    out["snapshot"] = snapshot.isoformat()
    for k, v in cols.items():
        out[k] = v
    out["decision_no"] = decision_numbers(out.province.to_numpy(), out.decision_date.to_numpy(),
                                          out.level.to_numpy() == "central")
    return out


def _cross_province_copies(rng: np.random.Generator, s1: pd.DataFrame, world_owners: pd.DataFrame,
                           products: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Copies of some S1 products listed by a second province, with a different decision date."""
    cores = world_owners.set_index("owner_id").core
    folded_by_prov = world_owners.assign(f=world_owners.core.map(fold)).groupby("province").f.apply(list)
    eligible = s1[(s1.rating.isin(["3", "4"])) & ~s1.pid.isin(products.pid[products.hard_negative])]
    n = max(2, round(CROSS_PROVINCE_DUPLICATES * scale))
    codes = list(PROVINCES)
    copies = []
    for pid in rng.permutation(eligible.pid.to_numpy()):
        if len(copies) == n:
            break
        home = eligible.province[eligible.pid == pid].iloc[0]
        other = codes[rng.integers(len(codes))]
        core = fold(cores[products.owner_id[products.pid == pid].iloc[0]])
        if other == home or extractOne(core, folded_by_prov[other], scorer=Levenshtein.distance)[1] < _MIN_CORE_DISTANCE:
            continue
        copies.append((pid, other))
    pairs = pd.DataFrame(copies, columns=["pid", "other"])
    n = len(pairs)
    home_days = _uniform_days(rng, dt.date(2023, 7, 1), dt.date(2024, 6, 30), n)
    other_days = _uniform_days(rng, dt.date(2024, 7, 1), dt.date(2025, 6, 30), n)
    swap = rng.random(n) < 0.5  # the most recent decision is sometimes the home province's
    # Movers: the second province lists the product only from S2, with a newer decision, so the
    # product counts in its home province on S1 and in the second one from S2 on.
    moves = np.zeros(n, bool)
    moves[rng.permutation(n)[:max(1, round(MOVER_SHARE * n))]] = True
    mover_days = _uniform_days(rng, dt.date(2025, 7, 1), S2, n)
    pairs["moves"] = moves
    pairs["home_date"] = _as_dates(np.where(swap & ~moves, other_days, home_days))
    pairs["other_date"] = _as_dates(np.where(moves, mover_days, np.where(swap, home_days, other_days)))
    return pairs


def build_world(rng: np.random.Generator, scale: float) -> World:
    """Draw owners, products and both snapshots' listings."""
    sizes = province_sizes(rng, scale)
    parts, next_id, taken = [], 0, set()
    for code, n in sizes.items():
        parts.append(_province_owners(rng, code, n, next_id, taken))
        next_id += len(parts[-1])
    owners = pd.concat(parts, ignore_index=True).assign(twin_of=-1)
    owners = pd.concat([owners, _near_owners(rng, owners, scale, taken)], ignore_index=True)
    products = _product_names(rng, owners)
    products = products.merge(owners[["owner_id", "province"]], on="owner_id")
    products.insert(0, "pid", np.arange(len(products)))
    products["hard_negative"] = False
    products["hard_kind"] = ""
    _hard_negatives(rng, products, owners, scale)
    firsts = products.drop_duplicates("owner_id").set_index("owner_id")
    for twin, original in zip(owners.owner_id[owners.twin_of >= 0], owners.twin_of[owners.twin_of >= 0]):
        at = firsts.index.get_loc(twin)
        products.loc[firsts.pid.iloc[at], ["group", "product_name"]] = firsts.loc[original, ["group", "product_name"]].to_list()
        products.loc[[firsts.pid.iloc[at], firsts.loc[original, "pid"]], ["hard_negative", "hard_kind"]] = (True, "near_owner")
    n = len(products)
    products["new_in_s2"] = rng.random(n) < NEW_SHARE

    # --- S1 ---------------------------------------------------------------------------------
    old = products[~products.new_in_s2].reset_index(drop=True)
    m = len(old)
    rating = rng.choice(list(RATING_SHARE), size=m, p=list(RATING_SHARE.values()))
    expired = rng.random(m) < EXPIRED_SHARE
    dates = _decision_dates(rng, m, expired)
    s1 = _listing(old, S1, {"rating": rating, "decision_date": dates,
                            "level": _levels(rng, rating, dates), "noisy": False})

    pairs = _cross_province_copies(rng, s1, owners, products, scale)
    pinned = s1.pid.isin(pairs.pid).to_numpy()
    home_date = pairs.set_index("pid").home_date
    s1.loc[pinned, "decision_date"] = s1.pid[pinned].map(home_date).to_numpy()
    s1.loc[pinned, "level"] = "provincial"

    # --- S2: carry over, leave, re-rate, noise; then new products --------------------------
    free = ~pinned
    leave = free & (rng.random(m) < np.where(expired, 0.5, LEAVE_SHARE))
    s2 = s1[~leave].copy()
    k = len(s2)
    free2 = ~s2.pid.isin(pairs.pid).to_numpy()
    rerate = free2 & (s2.rating.to_numpy() == "3") & ~expired[~leave] & (rng.random(k) < RERATE_SHARE)
    s2.loc[rerate, "rating"] = "4"
    s2.loc[rerate, "decision_date"] = _as_dates(_uniform_days(rng, dt.date(2025, 7, 1), S2, int(rerate.sum())))
    s2.loc[rerate, "level"] = "provincial"
    s2["noisy"] = free2 & (rng.random(k) < NOISE_SHARE)
    s2["snapshot"] = S2.isoformat()
    # the older snapshot is sometimes the one written differently (products listed in both)
    s1.loc[s1.pid.isin(s2.pid[~s2.noisy & free2]) & (rng.random(m) < NOISE_SHARE_S1), "noisy"] = True

    new = products[products.new_in_s2].reset_index(drop=True)
    rating_new = rng.choice(list(RATING_SHARE), size=len(new), p=list(RATING_SHARE.values()))
    dates_new = _as_dates(_uniform_days(rng, dt.date(2025, 7, 1), S2, len(new)))
    s2_new = _listing(new, S2, {"rating": rating_new, "decision_date": dates_new,
                                "level": np.where(rating_new == "5", "central", "provincial"), "noisy": False})
    s2 = pd.concat([s2, s2_new], ignore_index=True)

    copies = []
    for snap in (s1, s2):
        listed = pairs.pid[~pairs.moves] if snap is s1 else pairs.pid
        c = snap[snap.pid.isin(listed)].copy()
        c["province"] = c.pid.map(pairs.set_index("pid").other)
        c["decision_date"] = c.pid.map(pairs.set_index("pid").other_date).to_numpy()
        copies.append(c)
    listings = pd.concat([s1, s2, *copies], ignore_index=True)
    listings["decision_date"] = listings.decision_date.astype("datetime64[s]")
    listings["decision_no"] = decision_numbers(listings.province.to_numpy(), listings.decision_date.to_numpy(),
                                               listings.level.to_numpy() == "central")
    listings = listings.sort_values(["province", "snapshot", "pid"], kind="stable").reset_index(drop=True)
    return World(owners.drop(columns=["n_products", "group"]), products, listings)
