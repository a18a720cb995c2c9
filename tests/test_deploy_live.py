"""A real deployment on this machine: the Airflow components as separate processes.

``airflow api-server``, ``airflow scheduler``, ``airflow dag-processor`` and ``airflow
triggerer`` (LocalExecutor; the triggerer runs the arrival watchers) on a fresh PostgreSQL
metadata database, the simple auth manager with two known users (``ocop``, the Ministry user
of ``OCOP_MINISTRY_USERS``, and ``clerk``, who is not), the warehouse in a second fresh
PostgreSQL database, the OCOP folders in tmp. The DAGs are unpaused and ``ocop_ingest``
triggered through the REST API v2 with a JWT from ``POST /auth/token``; the run must succeed,
the warehouse Asset must trigger ``ocop_publish``, whose approval waits for a person: ``clerk``
is refused (403), ``ocop`` rejects it (nothing published, the reason kept), and the official
counts must equal the generator's ground truth. Then, in order: a province's file and its
arrival marker are dropped and ``ocop_ingest`` starts with no trigger call (the triggerer's
watcher); the review task waits; ``ocop`` answers it through REST and the override is recorded
under ``ocop``; the approval waits; ``ocop`` approves and the month is frozen with its approver.
Then the status page (plugin) is checked: it refuses anonymous callers, and a headless
Chromium logs in through Airflow's login page, opens the page in the Airflow UI and finds all
34 provinces, the counts and the link to the waiting decisions (screenshot in
``test-artifacts/``).

The servers start once (one test, in phases); every process group is killed at the end, also when a
test fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from airflow_helpers import airflow_env

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.xdist_group("airflow")]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PG_SERVER = os.environ.get("OCOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
USER, ROLE = "ocop", "admin"
CLERK = "clerk"          # may use the UI and the API (admin role) but is not a Ministry user
DAG_IDS = ("ocop_ingest", "ocop_publish", "ocop_submission_status")
TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------- processes

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_db(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_SERVER.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_db(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """The processes of one deployment; ``stop()`` kills each process group and stragglers."""

    def __init__(self, tmp: Path, env: dict[str, str], port: int, password: str):
        self.tmp, self.env, self.port, self.password = tmp, env, port, password
        self.base = f"http://127.0.0.1:{port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(["airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.tmp)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, n: int = 4000) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def keep_logs(self, prefix: str) -> None:
        """Copy each process's log to test-artifacts/<prefix>-<name>.log (for CI's eyes)."""
        ARTIFACTS.mkdir(exist_ok=True)
        for name in self.procs:
            if (self.tmp / f"{name}.log").exists():
                shutil.copyfile(self.tmp / f"{name}.log", ARTIFACTS / f"{prefix}-{name}.log")

    def stop(self) -> None:
        family: list[psutil.Process] = []
        for proc in self.procs.values():
            try:
                family += [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _, alive = psutil.wait_procs(family, timeout=15)
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in alive:  # a child that left the group (setsid) is still ours
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        for proc in self.procs.values():
            proc.wait(timeout=5)


def _wait(what: str, predicate, timeout: float, stack: Stack | None = None, every: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if stack is not None:
            stack.check_alive()
        try:
            last = predicate()
            if last:
                return last
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """The generator's small national set, cut down to a few provinces for speed.

    Every task of a real deployment is its own process (~9 s each here, imports included), so
    the 69 files of all 34 provinces would take minutes; the full set runs in test_dags.py
    (dag.test). The provinces kept share no product with any other province (the truth's
    clusters), so their counts are exactly the truth's, and every other province counts 0:
    01, 79 and the province with a rejected file."""
    from ocop.generate import generate

    out = tmp_path_factory.mktemp("live-national")
    truth = json.loads(Path(generate(out, seed=7, scale=0.03)).read_text(encoding="utf-8"))
    cross = {p for c in truth["clusters"] for p in {r.split("/")[0] for r in c}
             if len({r.split("/")[0] for r in c}) > 1}
    rejected = {f["province_code"] for f in truth["files"] if f["file_outcome"] == "rejected"}
    keep = sorted(({"01", "79"} | set(sorted(rejected)[:1])) - cross)
    assert len(keep) >= 2, (cross, rejected)
    inbox = out / "live-inbox"
    for code in keep:
        shutil.copytree(out / "inbox" / code, inbox / code)
    files = [f for f in truth["files"] if f["province_code"] in keep]
    counts = {day: {code: (c if code in keep else dict.fromkeys(c, 0)) for code, c in per.items()}
              for day, per in truth["counts"].items()}
    today = _truth_counts_on(dt.date.today(), seed=7, scale=0.03, check=truth["counts"])
    today = {code: (c if code in keep else dict.fromkeys(c, 0)) for code, c in today.items()}
    return inbox, {**truth, "files": files, "counts": counts, "counts_today": today}


def _truth_counts_on(day: dt.date, *, seed: int, scale: float, check: dict) -> dict:
    """The generator's own truth function (``ocop.generate.truth._counts``) on ``day``, a date
    truth.json does not hold (the status page counts as of today). The submissions are rebuilt
    from the seed as ``generate`` builds them, and first checked against truth.json's dates."""
    import numpy as np
    import pandas as pd

    from ocop.generate.layout import design_layouts
    from ocop.generate.model import build_world
    from ocop.generate.submissions import build_submissions
    from ocop.generate.truth import _counts as truth_counts

    rng = np.random.default_rng(seed)
    layouts = design_layouts(rng)
    subs = build_submissions(build_world(rng, scale), layouts, rng)
    records = pd.concat([s.rows.assign(snapshot=pd.Timestamp(s.snapshot)) for s in subs if not s.rejected_rule],
                        ignore_index=True)
    for d, expected in check.items():
        assert truth_counts(records, dt.date.fromisoformat(d)) == expected, d
    return truth_counts(records, day)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, national):
    inbox, _truth = national
    tmp = tmp_path_factory.mktemp("live-airflow")
    suffix = uuid.uuid4().hex[:8]
    meta_db, wh_db = f"ocop_live_meta_{suffix}", f"ocop_live_wh_{suffix}"
    port, password = _free_port(), secrets.token_urlsafe(12)
    clerk_password = secrets.token_urlsafe(12)
    (tmp / "passwords.json").write_text(json.dumps({USER: password, CLERK: clerk_password}))
    stack = None
    _create_db(meta_db)
    _create_db(wh_db)
    try:
        meta_url = f"{PG_SERVER.rsplit('/', 1)[0]}/{meta_db}".replace("postgresql://", "postgresql+psycopg://", 1)
        wh_url = f"{PG_SERVER.rsplit('/', 1)[0]}/{wh_db}"
        env = airflow_env(
            tmp,
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_url,
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_url.replace("+psycopg:", "+psycopg_async:"),
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:{ROLE},{CLERK}:{ROLE}",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(tmp / "passwords.json"),
            AIRFLOW__CORE__LAZY_LOAD_PLUGINS="False",
            AIRFLOW__API__PORT=str(port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
            AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(24),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            OCOP_INBOX=str(inbox),
            OCOP_WAREHOUSE_URL=wh_url,
            OCOP_MINISTRY_USERS=USER,
        )
        TIMINGS["db_migrate_s"] = migrate_metadata(env, tmp)
        stack = Stack(tmp, env, port, password)
        stack.clerk_password = clerk_password
        t0 = time.monotonic()
        stack.start("api-server", "api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1")
        stack.start("dag-processor", "dag-processor")
        stack.start("scheduler", "scheduler")
        stack.start("triggerer", "triggerer")
        _wait("the API server's health endpoint",
              lambda: httpx.get(f"{stack.base}/api/v2/monitor/health", timeout=5).status_code == 200, 180, stack)
        TIMINGS["api_server_up_s"] = time.monotonic() - t0
        stack.wh_url = wh_url
        yield stack
    finally:
        if stack is not None:
            stack.stop()
            stack.keep_logs("live")
        _drop_db(meta_db)
        _drop_db(wh_db)
        if TIMINGS:
            (ARTIFACTS / "live-timings.json").write_text(json.dumps(TIMINGS, indent=1))
            print("live deployment timings:", json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))


