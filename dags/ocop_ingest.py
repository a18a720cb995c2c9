"""ocop_ingest: pull each province's new register files, validate, report, consolidate.

Starts when a province's file arrives (the triggerer watches the arrival markers
``<inbox>/.arrivals/<code>.ready``, docs/sources.md), and hourly as the safety net (remote
sources, a marker that was never written). Runs never overlap (``max_active_runs=1``) and a
file already in the warehouse (same province and sha256) is never processed again.

Wiring only: every step is a function of ``ocop.pipeline`` (the same code ``ocop run`` runs)::

    discover -> parse[batch] -> validate -> report[batch] -> consolidate

- ``discover`` splits the new files into ``OCOP_WORKERS`` batches of about equal size (one
  per core by default; ``make demo``, whose ``dag.test()`` runs one task at a time, uses one).
- ``parse`` (one mapped task per batch, named by its provinces in the Grid) lands and parses
  each file of its batch; a file that cannot be parsed becomes that file's rejection.
- ``validate`` runs the Great Expectations suites once over every parsed submission of the
  run (GX is imported and set up once, not once per file) and builds the Data Docs once.
- ``report`` (mapped per batch) writes each province's report.xlsx / report.json, mails it,
  and writes the submission's bundle for consolidation.
- ``consolidate`` (deduplicate + load the warehouse in one transaction) runs once every
  mapped task has finished, whatever their outcome, and emits the warehouse Asset when it
  loaded something (a run that found nothing new skips it: no event, no new ``ocop_publish``
  run).

Between the tasks only the submission ids and folders travel through XCom; the parsed and
validated submissions go through files in the run folder, in the store ``OCOP_STORE_URL``
when one is set (``ocop.storage``: any worker can run any task, sharing no disk).
``discover`` and ``consolidate`` run on the warehouse queue (``pipeline.WAREHOUSE_QUEUE``: one
Celery worker, so one warehouse lock holder, beside the drop folder); the mapped tasks and
``validate`` on the default queue (any number of workers). One province's broken file never
stops the others: parse, validate and report each turn a file's own failure into that file's
rejection, and the validation and consolidation run on whatever the other tasks finished.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger
from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from ocop import pipeline, storage
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


def _run_id() -> str:
    return get_current_context()["run_id"]


def _name_batch(items: list[dict]) -> None:
    get_current_context()["batch"] = pipeline.batch_label(items)  # rendered by map_index_template


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
    @task(queue=pipeline.WAREHOUSE_QUEUE)  # the one worker that sees the drop folder (docs/deployment.md)
    def discover() -> list[list[dict]]:
        return storage.discover(Settings.from_env(), _run_id())

    @task(map_index_template="{{ batch }}", retry_exponential_backoff=True, execution_timeout=timedelta(minutes=30))
    def parse(items: list[dict]) -> list[dict]:
        _name_batch(items)
        return storage.parse_submissions(items, Settings.from_env(), _run_id())

    @task(trigger_rule="all_done", execution_timeout=timedelta(minutes=30))
    def validate(parsed: list[list[dict]]) -> list[list[dict]]:
        batches = [b for b in parsed if b]
        refs = storage.validate_submissions([r for b in batches for r in b], Settings.from_env(), _run_id())
        it = iter(refs)
        return [[next(it) for _ in b] for b in batches]

    @task(map_index_template="{{ batch }}", retry_exponential_backoff=True, execution_timeout=timedelta(minutes=30))
    def report(refs: list[dict]) -> list[dict]:
        _name_batch(refs)
        return storage.report_submissions(refs, Settings.from_env(), _run_id())

    @task(outlets=[WAREHOUSE_ASSET], trigger_rule="all_done", execution_timeout=timedelta(hours=1),
          queue=pipeline.WAREHOUSE_QUEUE)
    def consolidate(results: list[list[dict]]) -> dict:
        done = [r for b in results if b for r in b if r]
        summary = storage.consolidate(done, Settings.from_env(), _run_id())
        if not summary["loaded"]:
            # Nothing new: no warehouse event, so ocop_publish does not ask anybody again.
            raise AirflowSkipException(f"nothing new to load: the warehouse did not change ({summary})")
        return summary

    consolidate(report.expand(refs=validate(parse.expand(items=discover()))))


ocop_ingest()
