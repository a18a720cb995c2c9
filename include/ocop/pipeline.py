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
from typing import Callable

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
ARRIVALS_ASSET_NAME = "ocop_province_arrivals"
ARRIVALS_ASSET_URI = "ocop://inbox/arrivals"  # watched by the triggerer, schedules ocop_ingest
# The Celery queue of the tasks that write the warehouse or publications/ or read the drop folder
# (ocop_ingest's discover and consolidate, ocop_publish's writers): one worker serves it
# (docs/deployment.md), so one process at a time takes the warehouse write lock. Read when the
# DAG files are parsed; every other task goes to Airflow's default queue ([operators] default_queue).
WAREHOUSE_QUEUE = os.environ.get("OCOP_WAREHOUSE_QUEUE") or "ocop_warehouse"
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
        remark_unsettled(source, settings)
    log.info("discovered %d new submission(s) from %d source(s)", len(items), len(sources))
    _progress("discover", count=len(items))
    return items


def remark_unsettled(source, settings: Settings) -> None:
    """A drop-folder file still being written is left for later; its province's arrival
    marker is written again so the watcher starts the next run once it settles (instead of
    waiting for the hourly run)."""
    from ocop.ingest.sources import mark_arrival

    for code in sorted(getattr(source, "unsettled", ()) or ()):
        log.info("province %s has a file still being written: arrival marked again", code)
        mark_arrival(settings.inbox, code)


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


def parse_one(path: Path, meta: dict, limits=None, snapshot_date: str | None = None):
    """``(parsed, None)``, or ``(None, file-level rejection)`` for a file that cannot be parsed:
    what a run and ``ocop check`` both do to one local file. Never raises for a bad file.

    ``meta`` holds submission_id, province_code, file_name, sha256 and received_at (ISO); it is
    completed in place with the snapshot date and its source, the sheet, the columns and the
    legacy encoding. ``snapshot_date`` (ISO) replaces the date the file's title or name gives."""
    from ocop.validate.run import file_rejected

    arrived = dt.datetime.fromisoformat(meta["received_at"])
    # Until the file's own title or name says otherwise, the snapshot is dated on arrival.
    meta.update(snapshot_date=snapshot_date or arrived.date().isoformat(),
                snapshot_date_source="given" if snapshot_date else "arrival")
    name = meta["province_code"] + "/" + meta["file_name"]
    try:
        parsed = parse_file(Path(path), province_code=meta["province_code"], file_name=meta["file_name"],
                            sha256=meta["sha256"], submission_id=meta["submission_id"], arrived_at=arrived,
                            limits=limits)
    except FileRejected as exc:
        log.warning("%s rejected: %s", name, exc)
        return None, file_rejected(meta, exc.rule, exc.detail)
    except Exception as exc:  # a file must never crash its province's task
        log.error("%s could not be parsed:\n%s", name, traceback.format_exc())
        return None, file_rejected(meta, "F_UNREADABLE", f"{type(exc).__name__}: {exc}")
    if snapshot_date:
        parsed.snapshot_date, parsed.snapshot_date_source = snapshot_date, "given"
    meta.update(snapshot_date=parsed.snapshot_date, snapshot_date_source=parsed.snapshot_date_source,
                sheet=parsed.sheet, columns=parsed.columns, legacy_encoding=parsed.legacy_encoding)
    return parsed, None


def parse_submission(item: dict, settings: Settings, run_dir: Path) -> dict:
    """Land and parse one file into ``<run_dir>/<submission id>/parsed.pkl`` (the parsed
    submission, or the file-level rejection of a file that could not be parsed).

    Never raises for a bad file: every problem with the file becomes a file-level rejection
    with a report. (Infrastructure failures, e.g. an unwritable landing zone, do raise.)"""
    inc = Incoming(**{k: item[k] for k in Incoming.__dataclass_fields__})
    path = FolderSource(settings.inbox).local_path(inc, run_dir)
    landed = land(path, inc.province_code, settings.landing, source=inc.source,
                  original_name=inc.name, sha256=item.get("sha256"))
    sid = submission_id(inc.province_code, landed.sha256)
    meta = {"submission_id": sid, "province_code": inc.province_code, "file_name": inc.name,
            "sha256": landed.sha256, "landed_path": landed.path, "received_at": landed.arrived_at,
            "source": inc.source}
    # A landing zone in a store (ocop.storage) names the copy by URL: parse the local file whose
    # sha256 the landing checked the copy against.
    parsed, rejected = parse_one(path if "://" in landed.path else Path(landed.path), meta, settings.limits)
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