# --------------------------------------------------------------------------- REST API v2

def _token(stack: Stack, user: str = USER) -> str:
    password = stack.password if user == USER else stack.clerk_password
    r = httpx.post(f"{stack.base}/auth/token", json={"username": user, "password": password}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def api(stack):
    client = httpx.Client(base_url=f"{stack.base}/api/v2", timeout=30,
                          headers={"Authorization": f"Bearer {_token(stack)}"})
    yield client
    client.close()


def _runs(api: httpx.Client, dag_id: str) -> list[dict]:
    r = api.get(f"/dags/{dag_id}/dagRuns", params={"order_by": "-start_date", "limit": 50})
    r.raise_for_status()
    return r.json()["dag_runs"]


def _wait_run(stack, api, dag_id: str, run_id: str, timeout: float) -> dict:
    def finished():
        run = api.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()
        return run if run["state"] in ("success", "failed") else None

    return _wait(f"{dag_id} run {run_id}", finished, timeout, stack, every=2)


def _task_states(api, dag_id: str, run_id: str) -> dict[str, str]:
    r = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    r.raise_for_status()
    return {ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): ti["state"]
            for ti in r.json()["task_instances"]}


def migrate_metadata(env: dict, cwd) -> float:
    """``airflow db migrate`` (which ``dag.test`` and every process need first); its seconds."""
    t0 = time.monotonic()
    done = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.monotonic() - t0


