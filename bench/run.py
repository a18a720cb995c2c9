"""Benchmarks: how fast, how big, against what (every stage timed on the same generated files).

    .venv/bin/python bench/run.py --quick          # scale 0.3, SQLite + PostgreSQL, all baselines (< 2 min)
    .venv/bin/python bench/run.py --full           # scales 1 and 3 (override: --scales 1 3 10)
    .venv/bin/python bench/run.py --report         # rewrite bench/results.md + bench/scaling.png from saved runs

Data sets come from ``ocop.generate.generate(out, seed=2025, scale=X)`` and are cached under
``bench/cache/seed<seed>-scale<X>/`` (git-ignored). Each measurement runs in its own child process
and its peak resident set is that child's ``ru_maxrss`` (``os.wait4``):

* ``stages`` child: read+parse (``parse_file`` per file, as ``pipeline.process_submission`` calls
  it), validate (``validate``), consolidate on SQLite and on PostgreSQL (``ocop.warehouse.consolidate``;
  the time spent inside ``assign_products`` is measured by wrapping it and reported as *dedupe*,
  the rest as *load*), ``counts_as_of`` on both, then the baselines that need the parsed frames:
  a bare psycopg 3 ``COPY`` of the same source-record rows into an unindexed table, and a GX
  validation of one ``ExpectColumnValuesToNotBeNull(product_name)`` on each file's record frame.
  Peak RSS after each stage is the child's running peak (it never decreases).
* ``readers`` child: bare ``python_calamine`` read of every workbook (first sheet, ``to_python()``)
  and bare openpyxl read-only read of every .xlsx/.xlsm.
* ``ocop run`` end to end via the CLI, on SQLite (and on PostgreSQL with ``--warehouse``).
* ``--full`` only: read+parse of one 100,000-row workbook against a bare calamine read of it,
  interleaved in this process (``bench/big_submission.py``): on the national sample's files
  (~500 rows each) fixed per-file costs weigh most; this shows the throughput on a large file.

Ratios are throughput ratios on the same file subset (calamine/openpyxl cannot read CSV;
openpyxl only reads .xlsx/.xlsm): e.g. parse/calamine = (rows/s of parse_file on the files
calamine can read) / (rows/s of the bare calamine read of those files). Results are saved as
JSON in ``bench/cache/runs/`` and rendered into ``bench/results.md`` + ``bench/scaling.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
RUNS = CACHE / "runs"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
OPENPYXL_SUFFIXES = {".xlsx", ".xlsm"}
NOTES_MARKER = "<!-- notes: hand-written below this line, kept by bench/run.py -->"
TARGETS = {
    "e2e_sqlite_national_s": 10.0,      # national sample (scale 1) end to end via the CLI on SQLite
    "e2e_vs_bare_read": 25.0,           # ... and at most 25x a bare calamine read of the same files
    "parse_vs_calamine": 0.6,           # read+parse throughput >= 0.6 x bare calamine
    "load_vs_copy": 0.5,                # load throughput >= 0.5 x bare COPY
}


# --------------------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def dataset(seed: int, scale: float) -> Path:
    """The cached data set for (seed, scale), generated on first use."""
    folder = CACHE / f"seed{seed}-scale{scale:g}"
    if not (folder / "truth.json").exists():
        tmp = CACHE / f"seed{seed}-scale{scale:g}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"generating seed={seed} scale={scale:g} into {folder} (cached for later runs)")
        start = time.perf_counter()
        from ocop.generate import generate

        generate(tmp, seed=seed, scale=scale)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        log(f"generated in {time.perf_counter() - start:.1f} s")
    return folder


def inbox_files(inbox: Path) -> list:
    from ocop.ingest.sources import FolderSource

    return list(FolderSource(inbox, settle_seconds=0).list_files())


def run_child(cmd: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MB, ru_maxrss of that child) and stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-4000:]}")
    return {"wall_s": wall, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout, "stderr": stderr}


def create_db(server: str) -> tuple[str, str]:
    import psycopg

    name = f"ocop_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_db(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


# --------------------------------------------------------------------------- child: stages

def child_stages(data: Path, pg_server: str | None, as_of: str) -> dict:
    from ocop.config import Limits
    from ocop.ingest.landing import sha256_of
    from ocop.ingest.parse import parse_file
    from ocop.ingest.readers import FileRejected
    from ocop.pipeline import submission_id
    from ocop.validate.run import file_rejected, validate_many
    from ocop.warehouse import Bundle, consolidate, counts_as_of, make_engine, upgrade
    from ocop.dedupe import assign_products

    out: dict = {"stages": {}}
    limits = Limits.from_env()
    files = inbox_files(data / "inbox")
    arrived = dt.datetime.now(dt.timezone.utc)
    metas = []
    for inc in files:
        path = Path(inc.location)
        sha = sha256_of(path)
        metas.append({
            "submission_id": submission_id(inc.province_code, sha), "province_code": inc.province_code,
            "file_name": inc.name, "sha256": sha, "landed_path": str(path), "received_at": arrived.isoformat(),
            "source": inc.source, "snapshot_date": arrived.date().isoformat(), "snapshot_date_source": "arrival",
            "suffix": path.suffix.lower(), "bytes": path.stat().st_size,
        })

    # read + parse, per file (so ratios can use the subset a baseline can read)
    parsed, per_file = [], []
    t0 = time.perf_counter()
    for m in metas:
        s = time.perf_counter()
        try:
            p = parse_file(Path(m["landed_path"]), province_code=m["province_code"], file_name=m["file_name"],
                           sha256=m["sha256"], submission_id=m["submission_id"], arrived_at=arrived, limits=limits)
            rows, err = len(p.records), None
        except FileRejected as exc:
            p, rows, err = exc, 0, exc.rule
        except Exception as exc:  # as process_submission: never crash on one file
            p, rows, err = exc, 0, f"F_UNREADABLE ({type(exc).__name__})"
        per_file.append({"file": f'{m["province_code"]}/{m["file_name"]}', "suffix": m["suffix"], "rows": rows,
                         "seconds": time.perf_counter() - s, "rejected": err})
        parsed.append(p)
    parse_s = time.perf_counter() - t0
    rows = sum(f["rows"] for f in per_file)
    out["files"] = len(files)
    out["rows"] = rows
    out["bytes"] = sum(m["bytes"] for m in metas)
    out["per_file"] = per_file
    out["stages"]["parse"] = {"seconds": parse_s, "rows": rows, "peak_rss_mb": peak_mb()}
    log(f"parse: {len(files)} files, {rows} rows, {parse_s:.2f} s")

    # validate: one GX run per suite over every parsed submission (as pipeline.validate_submissions)
    t0 = time.perf_counter()
    import ocop.validate.suite  # noqa: F401  (Great Expectations: timed on its own)

    out["stages"]["import_gx"] = {"seconds": time.perf_counter() - t0, "rows": 0, "peak_rss_mb": peak_mb()}
    bundles = []
    t0 = time.perf_counter()
    ok = [p for p in parsed if not isinstance(p, Exception)]
    done = iter(validate_many(ok))
    for m, p in zip(metas, parsed):
        meta = {k: v for k, v in m.items() if k not in ("suffix", "bytes")}
        if isinstance(p, Exception):
            rule = p.rule if isinstance(p, FileRejected) else "F_UNREADABLE"
            v = file_rejected(meta, rule, getattr(p, "detail", str(p)))
        else:
            v = next(done)
            meta.update(snapshot_date=p.snapshot_date, snapshot_date_source=p.snapshot_date_source,
                        sheet=p.sheet, columns=p.columns, legacy_encoding=p.legacy_encoding)
        meta.update(file_outcome=v.file_outcome, file_rule=v.file_rule, file_message=v.file_message_vi,
                    rows_received=v.counts["received"], rows_accepted=v.counts["accepted"],
                    rows_warned=v.counts["warned"], rows_rejected=v.counts["rejected"])
        meta.setdefault("sheet", None)
        meta.setdefault("legacy_encoding", None)
        meta.setdefault("columns", {})
        bundles.append(Bundle(meta=meta, records=v.records, issues=v.issues))
    validate_s = time.perf_counter() - t0
    out["stages"]["validate"] = {"seconds": validate_s, "rows": rows, "peak_rss_mb": peak_mb()}
    out["accepted_rows"] = int(sum(b.meta["rows_accepted"] for b in bundles))
    log(f"validate: {validate_s:.2f} s")

    source_rows = int(sum(len(b.records) for b in bundles))
    out["source_rows"] = source_rows

    def timed_consolidate(url: str, label: str) -> None:
        upgrade(url)  # migrations are not part of the load
        engine = make_engine(url)
        spent = []

        def assign(*args, **kwargs):
            s = time.perf_counter()
            try:
                return assign_products(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - s)

        s = time.perf_counter()
        result = consolidate(engine, bundles, f"bench-{label}", assign=assign)
        total = time.perf_counter() - s
        dedupe = sum(spent)
        out["stages"][f"dedupe_{label}"] = {"seconds": dedupe, "rows": source_rows, "peak_rss_mb": peak_mb(),
                                            "products": result.stats.products if result.stats else None}
        out["stages"][f"load_{label}"] = {"seconds": total - dedupe, "rows": source_rows, "peak_rss_mb": peak_mb()}
        # The source records themselves (submissions, records, issues, rule counts: phase "load"
        # of consolidate), what the issue's COPY comparison is about; the rest of consolidate
        # derives products, links and versions from them.
        out["stages"][f"source_records_{label}"] = {"seconds": result.timings.get("load", float("nan")),
                                                    "rows": source_rows, "peak_rss_mb": peak_mb()}
        out["stages"][f"consolidate_{label}"] = {"seconds": total, "rows": source_rows, "peak_rss_mb": peak_mb()}
        log(f"consolidate {label}: {total:.2f} s (dedupe {dedupe:.2f} s), {len(result.loaded)} submissions")
        s = time.perf_counter()
        counts = counts_as_of(engine, dt.date.fromisoformat(as_of))
        c_s = time.perf_counter() - s
        national = {k: int(v) for k, v in dict(counts.national).items()} if hasattr(counts, "national") else {}
        out["stages"][f"counts_{label}"] = {"seconds": c_s, "rows": source_rows, "peak_rss_mb": peak_mb(),
                                            "national": national}
        log(f"counts {label}: {c_s:.3f} s {national}")
        engine.dispose()

    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
        timed_consolidate(f"sqlite:///{tmp}/warehouse.db", "sqlite")

    if pg_server:
        name, url = create_db(pg_server)
        try:
            timed_consolidate(sa_url(url), "postgresql")
            out["baselines_copy"] = bare_copy(url, bundles)
            log(f"bare COPY: {out['baselines_copy']['seconds']:.2f} s")
        finally:
            drop_db(pg_server, name)

    out["baselines_gx"] = gx_trivial([p.records for p in parsed if not isinstance(p, Exception)])
    log(f"GX trivial: {out['baselines_gx']['seconds']:.2f} s")
    out["peak_rss_mb"] = peak_mb()
    return out


def bare_copy(url: str, bundles) -> dict:
    """psycopg 3 COPY of the same source-record rows into an unindexed, unconstrained table
    (pandas ``to_csv`` client, as when the issue was filed: ``warehouse_load.bare_copy``)."""
    from warehouse_load import bare_copy as copy_bundles

    seconds, rows = copy_bundles(url, bundles, writer="pandas")
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak_mb()}


def gx_trivial(frames) -> dict:
    """One ExpectColumnValuesToNotBeNull(product_name) per record frame, own ephemeral context
    (context setup included, as validate() includes its own first-call setup)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    start = time.perf_counter()
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    batch_def = (context.data_sources.add_pandas("bench").add_dataframe_asset("frame")
                 .add_batch_definition_whole_dataframe("whole"))
    suite = gx.ExpectationSuite(name="bench_trivial")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="product_name"))
    rows = 0
    for frame in frames:
        batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        rows += len(frame)
    return {"seconds": time.perf_counter() - start, "rows": rows, "frames": len(frames), "peak_rss_mb": peak_mb()}