def validate_submissions(refs: list[dict], settings: Settings, run_dir: Path,
                         docs_later: list | None = None) -> list[dict]:
    """Validate every parsed submission of ``refs`` in one GX run (:func:`ocop.validate.run.validate_many`),
    the run's Data Docs built once, each result to ``<work>/validated.pkl``.

    Should the run over all of them fail, each is validated alone, and a submission whose own
    validation fails is rejected (``F_UNREADABLE``): one broken file never stops the others.
    ``docs_later``: the Data Docs build is appended to it instead (see ``validate_many``)."""
    from ocop.validate.run import file_rejected, validate, validate_many

    works = [_load(Path(r["work"]) / "parsed.pkl") for r in refs]
    todo = [w for w in works if w["validated"] is None]
    docs = Path(run_dir) / "data_docs"
    try:
        done = validate_many([w["parsed"] for w in todo], data_docs_dir=docs, docs_later=docs_later)
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


def report_submission(ref: dict, settings: Settings, run_dir: Path, bundled: bool = False) -> dict:
    """Write one validated submission's reports (and mail them), and its bundle for consolidation.

    Should writing the reports fail on the submission's data, the province gets the report of
    a file-level rejection (``F_UNREADABLE``) instead; an unwritable reports folder raises.
    ``bundled``: :func:`bundle_submission` wrote the bundle already (it is not written again);
    a submission that falls back to the file-level rejection then gets its own bundle in
    ``<work>/fallback/`` (its result's ``bundle``), so the first one is never rewritten."""
    from ocop.validate.run import file_rejected

    w = _load(Path(ref["work"]) / "validated.pkl")
    meta, validated = w["meta"], w["validated"]
    try:
        return _finish(meta, validated, settings, run_dir, bundle=not bundled)
    except OSError:
        raise
    except Exception as exc:
        log.error("the reports of %s could not be written:\n%s", meta["file_name"], traceback.format_exc())
        rejected = file_rejected(meta, "F_UNREADABLE", f"{type(exc).__name__}: {exc}")
        res = _finish(meta, rejected, settings, run_dir, bundle=True, fallback=bundled)
        return {**res, "fell_back": True} if bundled else res


def report_submissions(refs: list[dict], settings: Settings, run_dir: Path, bundled: bool = False) -> list[dict]:
    """:func:`report_submission` of each ref (one mapped task's batch)."""
    return [report_submission(ref, settings, run_dir, bundled) for ref in refs]


def bundle_submission(ref: dict, settings: Settings, run_dir: Path) -> str:
    """Write one validated submission's bundle for consolidation (records, issues, meta), the
    files :func:`report_submission` writes after the reports: what ``ocop run`` consolidates
    while the reports are written (see :func:`run`). Returns the bundle's folder."""
    w = _load(Path(ref["work"]) / "validated.pkl")
    meta = _outcome_meta(w["meta"], w["validated"])
    return str(_write_bundle(_work(run_dir, meta["submission_id"]), meta, w["validated"]))


def bundle_submissions(refs: list[dict], settings: Settings, run_dir: Path) -> list[str]:
    return [bundle_submission(ref, settings, run_dir) for ref in refs]


def _told_report(res: dict) -> None:
    _progress("report", province_code=res["province_code"], file_name=res["file_name"], outcome=res["file_outcome"],
              file_rule=res["file_rule"], rows=res["rows_received"], rejected=res["rows_rejected"])


def _outcome_meta(meta: dict, validated) -> dict:
    """The submission's meta with its outcome and row counts (what the warehouse stores)."""
    return {**meta, "file_outcome": validated.file_outcome, "file_rule": validated.file_rule,
            "file_message": validated.file_message_vi,
            "rows_received": validated.counts["received"], "rows_accepted": validated.counts["accepted"],
            "rows_warned": validated.counts["warned"], "rows_rejected": validated.counts["rejected"]}


