"""Loading processed submissions into the warehouse: ``consolidate`` is one transaction.

A :class:`Bundle` is what the earlier stages produce for one submission (meta, record frame
with ``outcome``, issues). ``consolidate(engine, bundles, run_id)``:

1. takes the warehouse write lock (PostgreSQL ``pg_advisory_xact_lock``; SQLite
   ``BEGIN IMMEDIATE``), so concurrent consolidations run one after the other;
2. skips bundles whose ``(province_code, sha256)`` is already loaded (idempotent);
3. inserts submissions, source records, issues and data-quality figures (COPY / executemany).
   A submission whose id is not in the warehouse (checked under the lock, before any insert)
   and whose row ids are distinct cannot conflict with anything: its source records are copied
   straight into ``source_record``. Any other goes through staging + ``ON CONFLICT DO NOTHING``;
4. recomputes product identities and rebuilds ``product_version`` (:mod:`ocop.warehouse.rebuild`),
   using the records just inserted from memory (:class:`~ocop.warehouse.rebuild.Loaded`) and
   reading back only the earlier ones.

Everything commits together or not at all: a failed or killed run leaves the previous state.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ocop.warehouse import schema as s
from ocop.warehouse.bulk import insert_frame, prepare
from ocop.warehouse.db import is_postgres
from ocop.warehouse.rebuild import Loaded, RebuildStats, match_keys, rebuild_products, stored_review_pairs

ADVISORY_LOCK_KEY = 0x0C0B_2025  # one lock for "the warehouse is being written"

ISSUE_COLUMNS = ["row_id", "excel_row", "sheet", "rule", "field", "column_letter", "severity", "message_vi"]
_META_COLUMNS = [
    "submission_id", "province_code", "file_name", "sha256", "landed_path", "snapshot_date",
    "snapshot_date_source", "received_at", "sheet", "file_rule", "file_message", "rows_received",
    "rows_accepted", "rows_warned", "rows_rejected", "legacy_encoding",
]


@dataclass
class Bundle:
    """One processed submission: ``meta`` dict, ``records`` (record frame + ``outcome``; empty
    for a file-level rejection) and ``issues`` (one row per rule hit)."""

    meta: dict
    records: pd.DataFrame
    issues: pd.DataFrame


@dataclass
class ConsolidationResult:
    run_id: str
    loaded: list[str]                     # submission ids inserted by this run
    skipped: list[str]                    # submission ids whose file was already loaded
    stats: RebuildStats | None = None     # None when nothing new was loaded
    review: pd.DataFrame = field(default_factory=pd.DataFrame)  # borderline pairs from dedupe
    # Wall seconds per phase: load (submissions, source records, issues, rule counts), read,
    # dedupe, links (product, record_link, dedupe_merge), history (SCD2 in pandas), versions
    # (product_version, province_conflict), dq, commit.
    timings: dict[str, float] = field(default_factory=dict)


def _default_assign() -> Callable:
    from ocop.dedupe import assign_products

    return assign_products


def consolidate(engine: Engine, bundles: Iterable[Bundle], run_id: str,
                assign: Callable | None = None,
                before_commit: Callable[[], object] | None = None) -> ConsolidationResult:
    """Load ``bundles`` and rebuild products and versions, in one transaction.

    ``before_commit``: called last inside the transaction, the write lock held; should it
    raise, nothing of the run is committed (``ocop run`` waits there for the reports it writes
    meanwhile, so a run whose reports fail loads nothing)."""
    assign = assign or _default_assign()
    bundles = list(bundles)
    timings: dict[str, float] = {}
    with _no_cyclic_gc(), engine.connect() as conn:
        conn.execution_options(write_lock=True)
        with conn.begin():
            take_write_lock(conn)
            new, skipped = _new_bundles(conn, bundles)
            if not new:
                if before_commit is not None:
                    before_commit()
                return ConsolidationResult(run_id, [], skipped)
            started = _utcnow()
            clock = time.perf_counter()
            loaded = load_submissions(conn, new, run_id, processed_at=started)
            timings["load"] = time.perf_counter() - clock
            changed = frozenset(b.meta["province_code"] for b in new if b.meta.get("file_outcome") == s.ACCEPTED)
            stats, review = rebuild_products(conn, run_id, assign, loaded, timings, provinces=changed)
            clock = time.perf_counter()
            record_dq_run(conn, run_id, started)
            timings["dq"] = time.perf_counter() - clock
            if before_commit is not None:
                clock = time.perf_counter()
                before_commit()
                timings["before_commit"] = time.perf_counter() - clock
            clock = time.perf_counter()
        timings["commit"] = time.perf_counter() - clock
    return ConsolidationResult(run_id, [b.meta["submission_id"] for b in new], skipped, stats, review, timings)


@contextmanager
def _no_cyclic_gc():
    """Pause Python's cyclic garbage collector for the block (restored after, even on error).

    A consolidation holds frames with object columns (millions of references) while it
    allocates many small objects, so the collector's full passes, which visit every one of
    those references, cost about a tenth of its time; it creates hardly any reference cycles
    (64 objects left for the collector on the national sample), and everything else is freed
    as usual when its last reference goes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def take_write_lock(conn: Connection) -> None:
    """Serialise writers. SQLite already holds its lock from ``BEGIN IMMEDIATE``."""
    if is_postgres(conn):
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _new_bundles(conn: Connection, bundles: list[Bundle]) -> tuple[list[Bundle], list[str]]:
    """Bundles whose file is not yet in the warehouse (nor earlier in this list), and the rest."""
    seen = {tuple(r) for r in conn.execute(sa.select(s.submission.c.province_code, s.submission.c.sha256))}
    new, skipped = [], []
    for b in bundles:
        key = (b.meta["province_code"], b.meta["sha256"])
        if key in seen:
            skipped.append(b.meta["submission_id"])
        else:
            new.append(b)
            seen.add(key)
    return new, skipped


