"""ocop_ingest: pull each province's new register files, validate, report, consolidate.

Wiring only: every step is a function of ``ocop.pipeline`` (the same code ``ocop run`` runs).
One mapped task per submission, so one province's broken file never stops the others; the
consolidation (deduplicate + load the warehouse in one transaction) runs once every mapped
task has finished, whatever their outcome, and emits the warehouse Asset.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from ocop import pipeline
from ocop.config import Settings

WAREHOUSE_ASSET = Asset(name=pipeline.WAREHOUSE_ASSET_NAME, uri=pipeline.WAREHOUSE_ASSET_URI)


@dag(
    dag_id="ocop_ingest",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=pipeline.DAG_DEFAULT_ARGS,
    tags=["ocop", "ingest"],
    doc_md=__doc__,
)
def ocop_ingest():
    @task
    def discover() -> list[dict]:
        return pipeline.discover(Settings.from_env())

    @task(max_active_tis_per_dagrun=4, retry_exponential_backoff=True, execution_timeout=timedelta(minutes=30))
    def process_submission(item: dict) -> dict:
        ctx = get_current_context()
        settings = Settings.from_env()
        return pipeline.process_submission(item, settings, settings.runs / ctx["run_id"])

    @task(outlets=[WAREHOUSE_ASSET], trigger_rule="all_done", execution_timeout=timedelta(hours=1))
    def consolidate(results: list[dict]) -> dict:
        ctx = get_current_context()
        return pipeline.consolidate([r for r in results if r], Settings.from_env(), ctx["run_id"])

    consolidate(process_submission.expand(item=discover()))


ocop_ingest()