def _counts(url: str, day: str) -> dict:
    from ocop.warehouse import counts_as_of, make_engine

    engine = make_engine(url)
    try:
        c = counts_as_of(engine, dt.date.fromisoformat(day))
    finally:
        engine.dispose()
    return {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
            for r in c.by_province_class.itertuples()}


# --------------------------------------------------------------------------- the test

def test_live_deployment(stack, api, national):
    """One test, phases in order: the servers start once, and no test distribution can split
    the phases over two workers (each would start its own deployment)."""
    deployed = _deploy(stack, api, national)
    _check_ingest_publish_counts(stack, deployed, national)
    # Checked against the generator's truth: before the arrival step, whose new Huế register
    # (a full snapshot of one product) changes Huế's count and staleness on purpose.
    _check_submission_status_dag(stack, api, national)
    _check_status_page_authentication(stack)
    _check_status_page_in_the_ui_with_a_browser(stack, national)
    _check_arrival_review_and_approval(stack, api, national)



def _deploy(stack, api, national) -> dict:
    """DAGs parsed and unpaused, ``ocop_ingest`` triggered through the API, every ingest run
    and the Asset-triggered ``ocop_publish`` run finished (their facts, for the tests)."""
    _inbox, truth = national
    t0 = time.monotonic()

    def parsed():
        dags = api.get("/dags", params={"dag_id_pattern": "ocop", "paused": "true"}).json()["dags"]
        errors = api.get("/importErrors").json()
        assert errors["total_entries"] == 0, errors
        return {d["dag_id"] for d in dags} >= set(DAG_IDS)

    _wait("the DAGs to be parsed", parsed, 180, stack)
    TIMINGS["dags_parsed_s"] = time.monotonic() - t0
    for dag_id in DAG_IDS:
        r = api.patch(f"/dags/{dag_id}", json={"is_paused": False})
        assert r.status_code == 200 and r.json()["is_paused"] is False, r.text

    t0 = time.monotonic()
    r = api.post("/dags/ocop_ingest/dagRuns", json={"logical_date": None, "conf": {}})
    assert r.status_code == 200, r.text
    run = _wait_run(stack, api, "ocop_ingest", r.json()["dag_run_id"], 600)
    TIMINGS["ocop_ingest_run_s"] = time.monotonic() - t0
    # Unpausing the hourly DAG may also have started its latest scheduled run (catchup=False);
    # the two never run at once (max_active_runs=1) and together process every file once.
    runs = _wait("every ocop_ingest run to finish",
                 lambda: (lambda rs: rs if all(x["state"] in ("success", "failed") for x in rs) else None)(
                     _runs(api, "ocop_ingest")), 600, stack, every=2)
    states = {f"{other['dag_run_id']}:{k}": v for other in runs
              for k, v in _task_states(api, "ocop_ingest", other["dag_run_id"]).items()}
    t0 = time.monotonic()
    # The month is not published by a schedule: the first ocop_publish run (the monthly one
    # that unpausing started, or the Asset-triggered one) waits for a Ministry user. Review
    # items, if dedupe left any, are answered "leave open".
    def approval_waiting():
        for r in _runs(api, "ocop_publish"):
            if r["state"] == "running":
                _leave_reviews_open(stack, api, r["dag_run_id"])
                found = [d for d in _hitl(api, r["dag_run_id"]) if d["task_instance"]["task_id"] ==
                         "approve_publication" and d["task_instance"]["state"] == "awaiting_input"]
                if found:
                    return r["dag_run_id"], found[0]
        return None

    run_id, approval = _wait("an ocop_publish approval waiting for input", approval_waiting, 300, stack, every=2)
    assert "Counts by province and class" in approval["body"] and approval["options"] == ["Approve", "Reject"]
    assert [u["id"] for u in approval["assigned_users"]] == [USER]
    TIMINGS["ocop_publish_to_approval_s"] = time.monotonic() - t0
    refused = _answer(stack, run_id, "approve_publication", -1, ["Approve"], {"reason": "tôi duyệt"}, user=CLERK)
    assert refused.status_code == 403, refused.text                     # not a Ministry user
    rejected = _answer(stack, run_id, "approve_publication", -1, ["Reject"], {"reason": "chờ Hà Nội gửi lại"})
    assert rejected.status_code == 200, rejected.text
    again = _answer(stack, run_id, "approve_publication", -1, ["Approve"], {"reason": ""})
    assert again.status_code == 409, again.text                         # answered once
    rejected_run = _wait_run(stack, api, "ocop_publish", run_id, 300)

    # The warehouse Asset ocop_ingest emitted triggers ocop_publish; after the rejection it
    # does not ask again (nothing changed since) and finishes.
    def all_publish_runs_done():
        rs = _runs(api, "ocop_publish")
        for r in rs:
            if r["state"] == "running":
                _leave_reviews_open(stack, api, r["dag_run_id"])
        done = all(r["state"] in ("success", "failed") for r in rs)
        return rs if done and any(r["run_type"] == "asset_triggered" for r in rs) else None

    publish_runs = _wait("every ocop_publish run to finish", all_publish_runs_done, 300, stack, every=2)
    TIMINGS["ocop_publish_run_s"] = time.monotonic() - t0
    return {"run": run, "runs": runs, "states": states, "publish": rejected_run, "publish_runs": publish_runs,
            "publish_states": _task_states(api, "ocop_publish", run_id)}


