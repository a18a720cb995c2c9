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
RECORD_COLUMNS = ["submission_id", "row_id", "province_code", *_FACTS, *s.RECORD_DATES, "snapshot_date", "match_key"]
_INTEGER_COLUMNS = {"row_id", "group_code"}


def _records_query(outcomes: tuple[str, ...]) -> sa.Select:
    sr, sub = s.source_record, s.submission
    return (sa.select(sr.c.submission_id, sr.c.row_id, sub.c.province_code, *[sr.c[c] for c in _FACTS],
                      *[_iso(sr.c[c], c) for c in s.RECORD_DATES], _iso(sub.c.snapshot_date, "snapshot_date"),
                      sr.c.match_key)
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


def match_keys(df: pd.DataFrame) -> pd.Series:
    """``owner_key + US + product_key`` per row (None where the owner or the name is missing),
    computed once per distinct owner and name: the ``source_record.match_key`` column."""
    owner, name = df["owner"], df["product_name"]
    if df.empty:
        return pd.Series([], dtype=object, index=df.index)
    owners = pd.Series(pd.unique(owner.dropna()), dtype=object)
    names = pd.Series(pd.unique(name.dropna()), dtype=object)
    okey = owner.map(pd.Series(owners.map(owner_key).to_numpy(), index=owners.to_numpy()))
    pkey = name.map(pd.Series(names.map(product_key).to_numpy(), index=names.to_numpy()))
    keys = (okey.astype(object) + "\x1f" + pkey.astype(object)).astype(object)
    return keys.where(owner.notna() & name.notna(), None)


def fill_match_keys(conn: Connection, everything: bool = False) -> int:
    """Set ``source_record.match_key`` where it is NULL (or, ``everything``, wherever it differs
    from what :func:`match_keys` computes now: after a change of the keys). Keys are computed
    once per distinct owner and name, written by primary key. Returns the rows set."""
    sr = s.source_record
    query = sa.select(sr.c.submission_id, sr.c.row_id, sr.c.owner, sr.c.product_name, sr.c.match_key)
    if not everything:
        query = query.where(sr.c.match_key.is_(None))
    rows = read_frame(conn, query)
    if rows.empty:
        return 0
    key = match_keys(rows)
    stale = ~(key.eq(rows["match_key"]).fillna(False).astype(bool) | (key.isna() & rows["match_key"].isna()))
    changed = rows[stale.to_numpy()].assign(key=key[stale.to_numpy()])
    statement = (sr.update().where(sr.c.submission_id == sa.bindparam("s"), sr.c.row_id == sa.bindparam("r"))
                 .values(match_key=sa.bindparam("k")))
    params = [{"s": a, "r": int(b), "k": k} for a, b, k in changed[["submission_id", "row_id", "key"]].itertuples(index=False)]
    for start in range(0, len(params), 50_000):
        conn.execute(statement, params[start:start + 50_000])
    return len(params)


@dataclass
class Scope:
    """What one rebuild recomputes: the kept and rejected records of its provinces (all of
    their history), plus the records of every product elsewhere that shares a matching key or a
    product with them, transitively (``fixed``: those provinces are not re-clustered)."""

    provinces: frozenset[str]
    kept: pd.DataFrame           # RECORD_COLUMNS + local (NaN: re-clustered; else stored product id)
    rejected: pd.DataFrame       # RECORD_COLUMNS
    previous: pd.DataFrame       # submission_id, row_id, product_id, rule, score of kept records
    full: bool


class _Values:
    """A TEMP table of values to join against (a long ``IN`` list costs more on both databases)."""

    def __init__(self, conn: Connection, name: str, values, kind) -> None:
        self.conn, self.name = conn, f"tmp_{name}"
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.name}")
        self.table = sa.Table(self.name, sa.MetaData(), sa.Column("v", kind, primary_key=True), prefixes=["TEMPORARY"])
        self.table.create(conn)
        values = sorted(set(values))
        if values:
            conn.execute(self.table.insert(), [{"v": v} for v in values])

    def __enter__(self):
        return self.table.c.v

    def __exit__(self, *exc) -> None:
        self.table.drop(self.conn)


