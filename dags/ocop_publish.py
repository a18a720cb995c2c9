"""ocop_publish: refresh the official counts after every load, and publish each finished month.

Runs when ``ocop_ingest`` updates the warehouse Asset, and monthly. Publishing a month freezes
its counts (as of its last day) in the warehouse and writes the Ministry's workbook, CSV and
chart to ``publications/<period>/``; a month already published is left as it is.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from ocop import pipeline
from ocop.config import Settings

WAREHOUSE_ASSET = Asset(name=pipeline.WAREHOUSE_ASSET_NAME, uri=pipeline.WAREHOUSE_ASSET_URI)


@dag(
    dag_id="ocop_publish",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 1 * *", timezone="Asia/Ho_Chi_Minh"), assets=[WAREHOUSE_ASSET]
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=pipeline.DAG_DEFAULT_ARGS,
    tags=["ocop", "publish"],
    doc_md=__doc__,
)
def ocop_publish():
    @task
    def current_counts() -> dict:
        return pipeline.refresh_current_counts(Settings.from_env())

    @task
    def publish_last_month() -> dict:
        return pipeline.publish_previous_month(Settings.from_env())

    current_counts() >> publish_last_month()


ocop_publish()