# --------------------------------------------------------------------------- child: bare readers

def _time_reader(files, suffixes, read) -> dict:
    """Time ``read(path) -> rows`` on every inbox file with one of ``suffixes``."""
    rows, per_file = 0, []
    t0 = time.perf_counter()
    for inc in files:
        p = Path(inc.location)
        if p.suffix.lower() not in suffixes:
            continue
        s = time.perf_counter()
        try:
            n, err = read(p), None
        except Exception as exc:
            n, err = 0, type(exc).__name__
        per_file.append({"file": f"{inc.province_code}/{inc.name}", "rows": n, "seconds": time.perf_counter() - s, "error": err})
        rows += n
    return {"seconds": time.perf_counter() - t0, "grid_rows": rows, "per_file": per_file, "peak_rss_mb": peak_mb()}


def child_readers(data: Path) -> dict:
    import openpyxl
    import python_calamine as pc

    def calamine(p: Path) -> int:
        return len(pc.CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python())

    def openpyxl_read_only(p: Path) -> int:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        try:
            return sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
        finally:
            wb.close()

    files = inbox_files(data / "inbox")
    out = {"calamine": _time_reader(files, WORKBOOK_SUFFIXES, calamine)}
    log(f"bare calamine: {len(out['calamine']['per_file'])} files, {out['calamine']['seconds']:.2f} s")
    out["openpyxl"] = _time_reader(files, OPENPYXL_SUFFIXES, openpyxl_read_only)
    log(f"bare openpyxl: {len(out['openpyxl']['per_file'])} files, {out['openpyxl']['seconds']:.2f} s")
    return out