def _kept_of(submission_ids, conn: Connection, loaded: Loaded | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(kept, rejected)`` records of these accepted submissions, the ones ``loaded`` holds
    from memory, the others read (one query)."""
    ids = set(submission_ids)
    mem_ids = (loaded.submission_ids & ids) if loaded is not None else frozenset()
    outcomes = (*s.ROW_KEPT, s.ROW_REJECTED)
    parts = []
    stored = sorted(ids - mem_ids)
    if stored:
        with _Values(conn, "scope_submissions", stored, sa.String) as wanted:
            query = _records_query(outcomes).add_columns(s.source_record.c.outcome)
            parts.append(read_frame(conn, query.where(s.source_record.c.submission_id.in_(sa.select(wanted)))))
    if mem_ids and not loaded.records.empty:
        mem = loaded.records.reindex(columns=["submission_id", "row_id", *_FACTS, *s.RECORD_DATES, "match_key",
                                              "outcome"])
        wanted = mem["submission_id"].isin(mem_ids) & mem["outcome"].isin(outcomes)
        parts.append(mem if wanted.all() else mem[wanted])
    if not parts:
        empty = _as_read(pd.DataFrame(columns=RECORD_COLUMNS))
        return empty, empty
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    kept = both["outcome"].isin(s.ROW_KEPT)
    return both[kept], both[~kept]


def _placed(df: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its submission's province and snapshot date, in :func:`_as_read` form."""
    by_id = snaps.set_index("submission_id")
    df = df.assign(province_code=df["submission_id"].map(by_id["province_code"]),
                   snapshot_date=df["submission_id"].map(by_id["snapshot_date"]))
    return _as_read(df)


def _links_of(conn: Connection, records: pd.DataFrame) -> pd.DataFrame:
    """Stored links of ``records`` (submission_id, row_id), read by their submissions."""
    rl = s.record_link
    if records.empty:
        return pd.DataFrame(columns=LINK_COLUMNS)
    with _Values(conn, "link_submissions", records["submission_id"].unique().tolist(), sa.String) as wanted:
        stored = read_frame(conn, sa.select(*[rl.c[c] for c in LINK_COLUMNS]).where(rl.c.submission_id.in_(sa.select(wanted))))
    return stored.merge(records[KEY].astype({"row_id": "int64"}), on=KEY) if not stored.empty else stored


def _others_query(provinces: frozenset[str]) -> sa.Select:
    """Kept records of accepted submissions outside ``provinces``, with their stored links."""
    rl, sr, sub = s.record_link, s.source_record, s.submission
    return (_records_query(s.ROW_KEPT)
            .add_columns(rl.c.product_id, rl.c.rule, rl.c.score)
            .join(rl, sa.and_(rl.c.submission_id == sr.c.submission_id, rl.c.row_id == sr.c.row_id))
            .where(sub.c.province_code.not_in(sorted(provinces))))


def read_scope(conn: Connection, snaps: pd.DataFrame, provinces: frozenset[str] | None,
               loaded: Loaded | None, overrides: pd.DataFrame) -> Scope:
    """The :class:`Scope` of a rebuild of ``provinces`` (None: all of them, the full rebuild)."""
    full = provinces is None
    provinces = frozenset(snaps["province_code"]) if full else frozenset(provinces) & frozenset(snaps["province_code"])
    own = snaps.loc[snaps["province_code"].isin(provinces), "submission_id"]
    kept, rejected = _kept_of(own, conn, loaded)
    kept, rejected = _placed(kept, snaps), _placed(rejected, snaps)
    previous = (read_frame(conn, sa.select(*[s.record_link.c[c] for c in LINK_COLUMNS])) if full
                else _links_of(conn, kept))
    kept = kept.assign(local=np.nan)
    if full:
        return Scope(provinces, kept, rejected, previous, True)
    if provinces >= frozenset(snaps["province_code"]):
        # every province with an accepted snapshot is re-clustered: nothing lies outside
        return Scope(provinces, kept, rejected, previous, False)
    others = _closure(conn, provinces, set(kept["match_key"].dropna()), set(previous["product_id"].dropna().astype(int)),
                      overrides, pd.concat([kept[KEY], rejected[KEY]]))
    if not others.empty:
        links = others[LINK_COLUMNS]
        others = _as_read(others).assign(local=others["product_id"].to_numpy(dtype=float))
        kept = pd.concat([kept, others], ignore_index=True)
        previous = pd.concat([previous, links], ignore_index=True)
        rejected = pd.concat([rejected, _rejected_elsewhere(conn, snaps, others)], ignore_index=True)
    return Scope(provinces, kept, rejected, previous, False)


def _closure(conn: Connection, provinces: frozenset[str], keys: set[str], products: set[int],
             overrides: pd.DataFrame, inside: pd.DataFrame) -> pd.DataFrame:
    """Every kept record outside ``provinces`` of a product that shares a matching key or a
    product with the records found so far, or that holds the other record of an override (merge
    or split) one of them is in, transitively; with its stored link. Reads only those products'
    records, through the ``match_key`` and ``record_link.product_id`` indexes.

    A split override counts as much as a merge: dedupe applies an override only when both of
    its records are among those it clusters (``ocop.dedupe.identity.override_pairs``), so a
    scope holding one record of a split without the other would cluster that record back with
    its twins, where the full rebuild keeps it apart."""
    rl, sr, sub = s.record_link, s.source_record, s.submission
    found: list[pd.DataFrame] = []
    seen_keys: set[str] = set()
    seen_products: set[int] = set()
    new_keys, new_products = set(keys), set(products)
    while True:
        if new_keys:
            with _Values(conn, "scope_keys", new_keys, sa.Text) as wanted:
                by_key = conn.scalars(
                    sa.select(rl.c.product_id).distinct()
                    .join_from(sr, rl, sa.and_(rl.c.submission_id == sr.c.submission_id, rl.c.row_id == sr.c.row_id))
                    .join(sub, sub.c.submission_id == sr.c.submission_id)
                    .where(sr.c.match_key.in_(sa.select(wanted)), sub.c.outcome == s.ACCEPTED,
                           sub.c.province_code.not_in(sorted(provinces)))).all()
            new_products |= set(by_key)
        seen_keys |= new_keys
        new_products |= _override_partners(conn, overrides, pd.concat([inside, *[f[KEY] for f in found]]))
        new_products -= seen_products
        if not new_products:
            break
        with _Values(conn, "scope_products", new_products, sa.Integer) as wanted:
            rows = read_frame(conn, _others_query(provinces).where(rl.c.product_id.in_(sa.select(wanted))))
        seen_products |= new_products
        found.append(rows)
        new_keys = set(rows["match_key"].dropna()) - seen_keys
        new_products = set()
    if not found:
        return pd.DataFrame()
    return pd.concat(found, ignore_index=True).drop_duplicates(KEY, ignore_index=True)


def _override_partners(conn: Connection, overrides: pd.DataFrame, members: pd.DataFrame) -> set[int]:
    """Products of the records that share an override with one of ``members`` (submission_id,
    row_id) and are not among them."""
    if overrides.empty:
        return set()
    have = set(zip(members["submission_id"].astype(str), members["row_id"].astype(int)))
    partners = set()
    for a_s, a_r, b_s, b_r in overrides[["a_submission_id", "a_row_id", "b_submission_id", "b_row_id"]].itertuples(index=False):
        a, b = (str(a_s), int(a_r)), (str(b_s), int(b_r))
        if (a in have) != (b in have):
            partners.add(b if a in have else a)
    if not partners:
        return set()
    rl = s.record_link
    return set(conn.scalars(sa.select(rl.c.product_id).where(
        sa.tuple_(rl.c.submission_id, rl.c.row_id).in_(sorted(partners)))).all())


def product_provinces(conn: Connection, products: list[int]) -> frozenset[str]:
    """The provinces whose submissions hold a record of one of ``products``: the scope of a
    rebuild that must recompute those products (a Ministry choice of province)."""
    rl, sub = s.record_link, s.submission
    with _Values(conn, "scope_of_products", products, sa.Integer) as wanted:
        return frozenset(conn.scalars(
            sa.select(sub.c.province_code).distinct()
            .join_from(rl, sub, sub.c.submission_id == rl.c.submission_id)
            .where(rl.c.product_id.in_(sa.select(wanted)))).all())


def _rejected_elsewhere(conn: Connection, snaps: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows of the fixed provinces' accepted snapshots that may carry one of
    ``others``'s products forward (same matching key: :func:`carry_forward`)."""
    sr, sub = s.source_record, s.submission
    with _Values(conn, "carry_keys", others["match_key"].dropna().unique().tolist(), sa.Text) as wanted:
        rows = read_frame(conn, _records_query((s.ROW_REJECTED,)).where(
            sr.c.match_key.in_(sa.select(wanted)),
            sub.c.province_code.in_(sorted(set(others["province_code"])))))
    return _as_read(rows)


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
                     timings: dict | None = None, provinces: frozenset[str] | None = None,
                     ) -> tuple[RebuildStats, pd.DataFrame]:
    """Recompute identities and ``product_version`` for ``provinces`` (None: all, the full
    rebuild) and what they reach (:class:`Scope`); returns stats and dedupe's review.
    ``loaded``: the records this transaction has just inserted (not read back). ``timings``:
    filled with seconds per phase (read, dedupe, links, history, versions)."""
    clock = _Clock(timings)
    if provinces is None:
        fill_match_keys(conn, everything=True)
    snaps = accepted_snapshots(conn)
    overrides, next_id = _overrides(conn), _next_product_id(conn)
    scope = read_scope(conn, snaps, provinces, loaded, overrides)
    clock.lap("read")
    kept = scope.kept
    records = kept[ASSIGN_COLUMNS].assign(local=kept["local"].to_numpy())
    result = assign(records, scope.previous[[*KEY, "product_id"]].copy(), overrides, next_id)
    links = _with_stored_rules(result.links[LINK_COLUMNS], scope.previous)
    clock.lap("dedupe")
    new_products = _write_identities(conn, links, scope, result.merges, run_id, next_id, snaps)
    write_review_pairs(conn, result.review, run_id, None if scope.full else scope, snaps)
    clock.lap("links")
    presence = carry_forward(linked_presence(kept, links, snaps), scope.rejected, snaps)
    from ocop.warehouse.decisions import province_choices

    spans, conflicts = resolve_provinces(presence_spans(presence, snaps), province_choices(conn))
    versions = build_versions(spans)
    clock.lap("history")
    touched = None if scope.full else _touched(links, scope.previous)
    _write_versions(conn, versions, conflicts, run_id, touched)
    clock.lap("versions")
    return _stats(conn, new_products), result.review


def _with_stored_rules(links: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Links of fixed records come without rule and score: theirs are the stored ones."""
    missing = links["rule"].isna()
    if not missing.any():
        return links
    stored = links.loc[missing, KEY].merge(previous[[*KEY, "rule", "score"]], on=KEY, how="left")
    rule = links["rule"].to_numpy(dtype=object).copy()
    score = links["score"].to_numpy(dtype=float).copy()
    rule[missing.to_numpy()] = stored["rule"].to_numpy(dtype=object)
    score[missing.to_numpy()] = pd.to_numeric(stored["score"]).to_numpy(dtype=float)
    return links.assign(rule=rule, score=score)


def _touched(links: pd.DataFrame, previous: pd.DataFrame) -> list[int]:
    """Products whose versions this rebuild rewrites: the old and the new ids of its records."""
    ids = set(links["product_id"].astype(int)) | set(previous["product_id"].dropna().astype(int))
    return sorted(ids)


def _stats(conn: Connection, new_products: int) -> RebuildStats:
    pv, pc = s.product_version, s.province_conflict
    return RebuildStats(
        products=conn.scalar(sa.select(sa.func.count(sa.distinct(s.record_link.c.product_id)))),
        new_products=new_products,
        versions=conn.scalar(sa.select(sa.func.count()).select_from(pv)),
        current=conn.scalar(sa.select(sa.func.count()).select_from(pv).where(pv.c.is_current.is_(True))),
        conflicts=conn.scalar(sa.select(sa.func.count(sa.distinct(pc.c.product_id)))),
    )


def _changed_links(links: pd.DataFrame, previous: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(to_write, to_delete)``: links that are new or differ from the stored one, and the
    stored keys among them."""
    both = links.merge(previous[LINK_COLUMNS], on=KEY, how="left", suffixes=("", "_old"), indicator=True)
    differs = both["_merge"].eq("left_only")
    for c in ("product_id", "rule", "score"):
        new, old = both[c], both[f"{c}_old"]
        differs |= ~(new.eq(old).fillna(False) | (new.isna() & old.isna())).astype(bool)
    stored = differs & both["_merge"].eq("both")
    return both.loc[differs, LINK_COLUMNS], both.loc[stored, KEY]


def _delete_keys(conn: Connection, table: sa.Table, keys: pd.DataFrame, prefix: str = "") -> None:
    """Delete the rows of ``table`` whose ``(submission_id, row_id)`` are in ``keys``."""
    cols = (table.c[f"{prefix}submission_id"], table.c[f"{prefix}row_id"])
    rows = list(zip(keys["submission_id"].astype(str), keys["row_id"].astype(int)))
    for start in range(0, len(rows), 400):
        conn.execute(table.delete().where(sa.tuple_(*cols).in_(rows[start:start + 400])))


def _delete_in(conn: Connection, table: sa.Table, column: str, values) -> None:
    values = sorted(set(values))
    if not values:
        return
    with _Values(conn, f"del_{table.name}", values, table.c[column].type.__class__) as wanted:
        conn.execute(table.delete().where(table.c[column].in_(sa.select(wanted))))


def _write_identities(conn: Connection, links: pd.DataFrame, scope: Scope, merges: pd.DataFrame,
                      run_id: str, next_id: int, snaps: pd.DataFrame) -> int:
    """New products, changed links and the scope's merges. Product ids at or above ``next_id``
    are new (ids are never reused); a retired id keeps its ``product`` row."""
    p = s.product
    new_ids = sorted(set(links.loc[links["product_id"] >= next_id, "product_id"].astype(int)))
    insert_frame(conn, p, pd.DataFrame({"product_id": new_ids, "created_at": datetime.now(timezone.utc),
                                        "created_run": run_id}))
    write, stale = _changed_links(links, scope.previous)
    _delete_keys(conn, s.record_link, stale)
    insert_frame(conn, s.record_link, write)
    merges = merges.assign(run_id=run_id)  # fixed provinces' level-1 merges keep their run
    if scope.full:
        conn.execute(s.dedupe_merge.delete())
        insert_frame(conn, s.dedupe_merge, merges)
        return len(new_ids)
    old = sorted(set(scope.previous["product_id"].dropna().astype(int)))
    stored = _stored_merges(conn, old)
    wanted = pd.concat([_fixed_merges(stored, scope, links, snaps), merges], ignore_index=True)
    _replace_changed_merges(conn, stored, wanted)
    return len(new_ids)


_MERGE_FACTS = ["product_id", "a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "rule", "score"]


_PAIR_KEY = ["a_submission_id", "a_row_id", "b_submission_id", "b_row_id"]


def write_review_pairs(conn: Connection, review: pd.DataFrame, run_id: str, scope: Scope | None = None,
                       snaps: pd.DataFrame | None = None) -> None:
    """Store dedupe's borderline pairs in ``review_pair`` (``scope`` None: all of them, replacing
    the table). A scoped rebuild replaces the pairs it recomputes: those of one province it
    re-clusters (level 1), and those across provinces with a record in the scope (level 2 over
    whole components); a fixed province's own pairs stay as stored."""
    rp = s.review_pair
    snaps = accepted_snapshots(conn) if snaps is None else snaps
    if scope is None:
        conn.execute(rp.delete())
    else:
        conn.execute(rp.delete().where(rp.c.a_province == rp.c.b_province,
                                       rp.c.a_province.in_(sorted(scope.provinces))))
        cross = read_frame(conn, sa.select(*[rp.c[c] for c in _PAIR_KEY]).where(rp.c.a_province != rp.c.b_province))
        if not cross.empty:
            inside = set(zip(scope.kept["submission_id"].astype(str), scope.kept["row_id"].astype(int)))
            hit = [(a in inside) or (b in inside) for a, b in zip(
                zip(cross["a_submission_id"].astype(str), cross["a_row_id"].astype(int)),
                zip(cross["b_submission_id"].astype(str), cross["b_row_id"].astype(int)))]
            _delete_pairs(conn, cross[hit])
    if review.empty:
        return
    province = snaps.set_index("submission_id")["province_code"]
    rows = review.drop_duplicates(_PAIR_KEY).assign(
        a_row_id=lambda d: d["a_row_id"].astype(int), b_row_id=lambda d: d["b_row_id"].astype(int),
        a_province=lambda d: d["a_submission_id"].map(province), b_province=lambda d: d["b_submission_id"].map(province),
        run_id=run_id)
    insert_frame(conn, rp, rows[[c.name for c in rp.c]])


def _delete_pairs(conn: Connection, keys: pd.DataFrame) -> None:
    rp = s.review_pair
    rows = [tuple(r) for r in keys[_PAIR_KEY].itertuples(index=False, name=None)]
    for start in range(0, len(rows), 200):
        conn.execute(rp.delete().where(sa.tuple_(*[rp.c[c] for c in _PAIR_KEY]).in_(rows[start:start + 200])))


def stored_review_pairs(conn: Connection) -> pd.DataFrame:
    """The borderline pairs as the last rebuilds left them, highest score first."""
    from ocop.dedupe.assign import REVIEW_COLUMNS

    rp = s.review_pair
    return read_frame(conn, sa.select(*[rp.c[c] for c in REVIEW_COLUMNS])
                      .order_by(rp.c.score.desc(), *[rp.c[c] for c in _PAIR_KEY]))


def _stored_merges(conn: Connection, products: list[int]) -> pd.DataFrame:
    m = s.dedupe_merge
    if not products:
        return pd.DataFrame(columns=["merge_id", *_MERGE_FACTS, "run_id"])
    with _Values(conn, "old_products", products, sa.Integer) as wanted:
        return read_frame(conn, sa.select(*m.c).where(m.c.product_id.in_(sa.select(wanted))).order_by(m.c.merge_id))


def _merge_tokens(df: pd.DataFrame) -> pd.Series:
    parts = [df[c].astype(str) for c in _MERGE_FACTS[:-1]] + [df["score"].astype(float).round(6).astype(str)]
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def _replace_changed_merges(conn: Connection, stored: pd.DataFrame, wanted: pd.DataFrame) -> None:
    """Make the stored merges of the scope's products equal ``wanted``, writing only the rows
    that differ (a province's exact-key merges are most of them and rarely change)."""
    if stored.empty:  # nothing stored to keep or delete (say, a first load): write them all
        insert_frame(conn, s.dedupe_merge, wanted[[*_MERGE_FACTS, "run_id"]])
        return
    have = _merge_tokens(stored) if not stored.empty else pd.Series([], dtype=object)
    want = _merge_tokens(wanted) if not wanted.empty else pd.Series([], dtype=object)
    gone = stored.loc[~have.isin(want).to_numpy(), "merge_id"] if not stored.empty else []
    _delete_in(conn, s.dedupe_merge, "merge_id", [int(i) for i in gone])
    if not wanted.empty:
        insert_frame(conn, s.dedupe_merge, wanted[~want.isin(have).to_numpy()][[*_MERGE_FACTS, "run_id"]])


def _fixed_merges(stored: pd.DataFrame, scope: Scope, links: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """The stored level-1 merges of the fixed provinces' products (both records in one province
    outside the scope's provinces), under their products' new ids."""
    if stored.empty:
        return stored.drop(columns=["merge_id"])
    rows = stored.drop(columns=["merge_id"])
    province = snaps.set_index("submission_id")["province_code"]
    pa_, pb_ = rows["a_submission_id"].map(province), rows["b_submission_id"].map(province)
    rows = rows[(pa_ == pb_) & ~pa_.isin(scope.provinces)]
    new_id = links.set_index(KEY)["product_id"]
    at = pd.MultiIndex.from_arrays([rows["a_submission_id"], rows["a_row_id"].astype(int)])
    return rows.assign(product_id=new_id.reindex(at).to_numpy())


def linked_presence(kept: pd.DataFrame, links: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    """One row per (snapshot, product) from linked records; duplicates collapse to the first row."""
    p = (kept.merge(links[[*KEY, "product_id"]], on=KEY)
         .merge(snaps[["submission_id", "seq"]], on="submission_id"))
    return p.sort_values(KEY).drop_duplicates(["submission_id", "product_id"], ignore_index=True)


def _identity_keys(df: pd.DataFrame) -> pd.Series:
    """Exact owner + product key used to match a rejected row to a product: the stored
    ``match_key``, computed where a frame lacks it."""
    if "match_key" in df and df["match_key"].notna().all():
        return df["match_key"].astype(object)
    return match_keys(df)


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
            ordered = live.sort_values(by, ascending=ascending)
            best = ordered.iloc[[0]]
            wanted = (choices or {}).get(int(product_id))
            if wanted is not None and (live["province_code"] == wanted).any():
                best = live[live["province_code"] == wanted].iloc[[0]]
            chosen.append(best.assign(valid_from=start, valid_to=end))
            if live["province_code"].nunique() > 1:
                latest = ordered.drop_duplicates("province_code").sort_values("province_code")
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


def _write_versions(conn: Connection, versions: pd.DataFrame, conflicts: pd.DataFrame, run_id: str,
                   touched: list[int] | None = None) -> None:
    """Replace the versions and conflict periods of the ``touched`` products (None: all)."""
    pc = s.province_conflict
    detected_query = sa.select(pc.c.product_id, pc.c.detected_run)
    if touched is None:
        detected = dict(conn.execute(detected_query).all())
        conn.execute(s.product_version.delete())
        conn.execute(pc.delete())
    else:
        with _Values(conn, "touched", touched, sa.Integer) as wanted:
            detected = dict(conn.execute(detected_query.where(pc.c.product_id.in_(sa.select(wanted)))).all())
            conn.execute(s.product_version.delete().where(s.product_version.c.product_id.in_(sa.select(wanted))))
            conn.execute(pc.delete().where(pc.c.product_id.in_(sa.select(wanted))))
    insert_frame(conn, s.product_version, versions)
    conflicts = conflicts.assign(detected_run=[detected.get(int(i), run_id) for i in conflicts["product_id"]])
    insert_frame(conn, pc, conflicts)


def _previous_links(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, sa.select(*[s.record_link.c[c] for c in LINK_COLUMNS]))


def borderline_pairs(conn: Connection, assign: Callable) -> pd.DataFrame:
    """The review list dedupe gives for the current records, without writing anything."""
    previous = _previous_links(conn)
    result = assign(_records(conn, s.ROW_KEPT)[ASSIGN_COLUMNS].copy(), previous[[*KEY, "product_id"]].copy(),
                    _overrides(conn), _next_product_id(conn))
    return result.review
