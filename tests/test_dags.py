"""The DAGs as Airflow sees them: integrity, and a real end-to-end run with dag.test()."""

from __future__ import annotations

import datetime as dt
import json

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
    assert result["dags"]["ocop_ingest"]["schedule"] == "AssetOrTimeSchedule"   # arrivals, or hourly
    # The Ministry decides: one review task per open item, and the approval of a publication.
    assert {"review_items", "review", "apply_review", "publication_due", "approve_publication",
            "publish_period"} <= set(result["dags"]["ocop_publish"]["tasks"])
    assert result["dags"]["ocop_publish"]["hitl_tasks"] == ["approve_publication", "review"]
    assert {"check", "deadline"} <= set(result["dags"]["ocop_submission_status"]["tasks"])
    watchers = result["dags"]["ocop_ingest"]["asset_watchers"]
    assert len(watchers) == 34 and watchers[0]["trigger"] == "DirectoryFileDeleteTrigger"
    assert watchers[0]["directory"].endswith("/inbox/.arrivals") and watchers[0]["filename"] == "01.ready"


def _counts(url: str, day: str) -> dict:
    from ocop.warehouse import counts_as_of, make_engine

    c = counts_as_of(make_engine(url), dt.date.fromisoformat(day))
    return {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
            for r in c.by_province_class.itertuples()}


def test_ingest_and_publish_end_to_end_with_dag_test(tmp_path, small_national):
    import shutil

    source, truth = small_national
    inbox = shutil.copytree(source, tmp_path / "inbox")   # this test adds a file: not to the shared set
    env = airflow_env(tmp_path, OCOP_INBOX=str(inbox), OCOP_WORKERS="2")
    # Nobody is there to decide: run_dags.py answers as the demo user (review items left open),
    # here rejecting the publication.
    code, result, out = run_dags(env, "--reject", "chờ Hà Nội gửi lại", "ocop_ingest", "ocop_publish")
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
    publish = result["ocop_publish"]
    assert publish["state"] == "success", publish["tasks"]
    assert publish["tasks"]["approve_publication"] == "success" and publish["tasks"]["publish_period"] == "success"
    reviews = [k for k in publish["tasks"] if k.startswith("review[")]
    assert reviews and all(publish["tasks"][k] == "success" for k in reviews)   # asked, left open

    url = f"sqlite:///{tmp_path / 'data' / 'warehouse.db'}"
    period = _previous_month(dt.date.today())
    assert _decisions(url) == [(period, "rejected", "demo (scripts/run_dags.py)", "chờ Hà Nội gửi lại", None)]
    assert not (tmp_path / "data" / "publications" / period).exists()
    open_items = json.loads((tmp_path / "data" / "publications" / "current" / "open_review_items.json")
                            .read_text(encoding="utf-8"))["items"]
    assert len(open_items) >= len(reviews)
    for day in truth["snapshot_dates"]:
        assert _counts(url, day) == truth["counts"][day], day
    reports = tmp_path / "data" / "reports"
    for f in truth["files"]:
        code_dir = reports / f["province_code"]
        assert any(code_dir.glob("*/report.json")), f["path"]

    # A second run finds nothing new and changes nothing: no warehouse event, and the rejection
    # stands (nobody is asked the same question again).
    code, result, out = run_dags(env, "ocop_ingest", "ocop_publish")
    assert code == 0, out[-5000:]
    assert not [k for k in result["ocop_ingest"]["tasks"] if k.startswith(("parse[", "report["))]
    assert result["ocop_ingest"]["tasks"]["consolidate"] == "skipped"
    assert result["ocop_publish"]["tasks"]["approve_publication"] == "skipped"
    for day in truth["snapshot_dates"]:
        assert _counts(url, day) == truth["counts"][day], day
    assert len(_decisions(url)) == 1

    # New data arrives: the approval is asked again, and approved this time.
    from ingest_files import write_xlsx

    write_xlsx(inbox / "08" / "bo_sung.xlsx", title=False)
    code, result, out = run_dags(env, "ocop_ingest", "ocop_publish")
    assert code == 0, out[-5000:]
    assert result["ocop_publish"]["tasks"]["approve_publication"] == "success"
    assert _decisions(url)[1:] == [(period, "approved", "demo (scripts/run_dags.py)", None, 1)]
    assert (tmp_path / "data" / "publications" / period / "counts.xlsx").exists()


def _previous_month(today: dt.date) -> str:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _decisions(url: str) -> list[tuple]:
    import sqlalchemy as sa

    from ocop.warehouse import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT period, decision, decided_by, reason, publication_id "
                                    "FROM publication_decision ORDER BY decision_id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]