def submission_frame(bundles: list[Bundle], run_id: str, processed_at: datetime) -> pd.DataFrame:
    rows = []
    for b in bundles:
        m = b.meta
        row = {c: m.get(c) for c in _META_COLUMNS}
        row.update(outcome=m["file_outcome"], run_id=run_id, processed_at=processed_at,
                   columns_json=json.dumps(m.get("columns") or {}, ensure_ascii=False))
        rows.append(row)
    return pd.DataFrame(rows)


def _with_submission(frames: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    parts = [df.assign(submission_id=sid) for sid, df in frames if not df.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def fresh_bundles(conn: Connection, bundles: list[Bundle]) -> tuple[list[Bundle], list[Bundle]]:
    """Split ``bundles`` (already new by ``(province_code, sha256)``) into those whose records
    cannot conflict — submission id neither in the warehouse nor earlier in the list, row ids
    distinct — and the others (loaded with ``ON CONFLICT DO NOTHING``, as before)."""
    ids = [b.meta["submission_id"] for b in bundles]
    sub = s.submission
    taken = set(conn.scalars(sa.select(sub.c.submission_id).where(sub.c.submission_id.in_(ids)))) if ids else set()
    fresh, guarded = [], []
    for b in bundles:
        sid = b.meta["submission_id"]
        rows_unique = b.records.empty or b.records["row_id"].is_unique
        (fresh if sid not in taken and rows_unique else guarded).append(b)
        taken.add(sid)
    return fresh, guarded


def load_submissions(conn: Connection, bundles: list[Bundle], run_id: str, processed_at: datetime) -> Loaded:
    """Insert submissions, their source records, issues and per-rule counts (set-based).
    Returns the records inserted straight from memory, for the rebuild."""
    fresh, guarded = fresh_bundles(conn, bundles)
    insert_frame(conn, s.submission, submission_frame(bundles, run_id, processed_at), skip_existing=True)
    records = _keyed(_with_submission([(b.meta["submission_id"], b.records) for b in fresh]))
    records = prepare(s.source_record, records) if not records.empty else records
    insert_frame(conn, s.source_record, records, prepared=True)
    insert_frame(conn, s.source_record, _keyed(_with_submission([(b.meta["submission_id"], b.records) for b in guarded])),
                 skip_existing=True)
    issues = _with_submission([(b.meta["submission_id"], b.issues.reindex(columns=ISSUE_COLUMNS))
                               for b in bundles])
    insert_frame(conn, s.record_issue, issues)
    insert_frame(conn, s.dq_rule_count, rule_counts(bundles, run_id))
    return Loaded(submission_ids=frozenset(b.meta["submission_id"] for b in fresh), records=records)


def _keyed(records: pd.DataFrame) -> pd.DataFrame:
    """Records with their ``match_key`` (the stored matching key, see migration 0005)."""
    if records.empty or "owner" not in records or "product_name" not in records:
        return records
    return records.assign(match_key=match_keys(records))


def rule_counts(bundles: list[Bundle], run_id: str) -> pd.DataFrame:
    """``(run_id, submission_id, rule, n)``: issues per rule, and the file rule of a rejected file."""
    rows = []
    for b in bundles:
        sid = b.meta["submission_id"]
        counts = b.issues["rule"].value_counts() if "rule" in b.issues else pd.Series(dtype=int)
        rows += [{"submission_id": sid, "rule": r, "n": int(n)} for r, n in counts.items()]
        rule = b.meta.get("file_rule")
        if rule and rule not in counts.index:
            rows.append({"submission_id": sid, "rule": rule, "n": 1})
    return pd.DataFrame(rows, columns=["submission_id", "rule", "n"]).assign(run_id=run_id)


def record_dq_run(conn: Connection, run_id: str, started_at: datetime) -> None:
    """(Re)write the run's totals from the submissions it loaded (set-based)."""
    sub, dq = s.submission, s.dq_run
    first = conn.scalar(sa.select(dq.c.started_at).where(dq.c.run_id == run_id)) or started_at
    conn.execute(dq.delete().where(dq.c.run_id == run_id))
    totals = (sa.select(sa.literal(run_id), sa.literal(first, sa.DateTime), sa.literal(_utcnow(), sa.DateTime),
                        sa.func.count(), *[sa.func.sum(sub.c[c]) for c in
                                           ("rows_received", "rows_accepted", "rows_warned", "rows_rejected")])
              .where(sub.c.run_id == run_id))
    conn.execute(dq.insert().from_select(
        ["run_id", "started_at", "finished_at", "submissions", "rows_received", "rows_accepted",
         "rows_warned", "rows_rejected"], totals))



def record_override(engine: Engine, row: dict, run_id: str, assign: Callable | None = None) -> RebuildStats:
    """Store a Ministry decision on a pair of records (a ``dedupe_override`` row, see
    ``ocop.dedupe.review.override_row``) and rebuild products with it, in one transaction.
    Overrides are applied on every later rebuild too."""
    return record_overrides(engine, [row], run_id, assign)


def record_overrides(engine: Engine, rows: list[dict], run_id: str, assign: Callable | None = None,
                     then: Callable[[Connection], object] | None = None) -> RebuildStats:
    """Store several decisions (one answer in Airflow that keeps N records apart is N(N-1)/2
    pairs) and rebuild once, in one transaction under the write lock. The rebuild is scoped,
    as a consolidation's is (``ocop.warehouse.rebuild.read_scope``): the provinces of the
    records the decisions name, and the products elsewhere those reach. A pair's decision
    changes the clustering of its own records' provinces only (level 1 inside a province,
    level 2 across them), so that equals a full rebuild (tested: tests/test_warehouse_
    incremental.py). ``then(conn)`` runs after, in the same transaction."""
    assign = assign or _default_assign()
    values = [{**row, "created_at": datetime.fromisoformat(row["created_at"]).astimezone(timezone.utc)
               .replace(tzinfo=None)} for row in rows]
    sids = sorted({r["a_submission_id"] for r in rows} | {r["b_submission_id"] for r in rows})
    with engine.connect() as conn:
        conn.execution_options(write_lock=True)
        with conn.begin():
            take_write_lock(conn)
            if values:
                conn.execute(s.dedupe_override.insert(), values)
            provinces = frozenset(conn.scalars(sa.select(s.submission.c.province_code).distinct()
                                               .where(s.submission.c.submission_id.in_(sids))).all())
            stats, _ = rebuild_products(conn, run_id, assign, provinces=provinces)
            if then is not None:
                then(conn)
    return stats


def rebuild_all(engine: Engine, run_id: str, assign: Callable | None = None,
                first: Callable[[Connection], object] | None = None) -> RebuildStats:
    """Recompute every product identity and the whole history from the stored records, under
    the write lock, in one transaction (``ocop rebuild``: after a change of the matching rules
    or a schema migration that recreates derived tables). ``first(conn)`` runs before, in the
    same transaction. Loading nothing new, it gives what the last consolidation would have."""
    assign = assign or _default_assign()
    with engine.connect() as conn:
        conn.execution_options(write_lock=True)
        with conn.begin():
            take_write_lock(conn)
            if first is not None:
                first(conn)
            stats, _ = rebuild_products(conn, run_id, assign)
    return stats


def review_pairs(engine: Engine) -> pd.DataFrame:
    """Dedupe's borderline pairs over the records as they are now, highest score first: what
    the rebuilds stored (``review_pair``, migration 0006), read without running dedupe."""
    with engine.connect() as conn:
        return stored_review_pairs(conn)