def _check_ingest_publish_counts(stack, deployed, national):
    _inbox, truth = national
    run, runs, states = deployed["run"], deployed["runs"], deployed["states"]
    assert run["state"] == "success", (states, stack.log_tail("scheduler"))
    assert all(other["state"] == "success" for other in runs), (runs, states)
    mapped = [k for k in states if ":parse[" in k or ":report[" in k]
    assert mapped and all(states[k] == "success" for k in mapped), states  # batches of files per mapped task
    # A run that found nothing new has empty mappings: its parse and report are "skipped", and
    # so is its consolidate (no warehouse event: ocop_publish is not asked again).
    assert all(v == "success" or (v == "skipped" and k.endswith((":parse", ":report", ":consolidate")))
               for k, v in states.items()), states
    # The approval was rejected: nothing is published, the reason is kept; the Asset-triggered
    # ocop_publish ran too.
    assert all(r["state"] == "success" for r in deployed["publish_runs"]), deployed["publish_runs"]
    assert deployed["publish"]["state"] == "success", deployed["publish_states"]
    assert deployed["publish_states"]["publish_period"] == "success", deployed["publish_states"]
    period = _previous_month(dt.date.today())
    assert _rows(stack.wh_url, "SELECT period, decision, decided_by, reason, publication_id FROM publication_decision") \
        == [(period, "rejected", USER, "chờ Hà Nội gửi lại", None)]
    assert _rows(stack.wh_url, "SELECT publication_id FROM publication") == []

    for day in truth["snapshot_dates"]:
        assert _counts(stack.wh_url, day) == truth["counts"][day], day
    reports = Path(stack.env["OCOP_HOME"]) / "reports"
    for f in truth["files"]:
        assert any((reports / f["province_code"]).glob("*/report.json")), f["path"]
    assert (Path(stack.env["OCOP_HOME"]) / "publications" / "current" / "counts.csv").exists()


