"""ocop_ingest: pull each province's new register files, validate, report, consolidate.

Starts when a province's file arrives (the triggerer watches the arrival markers
``<inbox>/.arrivals/<code>.ready``, docs/sources.md), and hourly as the safety net (remote
sources, a marker that was never written). Runs never overlap (``max_active_runs=1``) and a
file already in the warehouse (same province and sha256) is never processed again.

Wiring only: every step is a function of ``ocop.pipeline`` (the same code ``ocop run`` runs).
One mapped task per submission, so one province's broken file never stops the others; the
consolidation (deduplicate + load the warehouse in one transaction) runs once every mapped
task has finished, whatever their outcome, and emits the warehouse Asset when it loaded
something (a run that found nothing new skips it: no event, no new ``ocop_publish`` run).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger
from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from ocop import pipeline
from ocop.config import Settings
from ocop.ingest.sources import ARRIVALS_DIR
from ocop.reference.provinces import PROVINCES

WAREHOUSE_ASSET = Asset(name=pipeline.WAREHOUSE_ASSET_NAME, uri=pipeline.WAREHOUSE_ASSET_URI)
# One watcher per province marker; the triggerer scans the folder once for all of them. The
# trigger deletes the marker it matches (never a register: registers are not watched).
ARRIVALS = Asset(
    name=pipeline.ARRIVALS_ASSET_NAME, uri=pipeline.ARRIVALS_ASSET_URI,
    watchers=[AssetWatcher(name=f"ocop_arrival_{code}",
                           trigger=DirectoryFileDeleteTrigger(directory=str(Settings.from_env().inbox / ARRIVALS_DIR),
                                                              filename=f"{code}.ready", poke_interval=5.0))
              for code in sorted(PROVINCES)],
)


@dag(
    dag_id="ocop_ingest",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 * * * *", timezone="Asia/Ho_Chi_Minh"),
                                 assets=[ARRIVALS]),
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
        summary = pipeline.consolidate([r for r in results if r], Settings.from_env(), ctx["run_id"])
        if not summary["loaded"]:
            # Nothing new: no warehouse event, so ocop_publish does not ask anybody again.
            raise AirflowSkipException(f"nothing new to load: the warehouse did not change ({summary})")
        return summary

    consolidate(process_submission.expand(item=discover()))


ocop_ingest()
