"""The few functions that chain the stages. The Airflow DAGs and the ``ocop`` CLI call these
and nothing else, so a scheduled run and a person's run execute the same code.

    discover  ->  process_submission (one per file, parallel)  ->  consolidate  ->  publish

Only small JSON-able dicts go in and out (they travel through XCom); the data of a submission
goes through Parquet files in the run folder (``runs/<run id>/<submission id>/``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import pickle
import re
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

from ocop.config import Settings
from ocop.ingest.landing import land, sha256_of
from ocop.ingest.parse import parse_file
from ocop.ingest.readers import FileRejected
from ocop.ingest.sources import FolderSource, Incoming, SourceError, load_sources
from ocop.monitor import task_failure_callback

log = logging.getLogger("ocop.pipeline")

# What the DAGs share (plain data: this package does not import Airflow).
WAREHOUSE_ASSET_NAME = "ocop_national_warehouse"
WAREHOUSE_ASSET_URI = "ocop://warehouse/product_version"  # emitted by ocop_ingest, schedules ocop_publish
DAG_DEFAULT_ARGS = {
    "owner": "ocop-data-engineering",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "on_failure_callback": task_failure_callback,  # notifiers of ocop.monitor (log; e-mail when configured)
}


# --------------------------------------------------------------------------- helpers

def submission_id(province_code: str, sha256: str) -> str:
    return f"{province_code}-{sha256[:16]}"


def _safe_stem(name: str, limit_bytes: int = 160) -> str:
    """A file name reduced to a safe folder name: no separators, no dot-dot, at most
    ``limit_bytes`` of UTF-8 (a folder name may hold 255 bytes, and 4-byte letters exist)."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("_.")
    return stem.encode("utf-8")[:limit_bytes].decode("utf-8", "ignore") or "file"


def report_dir(settings: Settings, province_code: str, snapshot_date: str | None, file_name: str,
               sha256: str = "") -> Path:
    """``<reports>/<code>/<snapshot>_<file stem>_<sha256[:8]>/``: one folder per submission
    (``ocop.xlsx`` and ``ocop.csv`` of one province do not share a folder), never outside
    the reports root."""
    suffix = f"_{sha256[:8]}" if sha256 else ""
    folder = settings.reports / province_code / f"{snapshot_date or 'unknown-date'}_{_safe_stem(file_name)}{suffix}"
    resolved = folder.resolve()
    if settings.reports.resolve() not in resolved.parents:
        raise ValueError(f"report folder {resolved} escapes {settings.reports}")
    return resolved


def engine_for(settings: Settings):
    """A warehouse engine with the schema migrated to the latest revision (the migration
    check runs once per process and warehouse, not on every call)."""
    from ocop.warehouse import make_engine

    _migrate_once(settings.warehouse_url, os.getpid())
    return make_engine(settings.warehouse_url)


@lru_cache(maxsize=None)
def _migrate_once(url: str, pid: int) -> None:
    from ocop.warehouse import upgrade

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)


def known_submissions(engine) -> set[tuple[str, str]]:
    """(province code, sha256) of every file the warehouse has already recorded."""
    from ocop.warehouse import schema

    t = schema.submission
    with engine.connect() as conn:
        return {(r.province_code, r.sha256) for r in conn.execute(sa.select(t.c.province_code, t.c.sha256))}


# --------------------------------------------------------------------------- discover

