"""The files provinces send: rows in file order, with the injected problems and their rules.

Each :class:`Submission` is one file: the province's layout, its snapshot date, and ``rows``,
one per data row in file order. A row carries the facts to write (owner and product text,
group, rating class, decision number and date, issuing level, status) and what the pipeline
must say about it: ``rules`` (every expected issue code) and ``rejected``.

Injected problems (about 2 % of rows, each with exactly one problem) only touch products that
are new to the warehouse in that snapshot, so a rejected row never hides an earlier accepted
version. Every problem is placed only in files whose layout can show it (a province mismatch
needs a province column, a non-central 5-star an issuing-level column...). Problem rows are
never expired, potential-5, cross-province or hard-negative products, and at most one per
owner per file, so no second rule fires by accident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ocop.generate import noise
from ocop.generate.layout import Layout
from ocop.generate.model import S1, S2, World, expiry, spec_core
from ocop.generate.names import LEGAL_FORM_VARIANTS
from ocop.reference.provinces import OLD_PROVINCES, PROVINCES
from ocop.text import fold

REJECTED_SNAPSHOT = dt.date(2025, 9, 30)
REVOKED_SHARE = 0.01
MAX_DEFECT_SHARE = 0.2  # of one file's rows
# Share of a snapshot's rows given each problem (at least one of each nationally).
DEFECT_SHARE = {
    "R_REQUIRED_MISSING": 0.004, "R_RATING_INVALID": 0.003, "R_GROUP_UNKNOWN": 0.0025,
    "R_DATE_INVALID": 0.002, "R_DATE_BEFORE_PROGRAM": 0.001, "R_DATE_AFTER_SNAPSHOT": 0.0015,
    "R_PROVINCE_MISMATCH": 0.0015, "R_FIVE_STAR_NOT_CENTRAL": 0.001, "R_DUPLICATE_CONFLICT": 0.001,
    "W_DUPLICATE_IDENTICAL": 0.002, "W_DECISION_NO_FORMAT": 0.002,
}
BAD_RATINGS = ("2 sao", "6", "1 sao", "2")
BAD_GROUPS = ("Nông sản", "Khác", "Hàng tiêu dùng", "7")
BAD_DATES = ("31/02/2024", "abc", "32/13/2023", "không rõ")
ODD_DECISION = ("QĐ {n}", "{n}-UBND")


@dataclass
class Submission:
    layout: Layout
    snapshot: dt.date
    file_name: str
    rows: pd.DataFrame
    rejected_rule: str | None = None   # the expected file-level rule, if the file is rejected

    @property
    def path(self) -> str:
        return f"{self.layout.code}/{self.file_name}"


def _supports(lay: Layout, rule: str) -> bool:
    separate_date = lay.has("decision_date_raw")
    return {
        "R_DATE_INVALID": separate_date,
        "R_DATE_BEFORE_PROGRAM": not lay.has("expiry_raw") and not lay.has("status_raw"),
        "R_PROVINCE_MISMATCH": lay.has("province_raw"),
        "R_FIVE_STAR_NOT_CENTRAL": lay.has("issuing_level_raw"),
        "W_DECISION_NO_FORMAT": not lay.combined_decision,
    }.get(rule, True)


def _base_rows(world: World, listing: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Facts of each listed product as the province writes them (noise applied)."""
    p = world.products.set_index("pid")
    o = world.owners.set_index("owner_id")
    rows = listing.copy()
    owner_id = rows.pid.map(p.owner_id)
    rows["owner_id"] = owner_id.to_numpy()
    rows["owner_type"] = owner_id.map(o.owner_type).to_numpy()
    legal, core = owner_id.map(o.legal_form).to_numpy(), owner_id.map(o.core).to_numpy()
    rows["owner"] = [f"{a} {b}" for a, b in zip(legal, core)]
    rows["product"] = rows.pid.map(p.product_name).to_numpy()
    rows["group"] = rows.pid.map(p.group).to_numpy()
    home = owner_id.map(o.province).to_numpy() == rows.province.to_numpy()
    first_old = {c: next(k for k, v in OLD_PROVINCES.items() if v.new_code == c) for c in PROVINCES}
    rows["old_code"] = np.where(home, owner_id.map(o.old_code).to_numpy(), rows.province.map(first_old).to_numpy())
    rows["variations"] = [()] * len(rows)
    taken = _written_keys(world)
    col = rows.columns.get_loc
    for i in np.flatnonzero(rows.noisy.to_numpy()):
        for _ in range(5):  # a rewrite must not spell another product of the province exactly
            v = noise.vary(legal[i], core[i], rows["product"].iat[i], rng)
            key = (rows.province.iat[i], spec_core(_core_key(v.owner, legal[i])), fold(v.product))
            if taken.get(key, rows.pid.iat[i]) == rows.pid.iat[i]:
                rows.iat[i, col("owner")], rows.iat[i, col("product")] = v.owner, v.product
                rows.iat[i, col("variations")] = v.kinds
                break
        else:
            rows.iat[i, col("noisy")] = False
    rows["status"] = "valid"
    rows["rules"] = [()] * len(rows)
    rows["rejected"] = False
    rows["set_field"] = ""
    rows["set_value"] = None
    rows["copy_of"] = -1
    return rows


