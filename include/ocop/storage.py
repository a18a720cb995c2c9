"""Data between Airflow tasks without a shared disk: the store named by ``OCOP_STORE_URL``.

A task of ``ocop_ingest`` may run on any Celery worker, each with its own local folders. What
one task writes and another reads goes through the store, an Airflow ``ObjectStoragePath``:

- ``file:///srv/ocop/store`` (a shared volume, or one host), ``s3://bucket/ocop``, ``gs://...``
  or any fsspec store an installed Airflow provider registers;
- its credentials are an Airflow connection, ``OCOP_STORE_CONN_ID`` (e.g. an ``aws`` connection
  ``ocop_store`` for ``s3://``; ``file://`` needs none);
- unset: no store. Every task reads and writes the ``OCOP_*`` folders in place, as ``ocop run``
  (the CLI) always does; several workers then need those folders on one shared volume.

Layout in the store (the same as under ``OCOP_HOME``)::

    landing/<code>/<yyyy>/<sha256>.<ext> (+ .json)   immutable, sha256-addressed (ocop.ingest.landing)
    reports/<code>/<snapshot>_<stem>_<sha8>/         report.xlsx, report.json
    runs/<run id>/incoming/<code>/<sha256>.<ext>     the files discover found, for the parse tasks
    runs/<run id>/<submission id>/                   parsed.pkl, validated.pkl, records/issues.parquet, meta.json
    runs/<run id>/data_docs/                         the run's GX Data Docs site
    runs/<run id>/review_items.json                  what ocop_publish's review tasks asked

Each task function here downloads what its step needs into a scratch folder of its own,
calls the ``ocop.pipeline`` step (the same code ``ocop run`` runs), and uploads what the step
wrote; XCom carries the store URLs. A retried task (its worker died) starts again from the
store: nothing it needs was on the dead worker's disk.

The landing zone lives in the store itself: ``ocop.ingest.landing.land`` given an
``ObjectStoragePath`` root lands there (:func:`land`) with the same contract: written once
under its sha256 (checked on the bytes written; read back from a remote store), never
overwritten nor deleted. On a ``file://`` store the copy is written under a temporary name,
made read-only and renamed into place; on an object store a PUT is atomic, and an
object-lock / no-overwrite bucket policy keeps it immutable against people too.

This module imports Airflow only when a store is configured (``ocop`` runs without Airflow).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import tempfile
import uuid
from dataclasses import asdict, replace
from pathlib import Path

from ocop.config import Settings

log = logging.getLogger("ocop.storage")

STORE_URL_ENV = "OCOP_STORE_URL"
STORE_CONN_ENV = "OCOP_STORE_CONN_ID"
_CHUNK = 1 << 20
_LOCAL = ("file", "local", "")


# --------------------------------------------------------------------------- the store

def store_root(url: str | None = None, conn_id: str | None = None):
    """The configured store as an ``ObjectStoragePath`` (``OCOP_STORE_URL`` /
    ``OCOP_STORE_CONN_ID`` unless given), or None when none is configured."""
    url = url if url is not None else os.environ.get(STORE_URL_ENV, "")
    if not url.strip():
        return None
    from airflow.sdk import ObjectStoragePath

    conn_id = conn_id if conn_id is not None else os.environ.get(STORE_CONN_ENV) or None
    return ObjectStoragePath(url.strip().rstrip("/"), conn_id=conn_id)


def is_store_path(p) -> bool:
    """An ``ObjectStoragePath`` (anything with a protocol), not a local ``Path`` or str."""
    return not isinstance(p, (str, os.PathLike)) and hasattr(p, "protocol") and hasattr(p, "fs")


def _local(p) -> bool:
    return (p.protocol or "") in _LOCAL


def _mkdir(p) -> None:
    if _local(p):  # object stores have no folders
        p.mkdir(parents=True, exist_ok=True)


def put_file(src: Path, target, *, digest: str | None = None, read_only: bool = False) -> str:
    """Copy the local file ``src`` to ``target`` (a store path); returns its sha256.

    On a local store the bytes go to a temporary name beside ``target`` and are renamed into
    place (a reader never sees half a file); on an object store the PUT itself is atomic.
    ``digest``: the sha256 the bytes must have, checked on what was written (read back from an
    object store); a mismatch removes the copy and raises ``OSError``."""
    _mkdir(target.parent)
    tmp = target.parent / f".incoming-{uuid.uuid4().hex}" if _local(target) else target
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fh, tmp.open("wb") as out:
            while block := fh.read(_CHUNK):
                h.update(block)
                out.write(block)
        written = h.hexdigest() if _local(target) else _sha256(tmp)
        if digest is not None and written != digest:
            raise OSError(f"{src} changed while it was being copied to {target}")
        if _local(target):
            if read_only:
                os.chmod(tmp.path, 0o444)
            os.replace(tmp.path, target.path)
    except BaseException:
        if tmp.exists() and (_local(target) or digest is not None):
            tmp.unlink()
        raise
    return written


def put_bytes(data: bytes, target, *, read_only: bool = False) -> None:
    _mkdir(target.parent)
    if not _local(target):
        with target.open("wb") as out:
            out.write(data)
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent.path, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if read_only:
            os.chmod(tmp, 0o444)
        os.replace(tmp, target.path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def get_file(source, dest: Path) -> Path:
    """Copy the store file ``source`` to the local file ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as fh, open(dest, "wb") as out:
        shutil.copyfileobj(fh, out, _CHUNK)
    return dest