# --------------------------------------------------------------------------- orchestration

def py() -> str:
    return sys.executable


def measure_scale(seed: int, scale: float, pg_server: str | None, cli_pg: bool, as_of: str) -> dict:
    data = dataset(seed, scale)
    res: dict = {"seed": seed, "scale": scale, "data": str(data.relative_to(ROOT))}
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    cmd = [py(), str(BENCH / "run.py"), "_child", "stages", "--data", str(data), "--as-of", as_of]
    if pg_server:
        cmd += ["--pg", pg_server]
    log(f"scale {scale:g}: stages child")
    r = run_child(cmd, env)
    res["stages_child"] = {**json.loads(r["stdout"].strip().splitlines()[-1]), "wall_s": r["wall_s"],
                           "child_peak_rss_mb": r["peak_rss_mb"]}

    log(f"scale {scale:g}: bare readers child")
    r = run_child([py(), str(BENCH / "run.py"), "_child", "readers", "--data", str(data)], env)
    res["readers_child"] = {**json.loads(r["stdout"].strip().splitlines()[-1]), "child_peak_rss_mb": r["peak_rss_mb"]}

    res["cli"] = {}
    with tempfile.TemporaryDirectory(prefix="ocop-bench-cli-") as home:
        cmd = [py(), "-m", "ocop.cli", "run", "--inbox", str(data / "inbox"), "--home", home]
        log(f"scale {scale:g}: CLI end to end on SQLite")
        r = run_child(cmd, env)
        timings = [json.loads(t.read_text()) for t in Path(home).glob("runs/*/timings.json")]
        res["cli"]["sqlite"] = {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                                "timings": timings[0] if timings else {},
                                "command": " ".join(["python", "-m", "ocop.cli", "run", "--inbox", f"{res['data']}/inbox",
                                                     "--home", "TMP"]),
                                "summary": r["stdout"].strip().splitlines()[0] if r["stdout"].strip() else ""}
        log(f"  {r['wall_s']:.1f} s, {r['peak_rss_mb']} MB")
    if pg_server and cli_pg:
        name, url = create_db(pg_server)
        try:
            with tempfile.TemporaryDirectory(prefix="ocop-bench-cli-") as home:
                cmd = [py(), "-m", "ocop.cli", "run", "--inbox", str(data / "inbox"), "--home", home,
                       "--warehouse", sa_url(url)]
                log(f"scale {scale:g}: CLI end to end on PostgreSQL")
                r = run_child(cmd, env)
                res["cli"]["postgresql"] = {
                    "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                    "command": " ".join(["python", "-m", "ocop.cli", "run", "--inbox", f"{res['data']}/inbox",
                                         "--home", "TMP", "--warehouse", "postgresql+psycopg://postgres@127.0.0.1:5432/ocop_bench_XXXX"])}
                log(f"  {r['wall_s']:.1f} s, {r['peak_rss_mb']} MB")
        finally:
            drop_db(pg_server, name)
    res["summary"] = summarize(res)
    return res