def discover(settings: Settings, settle_seconds: float | None = None) -> list[dict]:
    """Files the warehouse has not seen yet (by province and sha256), from every configured
    source (``OCOP_SOURCES``; by default the drop folder alone). Remote files are fetched into
    ``runs/incoming/`` here, so every later step reads a local file.

    The same bytes dropped twice, under two names or through two sources, are one submission."""
    settle = settings.settle_seconds if settle_seconds is None else settle_seconds
    sources = load_sources(settings.sources_file, settings.inbox, settle) if settings.sources_file else [
        FolderSource(settings.inbox, settle)]
    known = known_submissions(engine_for(settings))
    seen: set[tuple[str, str]] = set()
    items = []
    for source in sources:
        for inc in _listed(source):
            try:
                local = source.local_path(inc, settings.runs / "incoming")
            except SourceError as exc:
                log.warning("%s/%s could not be fetched from %s: %s (left for the next run)",
                            inc.province_code, inc.name, inc.source, exc)
                continue
            digest = sha256_of(Path(local))
            key = (inc.province_code, digest)
            if key in known or key in seen:
                log.info("%s/%s already processed (sha256 %s…): skipped", inc.province_code, inc.name, digest[:12])
                continue
            seen.add(key)
            items.append({**inc.__dict__, "location": str(local), "sha256": digest})
    log.info("discovered %d new submission(s) from %d source(s)", len(items), len(sources))
    _progress("discover", count=len(items))
    return items


def _listed(source) -> list[Incoming]:
    """A source's listing; an unreachable source is logged and skipped, never fatal."""
    try:
        return list(source.list_files())
    except (OSError, SourceError) as exc:
        log.error("source %s could not be listed: %s", source.name, exc)
        return []


def load_contacts(settings: Settings) -> dict[str, list[str]]:
    """``{province code: [e-mail, ...]}`` from the contacts file (absent: nobody is mailed)."""
    path = settings.contacts_file
    if not path or not Path(path).exists():
        return {}
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    contacts = document.get("contacts", document) if isinstance(document, dict) else {}
    return {str(code).zfill(2): [a] if isinstance(a, str) else list(a) for code, a in contacts.items()}


def mail_report(validated, province_code: str, reports: dict, settings: Settings) -> str:
    """Mail the province its report when it has an address and SMTP is configured.

    A mail failure (after the mailer's own retries) is logged and reported back; it never
    fails the task nor touches the report files already written."""
    from ocop.report.mail import SmtpConfig, report_email, send_report

    to = load_contacts(settings).get(province_code)
    uri = os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT")
    smtp = SmtpConfig.from_uri(uri) if uri else SmtpConfig.from_env()
    if not to or smtp is None:
        return "not configured"
    subject, body = report_email(validated)
    try:
        send_report(smtp, to, subject, body, [Path(reports["xlsx"])])
        return "sent"
    except Exception as exc:  # mail is best effort; the report is on disk either way
        log.error("mailing the report of %s to %s failed: %s", province_code, ", ".join(to), exc)
        return f"failed: {exc}"


# --------------------------------------------------------------------------- submissions

_listeners: list = []


def add_progress_listener(fn) -> None:
    """``fn(event: dict)`` is called in this process as each submission passes a stage:
    ``{"stage": "parse" | "validate" | "report", "province_code", "file_name", "outcome", ...}``
    (``make demo`` draws its progress bar from them)."""
    _listeners.append(fn)


def _progress(stage: str, **event) -> None:
    for fn in list(_listeners):
        try:
            fn({"stage": stage, **event})
        except Exception:  # a display never stops the pipeline
            log.debug("progress listener failed", exc_info=True)


def batches(items: list[dict], n: int) -> list[list[dict]]:
    """``items`` in at most ``n`` batches of about equal bytes (largest file first to the
    lightest batch), each batch in the items' order: the unit of work of one mapped task."""
    return [[items[i] for i in b] for b in _batch_indices([_size(it) for it in items], n)]


def _batch_indices(sizes: list[int], n: int) -> list[list[int]]:
    n = max(1, min(n, len(sizes)))
    load, out = [0] * n, [[] for _ in range(n)]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        k = load.index(min(load))
        out[k].append(i)
        load[k] += sizes[i]
    return [sorted(b) for b in out if b]


def _size(item: dict) -> int:
    try:
        return Path(item.get("location") or "").stat().st_size
    except OSError:
        return 0