def _core_key(owner: str, legal: str) -> str:
    """The folded owner text without a leading legal form (any spelling of it)."""
    text = fold(owner)
    for spelling in sorted({fold(v) for vs in LEGAL_FORM_VARIANTS for v in vs} | {fold(legal)}, key=len, reverse=True):
        if text.startswith(spelling + " "):
            return text[len(spelling) + 1:]
    return text


def _written_keys(world: World) -> dict[tuple[str, str, str], int]:
    """(province, folded core, folded product) -> pid of every product as truly written."""
    p = world.products.merge(world.owners[["owner_id", "core"]], on="owner_id")
    listed = world.listings[["pid", "province"]].drop_duplicates().merge(p[["pid", "core", "product_name"]], on="pid")
    return {(pr, spec_core(c), fold(n)): pid for pid, pr, c, n in
            zip(listed.pid, listed.province, listed.core, listed.product_name)}


def _expired(rows: pd.DataFrame, snapshot: dt.date) -> np.ndarray:
    return (expiry(rows.decision_date) <= pd.Timestamp(snapshot)).to_numpy()


def _candidates(rows: pd.DataFrame, snapshot: dt.date, fresh: np.ndarray, pinned: set[int],
                hard: set[int], rng: np.random.Generator) -> pd.DataFrame:
    ok = (fresh & ~rows.noisy.to_numpy() & rows.rating.isin(["3", "4"]).to_numpy() & ~_expired(rows, snapshot)
          & ~rows.pid.isin(pinned).to_numpy() & ~rows.pid.isin(hard).to_numpy())
    cand = rows[ok].sample(frac=1.0, random_state=rng)
    return cand.drop_duplicates(["province", "owner_id"])