def put_tree(src: Path, target) -> int:
    """Every file under the local folder ``src`` to ``target/<same relative path>``."""
    n = 0
    for folder, _dirs, files in os.walk(src):
        for name in files:
            path = Path(folder) / name
            put_file(path, target / path.relative_to(src).as_posix())
            n += 1
    return n


def _sha256(p) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _at(root, url: str):
    """The store path of ``url`` (a string that travelled through XCom), with ``root``'s connection."""
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(url, conn_id=root.conn_id)


# --------------------------------------------------------------------------- landing zone

def land(src: Path, province_code: str, root, *, source: str = "folder", original_name: str | None = None,
         arrived_at: dt.datetime | None = None, sha256: str | None = None):
    """``ocop.ingest.landing.land`` on a store: ``<root>/<code>/<yyyy>/<sha256>.<ext>`` and its
    ``.json``, written once; the same bytes landed again return the first landing."""
    from ocop.ingest.landing import Landed, landing_facts, safe_extension

    src, digest, arrived, name = landing_facts(src, province_code, original_name, arrived_at, sha256)
    existing = next(iter(sorted((root / province_code).glob(f"*/{digest}.json"), key=str)), None) \
        if (root / province_code).exists() else None
    if existing is not None:
        return Landed(**{**json.loads(existing.read_text(encoding="utf-8")), "already_landed": True})
    folder = root / province_code / f"{arrived.year:04d}"
    target = folder / f"{digest}{safe_extension(name)}"
    if target.exists():  # the copy without its .json (a landing cut short): the bytes must match
        if _sha256(target) != digest:
            raise OSError(f"{target} holds other bytes than its sha256 says: left as it is")
    else:
        put_file(src, target, digest=digest, read_only=True)
    landed = Landed(province_code, digest, str(target), name, src.stat().st_size, source, arrived.isoformat())
    meta = {k: v for k, v in asdict(landed).items() if k != "already_landed"}
    put_bytes(json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"), folder / f"{digest}.json",
              read_only=True)
    return landed


# --------------------------------------------------------------------------- ocop_ingest's tasks

def _dump(obj, path: Path) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)  # written by this pipeline into its own run folder