def batch_label(items: list[dict]) -> str:
    """What a mapped task works on, for the Airflow Grid: its provinces and file count."""
    label = f"{len(items)} file(s): " + ", ".join(dict.fromkeys(it["province_code"] for it in items))
    return label if len(label) <= 250 else label[:249] + "…"  # Airflow keeps 250 characters


def _work(run_dir: Path, sid: str) -> Path:
    folder = Path(run_dir) / sid
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _dump(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _load(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)  # written by this pipeline into its own run folder


def parse_submission(item: dict, settings: Settings, run_dir: Path) -> dict:
    """Land and parse one file into ``<run_dir>/<submission id>/parsed.pkl`` (the parsed
    submission, or the file-level rejection of a file that could not be parsed).

    Never raises for a bad file: every problem with the file becomes a file-level rejection
    with a report. (Infrastructure failures, e.g. an unwritable landing zone, do raise.)"""
    from ocop.validate.run import file_rejected

    inc = Incoming(**{k: item[k] for k in Incoming.__dataclass_fields__})
    path = FolderSource(settings.inbox).local_path(inc, run_dir)
    landed = land(path, inc.province_code, settings.landing, source=inc.source,
                  original_name=inc.name, sha256=item.get("sha256"))
    sid = submission_id(inc.province_code, landed.sha256)
    arrived = dt.datetime.fromisoformat(landed.arrived_at)
    meta = {
        "submission_id": sid, "province_code": inc.province_code, "file_name": inc.name,
        "sha256": landed.sha256, "landed_path": landed.path, "received_at": landed.arrived_at,
        "source": inc.source,
        # Until the file's own title or name says otherwise, the snapshot is dated on arrival.
        "snapshot_date": arrived.date().isoformat(), "snapshot_date_source": "arrival",
    }
    parsed = rejected = None
    try:
        parsed = parse_file(Path(landed.path), province_code=inc.province_code, file_name=inc.name,
                            sha256=landed.sha256, submission_id=sid, arrived_at=arrived,
                            limits=settings.limits)
        meta.update(snapshot_date=parsed.snapshot_date, snapshot_date_source=parsed.snapshot_date_source,
                    sheet=parsed.sheet, columns=parsed.columns, legacy_encoding=parsed.legacy_encoding)
    except FileRejected as exc:
        log.warning("%s/%s rejected: %s", inc.province_code, inc.name, exc)
        rejected = file_rejected(meta, exc.rule, exc.detail)
    except Exception as exc:  # a file must never crash its province's task
        log.error("%s/%s could not be parsed:\n%s", inc.province_code, inc.name, traceback.format_exc())
        rejected = file_rejected(meta, "F_UNREADABLE", f"{type(exc).__name__}: {exc}")
    work = _work(run_dir, sid)
    _dump({"meta": meta, "parsed": parsed, "validated": rejected}, work / "parsed.pkl")
    _progress("parse", province_code=inc.province_code, file_name=inc.name,
              outcome="parsed" if parsed is not None else "rejected", file_rule=rejected and rejected.file_rule)
    return {"submission_id": sid, "work": str(work), "province_code": inc.province_code, "file_name": inc.name,
            "file_rule": rejected.file_rule if rejected is not None else None}


def parse_submissions(items: list[dict], settings: Settings, run_dir: Path) -> list[dict]:
    """:func:`parse_submission` of each item (one mapped task's batch)."""
    return [parse_submission(item, settings, run_dir) for item in items]


def _told_parse(ref: dict) -> None:
    _progress("parse", province_code=ref["province_code"], file_name=ref["file_name"],
              outcome="rejected" if ref.get("file_rule") else "parsed", file_rule=ref.get("file_rule"))


def validate_submissions(refs: list[dict], settings: Settings, run_dir: Path) -> list[dict]:
    """Validate every parsed submission of ``refs`` in one GX run (:func:`ocop.validate.run.validate_many`),
    the run's Data Docs built once, each result to ``<work>/validated.pkl``.

    Should the run over all of them fail, each is validated alone, and a submission whose own
    validation fails is rejected (``F_UNREADABLE``): one broken file never stops the others."""
    from ocop.validate.run import file_rejected, validate, validate_many

    works = [_load(Path(r["work"]) / "parsed.pkl") for r in refs]
    todo = [w for w in works if w["validated"] is None]
    docs = Path(run_dir) / "data_docs"
    try:
        done = validate_many([w["parsed"] for w in todo], data_docs_dir=docs)
    except Exception:
        log.error("validating %d submissions together failed; validating each alone:\n%s", len(todo),
                  traceback.format_exc())
        done = []
        for w in todo:
            try:
                done.append(validate(w["parsed"], data_docs_dir=docs))
            except Exception as exc:
                log.error("%s could not be validated:\n%s", w["meta"]["file_name"], traceback.format_exc())
                done.append(file_rejected(w["meta"], "F_UNREADABLE", f"{type(exc).__name__}: {exc}"))
    for w, v in zip(todo, done):
        w["validated"] = v
    for r, w in zip(refs, works):
        _dump({"meta": w["meta"], "validated": w["validated"]}, Path(r["work"]) / "validated.pkl")
        v = w["validated"]
        _progress("validate", province_code=r["province_code"], file_name=r["file_name"],
                  outcome=v.file_outcome, file_rule=v.file_rule)
    return refs


def report_submission(ref: dict, settings: Settings, run_dir: Path) -> dict:
    """Write one validated submission's reports (and mail them), and its bundle for consolidation.

    Should writing the reports fail on the submission's data, the province gets the report of
    a file-level rejection (``F_UNREADABLE``) instead; an unwritable reports folder raises."""
    from ocop.validate.run import file_rejected

    w = _load(Path(ref["work"]) / "validated.pkl")
    meta, validated = w["meta"], w["validated"]
    try:
        return _finish(meta, validated, settings, run_dir)
    except OSError:
        raise
    except Exception as exc:
        log.error("the reports of %s could not be written:\n%s", meta["file_name"], traceback.format_exc())
        return _finish(meta, file_rejected(meta, "F_UNREADABLE", f"{type(exc).__name__}: {exc}"), settings, run_dir)


def report_submissions(refs: list[dict], settings: Settings, run_dir: Path) -> list[dict]:
    """:func:`report_submission` of each ref (one mapped task's batch)."""
    return [report_submission(ref, settings, run_dir) for ref in refs]


def _told_report(res: dict) -> None:
    _progress("report", province_code=res["province_code"], file_name=res["file_name"], outcome=res["file_outcome"],
              file_rule=res["file_rule"], rows=res["rows_received"], rejected=res["rows_rejected"])


def _finish(meta: dict, validated, settings: Settings, run_dir: Path) -> dict:
    from ocop.report import write_reports

    meta = dict(meta)
    sid, code, name = meta["submission_id"], meta["province_code"], meta["file_name"]
    meta.update(
        file_outcome=validated.file_outcome, file_rule=validated.file_rule,
        file_message=validated.file_message_vi,
        rows_received=validated.counts["received"], rows_accepted=validated.counts["accepted"],
        rows_warned=validated.counts["warned"], rows_rejected=validated.counts["rejected"],
    )
    validated.kept_from_previous = kept_from_previous(validated, settings)
    out = report_dir(settings, code, meta["snapshot_date"], name, meta["sha256"])
    reports = write_reports(validated, out)
    meta["report_dir"] = str(out)
    meta["mail"] = mail_report(validated, code, reports, settings)
    meta["data_docs"] = str(validated.data_docs_path) if validated.data_docs_path else None

    bundle = _work(run_dir, sid)
    validated.records.to_parquet(bundle / "records.parquet", index=False)
    validated.issues.to_parquet(bundle / "issues.parquet", index=False)
    (bundle / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    log.info("%s %s: %s — %d received, %d accepted, %d with warnings, %d rejected; report %s; GX Data Docs %s",
             sid, name, validated.file_outcome, meta["rows_received"], meta["rows_accepted"],
             meta["rows_warned"], meta["rows_rejected"], reports.get("xlsx", out), meta["data_docs"] or "-")
    _progress("report", province_code=code, file_name=name, outcome=validated.file_outcome,
              file_rule=validated.file_rule, rows=meta["rows_received"], rejected=meta["rows_rejected"])
    return {"submission_id": sid, "bundle": str(bundle), "province_code": code,
            "file_name": name, "file_outcome": validated.file_outcome, "file_rule": validated.file_rule,
            "rows_received": meta["rows_received"], "rows_rejected": meta["rows_rejected"],
            "report_dir": str(out), "mail": meta["mail"], "data_docs": meta["data_docs"]}


def process_submission(item: dict, settings: Settings, run_dir: Path) -> dict:
    """Land, parse, validate and report one file (a batch of one of the stages above)."""
    refs = validate_submissions([parse_submission(item, settings, run_dir)], settings, run_dir)
    return report_submission(refs[0], settings, run_dir)


def kept_from_previous(validated, settings: Settings) -> list[int]:
    """Rejected rows whose product is in the province's register from its previous accepted
    snapshot: the product is not removed (its previous version stays current), and the report
    tells the province so. Matched on the same owner + product keys as the warehouse uses."""
    from ocop.dedupe.normalize import owner_key, product_key
    from ocop.warehouse import registered_products

    records = validated.records
    if validated.file_outcome != "accepted" or records.empty or not (records["outcome"] == "rejected").any():
        return []
    parsed = validated.parsed
    registered = registered_products(engine_for(settings), parsed.province_code,
                                     dt.date.fromisoformat(parsed.snapshot_date))
    keys = {(owner_key(o), product_key(p)) for o, p in zip(registered["owner"], registered["product_name"])}
    rejected = records[records["outcome"] == "rejected"]
    return [int(r) for r, o, p in zip(rejected["row_id"], rejected["owner"], rejected["product_name"])
            if o and p and (owner_key(o), product_key(p)) in keys]


def load_bundle(bundle_dir: Path):
    from ocop.warehouse import Bundle

    bundle_dir = Path(bundle_dir)
    meta = json.loads((bundle_dir / "meta.json").read_text(encoding="utf-8"))
    return Bundle(meta=meta, records=pd.read_parquet(bundle_dir / "records.parquet"),
                  issues=pd.read_parquet(bundle_dir / "issues.parquet"))


# --------------------------------------------------------------------------- warehouse

def consolidate(results: list[dict], settings: Settings, run_id: str) -> dict:
    """Deduplicate and load every processed submission in one warehouse transaction."""
    from ocop.warehouse import consolidate as wh_consolidate

    bundles = [load_bundle(Path(r["bundle"])) for r in results if r]
    engine = engine_for(settings)
    result = wh_consolidate(engine, bundles, run_id)
    summary = {
        "run_id": run_id, "loaded": len(result.loaded), "skipped": len(result.skipped),
        "products": dict(result.stats.__dict__) if result.stats else None,
        "review_pairs": len(result.review),
    }
    log.info("consolidated run %s: %s", run_id, summary)
    _progress("consolidate", **summary)
    return summary


def process_all(items: list[dict], settings: Settings, run_dir: Path, timings: dict | None = None) -> list[dict]:
    """Parse, validate and report every item: what the Airflow DAG's tasks do, for the CLI.

    On ``settings.workers`` processes, forked before Great Expectations is imported: they
    parse the files in batches while this process imports GX (seconds of CPU, hidden behind
    the parsing), this process then validates the whole run at once, and the workers write
    the reports. Results keep the items' order. ``timings``: filled with seconds per stage."""
    timings = {} if timings is None else timings
    clock = _Clock(timings)
    workers = min(settings.workers, len(items))
    if workers <= 1:
        refs = parse_submissions(items, settings, run_dir)
        clock.lap("parse")
        refs = validate_submissions(refs, settings, run_dir)
        clock.lap("validate")
        results = report_submissions(refs, settings, run_dir)
        clock.lap("report")
        return results
    groups = _batch_indices([_size(it) for it in items], workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_listeners.clear) as pool:  # progress is told here
        parsing = [pool.submit(parse_submissions, [items[i] for i in g], settings, run_dir) for g in groups]
        import ocop.validate.suite  # noqa: F401  (while the workers parse)

        clock.lap("import_gx_while_parsing")
        refs: list = [None] * len(items)
        for g, future in zip(groups, parsing):
            for i, ref in zip(g, future.result()):
                refs[i] = ref
        clock.lap("parse_after_gx_import")
        for ref in refs:
            _told_parse(ref)
        refs = validate_submissions(refs, settings, run_dir)
        clock.lap("validate")
        reporting = [pool.submit(report_submissions, [refs[i] for i in g], settings, run_dir) for g in groups]
        results: list = [None] * len(items)
        for g, future in zip(groups, reporting):
            for i, res in zip(g, future.result()):
                results[i] = res
                _told_report(res)
        clock.lap("report")
    return results


class _Clock:
    """Seconds per stage, into ``timings``."""

    def __init__(self, timings: dict):
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self.last, 3)
        self.last = now


def run(settings: Settings, run_id: str | None = None, settle_seconds: float | None = None) -> dict:
    """Everything new in the inbox, end to end (what ``ocop run`` does)."""
    run_id = run_id or "cli-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    run_dir = settings.runs / run_id
    timings: dict = {}
    clock = _Clock(timings)
    items = discover(settings, settle_seconds=settle_seconds)
    clock.lap("discover")
    results = process_all(items, settings, run_dir, timings)
    clock.last = time.perf_counter()
    summary = consolidate(results, settings, run_id) if results else {}
    clock.lap("consolidate")
    if results:
        (run_dir / "timings.json").write_text(json.dumps(timings), encoding="utf-8")
    log.info("run %s: seconds per stage %s", run_id, timings)
    return {"run_id": run_id, "submissions": results, "consolidation": summary, "timings": timings}


def publish(settings: Settings, period: str, supersede_reason: str | None = None) -> str:
    from ocop.warehouse.publish import publish as wh_publish

    return str(wh_publish(engine_for(settings), period, settings.publications, supersede_reason=supersede_reason))


def refresh_current_counts(settings: Settings, as_of: dt.date | None = None) -> dict:
    """Today's official counts, written to ``publications/current/`` for people to look at."""
    from ocop.warehouse import counts_as_of, counts_csv, counts_json

    day = as_of or dt.date.today()
    counts = counts_as_of(engine_for(settings), day)
    folder = settings.publications / "current"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counts.csv").write_text(counts_csv(counts), encoding="utf-8")
    (folder / "counts.json").write_text(counts_json(counts), encoding="utf-8")
    national = {k: int(v) for k, v in dict(counts.national).items()} if hasattr(counts, "national") else {}
    log.info("official counts as of %s: %s", day, national)
    return {"as_of": day.isoformat(), "national": national, "folder": str(folder)}


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1)
    last = first - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def publish_previous_month(settings: Settings, today: dt.date | None = None) -> dict:
    """Publish the last finished month unless it is published already."""
    from ocop.warehouse.publish import PublicationExists

    period = previous_month(today or dt.date.today())
    try:
        return {"period": period, "published": publish(settings, period)}
    except PublicationExists:
        log.info("period %s is already published: left as it is", period)
        return {"period": period, "published": None}