def _apply(rows: pd.DataFrame, i: int, rule: str, lay: Layout, snapshot: dt.date,
           rng: np.random.Generator) -> pd.Series | None:
    """Give row ``i`` its problem (in place); returns the extra row a duplicate adds."""
    col = rows.columns.get_loc
    if rule in ("W_DUPLICATE_IDENTICAL", "R_DUPLICATE_CONFLICT"):
        copy = rows.loc[i].copy()
        copy["copy_of"] = i
        if rule == "R_DUPLICATE_CONFLICT":
            copy["rating"] = "4" if copy["rating"] == "3" else "3"
            rows.iat[i, col("rules")] = (rule,)
            rows.iat[i, col("rejected")] = True
            copy["rules"], copy["rejected"] = (rule,), True
        else:
            copy["rules"] = (rule,)
        return copy
    rows.iat[i, col("rules")] = (rule,)
    rows.iat[i, col("rejected")] = rule.startswith("R_")
    if rule == "R_REQUIRED_MISSING":
        fields = ["product_name", "group_raw", "rating_raw"]
        fields += ["decision_no_raw"] if not lay.combined_decision else []
        fields += ["decision_date_raw"] if lay.has("decision_date_raw") else []
        rows.iat[i, col("set_field")] = fields[rng.integers(len(fields))]
    elif rule in ("R_RATING_INVALID", "R_GROUP_UNKNOWN", "R_DATE_INVALID"):
        field, values = {"R_RATING_INVALID": ("rating_raw", BAD_RATINGS),
                         "R_GROUP_UNKNOWN": ("group_raw", BAD_GROUPS),
                         "R_DATE_INVALID": ("decision_date_raw", BAD_DATES)}[rule]
        rows.iat[i, col("set_field")] = field
        rows.iat[i, col("set_value")] = values[rng.integers(len(values))]
    elif rule == "R_DATE_BEFORE_PROGRAM":
        rows.iat[i, col("decision_date")] = pd.Timestamp(2016, 3, 1) + pd.Timedelta(days=int(rng.integers(600)))
    elif rule == "R_DATE_AFTER_SNAPSHOT":
        rows.iat[i, col("decision_date")] = pd.Timestamp(snapshot) + pd.Timedelta(days=int(rng.integers(5, 60)))
    elif rule == "R_PROVINCE_MISMATCH":
        others = [c for c in PROVINCES if c != lay.code]
        rows.iat[i, col("set_field")] = "province_raw"
        rows.iat[i, col("set_value")] = PROVINCES[others[rng.integers(len(others))]].short_name
    elif rule == "R_FIVE_STAR_NOT_CENTRAL":
        rows.iat[i, col("rating")] = "5"
        rows.iat[i, col("level")] = "provincial"
    elif rule == "W_DECISION_NO_FORMAT":
        number = rows.decision_no.iat[i].split("/")[0]
        rows.iat[i, col("set_field")] = "decision_no_raw"
        rows.iat[i, col("set_value")] = ODD_DECISION[rng.integers(len(ODD_DECISION))].format(n=number)
    return None


def _inject(rows: pd.DataFrame, cand: pd.DataFrame, layouts: dict[str, Layout], snapshot: dt.date,
            rng: np.random.Generator) -> pd.DataFrame:
    """Spread every kind of problem over the candidate rows; duplicates appended to the end."""
    cap = (rows.groupby("province").size() * MAX_DEFECT_SHARE).apply(np.floor).astype(int)
    used = pd.Series(0, index=cap.index)
    free = list(cand.index)
    extra = []
    for rule, share in DEFECT_SHARE.items():
        want = max(1, round(share * len(rows)))
        for i in list(free):
            if want == 0:
                break
            code = rows.province.at[i]
            if used[code] >= cap[code] or not _supports(layouts[code], rule):
                continue
            copy = _apply(rows, i, rule, layouts[code], snapshot, rng)
            if copy is not None:
                extra.append(copy)
            used[code] += 1
            free.remove(i)
            want -= 1
    return pd.concat([rows, pd.DataFrame(extra)], ignore_index=False) if extra else rows


def _revoke(rows: pd.DataFrame, layouts: dict[str, Layout], eligible: np.ndarray, rng: np.random.Generator) -> None:
    has_status = rows.province.map(lambda c: layouts[c].has("status_raw")).to_numpy()
    copied = rows.index.isin(rows.copy_of) | (rows.copy_of >= 0).to_numpy()
    pick = (eligible & has_status & ~copied & (rows.rules.str.len() == 0).to_numpy()
            & (rng.random(len(rows)) < REVOKED_SHARE))
    rows.loc[pick, "status"] = "revoked"


