"""`make demo`: generate the national sample, run it through the Airflow DAGs, print the counts.

Runs ``ocop_ingest`` then ``ocop_publish`` in this one process with ``dag.test()`` on a SQLite
Airflow metadata database (``airflow_home/``) against the embedded SQLite warehouse
(``data/warehouse.db``), checks every task instance succeeded, and compares the official
counts with the generator's ground truth. Running it again processes nothing new and leaves
the counts unchanged.

What it prints: a line per stage, a progress bar over the submissions naming each province
and its outcome (the ``ocop.pipeline`` progress events), the counts table and where the
reports are. Airflow's own log (and the pipeline's INFO log) goes to ``airflow_home/demo.log``.

Decisions: ``ocop_publish`` asks a Ministry user to review open items and to approve the
publication; nobody is there, so ``scripts/run_dags.py`` answers as ``demo (scripts/run_dags.py)``
(review items left open, the publication approved), recorded as any answer is
(docs/deployment.md, "Decisions").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAR = 24


class Progress:
    """One bar over the submissions of a stage. On a terminal it redraws one line naming the
    latest province and its outcome. In a pipe or a log, the report stage prints a line every
    fifth of the way listing the provinces done since with their outcome; the other stages
    print one line when done, naming the files they rejected."""

    def __init__(self, out=sys.stdout):
        self.out, self.tty = out, out.isatty()
        self.stage, self.total, self.done, self.pending = None, 0, 0, []
        self.started = time.monotonic()

    def __call__(self, event: dict) -> None:
        from ocop.reference.provinces import PROVINCES

        stage = event["stage"]
        if stage == "discover":
            self.total = event["count"]
            self._line(f"   discover   {self.total} new submission(s)")
            return
        if stage == "consolidate":
            self._line(f"   consolidate  {event['loaded']} submission(s) loaded into the warehouse, "
                       f"{event['review_pairs']} pair(s) for review")
            return
        if stage != self.stage:
            self._close()
            self.stage, self.done, self.started = stage, 0, time.monotonic()
        self.done += 1
        p = PROVINCES.get(event["province_code"])
        name = f"{event['province_code']} {p.short_name if p else ''}".strip()
        outcome = event.get("outcome", "")
        if outcome == "rejected":
            outcome = "REJECTED " + (event.get("file_rule") or "")
        elif stage == "report":
            outcome = f"{event.get('rows', 0)} rows" + (f", {event['rejected']} rejected" if event.get("rejected") else "")
        self.pending.append(f"{name} ({outcome})" if stage == "report" or "REJECTED" in outcome else name)
        step = max(1, -(-self.total // 5)) if stage == "report" else self.total
        if self.tty:
            self._draw(f"{name}: {outcome}", end="")
        elif self.done % step == 0 or self.done == self.total:
            self._draw("; ".join(self.pending) if stage == "report" else self._rejected_only())
            self.pending = []
        if self.done == self.total:
            self._close()

    def _rejected_only(self) -> str:
        bad = [p for p in self.pending if "REJECTED" in p]
        return "; ".join(bad) if bad else "none rejected"

    def _draw(self, text: str, end: str = "\n") -> None:
        total = max(self.total, self.done)
        filled = BAR * self.done // total if total else BAR
        line = f"   {self.stage:<9}  [{'#' * filled}{'.' * (BAR - filled)}] {self.done:>3}/{total}  {text}"
        if self.tty:
            width = os.get_terminal_size(self.out.fileno()).columns
            self.out.write("\r\033[K" + line[: width - 1])
        else:
            self.out.write(line + end)
        self.out.flush()

    def _close(self) -> None:
        if self.stage and self.done:
            took = time.monotonic() - self.started
            if self.tty:
                self._draw(f"done in {took:.1f} s")
                self.out.write("\n")
            elif self.pending:
                self._draw("; ".join(self.pending))
            self.pending = []
        self.stage = None

    def _line(self, text: str) -> None:
        self._close()
        self.out.write(text + "\n")
        self.out.flush()


@contextlib.contextmanager
def _output_to(log_file: Path):
    """Everything written to this process's stdout and stderr (Airflow's structlog output, the
    task logs, warnings) goes to ``log_file`` meanwhile; the demo prints to the terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_file, "a", encoding="utf-8") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main() -> int:
    home = Path(os.environ["OCOP_HOME"])
    demo = home / "demo"
    truth_path = demo / "truth.json"
    airflow_home = Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))
    airflow_home.mkdir(parents=True, exist_ok=True)
    log_file = airflow_home / "demo.log"
    started = time.monotonic()
    print(f"OCOP demo: the national sample through the Airflow DAGs. Airflow's own log: {log_file}", flush=True)
    if not truth_path.exists():
        print(f"== 1/3 generating the national sample data set into {demo}", flush=True)
        generator = subprocess.Popen([sys.executable, "-m", "ocop.cli", "generate", "--out", str(demo), "--seed",
                                      "2025", "--scale", "1"], stdout=subprocess.DEVNULL)
    else:
        print(f"== 1/3 sample data set already in {demo} (delete it to regenerate)", flush=True)
        generator = None
    sys.path.insert(0, str(ROOT / "scripts"))
    with open(log_file, "a", encoding="utf-8") as fh:  # Airflow's metadata database, in a child process
        migration = subprocess.Popen(["airflow", "db", "migrate"], stdout=fh, stderr=fh)
    term = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")  # the terminal, while fd 1 goes to the log
    with _output_to(log_file):
        # Seconds of imports while the children work: Great Expectations, and the in-process
        # execution API dag.test() starts before its first task.
        import airflow.api_fastapi.execution_api.app  # noqa: F401
        import ocop.validate.suite  # noqa: F401
    # dag.test() runs one task instance at a time: one batch per stage (fewer task instances).
    os.environ.setdefault("OCOP_WORKERS", "1")

    if generator is not None and generator.wait() != 0:
        raise SystemExit("generating the sample failed")
    if migration.wait() != 0:
        raise SystemExit(f"airflow db migrate failed: see {log_file}")
    def say(*args) -> None:
        print(*args, file=term)

    with _output_to(log_file):
        from run_dags import all_ok, run_dags

        from ocop import pipeline

    pipeline.add_progress_listener(Progress(term))
    steps = {"ocop_ingest": "discover -> parse -> validate -> report -> consolidate",
             "ocop_publish": "current counts -> publish last month"}
    for n, dag_id in enumerate(steps, start=2):
        if dag_id == "ocop_ingest":
            say(f"== {n}/3 {dag_id} with dag.test(): {steps[dag_id]}")
        t = time.monotonic()
        with _output_to(log_file):
            result = run_dags([dag_id])[dag_id]
        not_ok = {k: v for k, v in result["tasks"].items() if v not in ("success", "skipped")}
        say(("   " if dag_id == "ocop_ingest" else f"== {n}/3 {dag_id} ({steps[dag_id]}): ")
            + f"run {result['state']}, {len(result['tasks'])} task instance(s) in {time.monotonic() - t:.0f} s"
            + (f", NOT OK: {not_ok}" if not_ok else ""))
        if not all_ok({dag_id: result}):
            say(f"   see {log_file}")
            return 1

    from ocop.config import Settings
    from ocop.pipeline import engine_for
    from ocop.warehouse import counts_as_of, format_counts_table

    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(truth["snapshot_dates"][-1])
    settings = Settings.from_env()
    counts = counts_as_of(engine_for(settings), as_of)
    say()
    say(format_counts_table(counts).rstrip("\n"))
    got = {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
           for r in counts.by_province_class.itertuples()}
    expected = truth["counts"][as_of.isoformat()]
    diff = {p: (got.get(p), e) for p, e in expected.items() if got.get(p) != e}
    say(f"Counts as of {as_of} equal the generator's ground truth: {'yes' if not diff else 'NO'}")
    for p, (g, e) in sorted(diff.items())[:10]:
        say(f"   {p}: pipeline {g} vs truth {e}")
    say(f"Province reports (report.xlsx + report.json): {settings.reports}/<province code>/")
    say(f"Warehouse: {settings.warehouse_url}   Publications: {settings.publications}")
    say(f"Done in {time.monotonic() - started:.0f} s. Airflow's log: {log_file}. The Airflow UI on the same data: "
        "make airflow")
    return 0 if not diff else 2


if __name__ == "__main__":
    sys.exit(main())