def _write_bundle(folder: Path, meta: dict, validated) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    validated.records.to_parquet(folder / "records.parquet", index=False)
    validated.issues.to_parquet(folder / "issues.parquet", index=False)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return folder


def _finish(meta: dict, validated, settings: Settings, run_dir: Path, bundle: bool = True,
            fallback: bool = False) -> dict:
    from ocop.report import write_reports

    meta = _outcome_meta(meta, validated)
    sid, code, name = meta["submission_id"], meta["province_code"], meta["file_name"]
    validated.kept_from_previous = kept_from_previous(validated, settings)
    out = report_dir(settings, code, meta["snapshot_date"], name, meta["sha256"])
    reports = write_reports(validated, out)
    meta["report_dir"] = str(out)
    meta["mail"] = mail_report(validated, code, reports, settings)
    meta["data_docs"] = str(validated.data_docs_path) if validated.data_docs_path else None

    bundle_dir = _work(run_dir, sid) / ("fallback" if fallback else "")
    if bundle:
        _write_bundle(bundle_dir, meta, validated)
    log.info("%s %s: %s — %d received, %d accepted, %d with warnings, %d rejected; report %s; GX Data Docs %s",
             sid, name, validated.file_outcome, meta["rows_received"], meta["rows_accepted"],
             meta["rows_warned"], meta["rows_rejected"], reports.get("xlsx", out), meta["data_docs"] or "-")
    _progress("report", province_code=code, file_name=name, outcome=validated.file_outcome,
              file_rule=validated.file_rule, rows=meta["rows_received"], rejected=meta["rows_rejected"])
    return {"submission_id": sid, "bundle": str(bundle_dir), "province_code": code,
            "file_name": name, "file_outcome": validated.file_outcome, "file_rule": validated.file_rule,
            "rows_received": meta["rows_received"], "rows_rejected": meta["rows_rejected"],
            "report_dir": str(out), "mail": meta["mail"], "data_docs": meta["data_docs"]}


def process_submission(item: dict, settings: Settings, run_dir: Path) -> dict:
    """Land, parse, validate and report one file (a batch of one of the stages above)."""
    refs = validate_submissions([parse_submission(item, settings, run_dir)], settings, run_dir)
    return report_submission(refs[0], settings, run_dir)


# Exit codes of ``ocop check`` (and ``check_file(...)["exit_code"]``).
CHECK_CLEAN, CHECK_ROW_ISSUES, CHECK_FILE_REJECTED = 0, 1, 2