def _finish(rows: pd.DataFrame, layouts: dict[str, Layout], snapshot: dt.date) -> None:
    """Warnings every accepted row or whole file earns: expired, owner type inferred, legacy font."""
    expired = _expired(rows, snapshot) & ~rows.rejected.to_numpy()
    file_rules = rows.province.map(lambda c: (("W_OWNER_TYPE_INFERRED",) if not layouts[c].has("owner_type_raw") else ())
                                   + (("W_LEGACY_CONVERTED",) if layouts[c].legacy else ()))
    rows["rules"] = [r + (("W_EXPIRED",) if e else ()) + f for r, e, f in zip(rows.rules, expired, file_rules)]


def _order(rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """File order: shuffled, each duplicate copy placed somewhere after its original."""
    originals = rows[rows.copy_of < 0]
    originals = originals.iloc[rng.permutation(len(originals))].copy()
    originals["pos"] = np.arange(len(originals), dtype=float)
    pos = originals.pos
    copies = rows[rows.copy_of >= 0].copy()
    copies["pos"] = [pos[o] + rng.uniform(0.1, max(0.2, len(pos) - pos[o] - 0.5)) for o in copies.copy_of]
    return pd.concat([originals, copies]).sort_values("pos", kind="stable").drop(columns="pos").reset_index(drop=True)


def build_submissions(world: World, layouts: dict[str, Layout], rng: np.random.Generator) -> list[Submission]:
    """Every file of the inbox: two snapshots per province plus one rejected file."""
    pinned = set(world.listings.pid[world.listings.duplicated(["pid", "snapshot"], keep=False)])
    hard = set(world.products.pid[world.products.hard_negative])
    subs: list[Submission] = []
    by_snapshot: dict[dt.date, pd.DataFrame] = {}
    for snapshot in (S1, S2):
        rows = _base_rows(world, world.listings[world.listings.snapshot == snapshot.isoformat()]
                          .reset_index(drop=True), rng)
        prev = by_snapshot.get(S1)
        fresh = np.ones(len(rows), bool) if prev is None else ~(
            rows.province + "#" + rows.pid.astype(str)).isin(prev.province + "#" + prev.pid.astype(str)).to_numpy()
        rows = _inject(rows, _candidates(rows, snapshot, fresh, pinned, hard, rng), layouts, snapshot, rng)
        if prev is None:  # S1 products revoked there leave by S2
            leaving = ~(rows.province + "#" + rows.pid.astype(str)).isin(
                world.listings.province + "#" + world.listings.pid.astype(str)
                [world.listings.snapshot == S2.isoformat()]).to_numpy()
            _revoke(rows, layouts, leaving, rng)
        else:
            _revoke(rows, layouts, ~rows.pid.isin(pinned).to_numpy(), rng)
        _finish(rows, layouts, snapshot)
        by_snapshot[snapshot] = rows
        for code in PROVINCES:
            part = _order(rows[rows.province == code], rng)
            subs.append(Submission(layouts[code], snapshot, layouts[code].file_name(snapshot, 1 if snapshot == S1 else 3), part))
    subs.append(_rejected_file(by_snapshot[S1], layouts, rng))
    return subs


def _rejected_file(s1: pd.DataFrame, layouts: dict[str, Layout], rng: np.random.Generator) -> Submission:
    """A file dated between the snapshots with most rows invalid (F_TOO_MANY_REJECTED)."""
    plain = [c for c, lay in layouts.items() if not lay.legacy]
    code = plain[rng.integers(len(plain))]
    rows = s1[(s1.province == code) & (s1.copy_of < 0)].reset_index(drop=True)
    rows["rules"], rows["rejected"] = [()] * len(rows), False
    rows["set_field"], rows["set_value"] = "", None
    bad = rng.permutation(len(rows))[: len(rows) // 2 + 1 + len(rows) // 6]
    for i in bad:
        rule = "R_RATING_INVALID" if rng.random() < 0.5 else "R_GROUP_UNKNOWN"
        _apply(rows, i, rule, layouts[code], REJECTED_SNAPSHOT, rng)
    lay = layouts[code]
    return Submission(lay, REJECTED_SNAPSHOT, lay.file_name(REJECTED_SNAPSHOT, 2), _order(rows, rng),
                      rejected_rule="F_TOO_MANY_REJECTED")
