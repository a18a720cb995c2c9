"""Incremental consolidation benchmark (issue 15 point 4): one new Hà Nội file into warehouses
of about 35k, 250k and 1M source records, as a whole ``ocop run`` process, on SQLite and
PostgreSQL; wall time and peak memory of the process tree.

    .venv/bin/python bench/incremental.py                 # build (once, cached) + measure, prints a table
    .venv/bin/python bench/incremental.py --check         # ... and exit 1 when an acceptance target is missed
    .venv/bin/python bench/incremental.py --sizes 35k 250k --backends sqlite --repeat 1
    .venv/bin/python bench/incremental.py --build-only    # only (re)build the cached warehouses
    .venv/bin/python bench/incremental.py --report        # re-print the latest saved run

**Warehouses.** ``35k`` is the national sample (``ocop.generate``, seed 2025, scale 1: 69 files,
34 provinces, snapshots 2025-06-30 and 2025-12-31) loaded by a real ``ocop run``. ``250k`` and
``1M`` extend that history by 12 and 54 monthly snapshots of every province (month ends from
2026-01-31), written straight into the database (:func:`build_raw`, :func:`evolve`): each month copies
every province's latest snapshot (every row: accepted, warned and rejected) with a month's
evolution — about 1 % of products lapse, 1.1 % are newly listed (an owner of the province
with a product name drawn from elsewhere), certificates expiring that month are renewed
(85 %, new decision), 0.5 % of 3-star products are re-rated 4, 0.3 % of names get one typo
(``ocop.generate.noise.typo``) — as submissions, source records, their issues and per-rule counts
and one ``dq_run`` per month. The derived tables (product, record_link, dedupe_merge,
product_version, province_conflict) are then produced by the code under test itself:
``ocop.warehouse.rebuild_all`` (``ocop rebuild``), which is the full rebuild that incremental
consolidation must equal (issue 15 point 2). So a warehouse is exactly what the code under test
gives for that history, whatever tables it derives.

**The new file.** The next month of Hà Nội (province 01, ~3,400 rows) after the warehouse's latest
snapshot, evolved the same way (so mostly products already in the warehouse, some re-rated,
renamed, renewed, lapsed or new), written as Hà Nội writes its register (its generator layout:
title block with the date, headers, column order) from the records' raw cell values.

**Cache.** ``bench/cache/incremental/`` (git-ignored): ``raw-<key>/`` holds the template run's
home, the history databases before any rebuild (SQLite files) and the Hà Nội files, keyed by the
code that produces them (generator, ingest, validate, pipeline, migrations, this file's build
version); ``built-<key>/`` the rebuilt warehouses, keyed also by ``ocop.warehouse`` and
``ocop.dedupe``. PostgreSQL keeps the same as databases ``ocop_bench_inc_raw_<key>_<size>`` and
``ocop_bench_inc_built_<key>_<size>`` (stale keys are dropped). Each measured run starts from a copy
(SQLite: file copy; PostgreSQL: ``CREATE DATABASE ... TEMPLATE``), dropped afterwards.

**Measure.** ``python -m ocop.cli run --inbox <Hà Nội file> --home <tmp> --warehouse URL`` in a
child; wall time; peak memory = the peak, polled every 20 ms with psutil, of the summed RSS of the
``ocop run`` process and all its descendants (forked workers included; shared pages counted in
each process, so an upper bound), and the largest single process's ``ru_maxrss``; CPU time
(user + system of ``ocop run`` and its reaped descendants; the PostgreSQL server's own work is
not in it), which the machine's load hardly inflates: on a shared machine compare CPU ratios
too. Sizes run interleaved in each repeat (same load for all); the median of ``--repeat`` runs
is reported.
Results go to ``bench/cache/runs/incremental-<timestamp>.json``; ``bench/run.py --report`` renders
the latest into ``bench/results.md``.

Targets (issue 15, checked by ``--check`` on one run): time at 1M <= 1.3 x time at 35k on each
database (wall seconds; ``--ratio-on cpu``: CPU seconds of the process tree, for a machine loaded
by other work — on PostgreSQL that leaves out the server's own work); the 35k run <= 4 s wall;
peak memory (process tree) at 1M <= 600 MB. A missed target prints a ``MISSED`` line; with
``--check`` the exit status is then 1.

If the warehouse gains columns or tables: ``month_frames`` copies every ``source_record`` and
``submission`` column from the template's rows and rewrites only the ones ``evolve`` changes, so
a column derived from the record text (a stored matching key, say) must be recomputed there;
tables derived from the records must be filled by ``rebuild_all``; a table written per
submission at load time must be added to ``Writer.write``. Bump ``BUILD_VERSION`` when the
history builder changes (the cache keys hash the package code, not this file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache" / "incremental"
RUNS = BENCH / "cache" / "runs"
PACKAGE = ROOT / "include" / "ocop"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_PREFIX = "ocop_bench_inc_"
SEED = 2025
PROVINCE = "01"                      # Hà Nội
BUILD_VERSION = "2"                  # bump when the history builder changes
# Months of history after the national sample (2 snapshots, ~35k records; ~17.9k per month).
SIZES = {"35k": 0, "250k": 12, "1M": 54}
TARGETS = {"ratio_1M_35k": 1.3, "wall_35k_s": 4.0, "peak_1M_mb": 600.0}

# Monthly evolution of every province's register (shares of its kept rows).
LAPSE_SHARE = 0.010
NEW_SHARE = 0.011
RENEW_SHARE = 0.85        # of certificates expiring in the month
RERATE_SHARE = 0.005      # of 3-star products
TYPO_SHARE = 0.003
KEPT = ("accepted", "warning")
# Row rules that hold for every row of a file whatever its content (copied to new rows from the
# row they are drawn from); rules that depend on the snapshot date are recomputed every month.
FILE_WIDE_RULES = {"W_OWNER_TYPE_INFERRED", "W_LEGACY_CONVERTED"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- cache keys

def _tree_hash(*parts: Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        files = sorted(part.rglob("*.py")) if part.is_dir() else [part]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def raw_key() -> str:
    """What the template run and the history depend on."""
    h = hashlib.sha256(BUILD_VERSION.encode())
    h.update(_tree_hash(PACKAGE / "generate", PACKAGE / "ingest", PACKAGE / "validate", PACKAGE / "reference",
                        PACKAGE / "pipeline.py", PACKAGE / "config.py", PACKAGE / "text.py",
                        PACKAGE / "warehouse" / "migrations", PACKAGE / "warehouse" / "schema.py").encode())
    return h.hexdigest()[:10]


def built_key() -> str:
    """... and the code that derives products, links and versions."""
    h = hashlib.sha256(raw_key().encode())
    h.update(_tree_hash(PACKAGE).encode())
    return h.hexdigest()[:10]


# --------------------------------------------------------------------------- databases

def pg_url(server: str, name: str) -> str:
    return f"{server.rsplit('/', 1)[0]}/{name}"


def _pg_admin(server: str, sql: str) -> list:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        cur = admin.execute(sql)
        return cur.fetchall() if cur.description else []


def pg_exists(server: str, name: str) -> bool:
    return bool(_pg_admin(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def pg_copy(server: str, source: str, target: str) -> None:
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    _pg_admin(server, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def pg_drop(server: str, name: str) -> None:
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REGISTRY = CACHE / "pg_databases.json"  # the cached databases this checkout made (its own to drop)


def _registered() -> set[str]:
    return set(json.loads(REGISTRY.read_text(encoding="utf-8"))) if REGISTRY.exists() else set()


def pg_register(name: str) -> None:
    REGISTRY.parent.mkdir(parents=True, exist_ok=True)
    REGISTRY.write_text(json.dumps(sorted(_registered() | {name})), encoding="utf-8")


def pg_drop_stale(server: str, keep: set[str]) -> None:
    """Drop the cached databases this checkout made for other code versions (never another
    checkout's: the server may be shared by several worktrees running this bench)."""
    mine = _registered()
    for (name,) in _pg_admin(server, f"SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}%'"):
        if name in mine and name not in keep:
            log(f"dropping stale bench database {name}")
            pg_drop(server, name)
    REGISTRY.write_text(json.dumps(sorted(mine & keep)), encoding="utf-8") if REGISTRY.exists() else None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a (WAL) SQLite file: checkpoint, then copy the main file."""
    import sqlite3

    con = sqlite3.connect(source)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


# --------------------------------------------------------------------------- history

def _month_ends(n: int, after: dt.date) -> list[dt.date]:
    out, y, m = [], after.year, after.month
    for _ in range(n + 1):
        m += 1
        if m > 12:
            y, m = y + 1, 1
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
    return out


def _plus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _rerated(raw: str | None) -> str | None:
    """A rating cell of a 3-star product written as the province writes a 4-star one."""
    if not isinstance(raw, str) or not raw:
        return None
    if raw == "★★★":
        return "★★★★"
    if "3" in raw:
        return raw.replace("3", "4", 1)
    if raw.startswith("Ba "):
        return "Bốn " + raw[3:]
    return None


def latest_registers(url: str) -> tuple[dict, dict, dict]:
    """From the template warehouse: every province's latest accepted submission (meta),
    its rows (every source_record column, plus ``origin``) and their issues by origin row."""
    import pandas as pd
    import sqlalchemy as sa

    from ocop.warehouse import make_engine, schema as s
    from ocop.warehouse.bulk import read_frame

    engine = make_engine(url)
    with engine.connect() as conn:
        subs = read_frame(conn, sa.select(s.submission).where(s.submission.c.outcome == s.ACCEPTED))
        subs["snapshot_date"] = subs["snapshot_date"].astype(str)
        subs = subs.sort_values(["province_code", "snapshot_date", "received_at"]).drop_duplicates(
            "province_code", keep="last")
        ids = list(subs["submission_id"])
        records = read_frame(conn, sa.select(s.source_record).where(s.source_record.c.submission_id.in_(ids)))
        issue_cols = [c for c in s.record_issue.c if c.name != "issue_id"]
        issues = read_frame(conn, sa.select(*issue_cols).where(s.record_issue.c.submission_id.in_(ids)))
    engine.dispose()
    for c in s.RECORD_DATES:
        records[c] = records[c].map(lambda v: None if v is None or pd.isna(v) else str(v)).astype(object)
    records["origin"] = records["submission_id"] + "#" + records["row_id"].astype(str)
    records["fresh"] = False
    issues["origin"] = issues["submission_id"] + "#" + issues["row_id"].astype("Int64").astype(str)
    expired = issues[issues["rule"] == "W_EXPIRED"]
    expired = (expired.iloc[0][["rule", "field", "column_letter", "severity", "message_vi"]].to_dict()
               if len(expired) else None)
    metas = {r["province_code"]: r for r in subs.to_dict("records")}
    regs = {code: records[records["submission_id"] == m["submission_id"]].sort_values("row_id").reset_index(drop=True)
            for code, m in metas.items()}
    return metas, regs, {"rows": issues[issues["row_id"].notna()], "file": issues[issues["row_id"].isna()],
                         "expired": expired}


def evolve(reg, code: str, month: int, snapshot: dt.date, names: list[str]):
    """The province's register one month later (see the module docstring). ``reg``: the previous
    month's rows; returns new rows (row ids still the previous ones; renumbered on write)."""
    import numpy as np
    import pandas as pd

    from ocop.generate import noise
    from ocop.text import fold

    rng = np.random.default_rng([SEED, month, int(code)])
    reg = reg.copy()
    kept = reg["outcome"].isin(KEPT).to_numpy()
    n = len(reg)
    reg = reg[~(kept & (rng.random(n) < LAPSE_SHARE))].reset_index(drop=True)
    kept = reg["outcome"].isin(KEPT).to_numpy()
    n = len(reg)
    decided = dt.date(snapshot.year, snapshot.month, 10)
    iso, expiry_iso = decided.isoformat(), _plus_years(decided, 3).isoformat()
    dmy, expiry_dmy = decided.strftime("%d/%m/%Y"), _plus_years(decided, 3).strftime("%d/%m/%Y")

    def new_decision(mask) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        numbers = [f"{5000 + 3 * month + int(j)}/QĐ-UBND" for j in rng.integers(0, 3, len(idx))]
        combined = reg["decision_no_raw"].iloc[idx].fillna("").str.contains(" ngày ").to_numpy()
        raw_no = [f"{no} ngày {decided.day}/{decided.month}/{decided.year}" if c else no
                  for no, c in zip(numbers, combined)]
        reg.loc[idx, "decision_no"] = numbers
        reg.loc[idx, "decision_no_raw"] = raw_no
        reg.loc[idx, "decision_date"] = iso
        reg.loc[idx, "expiry_date"] = expiry_iso
        had_date = reg["decision_date_raw"].iloc[idx].notna().to_numpy()
        reg.loc[idx[had_date], "decision_date_raw"] = dmy
        had_expiry = reg["expiry_raw"].iloc[idx].notna().to_numpy()
        reg.loc[idx[had_expiry], "expiry_raw"] = expiry_dmy
        expired = reg["status"].iloc[idx].eq("expired").to_numpy()
        reg.loc[idx[expired], "status"] = "valid"

    expiring = kept & reg["expiry_date"].notna().to_numpy() & (reg["expiry_date"].fillna("9999").to_numpy() <= snapshot.isoformat())
    expiring &= ~reg["status"].eq("revoked").to_numpy()
    new_decision(expiring & (rng.random(n) < RENEW_SHARE))
    rerate = kept & reg["rating_class"].eq("3").to_numpy() & (rng.random(n) < RERATE_SHARE)
    raw4 = reg["rating_raw"].map(_rerated)
    rerate &= raw4.notna().to_numpy()
    reg.loc[rerate, "rating_raw"] = raw4[rerate]
    reg.loc[rerate, "rating_class"] = "4"
    new_decision(rerate)
    for i in np.flatnonzero(kept & (rng.random(n) < TYPO_SHARE) & reg["product_name"].notna().to_numpy()):
        t = noise.typo(reg.at[i, "product_name"], rng)
        if t is not None:
            reg.at[i, "product_name"] = t[0]
    # Newly listed: owners of the province, product names seen elsewhere.
    k = int(round(NEW_SHARE * kept.sum()))
    if k:
        donors = reg[kept & reg["rating_class"].isin(["3", "4"]).to_numpy()]
        if len(donors):
            fresh = donors.iloc[rng.integers(0, len(donors), k)].copy().reset_index(drop=True)
            # a name the owner does not list yet (else it would be a duplicate row of the file)
            mine = reg[reg["owner"].isin(set(fresh["owner"]))]
            listed = set(zip(mine["owner"], mine["product_name"].map(lambda v: fold(v) if isinstance(v, str) else v)))
            picked = []
            for owner in fresh["owner"]:
                for _ in range(20):
                    name = names[rng.integers(len(names))]
                    if (owner, fold(name)) not in listed:
                        break
                listed.add((owner, fold(name)))
                picked.append(name)
            fresh["product_name"] = picked
            fresh["fresh"] = True  # keeps the donor's origin, for the file-wide rules only
            fresh["outcome"] = "accepted"
            fresh["status"] = "valid"
            start = len(reg)
            reg = pd.concat([reg, fresh], ignore_index=True)
            new_decision(np.arange(len(reg)) >= start)
    return reg


def month_frames(meta: dict, reg, issues: dict, snapshot: dt.date, run_id: str):
    """(submission row, source_record frame, record_issue frame, dq_rule_count frame) of one
    province's month. Each row's issues are its origin row's (a new row: only the file-wide ones),
    with the date rules redone for this snapshot as validation would: ``R_DATE_AFTER_SNAPSHOT``
    holds while the decision is after the snapshot, ``W_EXPIRED`` on a row not rejected whose
    expiry is on or before it. The outcome follows: rejected with an ``R_`` rule, warning with a
    ``W_`` rule, accepted otherwise."""
    import pandas as pd

    code = meta["province_code"]
    sha = hashlib.sha256(f"ocop-bench-incremental:{code}:{snapshot}".encode()).hexdigest()
    sid = f"{code}-{sha[:16]}"
    day = snapshot.isoformat()
    first_row = int(reg["excel_row"].min()) if reg["excel_row"].notna().any() else 2
    records = reg.assign(submission_id=sid, row_id=range(len(reg)), excel_row=range(first_row, first_row + len(reg)))
    rows = records[["origin", "fresh", "row_id", "excel_row", "sheet", "decision_date", "expiry_date"]]
    iss = rows.merge(issues["rows"].drop(columns=["submission_id", "row_id", "excel_row", "sheet"]), on="origin")
    iss = iss[~iss["fresh"] | iss["rule"].isin(FILE_WIDE_RULES)]
    late = iss["rule"].eq("R_DATE_AFTER_SNAPSHOT") & iss["decision_date"].notna() & (iss["decision_date"].fillna("") <= day)
    iss = iss[~late & iss["rule"].ne("W_EXPIRED")]
    rejected = set(iss.loc[iss["rule"].str.startswith("R_"), "row_id"])
    expired = rows[rows["expiry_date"].notna() & (rows["expiry_date"].fillna("9999") <= day) & ~rows["row_id"].isin(rejected)]
    if len(expired) and issues["expired"] is not None:
        iss = pd.concat([iss, expired.assign(**issues["expired"])], ignore_index=True)
    warned = set(iss.loc[iss["rule"].str.startswith("W_"), "row_id"])
    records["outcome"] = ["rejected" if r in rejected else "warning" if r in warned else "accepted"
                          for r in records["row_id"]]
    file_issues = issues["file"][issues["file"]["submission_id"] == meta["submission_id"]]
    iss = pd.concat([iss.drop(columns=["origin", "fresh", "decision_date", "expiry_date"]), file_issues.drop(columns=["origin"])],
                    ignore_index=True).assign(submission_id=sid).sort_values(["row_id", "rule"], ignore_index=True)
    counts = records["outcome"].value_counts()
    received = dt.datetime.combine(snapshot + dt.timedelta(days=1), dt.time(8, 0))
    sub = {**meta, "submission_id": sid, "sha256": sha, "file_name": f"DS_OCOP_{code}_{snapshot}.xlsx",
           "landed_path": None, "snapshot_date": day, "snapshot_date_source": "title",
           "received_at": received, "processed_at": received, "run_id": run_id,
           "rows_received": len(records), "rows_accepted": int(counts.get("accepted", 0)),
           "rows_warned": int(counts.get("warning", 0)), "rows_rejected": int(counts.get("rejected", 0))}
    rules = iss.groupby("rule").size().rename("n").reset_index().assign(run_id=run_id, submission_id=sid)
    return sub, records.drop(columns=["origin", "fresh"]), iss, rules


def write_history(template_url: str, urls: list[str], months: int, at_month=None) -> dict:
    """Extend the warehouses at ``urls`` (copies of the template) by ``months`` monthly snapshots
    of every province, grown from the template's latest registers; ``at_month(month, writers,
    state)`` is called after each month. Returns the state (registers, metas, names, dates)."""
    import pandas as pd

    metas, regs, issues = latest_registers(template_url)
    names = sorted({n for r in regs.values() for n in r.loc[r["outcome"].isin(KEPT), "product_name"].dropna()})
    dates = _month_ends(months, max(dt.date.fromisoformat(m["snapshot_date"]) for m in metas.values()))
    state = {"metas": metas, "regs": regs, "issues": issues, "names": names, "dates": dates}
    writers = [Writer(u) for u in urls]
    clock = time.perf_counter()
    for month in range(1, months + 1):
        snap = dates[month - 1]
        run_id = f"bench-history-{snap}"
        at = dt.datetime.combine(snap + dt.timedelta(days=1), dt.time(8, 0))
        subs, recs, iss, rules = [], [], [], []
        for code in sorted(regs):
            reg = evolve(regs[code], code, month, snap, names)
            sub, r, i, c = month_frames(metas[code], reg, issues, snap, run_id)
            reg["outcome"] = r["outcome"].to_numpy()
            regs[code] = reg
            subs.append(sub), recs.append(r), iss.append(i), rules.append(c)
        frames = [pd.concat(x, ignore_index=True) for x in (recs, iss, rules)]
        for w in writers:
            w.write(subs, *frames, run_id=run_id, at=at)
        if month % 6 == 0:
            log(f"history month {month} ({snap}): {len(frames[0])} records, {time.perf_counter() - clock:.0f} s")
        if at_month:
            at_month(month, writers, state)
    for w in writers:
        w.close()
    return state


def next_file(state: dict, month: int, folder: Path, code: str = PROVINCE):
    """The province's register of the month after ``month`` (months of history written), as a
    file under ``folder/<code>/``; returns (path, rows as the history would store them)."""
    snap = state["dates"][month]
    reg = evolve(state["regs"][code], code, month + 1, snap, state["names"])
    _, rows, _, _ = month_frames(state["metas"][code], reg, state["issues"], snap, "next")
    reg["outcome"] = rows["outcome"].to_numpy()
    return hanoi_file(state["metas"][code], reg, snap, folder), rows


class Writer:
    """Inserts a month of history into one warehouse (SQLite file or PostgreSQL database)."""

    def __init__(self, url: str):
        from ocop.warehouse import make_engine

        self.url, self.engine = url, make_engine(url)

    def write(self, subs, records, issues, rules, run_id: str, at: dt.datetime) -> None:
        import pandas as pd

        from ocop.warehouse import schema as s
        from ocop.warehouse.bulk import insert_frame

        subs = pd.DataFrame(subs)
        with self.engine.begin() as conn:
            insert_frame(conn, s.submission, subs)
            insert_frame(conn, s.source_record, records)
            insert_frame(conn, s.record_issue, issues)
            insert_frame(conn, s.dq_rule_count, rules)
            insert_frame(conn, s.dq_run, pd.DataFrame([{
                "run_id": run_id, "started_at": at, "finished_at": at, "submissions": len(subs),
                **{c: int(subs[c].sum()) for c in ("rows_received", "rows_accepted", "rows_warned", "rows_rejected")}}]))

    def close(self) -> None:
        self.engine.dispose()


def hanoi_file(meta: dict, reg, snapshot: dt.date, folder: Path) -> Path:
    """Hà Nội's register ``reg`` at ``snapshot`` written as Hà Nội writes it (its generator layout)."""
    import numpy as np

    from ocop.generate import render
    from ocop.generate.layout import design_layouts
    from ocop.ingest.legacy import from_unicode

    lay = design_layouts(np.random.default_rng(SEED))[meta["province_code"]]
    width = len(lay.fields)
    title, merges = render._title(lay, snapshot, width)
    header, header_merges = render._header(lay, len(title) + 1)
    data = []
    for i, row in enumerate(reg.to_dict("records")):
        cells = []
        for f in lay.fields:
            if f == "row_number":
                cells.append(i + 1)
            elif f and f in row and row[f] is not None and row[f] == row[f]:
                cells.append(row[f])
            else:
                cells.append(None)
        data.append(cells)
    rows = title + header + data + render._tail(lay, len(data), width)
    if lay.legacy:
        rows = [[from_unicode(v, lay.legacy) if isinstance(v, str) else v for v in r] for r in rows]
    grid = render.SheetGrid(rows, merges + header_merges, len(title) + len(header) + 1)
    path = folder / meta["province_code"] / lay.file_name(snapshot, 9)
    path.parent.mkdir(parents=True, exist_ok=True)
    (render._write_csv if lay.fmt == "csv" else render._write_workbook)(path, lay, grid)
    return path


def _run_cli(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ocop.cli", *args]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}:\n{res.stderr[-4000:]}")
    return res


def build_raw(folder: Path, backends: list[str], pg: str | None, key: str) -> None:
    """Template runs, the history (SQLite files and/or PostgreSQL databases) and the Hà Nội
    files, under ``folder`` (see the module docstring)."""
    sys.path.insert(0, str(BENCH))
    import run as bench_run  # the national sample, generated once (bench/cache/seed2025-scale1)

    sample = bench_run.dataset(SEED, 1.0)
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / "sqlite-35k.db"
    urls = {}
    if not template.exists():  # the template is always built on SQLite: it feeds the history
        log("template: ocop run of the national sample into SQLite")
        tmp = template.with_suffix(".tmp.db")
        tmp.unlink(missing_ok=True)
        _run_cli(["run", "--inbox", str(sample / "inbox"), "--home", str(folder / "home-sqlite"),
                  "--warehouse", sqlite_url(tmp)])
        sqlite_copy(tmp, template)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    if "sqlite" in backends:
        urls["sqlite"] = sqlite_url(folder / "sqlite-work.db")
        sqlite_copy(template, folder / "sqlite-work.db")
    if "postgresql" in backends:
        name35 = f"{PG_PREFIX}raw_{key}_35k"
        if not pg_exists(pg, name35):
            log("template: ocop run of the national sample into PostgreSQL")
            pg_drop(pg, name35 + "_tmp")
            _pg_admin(pg, f'CREATE DATABASE "{name35}_tmp"')
            _run_cli(["run", "--inbox", str(sample / "inbox"), "--home", str(folder / "home-pg"),
                      "--warehouse", pg_url(pg, name35 + "_tmp")])
            _pg_admin(pg, f'ALTER DATABASE "{name35}_tmp" RENAME TO "{name35}"')
        pg_register(name35)
        name = f"{PG_PREFIX}raw_{key}_1M_tmp"
        pg_copy(pg, name35, name)
        pg_register(name)
        urls["postgresql"] = pg_url(pg, name)

    at_size = {m: size for size, m in SIZES.items()}

    def save_hanoi(size: str, month: int, state: dict) -> None:
        path, rows = next_file(state, month, folder / f"inbox-{size}")
        log(f"{size}: Hà Nội file {path.name} ({len(rows)} rows, snapshot {state['dates'][month]})")

    def at_month(month: int, writers: list, state: dict) -> None:
        if month not in at_size:
            return
        size = at_size[month]
        save_hanoi(size, month, state)
        for b, w in zip(urls, writers):
            w.engine.dispose()
            if b == "sqlite":
                sqlite_copy(folder / "sqlite-work.db", folder / f"sqlite-{size}.db")
            else:
                pg_copy(pg, w.url.rsplit("/", 1)[1], f"{PG_PREFIX}raw_{key}_{size}")
                pg_register(f"{PG_PREFIX}raw_{key}_{size}")

    save_hanoi("35k", 0, write_history(sqlite_url(template), [], 0))
    write_history(sqlite_url(template), list(urls.values()), max(SIZES.values()), at_month)
    (folder / "sqlite-work.db").unlink(missing_ok=True)
    if "postgresql" in backends:
        pg_drop(pg, f"{PG_PREFIX}raw_{key}_1M_tmp")
    (folder / "done").write_text(json.dumps({"backends": sorted(set(backends) | set(_done(folder)))}), encoding="utf-8")


def _done(folder: Path) -> list[str]:
    f = folder / "done"
    return json.loads(f.read_text(encoding="utf-8"))["backends"] if f.exists() else []


def rebuild(url: str) -> dict:
    """``ocop rebuild`` of a warehouse in a child process (time, peak RSS)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ocop-bench-rebuild-") as home:
        res = measure_child([sys.executable, "-m", "ocop.cli", "rebuild", "--warehouse", url, "--home", home],
                            timeout=7200)
    log(f"rebuilt {url.rsplit('/', 1)[-1]} in {res['wall_s']:.0f} s, peak {res['peak_tree_mb']:.0f} MB")
    return {"seconds": time.perf_counter() - start, "peak_tree_mb": res["peak_tree_mb"]}


def ensure_built(backends: list[str], pg: str | None, sizes: list[str], pinned: str | None = None) -> dict:
    """The built warehouses (building what is missing); ``{(backend, size): url or path}``.
    ``pinned``: use the warehouses built under that key instead of the current code's (they
    may then not be what this code's ``rebuild_all`` gives; nothing is removed)."""
    rk, bk = raw_key(), pinned or built_key()
    if pinned:
        built = CACHE / f"built-{bk}"
        raw = CACHE / f"raw-{(built / 'raw_key').read_text(encoding='utf-8').strip()}"  # its Hà Nội files
        info = json.loads((built / "build.json").read_text(encoding="utf-8"))
        log(f"using the warehouses built under key {bk} (--built-key), history {raw.name}")
        return {**{(b, s): (built / f"sqlite-{s}.db" if b == "sqlite" else f"{PG_PREFIX}built_{bk}_{s}")
                   for b in backends for s in sizes}, "raw": raw, "build": info, "key": bk}
    log(f"cache keys: raw {rk}, built {bk}")
    raw, built = CACHE / f"raw-{rk}", CACHE / f"built-{bk}"
    missing = [b for b in backends if b not in _done(raw)]
    if missing:
        log(f"building the history ({', '.join(missing)}) into {raw.relative_to(ROOT)} (once per code version)")
        build_raw(raw, missing, pg, rk)
    for old in CACHE.glob("*-*"):
        if old.is_dir() and old.name not in (raw.name, built.name) and not (old / "keep").exists():
            log(f"removing stale cache {old.name}")
            shutil.rmtree(old, ignore_errors=True)
    if pg and "postgresql" in backends:
        pg_drop_stale(pg, {f"{PG_PREFIX}{k}_{s}" for k in (f"raw_{rk}", f"built_{bk}") for s in SIZES})
    built.mkdir(parents=True, exist_ok=True)
    (built / "raw_key").write_text(rk, encoding="utf-8")
    out, info_path = {}, built / "build.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
    for b in backends:
        for size in sizes:
            if b == "sqlite":
                target = built / f"sqlite-{size}.db"
                if not target.exists():
                    tmp = built / f"sqlite-{size}.tmp.db"
                    sqlite_copy(raw / f"sqlite-{size}.db", tmp)
                    info[f"{b}-{size}"] = rebuild(sqlite_url(tmp))
                    sqlite_copy(tmp, target)
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
                out[(b, size)] = target
            else:
                name = f"{PG_PREFIX}built_{bk}_{size}"
                if not pg_exists(pg, name):
                    pg_copy(pg, f"{PG_PREFIX}raw_{rk}_{size}", name + "_tmp")
                    info[f"{b}-{size}"] = rebuild(pg_url(pg, name + "_tmp"))
                    _pg_admin(pg, f'ALTER DATABASE "{name}_tmp" RENAME TO "{name}"')
                pg_register(name)  # (also when it already existed: built by an older bench)
                out[(b, size)] = name
            info_path.write_text(json.dumps(info, indent=1), encoding="utf-8")
    out["raw"] = raw
    out["build"] = info
    out["key"] = bk
    return out


# --------------------------------------------------------------------------- measure

def measure_child(cmd: list[str], timeout: float | None = None, env: dict | None = None) -> dict:
    """Run ``cmd``; wall time, CPU time (user + system of the child and its waited descendants,
    ``os.wait4``: what the machine's load does not inflate), peak summed RSS of its process tree
    (psutil, 20 ms polls) and the largest single process's ru_maxrss."""
    import psutil

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=env)
        peak, stop = [0], threading.Event()

        def poll() -> None:
            try:
                p = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not stop.is_set():
                total = 0
                try:
                    for q in [p, *p.children(recursive=True)]:
                        try:
                            total += q.memory_info().rss
                        except psutil.NoSuchProcess:
                            pass
                except psutil.NoSuchProcess:
                    break
                peak[0] = max(peak[0], total)
                stop.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if timer:
            timer.cancel()
        stop.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        killed = timeout and wall >= timeout
        raise RuntimeError(("timed out after %.0f s: " % timeout if killed else "") +
                           f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_tree_mb": round(peak[0] / 2**20, 1),
            "max_single_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout, "stderr": stderr}


def _facts(url: str, run_id: str | None) -> dict:
    import sqlalchemy as sa

    from ocop.warehouse import make_engine, schema as s

    engine = make_engine(url)
    with engine.connect() as conn:
        out = {"source_records": conn.scalar(sa.select(sa.func.count()).select_from(s.source_record)),
               "submissions": conn.scalar(sa.select(sa.func.count()).select_from(s.submission)),
               "product_versions": conn.scalar(sa.select(sa.func.count()).select_from(s.product_version))}
        if run_id:
            sub = s.submission
            new = conn.execute(sa.select(sub.c.submission_id, sub.c.outcome, sub.c.rows_received,
                                         sa.cast(sub.c.snapshot_date, sa.String)).where(sub.c.run_id == run_id)).all()
            out["new_submissions"] = [tuple(r) for r in new]
            out["new_products"] = conn.scalar(sa.select(sa.func.count()).select_from(s.product)
                                              .where(s.product.c.created_run == run_id))
            if new:
                rl = s.record_link
                out["new_linked"] = conn.scalar(sa.select(sa.func.count()).select_from(rl)
                                                .where(rl.c.submission_id == new[0][0]))
    engine.dispose()
    return out


def measure_one(backend: str, size: str, source, inbox: Path, pg: str | None, timeout: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ocop-bench-inc-"))
    name = None
    try:
        if backend == "sqlite":
            sqlite_copy(source, work / "warehouse.db")
            url = sqlite_url(work / "warehouse.db")
        else:
            name = f"{PG_PREFIX}work_{uuid.uuid4().hex[:8]}"
            pg_copy(pg, source, name)
            url = pg_url(pg, name)
        before = _facts(url, None)
        uptime = load()
        res = measure_child([sys.executable, "-m", "ocop.cli", "run", "--inbox", str(inbox), "--home",
                             str(work / "home"), "--warehouse", url], timeout=timeout)
        run_id = res["stdout"].split()[1].rstrip(":") if res["stdout"].startswith("run ") else None
        after = _facts(url, run_id)
        timings = {}
        if run_id and (work / "home" / "runs" / run_id / "timings.json").exists():
            timings = json.loads((work / "home" / "runs" / run_id / "timings.json").read_text(encoding="utf-8"))
        out = {"backend": backend, "size": size, "wall_s": res["wall_s"], "cpu_s": res["cpu_s"],
               "peak_tree_mb": res["peak_tree_mb"],
               "max_single_mb": res["max_single_mb"], "load_before": uptime, "load_after": load(),
               "source_records_before": before["source_records"], "submissions_before": before["submissions"],
               "versions_before": before["product_versions"], "timings": timings, "run_id": run_id,
               "stdout": res["stdout"].strip(), **{k: v for k, v in after.items() if k.startswith("new")},
               "source_records_after": after["source_records"]}
        log(f"{backend} {size}: {out['wall_s']:.2f} s (CPU {out['cpu_s']:.2f} s), tree {out['peak_tree_mb']:.0f} MB "
            f"(single {out['max_single_mb']:.0f} MB), load {uptime}; new products {out.get('new_products')}")
        return out
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log(f"{backend} {size}: FAILED {str(exc)[:300]}")
        return {"backend": backend, "size": size, "error": str(exc)[:2000], "load_before": load()}
    finally:
        if name:
            pg_drop(pg, name)
        shutil.rmtree(work, ignore_errors=True)


def summarize(runs: list[dict], backends: list[str], sizes: list[str]) -> dict:
    out = {}
    for b in backends:
        for size in sizes:
            ok = [r for r in runs if r["backend"] == b and r["size"] == size and "error" not in r]
            if not ok:
                err = next((r["error"] for r in runs if r["backend"] == b and r["size"] == size), "not run")
                out[f"{b}/{size}"] = {"error": err.splitlines()[0][:200]}
                continue
            med = statistics.median(r["wall_s"] for r in ok)
            out[f"{b}/{size}"] = {
                "wall_s": med, "walls": [round(r["wall_s"], 2) for r in ok],
                "cpu_s": statistics.median(r["cpu_s"] for r in ok) if all("cpu_s" in r for r in ok) else None,
                "peak_tree_mb": max(r["peak_tree_mb"] for r in ok), "max_single_mb": max(r["max_single_mb"] for r in ok),
                "source_records": ok[0]["source_records_before"], "rows": ok[0]["source_records_after"] - ok[0]["source_records_before"],
                "new_products": ok[0].get("new_products"), "loads": [r["load_before"] for r in ok],
                "stages": {k: statistics.median(r["timings"].get(k, 0.0) for r in ok)
                           for k in sorted({k for r in ok for k in r.get("timings", {})})}}
    return out


def verdicts(summary: dict, backends: list[str], ratio_on: str = "wall") -> list[tuple[bool, str]]:
    """The issue's targets; ``ratio_on="cpu"`` checks the 1M/35k ratio on CPU seconds instead of
    wall seconds (a machine shared with other work inflates wall time by its load)."""
    lines = []
    key = "cpu_s" if ratio_on == "cpu" else "wall_s"
    for b in backends:
        small, big = summary.get(f"{b}/35k", {}), summary.get(f"{b}/1M", {})
        if "wall_s" in small:
            ok = small["wall_s"] <= TARGETS["wall_35k_s"]
            lines.append((ok, f"{b}: 35k one-file run {small['wall_s']:.2f} s (target <= {TARGETS['wall_35k_s']:g} s)"))
        if small.get(key) and big.get(key):
            ratio = big[key] / small[key]
            lines.append((ratio <= TARGETS["ratio_1M_35k"],
                          f"{b}: {'CPU' if key == 'cpu_s' else 'wall'} time 1M / 35k = {ratio:.2f} "
                          f"(target <= {TARGETS['ratio_1M_35k']:g})"))
            lines.append((big["peak_tree_mb"] <= TARGETS["peak_1M_mb"],
                          f"{b}: peak memory at 1M {big['peak_tree_mb']:.0f} MB (target <= {TARGETS['peak_1M_mb']:g} MB)"))
        elif "error" in big:
            lines.append((False, f"{b}: 1M run failed: {big['error']}"))
    return lines


def table(run: dict) -> str:
    s, backends, sizes = run["summary"], run["backends"], run["sizes"]
    out = ["| database | warehouse | source records before | new rows | wall s (median) | runs s | CPU s (median) | "
           "peak MB, process tree | max single process MB | new products | load (1/5/15 min) before each run |",
           "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    for b in backends:
        for size in sizes:
            r = s.get(f"{b}/{size}", {})
            if "error" in r:
                out.append(f"| {b} | {size} | | | failed: {r['error']} | | | | | | |")
                continue
            out.append(f"| {b} | {size} | {r['source_records']:,} | {r['rows']:,} | {r['wall_s']:.2f} | "
                       f"{', '.join(f'{w:.2f}' for w in r['walls'])} | {_num(r.get('cpu_s'))} | {r['peak_tree_mb']:.0f} | {r['max_single_mb']:.0f} | "
                       f"{r['new_products']} | {'; '.join(r['loads'])} |")
    out += ["", "| database | wall 250k / 35k | wall 1M / 35k (target <= 1.3) | CPU 250k / 35k | CPU 1M / 35k |",
            "|---|---:|---:|---:|---:|"]
    for b in backends:
        cells = []
        for key in ("wall_s", "cpu_s"):
            base = s.get(f"{b}/35k", {}).get(key)
            for size in ("250k", "1M"):
                w = s.get(f"{b}/{size}", {}).get(key)
                cells.append(f"{w / base:.2f}" if base and w else "—")
        out.append(f"| {b} | {' | '.join(cells)} |")
    out += ["", "Where the wall time goes (medians, from the run's `timings.json`; *rest* = interpreter start, "
            "imports and exit):", "", "| database | warehouse | parse | validate (GX import included) | report | "
            "consolidate | rest |", "|---|---|---:|---:|---:|---:|---:|"]
    for b in backends:
        for size in sizes:
            r = s.get(f"{b}/{size}", {})
            st = r.get("stages")
            if not st:
                continue
            parse = sum(v for k, v in st.items() if k.startswith("parse") or k.startswith("import_gx"))
            rest = r["wall_s"] - sum(st.values())
            # ocop run on two workers consolidates while the reports are written: that stage is
            # consolidate's (it waits for the reports before committing).
            report = sum(v for k, v in st.items() if k in ("report", "data_docs_while_reporting", "bundle"))
            cons = sum(v for k, v in st.items() if k.startswith("consolidate"))
            out.append(f"| {b} | {size} | {parse:.2f} | {st.get('validate', 0):.2f} | {report:.2f} | "
                       f"{cons:.2f} | {rest:.2f} |")
    return "\n".join(out)


def _num(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def report_section(run: dict) -> list[str]:
    """Markdown for bench/results.md (rendered by bench/run.py)."""
    if run.get("runs"):  # summarised again: a run saved by an older version of this script renders as now
        run = {**run, "summary": summarize(run["runs"], run["backends"], run["sizes"])}
    lines = [f"## `incremental` run, {run['date']}", "",
             f"Command: `{run['command']}` ({run.get('seconds', 0):.0f} s in all); code at `{run.get('commit', '?')}`; "
             f"load average at start {run['load_start']}, at the end {run.get('load_end', '?')} "
             "(2 cores shared with other work).", "",
             "One new Hà Nội file (~3,400 rows, the month after the warehouse's latest snapshot) as a whole "
             "`ocop run` process (`bench/incremental.py`, see its docstring).", "", table(run), ""]
    if run.get("build"):
        lines += ["Warehouse build (`ocop rebuild` of the extended history, once per code version): " +
                  ", ".join(f"{k} {v['seconds']:.0f} s / {v['peak_tree_mb']:.0f} MB" for k, v in run["build"].items()), ""]
    lines += ["Targets: " + "; ".join(("met: " if ok else "MISSED: ") + text for ok, text in run.get("verdicts", [])), ""]
    return lines


BLOCK_START = "<!-- incremental: written by bench/incremental.py, kept by bench/run.py -->"
BLOCK_END = "<!-- /incremental -->"


def results_block(text: str) -> str | None:
    """The incremental block of results.md ``text`` (markers included), if any."""
    if BLOCK_START in text and BLOCK_END in text:
        return text[text.index(BLOCK_START):text.index(BLOCK_END) + len(BLOCK_END)]
    return None


def render_block(run: dict) -> str:
    return "\n".join([BLOCK_START, *report_section(run), BLOCK_END])


def write_results(run: dict, results: Path = BENCH / "results.md") -> None:
    """Put this run's section into bench/results.md (replacing the previous one; before the
    hand-written notes the first time), leaving the rest of the file as it is."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    block, old = render_block(run), results_block(text)
    if old is not None:
        text = text.replace(old, block)
    else:
        marker = "<!-- notes: hand-written below this line, kept by bench/run.py -->"
        text = text.replace(marker, block + "\n\n" + marker) if marker in text else text + "\n" + block + "\n"
    results.write_text(text, encoding="utf-8")
    log(f"wrote the incremental section of {results.relative_to(ROOT)}")


def latest() -> dict | None:
    found = sorted(RUNS.glob("incremental-*.json"))
    return json.loads(found[-1].read_text(encoding="utf-8")) if found else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--pg", default=os.environ.get("OCOP_BENCH_PG", PG_SERVER),
                        help="PostgreSQL server URL for the bench databases ('' to skip PostgreSQL)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (interleaved); the median is reported")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one `ocop run` is killed")
    parser.add_argument("--check", action="store_true", help="exit 1 when an acceptance target is missed")
    parser.add_argument("--ratio-on", choices=["wall", "cpu"], default="wall",
                        help="seconds the 1M/35k target is checked on (cpu: on a machine loaded by other work)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--built-key", help="measure on the warehouses built under this key (see the log), not on "
                                            "the current code's: skips the rebuild after a code change that does "
                                            "not change what rebuild_all gives")
    parser.add_argument("--report", action="store_true", help="print the latest saved run")
    parser.add_argument("--no-results", action="store_true", help="do not write the run into bench/results.md")
    args = parser.parse_args(argv)
    if args.report:
        run = latest()
        print("\n".join(report_section(run)) if run else "no saved incremental run")
        return 0
    backends = [b for b in args.backends if b != "postgresql" or args.pg]
    started = time.perf_counter()
    run = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "command": " ".join([".venv/bin/python", "bench/incremental.py", *argv]), "load_start": load(),
           "backends": backends, "sizes": args.sizes,
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip()}
    built = ensure_built(backends, args.pg or None, args.sizes, args.built_key)
    run["build"], run["built_key"] = built["build"], built["key"]
    if args.build_only:
        return 0
    runs = []
    for i in range(args.repeat):
        for size in args.sizes:
            for b in backends:
                inbox = built["raw"] / f"inbox-{size}"
                runs.append(measure_one(b, size, built[(b, size)], inbox, args.pg, args.timeout))
    run["runs"] = runs
    run["summary"] = summarize(runs, backends, args.sizes)
    run["verdicts"] = verdicts(run["summary"], backends, args.ratio_on)
    run["load_end"] = load()
    run["seconds"] = time.perf_counter() - started
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / f"incremental-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")
    print("\n" + table(run) + "\n")
    missed = False
    for ok, text in run["verdicts"]:
        print(("ok      " if ok else "MISSED  ") + text)
        missed |= not ok
    log(f"saved {path.relative_to(ROOT)}")
    if not args.no_results:
        write_results(run)
    if args.check and missed:
        print("incremental bench: acceptance target missed (see MISSED lines above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