# --------------------------------------------------------------------------- decisions

def _previous_month(today: dt.date) -> str:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _rows(url: str, sql: str) -> list[tuple]:
    import sqlalchemy as sa

    from ocop.warehouse import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def _hitl(api, run_id: str) -> list[dict]:
    r = api.get(f"/dags/ocop_publish/dagRuns/{run_id}/hitlDetails", params={"limit": 100})
    r.raise_for_status()
    return list(r.json()["hitl_details"])


def _wait_for_input(stack, api, run_id: str, task_id: str, timeout: float, leave_reviews_open: bool = False) -> dict:
    """The HITL detail of ``task_id`` once its task is waiting for a person."""
    def waiting():
        if leave_reviews_open:
            _leave_reviews_open(stack, api, run_id)
        found = [d for d in _hitl(api, run_id) if d["task_instance"]["task_id"] == task_id
                 and d["task_instance"]["state"] == "awaiting_input" and not d["response_received"]]
        if not found:
            run = api.get(f"/dags/ocop_publish/dagRuns/{run_id}").json()
            assert run["state"] == "running", (run, _task_states(api, "ocop_publish", run_id))
        return found[0] if found else None

    return _wait(f"{task_id} waiting for input in {run_id}", waiting, timeout, stack, every=2)


def _paused(stack, run_id: str, task_id: str, map_index: int) -> bool:
    """The scheduler has taken in that the task paused for input (its executor event).

    Airflow 3.3 race: an answer that lands between the task's pause and the scheduler's handling
    of the paused process's exit finds the task already resumed ("queued"); the scheduler then
    takes the exit for an external kill, retries the task, and the answer is lost. A person
    never answers within that second; the test waits for the event instead of guessing a delay."""
    line = (f"TaskInstance Finished: dag_id=ocop_publish, task_id={task_id}, run_id={run_id}, "
            f"map_index={map_index},")
    log = (stack.tmp / "scheduler.log").read_text(encoding="utf-8", errors="replace")
    return any(line in x and "state=awaiting_input" in x for x in log.splitlines())


def _answer(stack, run_id: str, task_id: str, map_index: int, options: list[str], params: dict,
            user: str = USER) -> httpx.Response:
    """A person's answer through the REST API v2, with that person's own token, once the
    scheduler has seen the task pause (:func:`_paused`)."""
    _wait(f"the scheduler seeing {task_id}[{map_index}] of {run_id} paused",
          lambda: _paused(stack, run_id, task_id, map_index), 60, stack, every=0.5)
    return httpx.patch(
        f"{stack.base}/api/v2/dags/ocop_publish/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
        json={"chosen_options": options, "params_input": params},
        headers={"Authorization": f"Bearer {_token(stack, user)}"}, timeout=30)


