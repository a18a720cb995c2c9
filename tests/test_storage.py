"""``ocop.storage``: the landing zone on any store, and ocop_ingest's tasks on two "workers"
(two OCOP_HOMEs) that share nothing but a ``file://`` store and the warehouse.

The object-store branch (no rename, read-back digest) runs on fsspec's in-memory filesystem,
attached to Airflow's ``ObjectStoragePath`` as a provider's filesystem would be."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem

from ocop import pipeline, storage
from ocop.config import Settings
from ocop.ingest.landing import land


@pytest.fixture
def memory_store():
    fs = MemoryFileSystem()
    fs.store.clear()
    attach("memory", fs=fs)
    return ObjectStoragePath("memory://ocop-test/landing")


@pytest.fixture(params=["file", "memory"])
def landing_root(request, tmp_path, memory_store):
    if request.param == "file":
        return ObjectStoragePath(f"file://{tmp_path / 'store' / 'landing'}")
    return memory_store


def test_landing_on_a_store_is_sha256_addressed_and_written_once(tmp_path, landing_root):
    src = tmp_path / "danh sach.xlsx"
    src.write_bytes(b"register bytes")
    first = land(src, "01", landing_root, source="folder", arrived_at=dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc))
    digest = first.sha256
    assert first.path == str(landing_root / "01" / "2026" / f"{digest}.xlsx") and not first.already_landed
    assert ObjectStoragePath(first.path).read_bytes() == b"register bytes"
    meta = json.loads((landing_root / "01" / "2026" / f"{digest}.json").read_text())
    assert meta["original_name"] == "danh sach.xlsx" and meta["sha256"] == digest

    # The same bytes again (other name, later): the first landing, nothing rewritten.
    again_src = tmp_path / "other.xlsx"
    shutil.copyfile(src, again_src)
    again = land(again_src, "01", landing_root, arrived_at=dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc))
    assert again.already_landed and again.path == first.path and again.arrived_at == first.arrived_at
    assert not (landing_root / "01" / "2027").exists()
    if landing_root.protocol == "file":  # read-only on disk, no temporary file left
        assert (Path(first.path.removeprefix("file://")).stat().st_mode & 0o222) == 0
        assert sorted(p.name for p in (landing_root / "01" / "2026").iterdir()) == [f"{digest}.json",
                                                                                  f"{digest}.xlsx"]

    # Bytes that do not match the sha256 they are landed under are refused, and not kept.
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"other bytes")
    with pytest.raises(OSError, match="changed"):
        land(bad, "02", landing_root, sha256=digest)
    assert not list((landing_root / "02").glob("*/*")) if (landing_root / "02").exists() else True


def test_a_landed_copy_without_its_json_is_checked_not_overwritten(tmp_path, landing_root):
    src = tmp_path / "a.csv"
    src.write_bytes(b"a,b\n1,2\n")
    from ocop.ingest.landing import sha256_of

    digest = sha256_of(src)
    target = landing_root / "01" / "2026" / f"{digest}.csv"
    storage.put_bytes(b"tampered", target)
    with pytest.raises(OSError, match="other bytes"):
        land(src, "01", landing_root, sha256=digest, arrived_at=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc))
    assert target.read_bytes() == b"tampered"


def test_ingest_tasks_on_two_homes_share_only_the_store(tmp_path, monkeypatch, small_national, sqlite_url):
    """discover on A, parse on B, validate on A, report on B, consolidate on A: each step finds
    what the one before wrote in the store, never on the other's disk; counts equal the truth."""
    inbox_all, truth = small_national
    keep = ["01", "79"]
    inbox = tmp_path / "inbox"
    for code in keep:
        shutil.copytree(inbox_all / code, inbox / code)
    store = tmp_path / "store"
    monkeypatch.setenv(storage.STORE_URL_ENV, f"file://{store}")
    monkeypatch.delenv(storage.STORE_CONN_ENV, raising=False)
    a = Settings.from_env(home=tmp_path / "a", inbox=inbox, warehouse_url=sqlite_url, workers=2, settle_seconds=0)
    b = Settings.from_env(home=tmp_path / "b", inbox=inbox, warehouse_url=sqlite_url, workers=2, settle_seconds=0)
    a = a.__class__(**{**a.__dict__, **{k: tmp_path / "a" / k for k in ("landing", "reports", "runs", "publications")}})
    b = b.__class__(**{**b.__dict__, **{k: tmp_path / "b" / k for k in ("landing", "reports", "runs", "publications")}})
    run_id = "manual__2026-12-03T00:00:00+00:00"

    groups = storage.discover(a, run_id)
    files = [f for f in truth["files"] if f["province_code"] in keep]
    assert sum(map(len, groups)) == len(files) and len(groups) == 2
    assert all(it["location"].startswith(f"file://{store}/runs/{run_id}/incoming/") for g in groups for it in g)
    parsed = [storage.parse_submissions(g, b, run_id) for g in groups]
    refs = storage.validate_submissions([r for g in parsed for r in g], a, run_id)
    assert all(r["work"].startswith(f"file://{store}/runs/") for r in refs)
    results = storage.report_submissions(refs, b, run_id)
    summary = storage.consolidate(results, a, run_id)
    assert summary["loaded"] == len(files), summary

    # Landing zone, reports, bundles and Data Docs are in the store; neither home keeps any.
    landed = sorted(p.name for p in (store / "landing").rglob("*") if p.is_file() and p.suffix != ".json")
    assert len(landed) == len(files)
    assert len(list((store / "reports").rglob("report.json"))) == len(files)
    assert (store / "runs" / run_id / "data_docs" / "index.html").exists()
    for home in (tmp_path / "a", tmp_path / "b"):
        assert not [p for p in home.rglob("*") if p.is_file() and p.name != "warehouse.db"], home
    engine = pipeline.engine_for(a)
    with engine.connect() as conn:
        import sqlalchemy as sa

        paths = [r[0] for r in conn.execute(sa.text("SELECT landed_path FROM submission"))]
    assert len(paths) == len(files) and all(p.startswith(f"file://{store}/landing/") for p in paths)
    meta = json.loads((Path(results[0]["bundle"].removeprefix("file://")) / "meta.json").read_text())
    assert meta["report_dir"].startswith(f"file://{store}/reports/")
    assert meta["data_docs"] is None or meta["data_docs"].startswith(f"file://{store}/runs/{run_id}/data_docs/")

    from ocop.warehouse import counts_as_of

    for day in truth["snapshot_dates"]:
        got = {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
               for r in counts_as_of(engine, dt.date.fromisoformat(day)).by_province_class.itertuples()}
        for code in keep:
            assert got[code] == truth["counts"][day][code], (day, code)

    # The same inbox again: nothing new (the warehouse knows every file), nothing staged.
    assert storage.discover(b, "manual__again") == []


def test_without_a_store_the_tasks_use_the_folders_in_place(tmp_path, monkeypatch):
    monkeypatch.delenv(storage.STORE_URL_ENV, raising=False)
    assert storage.store_root() is None
    assert storage.store_root("file:///srv/ocop/store/").path == "/srv/ocop/store"
