"""Warehouse load throughput: ``consolidate`` of N synthetic source records on PostgreSQL versus a
bare ``COPY`` of the same rows into an unindexed table.

    .venv/bin/python bench/warehouse_load.py bench [--url postgresql://...] [--records 100000] [--repeat 3]
    .venv/bin/python bench/warehouse_load.py load --url URL --records N [--seed S]

``bench`` creates a scratch database per repeat, runs both side by side in it and prints the
median of the repeats. What is compared (throughput = source records / second):

- **consolidate**: one ``consolidate(engine, bundles)`` call of the N source records into an
  empty, migrated warehouse, end to end (lock, idempotency check, every insert, identities,
  SCD2 rebuild, data-quality run, commit). Its **load step** is the part that writes rows:
  submissions + source records + issues + rule counts (``load``), products + record links
  (``links``) and product versions + conflicts (``versions``), from ``ConsolidationResult.timings``.
- **bare COPY**: the same N source-record rows (already in database input form, as
  ``bulk.prepare`` gives them) serialised and COPYed by psycopg into ``bare_copy_arrow``, a table with
  source_record's columns and no key, index, constraint nor trigger, then committed.
- **pandas COPY** (shown for reference only): the same bare COPY with the CSV written by pandas
  ``to_csv``, as this script did when the issue was filed; slower client, same server work.

``ratio`` = throughput / bare COPY throughput (= bare seconds / seconds), printed for the whole
consolidate, the load step, and the source records alone (phase ``load``); the issue's acceptance
is ratio >= 0.5 at 1,000,000 records (docs/warehouse.md, "Performance").
``load`` (used by tests/test_warehouse_kill.py) migrates URL and consolidates N records once.
Product identities come from an exact owner + product name stand-in, so the figure measures the
warehouse (load, links, SCD2 rebuild), not the fuzzy deduplication.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import statistics
import sys
import time
import uuid

import numpy as np
import pandas as pd
import psycopg

from ocop.reference.provinces import PROVINCES
from ocop.text import fold
from ocop.warehouse import Bundle, consolidate, make_engine, upgrade
from ocop.warehouse.bulk import copy_rows, prepare
from ocop.warehouse.schema import source_record

KEY = ["submission_id", "row_id"]
SNAPSHOTS = ("2025-03-31", "2025-06-30")


def exact_assign(records, previous_links, overrides, next_product_id):
    """Exact fold(owner)+fold(product_name) clusters; a cluster keeps its smallest previous id."""
    recs = records.merge(previous_links, on=KEY, how="left")
    recs["key"] = recs["owner"].map(fold) + "|" + recs["product_name"].map(fold)
    ids = pd.to_numeric(recs["product_id"]).groupby(recs["key"], sort=True).min()
    fresh = ids.isna()
    ids[fresh] = np.arange(next_product_id, next_product_id + int(fresh.sum()))
    links = recs[KEY].assign(product_id=recs["key"].map(ids).astype(int), rule="exact", score=1.0)
    empty = pd.DataFrame(columns=["product_id", "a_submission_id", "a_row_id", "b_submission_id",
                                  "b_row_id", "rule", "score"])
    return argparse.Namespace(links=links, merges=empty, review=pd.DataFrame(),
                              next_product_id=next_product_id + int(fresh.sum()))


def _register(rng: np.random.Generator, province: str, n: int, snapshot: int) -> pd.DataFrame:
    """One province's register at one snapshot: products 0..n-1, a few dropped, re-rated,
    added and rejected in the second snapshot."""
    ids = np.arange(n + (n // 20 if snapshot else 0))
    if snapshot:
        ids = ids[rng.random(len(ids)) > 0.05]
    rating = np.where(ids % 4 == 0, "4", "3")
    if snapshot:
        rating = np.where(rng.random(len(ids)) < 0.05, "4", rating)
    day = pd.Timestamp("2022-01-01") + pd.to_timedelta(ids % 1000, unit="D")
    outcome = np.where(rng.random(len(ids)) < (0.01 if snapshot else 0), "rejected", "accepted")
    return pd.DataFrame({
        "row_id": np.arange(len(ids)), "sheet": "Danh sách", "excel_row": np.arange(len(ids)) + 5,
        "owner": [f"HTX {province} số {i // 2}" for i in ids],
        "product_name": [f"Sản phẩm {i}" for i in ids],
        "owner_type": "HTX", "rating_class": rating, "group_code": ids % 6 + 1,
        "decision_no": [f"{i}/QĐ-UBND" for i in ids],
        "decision_date": day.strftime("%Y-%m-%d"),
        "expiry_date": (day + pd.DateOffset(months=36)).strftime("%Y-%m-%d"),
        "issuing_level": "provincial", "status": "valid", "outcome": outcome,
        "raw_json": [f'{{"Tên sản phẩm": "Sản phẩm {i}"}}' for i in ids],
    })


def synthetic_bundles(records: int, seed: int = 0) -> list[Bundle]:
    """About ``records`` source records: 34 provinces x 2 snapshots."""
    rng = np.random.default_rng(seed)
    per_register = max(1, records // (2 * len(PROVINCES)))
    bundles = []
    for province in PROVINCES:
        for snap, day in enumerate(SNAPSHOTS):
            recs = _register(rng, province, per_register, snap)
            sha = hashlib.sha256(f"{seed}/{province}/{day}/{len(recs)}".encode()).hexdigest()
            counts = recs["outcome"].value_counts()
            meta = {"submission_id": f"{province}-{day}-{sha[:8]}", "province_code": province,
                    "file_name": f"ocop_{province}_{day}.xlsx", "sha256": sha, "landed_path": None,
                    "snapshot_date": day, "snapshot_date_source": "title",
                    "received_at": f"{day}T12:00:00+07:00", "sheet": "Danh sách", "file_outcome": "accepted",
                    "file_rule": None, "file_message": None, "rows_received": len(recs),
                    "rows_accepted": int(counts.get("accepted", 0)), "rows_warned": 0,
                    "rows_rejected": int(counts.get("rejected", 0)), "legacy_encoding": None, "columns": {}}
            issues = pd.DataFrame({"row_id": recs.loc[recs["outcome"] == "rejected", "row_id"],
                                   "rule": "R_RATING_INVALID", "severity": "reject"})
            bundles.append(Bundle(meta, recs, issues))
    return bundles


def load(url: str, records: int, seed: int) -> float:
    """Migrate ``url`` and consolidate the synthetic set once; returns the seconds taken."""
    upgrade(url)
    bundles = synthetic_bundles(records, seed)
    engine = make_engine(url)
    print("consolidating", flush=True)
    start = time.perf_counter()
    result = consolidate(engine, bundles, f"bench-{seed}", assign=exact_assign)
    elapsed = time.perf_counter() - start
    engine.dispose()
    print(f"loaded {len(result.loaded)} submissions, {result.stats.products} products in {elapsed:.2f} s",
          flush=True)
    return elapsed


LOAD_PHASES = ("load", "links", "versions")


def timed_consolidate(url: str, bundles: list[Bundle]) -> tuple[float, dict]:
    """Seconds of one end-to-end ``consolidate`` into the empty warehouse at ``url``, and its phases."""
    upgrade(url)
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        result = consolidate(engine, bundles, "bench", assign=exact_assign)
        return time.perf_counter() - start, result.timings
    finally:
        engine.dispose()


def bare_copy(url: str, bundles: list[Bundle], writer: str = "arrow") -> tuple[float, int]:
    """Seconds to COPY the bundles' source-record rows (already in database input form) into an
    unindexed, unconstrained table and commit, and the rows copied. ``writer``: ``"arrow"``
    serialises as ``bulk`` does (pyarrow CSV); ``"pandas"`` with pandas ``to_csv``, as this
    script did when the issue was filed (a slower client, the same server work)."""
    frames = [b.records.assign(submission_id=b.meta["submission_id"]) for b in bundles if len(b.records)]
    data = prepare(source_record, pd.concat(frames, ignore_index=True))
    table = f"bare_copy_{writer}"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"CREATE TABLE {table} AS SELECT * FROM source_record WITH NO DATA")
        conn.commit()
        cols = ", ".join(f'"{c}"' for c in data.columns)
        start = time.perf_counter()
        if writer == "arrow":
            copy_rows(conn, source_record, table, cols, data)
        else:
            buf = io.StringIO()
            data.to_csv(buf, header=False, index=False, na_rep=r"\N")
            with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
                copy.write(buf.getvalue())
        conn.commit()
        return time.perf_counter() - start, len(data)


def bench(server: str, records: int, repeat: int = 3) -> None:
    bundles = synthetic_bundles(records, 0)
    n = sum(len(b.records) for b in bundles)
    runs = []
    for i in range(repeat):
        name = f"ocop_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
        try:
            whole, phases = timed_consolidate(url, bundles)
            copy_s, _ = bare_copy(url, bundles)
            pandas_s, _ = bare_copy(url, bundles, writer="pandas")
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        load_s = sum(phases.get(p, 0.0) for p in LOAD_PHASES)
        runs.append({"consolidate": whole, "load step": load_s, "bare COPY": copy_s, "pandas COPY": pandas_s,
                     **phases})
        print(f"run {i + 1}: consolidate {whole:.2f} s, load step {load_s:.2f} s, bare COPY {copy_s:.2f} s "
              f"(pandas to_csv {pandas_s:.2f} s), "
              f"ratio {copy_s / whole:.2f} (load step {copy_s / load_s:.2f}); phases "
              + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()), flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ratio = statistics.median(r["bare COPY"] / r["consolidate"] for r in runs)
    load_ratio = statistics.median(r["bare COPY"] / r["load step"] for r in runs)
    source_ratio = statistics.median(r["bare COPY"] / r["load"] for r in runs)
    print(f"source records: {n:,} (median of {repeat})")
    totals = ("consolidate", "load step", "bare COPY", "pandas COPY")
    for k in totals:
        print(f"{k + ':':13s}{med[k]:7.2f} s ({n / med[k]:,.0f} records/s)")
    print("phases:      " + ", ".join(f"{k} {med[k]:.2f}" for k in runs[0] if k not in totals))
    print(f"ratio (throughput / bare COPY): consolidate {ratio:.2f}, load step {load_ratio:.2f}, "
          f"source records alone (phase load) {source_ratio:.2f} (target >= 0.5)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    b.add_argument("--records", type=int, default=100_000)
    b.add_argument("--repeat", type=int, default=3)
    ld = sub.add_parser("load")
    ld.add_argument("--url", required=True)
    ld.add_argument("--records", type=int, required=True)
    ld.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "bench":
        bench(args.url, args.records, args.repeat)
    else:
        load(args.url, args.records, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
