"""Run OCOP DAGs in this process with ``dag.test()`` and report every task instance's state.

    python scripts/run_dags.py ocop_ingest ocop_publish     # runs them in order, prints "OCOP_RESULT <json>"
    python scripts/run_dags.py --reject "why" ocop_publish  # the demo user rejects the publication
    python scripts/run_dags.py --check                      # DAG integrity facts only

The Airflow environment (AIRFLOW_HOME, DAGS_FOLDER, metadata DB) comes from the caller, e.g.
``. scripts/airflow_env.sh``. ``dag.test()`` does not raise when a task fails, so the exit code
is 1 unless every run and every task instance succeeded (or was skipped).

Decisions: ``dag.test()`` waits for a person as a deployment does (a task ``awaiting_input``).
Nobody is there, so this script answers as the user ``demo (scripts/run_dags.py)``, the way
Airflow's REST API records an answer: review items are left open (nothing is merged or split
for a person who was not asked) and the approval is answered Approve (``--reject REASON``:
Reject). The answer is stored like any other, so the demo's publication names its approver
``demo (scripts/run_dags.py)``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags")))


def check() -> dict:
    bag = dagbag()
    return {
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "tags": sorted(dag.tags),
                "owners": sorted({t.owner for t in dag.tasks}),
                "min_retries": min(t.retries for t in dag.tasks),
                "tasks": sorted(t.task_id for t in dag.tasks),
                "max_active_runs": dag.max_active_runs,
                "schedule": type(dag.timetable).__name__,
                "hitl_tasks": sorted(t.task_id for t in dag.tasks if _is_hitl(t)),
                "asset_watchers": _watchers(dag),
            }
            for dag_id, dag in bag.dags.items()
        },
    }


def _is_hitl(task) -> bool:
    from airflow.providers.standard.operators.hitl import HITLOperator

    cls = getattr(task, "operator_class", type(task))  # a mapped task names its class
    return isinstance(task, HITLOperator) or (isinstance(cls, type) and issubclass(cls, HITLOperator))


def _watchers(dag) -> list[dict]:
    """The asset watchers of the DAG's schedule: trigger class and its arguments."""
    def assets(node):
        if hasattr(node, "watchers"):
            yield node
        for child in getattr(node, "objects", None) or []:
            yield from assets(child)

    out = []
    for asset in assets(getattr(dag.timetable, "asset_condition", None)):
        for w in asset.watchers or []:
            classpath, kwargs = w.trigger.serialize()
            out.append({"name": w.name, "trigger": classpath.rsplit(".", 1)[1], **kwargs})
    return out


def migrate() -> None:
    subprocess.run(["airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


DEMO_USER = {"id": "demo", "name": "demo (scripts/run_dags.py)"}
LEAVE_OPEN = "Leave open (decide later)"


def demo_choice(options: list[str], reject: str | None) -> tuple[list[str], dict]:
    """What the demo user answers: approval -> Approve (or Reject with ``reject`` as the
    reason); a review item -> leave it open."""
    if "Approve" in options:
        return (["Reject"], {"reason": reject}) if reject is not None else (["Approve"], {"reason": "demo run"})
    return [LEAVE_OPEN if LEAVE_OPEN in options else options[-1]], {"reason": ""}


def answer_waiting(reject: str | None = None) -> list[str]:
    """Answer every Human-in-the-loop task waiting for input (as Airflow's REST API does:
    record the response, then resume the task). Returns the task ids answered."""
    from sqlalchemy import select

    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    answered = []
    with create_session() as session:
        waiting = session.scalars(select(TaskInstance).where(TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                                  .with_for_update()).all()
        for ti in waiting:
            detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
            if detail is None or detail.responded_at is not None:
                continue
            chosen, params = demo_choice(list(detail.options or []), reject)
            detail.responded_by = DEMO_USER
            detail.responded_at = timezone.utcnow()
            detail.chosen_options = chosen
            detail.params_input = params if detail.params else {}
            session.add(detail)
            handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
            answered.append(f"{ti.task_id}[{ti.map_index}]: {chosen[0]}")
    return answered


def _answering(stop: threading.Event, reject: str | None) -> None:
    while not stop.wait(1.0):
        try:
            for line in answer_waiting(reject):
                print(f"answered as {DEMO_USER['name']}: {line}", file=sys.stderr, flush=True)
        except Exception as exc:  # noqa: BLE001 - a locked database: try again next second
            print(f"answering waiting decisions: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def run_dags(dag_ids: list[str], reject: str | None = None) -> dict:
    bag = dagbag()
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    out = {}
    stop = threading.Event()
    answerer = threading.Thread(target=_answering, args=(stop, reject), daemon=True)
    answerer.start()
    try:
        for dag_id in dag_ids:
            out[dag_id] = _run(bag, dag_id)
    finally:
        stop.set()
        answerer.join(timeout=10)
    return out


def _run(bag, dag_id: str) -> dict:
    run = bag.get_dag(dag_id).test()
    tis = run.get_task_instances()
    return {
        "state": str(run.state),
        "run_id": run.run_id,
        "tasks": {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in tis},
        # what the Grid shows for each mapped task (its map_index_template, rendered)
        "map_labels": {f"{ti.task_id}[{ti.map_index}]": ti.rendered_map_index for ti in tis if ti.map_index >= 0},
    }


def all_ok(result: dict) -> bool:
    return all(r["state"] == "success" and all(s in ("success", "skipped") for s in r["tasks"].values())
               for r in result.values())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        print("OCOP_RESULT " + json.dumps(check()))
        return 0
    reject = None
    if argv[:1] == ["--reject"]:
        reject, argv = argv[1], argv[2:]
    migrate()
    result = run_dags(argv, reject)
    print("OCOP_RESULT " + json.dumps(result))
    return 0 if all_ok(result) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
