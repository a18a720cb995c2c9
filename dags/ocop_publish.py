"""ocop_publish: after every load, ask the Ministry to decide what dedupe could not, refresh the
official counts, and publish each finished month once a Ministry user approves it.

Runs when ``ocop_ingest`` updates the warehouse Asset, and monthly. Wiring only (the logic is
``ocop.pipeline`` / ``ocop.warehouse.decisions``):

1. ``current_counts``: today's counts to ``publications/current/``;
2. ``review_items`` -> ``review`` (one Human-in-the-loop task per open item: a borderline pair,
   merge or keep apart; a product in several provinces, which province or keep apart) ->
   ``apply_review``: every answer becomes the override ``ocop dedupe override`` records, under
   the Airflow user who answered; the counts are refreshed. Unanswered items stay open (listed
   on the status page) and are asked again by the next run;
3. ``publication_due`` (skips the rest when the last month is published) ->
   ``approve_publication`` (Approve / Reject, with a reason; the page shows the counts, the
   changes from the previous publication and the open items) -> ``publish_period``: Approve
   freezes the month with the approver and time; Reject publishes nothing and keeps the reason.

The tasks that write the warehouse or ``publications/`` run on the warehouse queue
(``pipeline.WAREHOUSE_QUEUE``: one Celery worker, docs/deployment.md "Workers and queues").

Who answers, where and how: docs/deployment.md ("Decisions"). ``OCOP_MINISTRY_USERS`` names
the Airflow users who may answer (others get 403).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from ocop import pipeline, storage
from ocop.config import Settings

WAREHOUSE_ASSET = Asset(name=pipeline.WAREHOUSE_ASSET_NAME, uri=pipeline.WAREHOUSE_ASSET_URI)
MINISTRY = pipeline.ministry_users() or None
REASON = Param("", type="string", title="Reason", description="Why (kept with the decision; say why you reject).")


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
    @task(queue=pipeline.WAREHOUSE_QUEUE)
    def current_counts() -> dict:
        return pipeline.refresh_current_counts(Settings.from_env())

    @task(queue=pipeline.WAREHOUSE_QUEUE)
    def review_items() -> list[dict]:
        return storage.review_items(Settings.from_env(), get_current_context()["run_id"])

    review = HITLOperator.partial(
        task_id="review",
        assigned_users=MINISTRY,
        params={"reason": REASON},
        response_timeout=timedelta(days=7),  # then "leave open": asked again by a later run
        map_index_template="{{ task.subject }}",
    ).expand_kwargs(review_items())

    @task(trigger_rule="none_failed", queue=pipeline.WAREHOUSE_QUEUE)  # also when nothing was asked (review skipped)
    def apply_review() -> dict:
        ctx = get_current_context()
        asked = ctx["ti"].xcom_pull(task_ids="review_items") or []
        answers = [ctx["ti"].xcom_pull(task_ids="review", map_indexes=i) for i in range(len(asked))]
        return storage.apply_review(answers, Settings.from_env(), ctx["run_id"])

    @task.short_circuit
    def publication_due() -> dict | None:
        return pipeline.publication_due(Settings.from_env())

    approve = HITLOperator(
        task_id="approve_publication",
        subject="{{ ti.xcom_pull(task_ids='publication_due')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='publication_due')['body'] }}",
        options=[pipeline.APPROVE, pipeline.REJECT],
        params={"reason": REASON},
        assigned_users=MINISTRY,
    )

    @task(queue=pipeline.WAREHOUSE_QUEUE)
    def publish_period() -> dict:
        ctx = get_current_context()
        due = ctx["ti"].xcom_pull(task_ids="publication_due")
        answer = ctx["ti"].xcom_pull(task_ids="approve_publication")
        return pipeline.decide_publication(due, answer, Settings.from_env(), ctx["run_id"])

    counts = current_counts()
    counts >> review
    applied = apply_review()
    review >> applied
    due = publication_due()
    applied >> due >> approve >> publish_period()


ocop_publish()
