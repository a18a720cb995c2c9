"""Product identities and the SCD2 history (``product_version``), rebuilt from scratch.

Run inside :func:`ocop.warehouse.load.consolidate`'s transaction, after new submissions are in:

1. identities: ``assign`` (``ocop.dedupe.assign_products``) clusters every kept source record
   (accepted/warned rows of accepted submissions, all provinces) given the previous links and
   the manual overrides; ids stay stable and new ones come after ``max(product_id)``, so an id
   is never reused. ``record_link`` is rewritten for the submissions whose links changed,
   ``dedupe_merge`` entirely;
2. presence: each accepted submission is its province's full register at its snapshot date;
   snapshots of a province are ordered by (snapshot_date, received_at). A product is present in
   a snapshot through its linked rows, or through a *rejected* row that matches, by exact
   owner + product key, a product present in the province's previous snapshot (the product
   stays, with its previous facts);
3. spans: each presence is in force from its snapshot's date to the date of its province's
   next accepted snapshot (:func:`presence_spans`);
4. one province per product and day: where several provinces' snapshots in force on a day list
   the product, it stands in the one with the most recent decision (then the later snapshot,
   then the lower code) for that day, or in the one a Ministry user chose for the product
   (``review_decision``) whenever that one lists it; the periods and their choices are listed in
   ``province_conflict`` (:func:`resolve_provinces`). The province of a product is a dated
   fact: a later snapshot elsewhere moves the product from that snapshot's date on, never
   before, so no later load changes the count of an earlier day;
5. versions: contiguous spans with identical facts (province included) form one version, from
   the first span's start to the last one's end (``valid_to`` NULL while open).

All of it is pandas on the whole set, then bulk writes: an older snapshot arriving late gives
exactly the in-order history. The records of the submissions the same transaction has just
inserted are taken from memory (:class:`Loaded`); only earlier submissions are read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ocop.dedupe.normalize import owner_key, product_key
from ocop.warehouse import schema as s
from ocop.warehouse.bulk import insert_frame, read_frame

KEY = ["submission_id", "row_id"]
ASSIGN_COLUMNS = ["submission_id", "row_id", "province_code", "owner", "product_name", "decision_no", "group_code",
                  "decision_date", "snapshot_date", "rating_class"]
LINK_COLUMNS = [*KEY, "product_id", "rule", "score"]


@dataclass(frozen=True)
class Loaded:
    """Source records this transaction inserted, as inserted (``bulk.prepare`` form, plus
    ``submission_id``): every row of the submissions ``submission_ids``, none of any other."""

    submission_ids: frozenset[str] = frozenset()
    records: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class RebuildStats:
    products: int          # distinct products linked to kept records
    new_products: int      # ids created by this run
    versions: int          # rows of product_version
    current: int           # open versions
    conflicts: int         # products found in more than one province


def _iso(column: sa.ColumnElement, name: str) -> sa.ColumnElement:
    return sa.cast(column, sa.String).label(name)


def accepted_snapshots(conn: Connection) -> pd.DataFrame:
    """Accepted submissions in application order, with ``seq`` and the next snapshot's date."""
    sub = s.submission
    snaps = read_frame(conn, sa.select(sub.c.submission_id, sub.c.province_code,
                                       _iso(sub.c.snapshot_date, "snapshot_date"), sub.c.received_at)
                       .where(sub.c.outcome == s.ACCEPTED))
    snaps = snaps.sort_values(["province_code", "snapshot_date", "received_at", "submission_id"],
                              ignore_index=True)
    by_province = snaps.groupby("province_code")
    snaps["seq"] = by_province.cumcount()
    snaps["next_date"] = by_province["snapshot_date"].shift(-1)
    return snaps


_FACTS = [c for c in s.VERSION_FACTS if c not in ("province_code", *s.RECORD_DATES)]
RECORD_COLUMNS = ["submission_id", "row_id", "province_code", *_FACTS, *s.RECORD_DATES, "snapshot_date"]
_INTEGER_COLUMNS = {"row_id", "group_code"}


