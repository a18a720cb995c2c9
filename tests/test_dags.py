"""The DAGs as Airflow sees them: integrity, and a real end-to-end run with dag.test()."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_helpers import airflow_env, run_dags

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]


def test_every_dag_imports_with_tags_owner_and_retries(tmp_path):
    code, result, out = run_dags(airflow_env(tmp_path), "--check")
    assert code == 0, out
    assert result["import_errors"] == {}
    assert {"ocop_ingest", "ocop_publish"} <= set(result["dags"])
    for dag_id, facts in result["dags"].items():
        assert facts["tags"] and "ocop" in facts["tags"], dag_id
        assert facts["owners"] == ["ocop-data-engineering"], dag_id
        assert facts["min_retries"] >= 2, dag_id
        assert facts["max_active_runs"] == 1, dag_id
    assert {"discover", "parse", "validate", "report", "consolidate"} <= set(result["dags"]["ocop_ingest"]["tasks"])
    assert result["dags"]["ocop_publish"]["schedule"] == "AssetOrTimeSchedule"


def _counts(url: str, day: str) -> dict:
    from ocop.warehouse import counts_as_of, make_engine

    c = counts_as_of(make_engine(url), dt.date.fromisoformat(day))
    return {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
            for r in c.by_province_class.itertuples()}


def test_ingest_and_publish_end_to_end_with_dag_test(tmp_path, small_national):
    inbox, truth = small_national
    env = airflow_env(tmp_path, OCOP_INBOX=str(inbox), OCOP_WORKERS="2")
    code, result, out = run_dags(env, "ocop_ingest", "ocop_publish")
    assert code == 0, out[-5000:]
    ingest = result["ocop_ingest"]
    assert ingest["state"] == "success"
    # Batches of submissions per mapped task (one per worker), one validation over the run.
    for stage in ("parse", "report"):
        assert 1 <= len([k for k in ingest["tasks"] if k.startswith(f"{stage}[")]) <= 2, ingest["tasks"]
    assert "validate" in ingest["tasks"]
    assert all(s == "success" for s in ingest["tasks"].values()), ingest["tasks"]
    # The Grid names each mapped task by the provinces of its batch.
    labels = result["ocop_ingest"]["map_labels"]
    assert {c for label in labels.values() for c in label.split(": ", 1)[1].split(", ")} >= {
        f["province_code"] for f in truth["files"]}
    assert result["ocop_publish"]["state"] == "success"

    url = f"sqlite:///{tmp_path / 'data' / 'warehouse.db'}"
    for day in truth["snapshot_dates"]:
        assert _counts(url, day) == truth["counts"][day], day
    reports = tmp_path / "data" / "reports"
    for f in truth["files"]:
        code_dir = reports / f["province_code"]
        assert any(code_dir.glob("*/report.json")), f["path"]

    # A second run finds nothing new and changes nothing.
    code, result, out = run_dags(env, "ocop_ingest")
    assert code == 0, out[-5000:]
    assert not [k for k in result["ocop_ingest"]["tasks"] if k.startswith(("parse[", "report["))]
    for day in truth["snapshot_dates"]:
        assert _counts(url, day) == truth["counts"][day], day