def _rate(rows: float, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")


def summarize(res: dict) -> dict:
    """Rows, per-stage seconds, rows/s, peak RSS and the ratios to the baselines."""
    st = res["stages_child"]
    rd = res["readers_child"]
    rows = st["rows"]
    lines = []
    for key, label in [("parse", "read+parse"), ("validate", "validate"), ("dedupe_sqlite", "dedupe (in consolidate, SQLite)"),
                       ("load_sqlite", "load SQLite (consolidate - dedupe)"), ("consolidate_sqlite", "consolidate SQLite (total)"),
                       ("counts_sqlite", "counts_as_of SQLite"), ("dedupe_postgresql", "dedupe (in consolidate, PostgreSQL)"),
                       ("source_records_postgresql", "load source records PostgreSQL (phase load of consolidate)"),
                       ("load_postgresql", "load PostgreSQL (consolidate - dedupe)"),
                       ("consolidate_postgresql", "consolidate PostgreSQL (total)"), ("counts_postgresql", "counts_as_of PostgreSQL")]:
        if key in st["stages"]:
            s = st["stages"][key]
            lines.append({"stage": label, "key": key, "seconds": s["seconds"], "rows": s["rows"],
                          "rows_per_s": _rate(s["rows"], s["seconds"]), "peak_rss_mb": s["peak_rss_mb"]})
    # ratios on the same file subsets
    def keyed(files: list[dict]) -> dict:
        """(file, n-th occurrence): both children walk the inbox in the same order, so this pairs
        files even where two provinces sent the same file name (older runs keyed by name only)."""
        seen: dict[str, int] = {}
        out = {}
        for f in files:
            seen[f["file"]] = seen.get(f["file"], -1) + 1
            out[(f["file"], seen[f["file"]])] = f
        return out

    parse_by_file = keyed(st["per_file"])
    ratios = {}
    base_lines = []
    for name in ("calamine", "openpyxl"):
        b = rd[name]
        ok = [(k, f) for k, f in keyed(b["per_file"]).items() if not f["error"] and k in parse_by_file]
        p_rows = sum(parse_by_file[k]["rows"] for k, _ in ok)
        p_s = sum(parse_by_file[k]["seconds"] for k, _ in ok)
        b_s = sum(f["seconds"] for _, f in ok)
        # rows/s of both counted in parsed records, so the ratio is a plain time ratio
        ratios[f"parse_vs_{name}"] = {"ratio": b_s / p_s if p_s else float("nan"), "files": len(ok),
                                      "parse_s": p_s, "baseline_s": b_s, "rows": p_rows}
        base_lines.append({"stage": f"BASELINE bare {name} read ({len(ok)} files)", "seconds": b_s, "rows": p_rows,
                           "rows_per_s": _rate(p_rows, b_s), "peak_rss_mb": rd["child_peak_rss_mb"]})
    if "baselines_copy" in st:
        c = st["baselines_copy"]
        base_lines.append({"stage": "BASELINE bare psycopg COPY (unindexed)", "seconds": c["seconds"], "rows": c["rows"],
                           "rows_per_s": _rate(c["rows"], c["seconds"]), "peak_rss_mb": c["peak_rss_mb"]})
        for key in ("source_records_postgresql", "load_postgresql", "consolidate_postgresql", "load_sqlite"):
            if key in st["stages"]:
                s = st["stages"][key]
                ratios[f"{key}_vs_copy"] = {"ratio": _rate(s["rows"], s["seconds"]) / _rate(c["rows"], c["seconds"])}
    g = st["baselines_gx"]
    base_lines.append({"stage": f"BASELINE GX 1 expectation ({g['frames']} frames)", "seconds": g["seconds"],
                       "rows": g["rows"], "rows_per_s": _rate(g["rows"], g["seconds"]), "peak_rss_mb": g["peak_rss_mb"]})
    v = st["stages"]["validate"]
    ratios["validate_vs_gx_trivial"] = {"ratio": _rate(v["rows"], v["seconds"]) / _rate(g["rows"], g["seconds"])}
    for backend, cli in res["cli"].items():
        lines.append({"stage": f"END TO END `ocop run` ({backend})", "seconds": cli["wall_s"], "rows": rows,
                      "rows_per_s": _rate(rows, cli["wall_s"]), "peak_rss_mb": cli["peak_rss_mb"]})
    if "sqlite" in res["cli"]:  # the whole process against a bare read of the same files, one sitting
        bare = rd["calamine"]
        ratios["national_run_time_vs_bare_calamine_read"] = {
            "ratio": res["cli"]["sqlite"]["wall_s"] / bare["seconds"] if bare["seconds"] else float("nan"),
            "time_ratio": True, "bare_s": bare["seconds"], "bare_files": len(bare["per_file"])}
    return {"rows": rows, "files": st["files"], "source_rows": st["source_rows"], "accepted_rows": st["accepted_rows"],
            "bytes": st["bytes"], "lines": lines + base_lines, "ratios": ratios,
            "stages_child_peak_rss_mb": st["child_peak_rss_mb"]}


def table(res: dict) -> str:
    s = res["summary"]
    head = (f"scale {res['scale']:g} (seed {res['seed']}): {s['files']} files, {s['bytes'] / 1e6:.1f} MB, "
            f"{s['rows']:,} parsed rows ({s['accepted_rows']:,} accepted), {s['source_rows']:,} source records loaded")
    out = [head, "", "| stage | seconds | rows | rows/s | peak RSS MB |", "|---|---:|---:|---:|---:|"]
    for line in s["lines"]:
        out.append(f"| {line['stage']} | {line['seconds']:.2f} | {line['rows']:,} | {line['rows_per_s']:,.0f} | "
                   f"{line['peak_rss_mb']:,.0f} |")
    out += ["", "| ratio (throughput, same files) | value | target |", "|---|---:|---:|"]
    tgt = {"parse_vs_calamine": "≥ 0.6", "source_records_postgresql_vs_copy": "≥ 0.5",
           "national_run_time_vs_bare_calamine_read": "≤ 25" if res["scale"] == 1 else ""}
    for k, v in s["ratios"].items():
        extra = f" ({v['files']} files)" if "files" in v else ""
        if v.get("time_ratio"):
            extra = f" (time: `ocop run` / bare read of {v['bare_files']} files, {v['bare_s']:.2f} s)"
        out.append(f"| {k}{extra} | {v['ratio']:.3f} | {tgt.get(k, '')} |")
    if res["scale"] == 1 and "sqlite" in res["cli"]:
        w = res["cli"]["sqlite"]["wall_s"]
        out.append(f"| national sample end to end, CLI, SQLite, whole process (s) | {w:.1f} | ≤ 10 |")
    timings = res["cli"].get("sqlite", {}).get("timings")
    if timings:
        out += ["", "`ocop run` per stage (s, from the run's `timings.json`): "
                + ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
                + f"; the rest of {res['cli']['sqlite']['wall_s']:.1f} s is the process start (imports)."]
    return "\n".join(out)


def machine() -> dict:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception as exc:  # pragma: no cover
            return f"({exc})"

    from importlib.metadata import version

    pkgs = {}
    for p in ("pandas", "numpy", "python-calamine", "openpyxl", "great_expectations", "SQLAlchemy", "psycopg",
              "pyarrow", "RapidFuzz", "matplotlib"):
        try:
            pkgs[p] = version(p)
        except Exception:
            pkgs[p] = "?"
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "nproc": sh("nproc"),
            "free": sh("free -h"), "cpu": sh("lscpu | grep -m1 'Model name'"), "python": platform.python_version(),
            "platform": platform.platform(), "postgres": sh("psql -h 127.0.0.1 -U postgres -Atc 'select version()' 2>/dev/null"),
            "load": sh("cat /proc/loadavg"), "packages": pkgs}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="scale 0.3, SQLite + PostgreSQL, all baselines")
    mode.add_argument("--full", action="store_true", help="scales 1 and 3 (see --scales)")
    mode.add_argument("--report", action="store_true", help="only rewrite results.md and scaling.png")
    parser.add_argument("--scales", type=float, nargs="+", help="override the scales of the mode")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--pg", default=os.environ.get("OCOP_BENCH_PG", PG_SERVER),
                        help="PostgreSQL server URL to create scratch databases on ('' to skip PostgreSQL)")
    parser.add_argument("--as-of", default=dt.date.today().isoformat(), help="date for counts_as_of")
    parser.add_argument("--no-incremental", action="store_true",
                        help="--full: skip bench/incremental.py (one file into 35k/250k/1M warehouses)")
    parser.add_argument("--no-cli-pg", action="store_true",
                        help="skip the CLI end-to-end run on PostgreSQL (always skipped in --quick)")
    args = parser.parse_args(argv)
    if args.report:
        write_report()
        return
    name = "full" if args.full else "quick"
    scales = args.scales or ([1.0, 3.0] if args.full else [0.3])
    pg = args.pg or None
    cli_pg = args.full and not args.no_cli_pg  # quick: CLI end to end on SQLite only (2-minute budget)
    started = time.perf_counter()
    run = {"mode": name, "command": " ".join([".venv/bin/python", "bench/run.py", *argv]), "machine": machine(),
           "scales": []}
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
    for scale in scales:
        res = measure_scale(args.seed, scale, pg, cli_pg, args.as_of)
        run["scales"].append(res)
        print("\n" + table(res) + "\n", flush=True)
        run["seconds"] = time.perf_counter() - started
        path.write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")  # saved after each scale
    if args.full:
        log("one 100,000-row workbook: read+parse against a bare calamine read (bench/big_submission.py)")
        run["big_workbook"] = big_workbook()
        print("\n" + "\n".join(big_workbook_table(run["big_workbook"])) + "\n", flush=True)
        import big_submission as big

        log("one 100,000-row submission validated in a fresh process (bench/big_submission.py --validate-only)")
        run["big_validate"] = big.validate_line(big.workbook(100_000), 100_000)
        print(run["big_validate"], flush=True)
        run["seconds"] = time.perf_counter() - started
        path.write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")
    if args.full and not args.no_incremental:
        # Issue 15: one new Hà Nội file into 35k / 250k / 1M-record warehouses (own script, own
        # JSON in bench/cache/runs/incremental-*.json, rendered below the stage tables).
        log("incremental consolidation: one Hà Nội file into 35k/250k/1M warehouses (bench/incremental.py)")
        cmd = [sys.executable, str(BENCH / "incremental.py"), "--pg", args.pg or ""]
        status = subprocess.run(cmd, cwd=ROOT).returncode
        if status:
            log(f"bench/incremental.py exited {status}")
    log(f"{name} run done in {run['seconds']:.1f} s; saved {path.relative_to(ROOT)}")
    write_report()