def _leave_reviews_open(stack, api, run_id: str, spare=lambda detail: False) -> None:
    """Answer "leave open" to every waiting review item but those ``spare(detail)`` is true of.
    (One read of the details decides both: an item created between two reads would otherwise
    be answered before it was spared.)"""
    for d in _hitl(api, run_id):
        ti = d["task_instance"]
        if ti["task_id"] == "review" and not spare(d) and not d["response_received"] \
                and ti["state"] == "awaiting_input":
            r = _answer(stack, run_id, "review", ti["map_index"], ["Leave open (decide later)"], {"reason": ""})
            assert r.status_code == 200, r.text


def _check_arrival_review_and_approval(stack, api, national):
    """A file arrives; nobody triggers anything; the Ministry decides the review item and
    approves the publication, through the REST API as a person would."""
    from ingest_files import write_xlsx
    from ocop.ingest.sources import arrival_marker, mark_arrival

    inbox, _truth = national
    # The new register of 46 (Huế) lists a product Hà Nội also registers: one product in two
    # provinces, a question for the Ministry.
    owner, name, rating, decision_no, decided, group = _rows(stack.wh_url, """
        SELECT pv.owner, pv.product_name, pv.rating_class, pv.decision_no, pv.decision_date, g.name
        FROM product_version pv JOIN ref_product_group g ON g.code = pv.group_code
        WHERE pv.province_code = '01' AND pv.is_current AND pv.rating_class IN ('3', '4')
        ORDER BY pv.product_id LIMIT 1""")[0]
    stars = {"3": "3 sao", "4": "4 sao"}[rating]
    header = ["STT", "Tên sản phẩm", "Chủ thể", "Nhóm sản phẩm", "Hạng sao", "Số quyết định", "Ngày quyết định"]
    ingest_before = {r["dag_run_id"] for r in _runs(api, "ocop_ingest")}
    publish_before = {r["dag_run_id"] for r in _runs(api, "ocop_publish")}
    (inbox / "46").mkdir(exist_ok=True)
    later = dt.datetime.combine(dt.date.fromisoformat(str(decided)[:10]) + dt.timedelta(days=30), dt.time())
    write_xlsx(inbox / "46" / "danh_sach_ocop_hue.xlsx", header=header, title=False, total=False,
               rows=[[1, name, owner, group, stars, f"9{decision_no}", later]])   # Huế's decision is the latest
    t0 = time.monotonic()
    marker = mark_arrival(inbox, "46")

    # 1. The run starts with no trigger call: the triggerer's watcher consumed the marker.
    ingest = _wait("ocop_ingest started by the arrival marker",
                   lambda: [r for r in _runs(api, "ocop_ingest")
                            if r["dag_run_id"] not in ingest_before and r["run_type"] == "asset_triggered"],
                   120, stack, every=2)[0]
    TIMINGS["arrival_to_ingest_run_s"] = time.monotonic() - t0
    assert TIMINGS["arrival_to_ingest_run_s"] < 60, TIMINGS
    assert not arrival_marker(inbox, "46").exists() and (inbox / "46" / "danh_sach_ocop_hue.xlsx").exists()
    done = _wait_run(stack, api, "ocop_ingest", ingest["dag_run_id"], 300)
    assert done["state"] == "success", _task_states(api, "ocop_ingest", ingest["dag_run_id"])
    assert [k for k in _task_states(api, "ocop_ingest", ingest["dag_run_id"]) if k.startswith("parse[")] \
        == ["parse[0]"]                                                  # the new file, once
    assert marker.name == "46.ready"

    # 2. The review task waits for the Ministry.
    publish = _wait("the next ocop_publish run",
                    lambda: [r for r in _runs(api, "ocop_publish") if r["dag_run_id"] not in publish_before],
                    180, stack, every=2)[0]
    run_id = publish["dag_run_id"]

    def conflict_waiting():
        _leave_reviews_open(stack, api, run_id, spare=lambda d: "46" in d["subject"])
        found = [d for d in _hitl(api, run_id) if d["task_instance"]["task_id"] == "review"
                 and d["task_instance"]["state"] == "awaiting_input" and "46" in d["subject"]]
        return found[0] if found else None

    item = _wait("the review of the product in 01 and 46", conflict_waiting, 300, stack, every=2)
    map_index = item["task_instance"]["map_index"]
    assert item["options"] == ["Same product, counted in 01 Hà Nội", "Same product, counted in 46 Huế",
                               "Different products (keep apart)", "Leave open (decide later)"], item["options"]
    assert owner in item["body"] and "now in **46" in item["body"]

    # 3. Answered through REST: a non-Ministry user is refused; the Ministry user's answer is
    #    recorded as an override under their name.
    refused = _answer(stack, run_id, "review", map_index, ["Different products (keep apart)"], {"reason": "x"},
                      user=CLERK)
    assert refused.status_code == 403, refused.text
    ok = _answer(stack, run_id, "review", map_index, ["Different products (keep apart)"],
                 {"reason": "hai HTX khác nhau"})
    assert ok.status_code == 200, ok.text

    # 4. The approval waits, and its page reflects the decision just made.
    approval = _wait_for_input(stack, api, run_id, "approve_publication", 300, leave_reviews_open=True)
    overrides = _rows(stack.wh_url, "SELECT action, who, why FROM dedupe_override")
    assert overrides == [("split", USER, "hai HTX khác nhau")], overrides
    assert _rows(stack.wh_url, "SELECT decision, who FROM review_decision") == [("split", USER)]
    assert sorted(r[0] for r in _rows(stack.wh_url, f"SELECT province_code FROM product_version "
                                                    f"WHERE is_current AND owner = '{owner.replace(chr(39), chr(39) * 2)}' "
                                                    f"AND product_name = '{name.replace(chr(39), chr(39) * 2)}'")) \
        == ["01", "46"]                                                  # kept apart: one in each province
    assert "Changes from the previous publication" in approval["body"]

    # 5. Approved: the month is frozen with its approver, printed in the workbook.
    ok = _answer(stack, run_id, "approve_publication", -1, ["Approve"], {"reason": "đã kiểm tra"})
    assert ok.status_code == 200, ok.text
    done = _wait_run(stack, api, "ocop_publish", run_id, 300)
    assert done["state"] == "success", _task_states(api, "ocop_publish", run_id)
    period = _previous_month(dt.date.today())
    published = _rows(stack.wh_url, "SELECT period, status, approved_by FROM publication")
    assert published == [(period, "published", USER)], published
    assert _rows(stack.wh_url, "SELECT decision, decided_by FROM publication_decision ORDER BY decision_id") \
        == [("rejected", USER), ("approved", USER)]
    from openpyxl import load_workbook

    sheet = load_workbook(Path(stack.env["OCOP_HOME"]) / "publications" / period / "counts.xlsx")[
        "Theo tỉnh và hạng sao"]
    assert any(str(r[0].value).startswith(f"Phê duyệt công bố: {USER}, lúc ") for r in sheet.iter_rows() if r[0].value)
    TIMINGS["arrival_to_publication_s"] = time.monotonic() - t0


