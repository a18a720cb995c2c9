"""ocop_submission_status: every morning, list the provinces that need chasing and tell people.

Wiring only (the logic is ``ocop.monitor``):

- ``check``: provinces with no accepted snapshot in ``OCOP_STALE_DAYS`` days (default 120) and
  provinces whose latest file was rejected;
- ``deadline``: once the reporting month's submission deadline (``OCOP_DEADLINES`` file, else
  day ``OCOP_DEADLINE_DAY`` of the next month, default 10) has passed, the provinces with no
  accepted register for the month. This is the deadline check, not an Airflow ``DeadlineAlert``:
  a deadline alert (experimental in 3.3) watches how long a *DAG run* takes, while a late
  province is a fact of the warehouse (no file at all starts no run to watch).

When there is any, the notifiers (log; e-mail to ``OCOP_ALERT_TO`` via ``OCOP_SMTP_*``) get the
list. A failed task of this DAG notifies through ``ocop.monitor.task_failure_callback``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from ocop import monitor, pipeline
from ocop.config import Settings


@dag(
    dag_id="ocop_submission_status",
    schedule="0 7 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=pipeline.DAG_DEFAULT_ARGS,  # its failure callback is ocop.monitor.task_failure_callback
    tags=["ocop", "monitoring"],
    doc_md=__doc__,
)
def ocop_submission_status():
    @task
    def check() -> dict:
        result = monitor.check_submissions(pipeline.engine_for(Settings.from_env()))
        errors = [] if result.ok else monitor.notify_all(*result.message())
        return {**result.as_dict(), "notify_errors": errors}

    @task
    def deadline() -> dict:
        return pipeline.check_deadline(Settings.from_env())

    check()
    deadline()


ocop_submission_status()