def big_workbook(rows: int = 100_000, repeat: int = 7) -> dict:
    """Issue 3's figure: ``parse_file`` of one workbook of ``rows`` rows against a bare
    python_calamine read of it, interleaved (``bench/big_submission.py``; the workbook is built
    once and cached)."""
    import big_submission as big  # (bench/ is on the path: this script's folder)

    path = big.workbook(rows)
    runs = big.side_by_side(lambda: big.bare_read(path), lambda: big.parse_once(path), repeat)
    return {"rows": rows, "repeat": repeat, "file": path.name,
            "runs": {k: {"bare_s": b, "parse_s": p, "ratio": b / p} for k, (b, p) in runs.items()}}


def big_workbook_table(big: dict) -> list[str]:
    out = [f"One {big['rows']:,}-row workbook (`{big['file']}`, `bench/big_submission.py`), {big['repeat']} "
           "interleaved runs of each:", "",
           "| measure | bare calamine s | parse_file s | ratio | target |", "|---|---:|---:|---:|---:|"]
    for k, r in big["runs"].items():
        target = "" if "CPU" in k else "≥ 0.6"
        out.append(f"| {k} | {r['bare_s']:.2f} | {r['parse_s']:.2f} | {r['ratio']:.2f} | {target} |")
    return out


# --------------------------------------------------------------------------- report