def _check_submission_status_dag(stack, api, national):
    r = api.post("/dags/ocop_submission_status/dagRuns", json={"logical_date": None})
    assert r.status_code == 200, r.text
    run_id = r.json()["dag_run_id"]
    run = _wait_run(stack, api, "ocop_submission_status", run_id, 180)
    assert run["state"] == "success", _task_states(api, "ocop_submission_status", run_id)
    xcom = api.get(f"/dags/ocop_submission_status/dagRuns/{run_id}/taskInstances/check/xcomEntries/return_value")
    assert xcom.status_code == 200, xcom.text
    value = xcom.json()["value"]
    value = json.loads(value) if isinstance(value, str) else value
    assert value["stale_days"] == 120
    # From the truth: a province is stale with no accepted snapshot, or its last one over 120 days old.
    _inbox, truth = national
    from ocop.reference.provinces import PROVINCES

    today = dt.date.fromisoformat(value["as_of"])
    last_ok: dict[str, str] = {}
    for f in truth["files"]:
        if f["file_outcome"] == "accepted":
            last_ok[f["province_code"]] = max(f["snapshot_date"], last_ok.get(f["province_code"], ""))
    assert {x["province_code"]: x["last_accepted_snapshot"] for x in value["stale"]} == {
        code: last_ok.get(code) for code in PROVINCES
        if code not in last_ok or (today - dt.date.fromisoformat(last_ok[code])).days > 120}
    # A latest file rejected: one of the files the truth says are rejected, for its rule.
    rejected_files = {(f["province_code"], Path(f["path"]).name): f["file_rule"]
                      for f in truth["files"] if f["file_outcome"] == "rejected"}
    assert all(rejected_files.get((x["province_code"], x["file_name"]), "-") == x["file_rule"]
               for x in value["rejected"]), value["rejected"]
    assert value["notify_errors"] == []