class _Scratch:
    """A task's own local folder (under ``OCOP_RUNS``), removed when the task ends."""

    def __init__(self, settings: Settings, run_id: str):
        settings.runs.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(dir=settings.runs, prefix=f".task-{_safe(run_id)}-")
        self.dir = Path(self._tmp.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[:60]


def run_folder(root, run_id: str):
    return root / "runs" / run_id


def discover(settings: Settings, run_id: str) -> list[list[dict]]:
    """``pipeline.discover`` in batches; with a store, each file is copied to the run's
    ``incoming/`` there (its sha256 checked), and the items name it by URL."""
    from ocop import pipeline

    items = pipeline.discover(settings)
    groups = pipeline.batches(items, settings.workers)
    root = store_root()
    if root is None:
        return groups
    from ocop.ingest.landing import safe_extension

    incoming = run_folder(root, run_id) / "incoming"
    for item in (it for g in groups for it in g):
        target = incoming / item["province_code"] / f"{item['sha256']}{safe_extension(item['name'])}"
        local = Path(item["location"])
        put_file(local, target, digest=item["sha256"])
        item["location"] = str(target)
        if settings.runs.resolve() in local.resolve().parents:  # a remote source's download: staged now
            local.unlink(missing_ok=True)
    log.info("%d file(s) staged in %s", sum(map(len, groups)), incoming)
    return groups


def hold_for_fault_test() -> None:
    """A deployment test's fault-injection knob, never set in production: a worker started with
    ``OCOP_FAULT_HOLD_SECONDS`` holds each per-submission task that long before its work, so a
    SIGKILL sent while the task is seen running lands mid-task (tests/test_deploy_celery.py;
    on a quiet machine a batch parses in well under a second, faster than the test can look)."""
    import time

    seconds = float(os.environ.get("OCOP_FAULT_HOLD_SECONDS") or 0)
    if seconds > 0:
        time.sleep(seconds)


def parse_submissions(items: list[dict], settings: Settings, run_id: str) -> list[dict]:
    """``pipeline.parse_submissions`` of one batch: landed in the store's landing zone, each
    ``parsed.pkl`` uploaded to ``runs/<run id>/<submission id>/``."""
    from ocop import pipeline

    hold_for_fault_test()
    root = store_root()
    if root is None:
        return pipeline.parse_submissions(items, settings, settings.runs / run_id)
    with _Scratch(settings, run_id) as scratch:
        local = []
        for item in items:
            path = scratch.dir / "incoming" / item["province_code"] / Path(str(item["location"])).name
            local.append({**item, "location": str(get_file(_at(root, item["location"]), path))})
        refs = pipeline.parse_submissions(local, replace(settings, landing=root / "landing"), scratch.dir)
        return [_put_work(root, run_id, ref, "parsed.pkl") for ref in refs]


def _put_work(root, run_id: str, ref: dict, *names: str) -> dict:
    work = run_folder(root, run_id) / ref["submission_id"]
    for name in names:
        put_file(Path(ref["work"]) / name, work / name)
    return {**ref, "work": str(work)}


def _get_work(root, ref: dict, scratch: Path, name: str) -> dict:
    local = scratch / ref["submission_id"]
    get_file(_at(root, ref["work"]) / name, local / name)
    return {**ref, "work": str(local)}


def validate_submissions(refs: list[dict], settings: Settings, run_id: str) -> list[dict]:
    """``pipeline.validate_submissions`` of the whole run; the Data Docs site and each
    ``validated.pkl`` uploaded (the docs' location in the store written into it)."""
    from ocop import pipeline

    root = store_root()
    if root is None:
        return pipeline.validate_submissions(refs, settings, settings.runs / run_id)
    with _Scratch(settings, run_id) as scratch:
        local = [_get_work(root, ref, scratch.dir, "parsed.pkl") for ref in refs]
        local = pipeline.validate_submissions(local, settings, scratch.dir)
        docs_local, docs = scratch.dir / "data_docs", run_folder(root, run_id) / "data_docs"
        if docs_local.is_dir():
            put_tree(docs_local, docs)
        out = []
        for ref in local:
            path = Path(ref["work"]) / "validated.pkl"
            w = _load(path)
            v = w["validated"]
            if getattr(v, "data_docs_path", None):
                page = Path(v.data_docs_path).resolve()
                inside = docs_local.resolve() in page.parents
                # the page's place in the store (a page outside the run's site is not kept)
                v.data_docs_path = str(docs / page.relative_to(docs_local.resolve()).as_posix()) if inside else None
                _dump(w, path)
            out.append(_put_work(root, run_id, ref, "validated.pkl"))
        return out


BUNDLE_FILES = ("records.parquet", "issues.parquet", "meta.json")


def report_submissions(refs: list[dict], settings: Settings, run_id: str) -> list[dict]:
    """``pipeline.report_submissions`` of one batch: the report folders uploaded to the
    store's ``reports/``, the bundles to ``runs/<run id>/<submission id>/``."""
    from ocop import pipeline

    hold_for_fault_test()
    root = store_root()
    if root is None:
        return pipeline.report_submissions(refs, settings, settings.runs / run_id)
    with _Scratch(settings, run_id) as scratch:
        local = [_get_work(root, ref, scratch.dir, "validated.pkl") for ref in refs]
        reports_local = scratch.dir / "reports"
        results = pipeline.report_submissions(local, replace(settings, reports=reports_local), scratch.dir)
        out = []
        for res in results:
            rel = Path(res["report_dir"]).relative_to(reports_local.resolve()).as_posix()
            report_dir = root / "reports" / rel
            put_tree(Path(res["report_dir"]), report_dir)
            meta_path = Path(res["bundle"]) / "meta.json"
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            meta["report_dir"] = str(report_dir)
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            bundle = _put_work(root, run_id, {**res, "work": res["bundle"]}, *BUNDLE_FILES)["work"]
            out.append({**res, "bundle": bundle, "report_dir": str(report_dir)})
        return out


def consolidate(results: list[dict], settings: Settings, run_id: str) -> dict:
    """``pipeline.consolidate`` of the run's bundles, fetched from the store."""
    from ocop import pipeline

    root = store_root()
    if root is None:
        return pipeline.consolidate(results, settings, run_id)
    with _Scratch(settings, run_id) as scratch:
        local = []
        for res in results:
            folder = scratch.dir / res["submission_id"]
            for name in BUNDLE_FILES:
                get_file(_at(root, res["bundle"]) / name, folder / name)
            local.append({**res, "bundle": str(folder)})
        return pipeline.consolidate(local, settings, run_id)


# --------------------------------------------------------------------------- ocop_publish's tasks

def review_items(settings: Settings, run_id: str) -> list[dict]:
    """``pipeline.review_items``; with a store, ``review_items.json`` is kept in the run folder there."""
    from ocop import pipeline

    root = store_root()
    if root is None:
        return pipeline.review_items(settings, settings.runs / run_id)
    with _Scratch(settings, run_id) as scratch:
        shown = pipeline.review_items(settings, scratch.dir)
        put_file(scratch.dir / "review_items.json", run_folder(root, run_id) / "review_items.json")
        return shown


def apply_review(answers: list, settings: Settings, run_id: str) -> dict:
    from ocop import pipeline

    root = store_root()
    if root is None:
        return pipeline.apply_review(answers, settings, settings.runs / run_id, run_id)
    with _Scratch(settings, run_id) as scratch:
        stored = run_folder(root, run_id) / "review_items.json"
        if stored.exists():
            get_file(stored, scratch.dir / "review_items.json")
        return pipeline.apply_review(answers, settings, scratch.dir, run_id)