def latest_runs() -> dict[str, dict]:
    """The latest quick run; the latest full run that has the national sample (scale 1) and every
    later full run (e.g. ``--full --scales 10`` run on its own)."""
    runs = {}
    found = sorted(RUNS.glob("quick-*.json"))
    if found:
        runs["quick"] = json.loads(found[-1].read_text(encoding="utf-8"))
    full = [(f, json.loads(f.read_text(encoding="utf-8"))) for f in sorted(RUNS.glob("full-*.json"))]
    start = max([i for i, (_, r) in enumerate(full) if any(x["scale"] == 1 for x in r["scales"])], default=0)
    for f, r in full[start:]:
        if r["scales"]:
            runs["full" if f == full[start][0] else f"full ({f.stem})"] = r
    return runs


def plot(runs: dict[str, dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = {}
    for run in runs.values():
        for res in run["scales"]:
            points[res["scale"]] = res  # the full run's scale wins if both ran it
    if not points:
        return
    for res in points.values():
        res["summary"] = summarize(res)
    xs = sorted(points)
    rows = [points[x]["summary"]["rows"] for x in xs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    series = [("parse", "read+parse"), ("validate", "validate"), ("dedupe_sqlite", "dedupe"),
              ("load_sqlite", "load SQLite"), ("load_postgresql", "load PostgreSQL"), ("counts_sqlite", "counts SQLite")]
    for key, label in series:
        ys = [points[x]["stages_child"]["stages"].get(key, {}).get("seconds") for x in xs]
        if all(y is not None for y in ys):
            ax1.plot(rows, ys, marker="o", label=label)
    for backend in ("sqlite", "postgresql"):
        ys = [points[x]["cli"].get(backend, {}).get("wall_s") for x in xs]
        if all(y is not None for y in ys):
            ax1.plot(rows, ys, marker="s", linewidth=2.5, label=f"end to end CLI ({backend})")
    ys = [points[x]["readers_child"]["calamine"]["seconds"] for x in xs]
    ax1.plot(rows, ys, marker="x", linestyle="--", label="baseline: bare calamine")
    ys = [points[x]["stages_child"].get("baselines_copy", {}).get("seconds") for x in xs]
    if all(y is not None for y in ys):
        ax1.plot(rows, ys, marker="x", linestyle="--", label="baseline: bare COPY")
    ax1.axhline(30, color="grey", linewidth=0.8, linestyle=":")
    ax1.set_xlabel("parsed rows")
    ax1.set_ylabel("seconds")
    ax1.set_title("time against rows")
    ax1.legend(fontsize=7)
    for backend in ("sqlite", "postgresql"):
        ys = [points[x]["cli"].get(backend, {}).get("peak_rss_mb") for x in xs]
        if all(y is not None for y in ys):
            ax2.plot(rows, ys, marker="s", label=f"end to end CLI ({backend})")
    ax2.plot(rows, [points[x]["stages_child"]["child_peak_rss_mb"] for x in xs], marker="o",
             label="stages child (all stages in one process)")
    ax2.plot(rows, [points[x]["readers_child"]["child_peak_rss_mb"] for x in xs], marker="x", linestyle="--",
             label="bare readers child")
    ax2.set_xlabel("parsed rows")
    ax2.set_ylabel("peak RSS (MB)")
    ax2.set_title("peak memory against rows")
    ax2.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write_report() -> None:
    runs = latest_runs()
    plot(runs, BENCH / "scaling.png")
    parts = ["# Benchmark results", "",
             "Written by `bench/run.py` (see its docstring and bench/README.md for what each line measures). "
             "Regenerate with `make bench-quick`, `make bench`, or `.venv/bin/python bench/run.py --report`.", "",
             "Targets: national sample (scale 1) end to end via the CLI on SQLite, whole process, **≤ 10 s** and "
             "**≤ 25×** a bare calamine read of the same files (issue 16; it was < 30 s before); read+parse "
             "**≥ 0.6×** bare calamine throughput; load **≥ 0.5×** bare COPY throughput; one 100k-row submission "
             "validates in **≤ 3 s** with peak RSS **< 1 GB**.", "", "![time and peak memory against rows](scaling.png)", ""]
    for mode, run in runs.items():
        m = run["machine"]
        parts += [f"## `{mode.split(' ')[0]}` run, {m['date']}", "", f"Command: `{run['command']}` ({run.get('seconds', 0):.0f} s in all)", "",
                  f"Machine: nproc {m['nproc']}; {m['cpu']}; Python {m['python']} on {m['platform']}; "
                  f"load average at start {m['load']} (the 2 cores were shared with other work).", "",
                  f"PostgreSQL: {m['postgres']}", "",
                  "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()), "",
                  "```", m["free"], "```", ""]
        for res in run["scales"]:
            res["summary"] = summarize(res)
            parts += ["### " + table(res).split("\n", 1)[0], "", table(res).split("\n", 2)[2], ""]
            for backend, cli in res["cli"].items():
                parts.append(f"End to end ({backend}): `{cli['command']}`")
                parts.append("")
        if "big_workbook" in run:
            parts += ["### read+parse of one large workbook", "", *big_workbook_table(run["big_workbook"]), ""]
        if "big_validate" in run:
            parts += ["### validation of one large submission", "", run["big_validate"], ""]
    # The incremental-consolidation block (bench/incremental.py): the latest saved run, else the
    # block already in results.md; hand-written notes below the marker survive a re-render.
    import incremental

    target = BENCH / "results.md"
    inc = incremental.latest()
    kept = incremental.results_block(target.read_text(encoding="utf-8")) if target.exists() else None
    if inc or kept:
        parts += [incremental.render_block(inc) if inc else kept, ""]
    notes = ""
    if target.exists() and NOTES_MARKER in target.read_text(encoding="utf-8"):
        notes = target.read_text(encoding="utf-8").split(NOTES_MARKER, 1)[1]
    target.write_text("\n".join(parts) + "\n" + NOTES_MARKER + (notes or "\n"), encoding="utf-8")
    log("wrote bench/results.md and bench/scaling.png")


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["stages", "readers"])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--pg")
    parser.add_argument("--as-of", default=dt.date.today().isoformat())
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    res = child_stages(args.data, args.pg, args.as_of) if args.kind == "stages" else child_readers(args.data)
    res["child_peak_rss_mb"] = peak_mb()
    print(json.dumps(res, default=str), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
    else:
        main(sys.argv[1:])