def check_file(path: Path, province_code: str, out_dir: Path, snapshot_date: str | None = None,
               limits=None, max_issues: int = 10) -> dict:
    """A province's check of one file before sending it (``ocop check``): parsed and validated
    exactly as a run would (:func:`parse_one`, then the run's validation as a batch of one),
    ``report.xlsx`` and ``report.json``
    written into ``out_dir``. Nothing is landed, loaded or mailed: no warehouse is opened.

    Returns the outcome, the counts, the first ``max_issues`` issues with their cells
    (``Sheet1!D12``) and ``exit_code``: 0 no issue at all, 1 rows rejected or warned,
    2 the file rejected. (The rows a run would keep from the province's previous snapshot
    need the warehouse, so a check does not say which they would be.)"""
    from ocop.reference.provinces import PROVINCES
    from ocop.report import write_reports
    from ocop.validate.run import validate

    path = Path(path)
    if province_code not in PROVINCES:
        raise ValueError(f"not a 2025 province code: {province_code!r}")
    digest = sha256_of(path)
    meta = {"submission_id": submission_id(province_code, digest), "province_code": province_code,
            "file_name": path.name, "sha256": digest,
            "received_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    parsed, rejected = parse_one(path, meta, limits, snapshot_date=snapshot_date)
    validated = rejected if parsed is None else validate(parsed)
    reports = write_reports(validated, Path(out_dir))
    issues = validated.issues
    first = [{"cell": _cell_ref(sheet, letter, row), "sheet": sheet, "excel_row": int(row),
              "column": letter if isinstance(letter, str) else None, "rule": code, "severity": severity,
              "message": message}
             for sheet, row, letter, code, severity, message in issues[
                 ["sheet", "excel_row", "column_letter", "rule", "severity", "message_vi"]].head(max_issues)
             .itertuples(index=False)]
    if validated.file_outcome == "rejected":
        code = CHECK_FILE_REJECTED
    elif len(issues) or validated.counts["rejected"] or validated.counts["warned"]:
        code = CHECK_ROW_ISSUES
    else:
        code = CHECK_CLEAN
    return {
        "file": str(path), "file_name": path.name, "province_code": province_code,
        "snapshot_date": meta["snapshot_date"], "snapshot_date_source": meta["snapshot_date_source"],
        "sheet": meta.get("sheet"), "file_outcome": validated.file_outcome, "file_rule": validated.file_rule,
        "file_message": validated.file_message_vi, "file_detail": validated.file_detail,
        "counts": validated.counts, "issues_total": int(len(issues)), "issues": first,
        "report_xlsx": str(reports["xlsx"]), "report_json": str(reports["json"]), "exit_code": code,
    }


def _cell_ref(sheet: str, letter, row) -> str:
    """``Sheet1!D12``; a whole row (an issue about no single cell) as ``Sheet1!12:12``."""
    return f"{sheet}!{letter}{int(row)}" if isinstance(letter, str) and letter else f"{sheet}!{int(row)}:{int(row)}"


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

def consolidate(results: list[dict], settings: Settings, run_id: str,
                before_commit: Callable[[], object] | None = None) -> dict:
    """Deduplicate and load every processed submission in one warehouse transaction
    (``before_commit``: see :func:`ocop.warehouse.consolidate`)."""
    from ocop.warehouse import consolidate as wh_consolidate

    bundles = [load_bundle(Path(r["bundle"])) for r in results if r]
    engine = engine_for(settings)
    result = wh_consolidate(engine, bundles, run_id, before_commit=before_commit)
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
    the reports while this process builds the run's Data Docs. Results keep the items' order.
    ``timings``: filled with seconds per stage."""
    return _process(items, settings, run_dir, timings)[0]


def _process(items: list[dict], settings: Settings, run_dir: Path, timings: dict | None = None,
             run_id: str | None = None) -> tuple[list[dict], dict | None]:
    """:func:`process_all`; with ``run_id`` the run is also consolidated (see :func:`run`) and
    its summary returned, else ``None``."""
    timings = {} if timings is None else timings
    clock = _Clock(timings)
    workers = min(settings.workers, len(items))
    if workers <= 1:
        if run_id is not None and items:
            # One process for the work, as asked, but GX lives in a child forked first: it
            # imports GX while this process parses, validates, and exits. This process (the
            # one that then consolidates) never holds GX and its validation's memory, about
            # 100 MB of a one-file run into a large warehouse.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_listeners.clear) as pool:
                importing = pool.submit(_import_gx)
                refs = parse_submissions(items, settings, run_dir)
                clock.lap("parse")
                importing.result()
                clock.lap("import_gx_after_parse")
                refs, events = pool.submit(_validate_telling, refs, settings, run_dir).result()
            for event in events:
                _progress(**event)
            clock.lap("validate")
        else:
            refs = parse_submissions(items, settings, run_dir)
            clock.lap("parse")
            refs = validate_submissions(refs, settings, run_dir)
            clock.lap("validate")
        results = report_submissions(refs, settings, run_dir)
        clock.lap("report")
        return results, None
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
        docs: list = []
        refs = validate_submissions(refs, settings, run_dir, docs_later=docs)
        clock.lap("validate")
        together = run_id is not None
        bundling = [pool.submit(bundle_submissions, [refs[i] for i in g], settings, run_dir)
                    for g in groups] if together else []
        reporting = [pool.submit(report_submissions, [refs[i] for i in g], settings, run_dir, together)
                     for g in groups]
        for build in docs:
            build()
        clock.lap("data_docs_while_reporting")
        results: list = [None] * len(items)

        def wait_for_reports() -> None:
            """Every report's result (a failure raises here)."""
            for g, future in zip(groups, reporting):
                for i, res in zip(g, future.result()):
                    results[i] = res
                    _told_report(res)

        def reports_written() -> None:
            """Before the commit: every report written, and none fell back to a file-level
            rejection (its bundle is then not the one consolidated: roll back and redo)."""
            wait_for_reports()
            if any(res.get("fell_back") for res in results):
                raise _Redo

        if not together:
            wait_for_reports()
            clock.lap("report")
            return results, None
        bundles: list = [None] * len(items)
        for g, future in zip(groups, bundling):
            for i, bundle in zip(g, future.result()):
                bundles[i] = {"bundle": bundle}
        clock.lap("bundle")
        summary = None
        try:
            summary = consolidate(bundles, settings, run_id, before_commit=reports_written)
        except _Redo:
            pass
        clock.lap("consolidate_while_reporting")
    if summary is None:  # a report fell back: consolidate what the reports finally hold
        summary = consolidate(results, settings, run_id)
        clock.lap("consolidate_again")
    return results, summary


def _import_gx() -> None:
    import ocop.validate.suite  # noqa: F401


def _validate_telling(refs: list[dict], settings: Settings, run_dir: Path) -> tuple[list[dict], list[dict]]:
    """:func:`validate_submissions` in a child process, with the progress it told (for the parent)."""
    events: list[dict] = []
    add_progress_listener(events.append)
    return validate_submissions(refs, settings, run_dir), events


class _Redo(Exception):
    """A report fell back to a file-level rejection while the run was consolidated: roll back."""


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
    # On several workers the run is consolidated while they write the reports, and committed
    # only once every report is written (a failing report loads nothing): the order is still
    # reports, then warehouse, as on one worker and in the DAG.
    results, summary = _process(items, settings, run_dir, timings, run_id=run_id)
    clock.last = time.perf_counter()
    if summary is None:
        summary = consolidate(results, settings, run_id) if results else {}
        clock.lap("consolidate")
    if results:
        (run_dir / "timings.json").write_text(json.dumps(timings), encoding="utf-8")
    log.info("run %s: seconds per stage %s", run_id, timings)
    return {"run_id": run_id, "submissions": results, "consolidation": summary, "timings": timings}


def publish(settings: Settings, period: str, supersede_reason: str | None = None, approved_by: str | None = None,
            approved_at: dt.datetime | None = None, run_id: str | None = None) -> str:
    """Freeze ``period``; ``approved_by`` is who approved it (the Airflow user who answered the
    approval task, or the login of whoever ran ``ocop publish``)."""
    from ocop.warehouse.publish import publish as wh_publish

    return str(wh_publish(engine_for(settings), period, settings.publications, supersede_reason=supersede_reason,
                          approved_by=approved_by, approved_at=approved_at, run_id=run_id))


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


# --------------------------------------------------------------------------- people decide

def ministry_users() -> list[dict]:
    """The Airflow users who answer the review and approval tasks (``OCOP_MINISTRY_USERS``,
    comma-separated user ids; empty: anyone allowed to answer on the DAG). ``HITLUser`` dicts."""
    ids = [u.strip() for u in (os.environ.get("OCOP_MINISTRY_USERS") or "").split(",") if u.strip()]
    return [{"id": u, "name": u} for u in ids]


def review_items(settings: Settings, run_dir: Path) -> list[dict]:
    """The open review items, written to ``<run_dir>/review_items.json`` (the answers are
    matched to them by position); returns what each review task shows (``subject``, ``body``,
    ``options``, ``defaults``)."""
    from ocop.warehouse.decisions import MAX_ITEMS

    everything = write_open_items(settings)
    items = everything[:MAX_ITEMS]
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "review_items.json").write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    log.info("%d review item(s) open, %d asked in this run", len(everything), len(items))
    return [{k: item[k] for k in ("subject", "body", "options", "defaults")} for item in items]