def _check_status_page_authentication(stack):
    base = f"{stack.base}/ocop"
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    anonymous = httpx.get(f"{base}/status.json", timeout=10)
    assert anonymous.status_code == 401, anonymous.text
    forged = httpx.get(f"{base}/status.json", headers={"Authorization": "Bearer not-a-jwt"}, timeout=10)
    assert forged.status_code in (401, 403), forged.text
    # A browser without the session cookie is sent to Airflow's login page.
    browser = httpx.get(f"{base}/", headers={"Accept": "text/html"}, timeout=10)
    assert browser.status_code == 303 and "/auth/login" in browser.headers["location"], browser.headers
    # No escaping the reports folder, even authenticated.
    token = {"Authorization": f"Bearer {_token(stack)}"}
    assert httpx.get(f"{base}/reports/..%2F..%2Fpasswords.json", headers=token, timeout=10).status_code == 404
    data = httpx.get(f"{base}/status.json", headers=token, timeout=30).json()
    assert len(data["provinces"]) == 34


def _check_status_page_in_the_ui_with_a_browser(stack, national):
    from playwright.sync_api import sync_playwright

    _inbox, truth = national
    # the page counts as of today: the generator's truth for today, not counts_as_of (the page's own)
    expected_total = sum(sum(c.values()) for c in truth["counts_today"].values())
    assert expected_total > 0
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("OCOP_CHROMIUM", "/usr/bin/chromium"),
                                    headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            # Straight to the page: Airflow's login, then back.
            page.goto(f"{stack.base}/ocop/")
            page.wait_for_url("**/auth/login**", timeout=30_000)
            page.locator("input[name='username']").fill(USER)
            page.locator("input[name='password']").fill(stack.password)
            page.locator("button[type='submit']").click()
            page.wait_for_url("**/ocop/", timeout=30_000)
            rows = page.locator("table#provinces tbody tr")
            assert rows.count() == 34
            codes = set(rows.evaluate_all("rows => rows.map(r => r.dataset.province)"))
            from ocop.reference.provinces import PROVINCES

            assert codes == set(PROVINCES)
            shown = [int(x) for x in page.locator("td.count").evaluate_all("c => c.map(x => x.dataset.total)")]
            assert sum(shown) == expected_total
            assert f"{expected_total:,}" in page.locator("#national-total").inner_text()
            assert page.locator("svg rect").count() > 4
            # The waiting decisions: a link to Airflow's Required Actions.
            assert page.locator("a#decisions").get_attribute("href") == "../required_actions?response_received=false"
            # A province's report link opens its report.json.
            link = page.locator("a", has_text="report.json").first
            with page.expect_response(lambda r: r.url.endswith("report.json")) as resp:
                link.click()
            assert resp.value.status == 200
            # The same page inside the Airflow UI (the plugin's nav entry).
            page.goto(f"{stack.base}/plugin/ocop-status")
            frame = page.frame_locator("iframe").first
            frame.locator("table#provinces tbody tr").first.wait_for(timeout=30_000)
            assert frame.locator("table#provinces tbody tr").count() == 34
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
        finally:
            browser.close()
    TIMINGS["browser_s"] = time.monotonic() - t0
    assert (ARTIFACTS / "status-page.png").stat().st_size > 10_000
