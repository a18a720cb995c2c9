"""Run OCOP DAGs in this process with ``dag.test()`` and report every task instance's state.

    python scripts/run_dags.py ocop_ingest ocop_publish     # runs them in order, prints "OCOP_RESULT <json>"
    python scripts/run_dags.py --check                      # DAG integrity facts only

The Airflow environment (AIRFLOW_HOME, DAGS_FOLDER, metadata DB) comes from the caller, e.g.
``. scripts/airflow_env.sh``. ``dag.test()`` does not raise when a task fails, so the exit code
is 1 unless every run and every task instance succeeded (or was skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
            }
            for dag_id, dag in bag.dags.items()
        },
    }


def migrate() -> None:
    subprocess.run(["airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


def run_dags(dag_ids: list[str]) -> dict:
    bag = dagbag()
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    out = {}
    for dag_id in dag_ids:
        run = bag.get_dag(dag_id).test()
        tis = run.get_task_instances()
        out[dag_id] = {
            "state": str(run.state),
            "run_id": run.run_id,
            "tasks": {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in tis},
            # what the Grid shows for each mapped task (its map_index_template, rendered)
            "map_labels": {f"{ti.task_id}[{ti.map_index}]": ti.rendered_map_index for ti in tis if ti.map_index >= 0},
        }
    return out


def all_ok(result: dict) -> bool:
    return all(r["state"] == "success" and all(s in ("success", "skipped") for s in r["tasks"].values())
               for r in result.values())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        print("OCOP_RESULT " + json.dumps(check()))
        return 0
    migrate()
    result = run_dags(argv)
    print("OCOP_RESULT " + json.dumps(result))
    return 0 if all_ok(result) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