OPEN_ITEMS_FILE = "open_review_items.json"


def write_open_items(settings: Settings) -> list[dict]:
    """Every open review item, also written to ``publications/current/open_review_items.json``
    (what the status page lists)."""
    from ocop.warehouse.decisions import open_review_items

    items = open_review_items(engine_for(settings), limit=None)
    folder = settings.publications / "current"
    folder.mkdir(parents=True, exist_ok=True)
    listed = [{k: i.get(k) for k in ("key", "kind", "subject")} for i in items]
    tmp = folder / f".{OPEN_ITEMS_FILE}.tmp"
    tmp.write_text(json.dumps({"as_of": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                               "items": listed}, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / OPEN_ITEMS_FILE)
    return items


def apply_review(answers: list[dict | None], settings: Settings, run_dir: Path, run_id: str) -> dict:
    """Record the answers (``answers[i]`` answers item ``i`` of ``review_items``; ``None`` or
    "leave open": the item stays open), then refresh today's counts."""
    from ocop.warehouse.decisions import apply_review_answer

    path = Path(run_dir) / "review_items.json"
    items = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    engine = engine_for(settings)
    done = [apply_review_answer(engine, item, answer, run_id) for item, answer in zip(items, answers)]
    decided = [d for d in done if d["decision"] != "open"]
    log.info("review: %d decided, %d left open: %s", len(decided), len(done) - len(decided), decided)
    counts = refresh_current_counts(settings) if decided else None
    still_open = len(write_open_items(settings)) if decided else None
    return {"decided": decided, "open": len(done) - len(decided), "counts": counts, "still_open": still_open}


def publication_due(settings: Settings, today: dt.date | None = None) -> dict | None:
    """The last finished month's approval page, or None when it is already published, or was
    rejected and nothing changed since (a new file or a review answer asks again)."""
    from ocop.warehouse import schema
    from ocop.warehouse.decisions import publication_summary, standing_rejection

    period = previous_month(today or dt.date.today())
    engine = engine_for(settings)
    p = schema.publication
    with engine.connect() as conn:
        if conn.scalar(sa.select(p.c.publication_id).where(p.c.period == period, p.c.status == "published")):
            log.info("period %s is already published: nothing to approve", period)
            return None
    if rejected := standing_rejection(engine, period):
        log.info("period %s was rejected by %s at %s (%s) and nothing changed since: not asked again",
                 period, rejected["decided_by"], rejected["decided_at"], rejected["reason"])
        return None
    summary = publication_summary(engine, period)
    return {"period": period, "subject": f"Publish the official OCOP counts of {period}?",
            "body": summary["body"], "national_total": summary["national_total"]}


APPROVE, REJECT = "Approve", "Reject"


def decide_publication(due: dict, answer: dict, settings: Settings, run_id: str | None = None) -> dict:
    """Act on the approval answer: Approve freezes the period with the approver; Reject
    publishes nothing and records the reason."""
    from ocop.warehouse.decisions import _at, _who
    from ocop.warehouse.publish import PublicationExists, record_rejection

    choice = (answer.get("chosen_options") or [None])[0]
    who, at = _who(answer), _at(answer)
    reason = ((answer.get("params_input") or {}).get("reason") or "").strip()
    period = due["period"]
    if choice == APPROVE:
        try:
            folder = publish(settings, period, approved_by=who, approved_at=at, run_id=run_id)
        except PublicationExists:
            log.info("period %s was published meanwhile: left as it is", period)
            return {"period": period, "decision": "approved", "published": None, "approved_by": who}
        log.info("%s approved by %s at %s: published to %s", period, who, at, folder)
        return {"period": period, "decision": "approved", "published": folder, "approved_by": who}
    if choice == REJECT:
        record_rejection(engine_for(settings), period, who, reason, at=at, run_id=run_id)
        log.warning("%s rejected by %s: %s (nothing published)", period, who, reason or "(no reason given)")
        return {"period": period, "decision": "rejected", "published": None, "rejected_by": who, "reason": reason}
    raise ValueError(f"the approval answer must be {APPROVE!r} or {REJECT!r}, not {choice!r}")


def check_deadline(settings: Settings, today: dt.date | None = None) -> dict:
    """The reporting period's deadline check; chases the late provinces through the notifiers."""
    from ocop.monitor import check_deadline as _check, notify_all

    result = _check(engine_for(settings), today)
    errors = notify_all(*result.message()) if result.late else []
    return {**result.as_dict(), "notify_errors": errors}


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1)
    last = first - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"