def _records_query(outcomes: tuple[str, ...]) -> sa.Select:
    sr, sub = s.source_record, s.submission
    return (sa.select(sr.c.submission_id, sr.c.row_id, sub.c.province_code, *[sr.c[c] for c in _FACTS],
                      *[_iso(sr.c[c], c) for c in s.RECORD_DATES], _iso(sub.c.snapshot_date, "snapshot_date"))
            .join_from(sr, sub, sr.c.submission_id == sub.c.submission_id)
            .where(sub.c.outcome == s.ACCEPTED, sr.c.outcome.in_(outcomes)))


def _records(conn: Connection, outcomes: tuple[str, ...]) -> pd.DataFrame:
    return read_frame(conn, _records_query(outcomes))


def _as_read(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (RECORD_COLUMNS, any dtypes) with the dtypes ``read_frame`` gives the same values:
    an all-NULL column is object of None; integers int64, or float64 when some are NULL; text
    pandas' inferred string dtype."""
    text_dtype = pd.Series(["", None]).dtype
    out = {}
    for c in RECORD_COLUMNS:
        col = df[c]
        missing = col.isna()
        if missing.all():
            out[c] = pd.Series([None] * len(col), dtype=object)
        elif c in _INTEGER_COLUMNS:
            out[c] = col.astype("float64" if missing.any() else "int64")
        elif text_dtype == object:
            out[c] = col.astype(object).where(~missing, None)
        else:
            out[c] = col.astype(text_dtype)
    return pd.DataFrame({c: v.reset_index(drop=True) for c, v in out.items()}, columns=RECORD_COLUMNS)


def record_sets(conn: Connection, snaps: pd.DataFrame, loaded: Loaded | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(kept, rejected)`` records of every accepted submission, as :func:`_records` reads
    them, without reading back the ones ``loaded`` holds."""
    if loaded is None:
        return _records(conn, s.ROW_KEPT), _records(conn, (s.ROW_REJECTED,))
    outcomes = (*s.ROW_KEPT, s.ROW_REJECTED)
    accepted = snaps["submission_id"]
    earlier = sorted(set(accepted) - loaded.submission_ids)
    parts = []
    if earlier:
        query = _records_query(outcomes).add_columns(s.source_record.c.outcome)
        parts.append(read_frame(conn, query.where(s.source_record.c.submission_id.in_(earlier))))
    mem = loaded.records
    if not mem.empty:
        mem = mem[mem["submission_id"].isin(accepted) & mem["outcome"].isin(outcomes)]
        mem = mem.reindex(columns=["submission_id", "row_id", *_FACTS, *s.RECORD_DATES, "outcome"])
        by_id = snaps.set_index("submission_id")
        mem = mem.assign(province_code=mem["submission_id"].map(by_id["province_code"]),
                         snapshot_date=mem["submission_id"].map(by_id["snapshot_date"]))
        parts.append(mem)
    if not parts:
        return _records(conn, s.ROW_KEPT), _records(conn, (s.ROW_REJECTED,))
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    kept = both["outcome"].isin(s.ROW_KEPT)
    return _as_read(both[kept]), _as_read(both[~kept])


def _previous_links(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, sa.select(*[s.record_link.c[c] for c in LINK_COLUMNS]))


def _overrides(conn: Connection) -> pd.DataFrame:
    o = s.dedupe_override
    return read_frame(conn, sa.select(o.c.a_submission_id, o.c.a_row_id, o.c.b_submission_id,
                                      o.c.b_row_id, o.c.action, o.c.who, o.c.why)
                      .order_by(o.c.override_id))


def _next_product_id(conn: Connection) -> int:
    return conn.scalar(sa.select(sa.func.coalesce(sa.func.max(s.product.c.product_id), 0))) + 1


class _Clock:
    """Wall seconds per phase, added into ``timings`` (a dict the caller may pass, or None)."""

    def __init__(self, timings: dict | None):
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self.last
        self.last = now


def rebuild_products(conn: Connection, run_id: str, assign: Callable, loaded: Loaded | None = None,
                     timings: dict | None = None) -> tuple[RebuildStats, pd.DataFrame]:
    """Recompute identities and rebuild ``product_version``; returns stats and dedupe's review.
    ``loaded``: the records this transaction has just inserted (not read back). ``timings``:
    filled with seconds per phase (read, dedupe, links, history, versions)."""
    clock = _Clock(timings)
    snaps = accepted_snapshots(conn)
    kept, rejected = record_sets(conn, snaps, loaded)
    previous = _previous_links(conn)
    overrides, next_id = _overrides(conn), _next_product_id(conn)
    clock.lap("read")
    result = assign(kept[ASSIGN_COLUMNS].copy(), previous[[*KEY, "product_id"]].copy(), overrides, next_id)
    links = result.links[LINK_COLUMNS]
    clock.lap("dedupe")
    fresh = loaded.submission_ids if loaded is not None else frozenset()
    new_products = _write_identities(conn, links, previous, result.merges, run_id, fresh)
    clock.lap("links")
    presence = carry_forward(linked_presence(kept, links, snaps), rejected, snaps)
    from ocop.warehouse.decisions import province_choices

    spans, conflicts = resolve_provinces(presence_spans(presence, snaps), province_choices(conn))
    versions = build_versions(spans)
    clock.lap("history")
    _write_versions(conn, versions, conflicts, run_id)
    clock.lap("versions")
    stats = RebuildStats(products=int(links["product_id"].nunique()), new_products=new_products,
                         versions=len(versions), current=int(versions["is_current"].sum()),
                         conflicts=int(conflicts["product_id"].nunique()))
    return stats, result.review


def _changed_submissions(links: pd.DataFrame, previous: pd.DataFrame) -> list[str]:
    """Submissions having at least one link that is new or differs from the stored one."""
    both = links.merge(previous, on=KEY, how="left", suffixes=("", "_old"), indicator=True)
    differs = both["_merge"].eq("left_only")
    for c in ("product_id", "rule", "score"):
        new, old = both[c], both[f"{c}_old"]
        differs |= ~(new.eq(old).fillna(False) | (new.isna() & old.isna())).astype(bool)
    return sorted(both.loc[differs, "submission_id"].unique())


def _write_identities(conn: Connection, links: pd.DataFrame, previous: pd.DataFrame,
                      merges: pd.DataFrame, run_id: str, fresh: frozenset[str] = frozenset()) -> int:
    """``fresh``: submissions inserted by this transaction; they have no stored links, so all
    their links are new (no comparison, nothing to delete)."""
    p = s.product
    existing = pd.Index(list(conn.scalars(sa.select(p.c.product_id))))
    new_ids = pd.Index(links["product_id"].unique()).difference(existing)
    insert_frame(conn, p, pd.DataFrame({"product_id": new_ids, "created_at": datetime.now(timezone.utc),
                                        "created_run": run_id}))
    is_fresh = links["submission_id"].isin(fresh)
    stored = _changed_submissions(links[~is_fresh], previous)
    if stored:
        conn.execute(s.record_link.delete().where(s.record_link.c.submission_id.in_(stored)))
    changed = is_fresh | links["submission_id"].isin(stored)
    insert_frame(conn, s.record_link, links[changed])
    conn.execute(s.dedupe_merge.delete())
    insert_frame(conn, s.dedupe_merge, merges.assign(run_id=run_id))
    return len(new_ids)


def linked_presence(kept: pd.DataFrame, links: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """One row per (snapshot, product) from linked records; duplicates collapse to the first row."""
    p = (kept.merge(links[[*KEY, "product_id"]], on=KEY)
         .merge(snaps[["submission_id", "seq"]], on="submission_id"))
    return p.sort_values(KEY).drop_duplicates(["submission_id", "product_id"], ignore_index=True)


def _identity_keys(df: pd.DataFrame) -> pd.Series:
    """Exact owner + product key used to match a rejected row to a product."""
    return df["owner"].map(owner_key) + "\x1f" + df["product_name"].map(product_key)


def carry_forward(presence: pd.DataFrame, rejected: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """Add presences for products kept alive by a rejected row (see the module docstring)."""
    rej = rejected.dropna(subset=["owner", "product_name"])
    rej = rej.merge(snaps[["submission_id", "seq"]], on="submission_id")
    rej = rej[rej["seq"] > 0]
    if rej.empty:
        return presence
    rej = rej.assign(key=_identity_keys(rej))
    # Carried rows keep their province, so each province only ever looks at its own rows
    # (split once, instead of scanning the national set for every rejected snapshot).
    own = dict(tuple(presence[presence["province_code"].isin(rej["province_code"].unique())]
                     .groupby("province_code", sort=False)))
    carried: list[pd.DataFrame] = []
    carried_in: dict[str, list[pd.DataFrame]] = {}
    for (province, seq), rows in rej.groupby(["province_code", "seq"], sort=True):
        everything = pd.concat([own.get(province, presence.iloc[:0]), *carried_in.get(province, [])],
                               ignore_index=True)
        prev = everything[everything["seq"].eq(seq - 1)]
        present_now = everything.loc[everything["seq"].eq(seq), "product_id"]
        prev = prev[~prev["product_id"].isin(present_now)]
        keep = prev[_identity_keys(prev).isin(rows["key"]).to_numpy()] if not prev.empty else prev
        if not keep.empty:
            snapshot_date = rows["snapshot_date"].iloc[0]
            carried.append(keep.assign(seq=seq, snapshot_date=snapshot_date))
            carried_in.setdefault(province, []).append(carried[-1])
    return pd.concat([presence, *carried], ignore_index=True)


def presence_spans(presence: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """Each presence with the period its snapshot is in force for: ``valid_from`` its snapshot's
    date, ``valid_to`` the date of its province's next accepted snapshot (None while it is the
    latest). A snapshot replaced on its own date (two files of one date) is in force for no day
    and is dropped."""
    # By (province, seq): a row carried forward keeps the record (and submission) it came from.
    nxt = snaps[["province_code", "seq", "next_date"]].rename(columns={"next_date": "valid_to"})
    spans = presence.merge(nxt, on=["province_code", "seq"]).assign(valid_from=lambda d: d["snapshot_date"])
    spans["valid_to"] = spans["valid_to"].astype(object).where(spans["valid_to"].notna(), None)
    return spans[spans["valid_to"].isna() | spans["valid_from"].ne(spans["valid_to"])].reset_index(drop=True)


# Which province's presence stands for a product on a day when several provinces list it:
# the most recent decision, then the later snapshot, then the lower province code.
CHOICE_ORDER = (["decision_date", "snapshot_date", "province_code"], [False, False, True])
CONFLICT_COLUMNS = ["product_id", "valid_from", "valid_to", "provinces", "chosen_province", "decision_dates"]


def resolve_provinces(spans: pd.DataFrame, choices: dict[int, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One presence per product and day (outputs.md §3): a product listed by several provinces
    stands, on each day, in the province whose snapshot in force that day holds its most recent
    decision (:data:`CHOICE_ORDER`). Only snapshots in force on a day decide it, so a later
    snapshot never changes an earlier day. ``choices`` (``{product_id: province}``, a Ministry
    user's answer in ``review_decision``) puts the product in that province on every day it
    lists the product.

    Returns the spans cut into the periods of each choice, and ``province_conflict`` rows: one
    per product and period during which several provinces list it, with the choice."""
    provinces = spans.groupby("product_id")["province_code"].nunique()
    is_multi = spans["product_id"].isin(provinces[provinces > 1].index)
    if not is_multi.any():
        return spans, pd.DataFrame(columns=CONFLICT_COLUMNS)
    chosen, conflicts = [], []
    by, ascending = CHOICE_ORDER
    for product_id, rows in spans[is_multi].groupby("product_id", sort=True):
        ends = rows["valid_to"].dropna()
        points = sorted(set(rows["valid_from"]) | set(ends))
        for start, end in zip(points, [*points[1:], None]):
            live = rows[(rows["valid_from"] <= start) & (rows["valid_to"].isna() | (rows["valid_to"] > start))]
            if live.empty:
                continue
            best = live.sort_values(by, ascending=ascending).iloc[[0]]
            wanted = (choices or {}).get(int(product_id))
            if wanted is not None and (live["province_code"] == wanted).any():
                best = live[live["province_code"] == wanted].iloc[[0]]
            chosen.append(best.assign(valid_from=start, valid_to=end))
            if live["province_code"].nunique() > 1:
                latest = (live.sort_values(by, ascending=ascending).drop_duplicates("province_code")
                          .sort_values("province_code"))
                conflicts.append((int(product_id), start, end, ",".join(latest["province_code"]),
                                  best["province_code"].iloc[0],
                                  ",".join(latest["province_code"] + ":" + latest["decision_date"])))
    cut = pd.concat([spans[~is_multi], *chosen], ignore_index=True)
    return cut, _merge_periods(pd.DataFrame(conflicts, columns=CONFLICT_COLUMNS))


def _merge_periods(conflicts: pd.DataFrame) -> pd.DataFrame:
    """Adjacent periods of one product with the same provinces and choice become one row."""
    if conflicts.empty:
        return conflicts
    c = conflicts.sort_values(["product_id", "valid_from"], ignore_index=True)
    same = ["product_id", "provinces", "chosen_province", "decision_dates"]
    starts = ~(c[same].eq(c[same].shift()).all(axis=1) & c["valid_from"].eq(c["valid_to"].shift()))
    merged = c[starts].copy()
    merged["valid_to"] = _run_ends(c["valid_to"], starts)
    return merged.reset_index(drop=True)


def _run_ends(valid_to: pd.Series, starts: pd.Series) -> np.ndarray:
    """The ``valid_to`` of the last row of each run (runs begin where ``starts``), None kept."""
    first = np.flatnonzero(starts.to_numpy())
    last = np.r_[first[1:] - 1, len(valid_to) - 1] if len(first) else first
    return valid_to.to_numpy(dtype=object)[last]


def _same_as_previous(values: pd.Series) -> pd.Series:
    prev = values.shift()
    return (values.eq(prev).fillna(False) | (values.isna() & prev.isna())).astype(bool)


def build_versions(spans: pd.DataFrame) -> pd.DataFrame:
    """SCD2 rows: a version starts where a product appears (after a gap) or a fact changes, its
    province included, and ends where the last of its contiguous, unchanged spans ends."""
    p = spans.sort_values(["product_id", "valid_from"], ignore_index=True)
    starts = ~_same_as_previous(p["product_id"]) | ~p["valid_from"].eq(p["valid_to"].shift()).fillna(False)
    for fact in s.VERSION_FACTS:
        starts |= ~_same_as_previous(p[fact])
    versions = p[starts].copy()
    versions["valid_to"] = _run_ends(p["valid_to"], starts)
    versions["version_no"] = versions.groupby("product_id").cumcount() + 1
    versions["is_current"] = versions["valid_to"].isna()
    return versions[["product_id", "version_no", *s.VERSION_FACTS, "valid_from", "valid_to",
                     "is_current", *KEY]].reset_index(drop=True)


def _write_versions(conn: Connection, versions: pd.DataFrame, conflicts: pd.DataFrame, run_id: str) -> None:
    pc = s.province_conflict
    detected = dict(conn.execute(sa.select(pc.c.product_id, pc.c.detected_run)).all())
    conn.execute(s.product_version.delete())
    insert_frame(conn, s.product_version, versions)
    conn.execute(pc.delete())
    conflicts = conflicts.assign(detected_run=[detected.get(int(i), run_id) for i in conflicts["product_id"]])
    insert_frame(conn, pc, conflicts)


def borderline_pairs(conn: Connection, assign: Callable) -> pd.DataFrame:
    """The review list dedupe gives for the current records, without writing anything."""
    previous = _previous_links(conn)
    result = assign(_records(conn, s.ROW_KEPT)[ASSIGN_COLUMNS].copy(), previous[[*KEY, "product_id"]].copy(),
                    _overrides(conn), _next_product_id(conn))
    return result.review
