"""`make demo`: generate the national sample, run it through the Airflow DAGs, print the counts.

Runs ``ocop_ingest`` then ``ocop_publish`` in this one process with ``dag.test()`` on a SQLite
Airflow metadata database (``airflow_home/``) against the embedded SQLite warehouse
(``data/warehouse.db``), checks every task instance succeeded, and compares the official
counts with the generator's ground truth. Running it again processes nothing new and leaves
the counts unchanged.

Decisions: ``ocop_publish`` asks a Ministry user to review open items and to approve the
publication; nobody is there, so ``scripts/run_dags.py`` answers as ``demo (scripts/run_dags.py)``
(review items left open, the publication approved), recorded as any answer is
(docs/deployment.md, "Decisions").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    home = Path(os.environ["OCOP_HOME"])
    demo = home / "demo"
    truth_path = demo / "truth.json"
    started = time.monotonic()
    if not truth_path.exists():
        print(f"== generating the national sample data set into {demo}", flush=True)
        subprocess.run([sys.executable, "-m", "ocop.cli", "generate", "--out", str(demo), "--seed", "2025", "--scale", "1"], check=True)
    else:
        print(f"== sample data set already in {demo} (delete it to regenerate)")

    print("== migrating the Airflow metadata database", flush=True)
    sys.path.insert(0, str(ROOT / "scripts"))
    from run_dags import all_ok, migrate, run_dags

    migrate()
    for dag_id in ("ocop_ingest", "ocop_publish"):
        print(f"== running {dag_id} (dag.test)", flush=True)
        result = run_dags([dag_id])[dag_id]
        not_ok = {k: v for k, v in result["tasks"].items() if v not in ("success", "skipped")}
        print(f"   {dag_id}: run {result['state']}, {len(result['tasks'])} task instance(s)"
              + (f", NOT OK: {not_ok}" if not_ok else ""))
        if not all_ok({dag_id: result}):
            return 1

    from ocop.config import Settings
    from ocop.pipeline import engine_for
    from ocop.warehouse import counts_as_of, format_counts_table

    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(truth["snapshot_dates"][-1])
    settings = Settings.from_env()
    counts = counts_as_of(engine_for(settings), as_of)
    print()
    print(format_counts_table(counts))
    got = {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
           for r in counts.by_province_class.itertuples()}
    expected = truth["counts"][as_of.isoformat()]
    diff = {p: (got.get(p), e) for p, e in expected.items() if got.get(p) != e}
    print(f"Counts as of {as_of} equal the generator's ground truth: {'yes' if not diff else 'NO'}")
    for p, (g, e) in sorted(diff.items())[:10]:
        print(f"   {p}: pipeline {g} vs truth {e}")
    print(f"Province reports (Excel + report.json): {settings.reports}/<province code>/")
    print(f"Warehouse: {settings.warehouse_url}   Publications: {settings.publications}")
    print(f"Done in {time.monotonic() - started:.0f} s. Open the Airflow UI on the same data: make airflow")
    return 0 if not diff else 2


if __name__ == "__main__":
    sys.exit(main())
