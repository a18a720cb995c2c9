"""A real distributed deployment: CeleryExecutor, two workers that share no folder, one killed.

``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer``, and two ``airflow
celery worker`` processes, on this machine:

- broker: Redis at 127.0.0.1:6379 (``make test`` starts it when it is down:
  scripts/test_services.sh redis); metadata database and Celery result backend: a fresh
  PostgreSQL database of this test (created and dropped here), the warehouse another one;
- each worker has its own Celery node name (``-H``), its own working directory, AIRFLOW_HOME
  (its task logs) and ``OCOP_HOME``. They share nothing but the broker, the databases and the
  store ``OCOP_STORE_URL``: a ``file://`` folder in tmp that is neither worker's OCOP_HOME
  (the provinces' drop folder is a folder of that store, as on a shared volume);
- worker 1 serves the default queue and the warehouse queue (``consolidate``: one lock holder),
  worker 2 the default queue only. Queue names are unique to this test run: another checkout
  running the same test on the same Redis never takes its tasks.

``ocop_ingest`` is triggered through the REST API on a small national inbox in four batches.
While one of the mapped tasks (``parse`` / ``report``: the per-submission work) runs on worker
2, worker 2 is SIGKILLed, its task processes with it. The scheduler finds the task's heartbeat
gone, the task is retried on worker 1, which reads everything it needs from the store; the run
succeeds, every submission is loaded once, and the official counts equal the generator's
truth. ``test-artifacts/celery-workers.json`` says which worker ran which task.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from airflow_helpers import ROOT, airflow_env
from test_deploy_live import PG_SERVER, Stack, _counts, _create_db, _drop_db, _free_port, _wait, migrate_metadata

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
REDIS = os.environ.get("OCOP_TEST_REDIS", "redis://127.0.0.1:6379/0")
USER, ROLE = "ocop", "admin"
BATCHES = 4                      # OCOP_WORKERS: four parse and four report tasks to spread
MAPPED = ("parse", "report")     # the per-submission tasks (formerly process_submission)
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def national(small_national):
    """A few provinces of the generator's small national set that share no product with any
    other province, so their counts are exactly the truth's (every other province counts 0)."""
    inbox, truth = small_national
    cross = {p for c in truth["clusters"] for p in {r.split("/")[0] for r in c}
             if len({r.split("/")[0] for r in c}) > 1}
    rejected = {f["province_code"] for f in truth["files"] if f["file_outcome"] == "rejected"}
    keep = sorted(({"01", "79", "48"} | set(sorted(rejected)[:1])) - cross)
    files = [f for f in truth["files"] if f["province_code"] in keep]
    assert len(files) >= BATCHES, (keep, files)
    counts = {day: {code: (c if code in keep else dict.fromkeys(c, 0)) for code, c in per.items()}
              for day, per in truth["counts"].items()}
    return inbox, keep, {**truth, "files": files, "counts": counts}


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, national):
    if not _redis_up():  # what `make test` does first (scripts/test_services.sh redis)
        subprocess.run([str(ROOT / "scripts" / "test_services.sh"), "redis"], check=True, timeout=120)
    inbox_all, keep, _truth = national
    tmp = tmp_path_factory.mktemp("celery-airflow")
    tag = uuid.uuid4().hex[:8]
    meta_db, wh_db = f"ocop_celery_meta_{tag}", f"ocop_celery_wh_{tag}"
    port, password = _free_port(), secrets.token_urlsafe(12)
    (tmp / "passwords.json").write_text(json.dumps({USER: password}))
    store = tmp / "store"                                    # the only folder the workers share
    for code in keep:
        shutil.copytree(inbox_all / code, store / "inbox" / code)
    control = tmp / "control"                                # api-server, scheduler, dag-processor, triggerer
    workers = {f"w{i}@ocop-celery-{tag}": tmp / f"worker{i}" for i in (1, 2)}
    queue, warehouse_queue = f"ocop-{tag}", f"ocop-warehouse-{tag}"
    stack = None
    _create_db(meta_db)
    _create_db(wh_db)
    try:
        base = PG_SERVER.rsplit("/", 1)[0]
        meta_url = f"{base}/{meta_db}".replace("postgresql://", "postgresql+psycopg://", 1)
        wh_url = f"{base}/{wh_db}"
        common = dict(
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_url,
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_url.replace("+psycopg:", "+psycopg_async:"),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=REDIS,
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + meta_url,
            # Queues of this test run only (the Redis is the machine's); consolidate's queue is
            # read when the DAG file is parsed (ocop.pipeline.WAREHOUSE_QUEUE).
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
            OCOP_WAREHOUSE_QUEUE=warehouse_queue,
            AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
            # Acknowledged on receipt: a killed worker's message is not redelivered by Redis
            # (that happens only after the visibility timeout, 6 h by default); the scheduler
            # re-queues the task as its next try instead, which is what this test checks.
            AIRFLOW__CELERY__TASK_ACKS_LATE="False",
            # Airflow 3 pitfall 1: every process has the same JWT secret. The scheduler signs each
            # task's execution-API token with it and the API server checks it (and signs the
            # refreshed tokens a long task gets). Unset, each AIRFLOW_HOME (here: one per worker)
            # generates its own into its airflow.cfg, and the tasks' first API call gets 403.
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            # Airflow 3 pitfall 2: workers reach the metadata only through the API server's
            # execution API; its URL must be set for every worker (the default,
            # http://localhost:8080/execution/, is not where this API server listens).
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            # A SIGKILLed worker sends no "failed": its running task is found by its missing
            # heartbeat, after [scheduler] task_instance_heartbeat_timeout (300 s by default),
            # checked every ..._detection_interval (10 s). 15 s / 2 s here; the task processes
            # heartbeat every [workers] min_heartbeat_interval, 2 s here (5 s by default): a live
            # task on this loaded machine misses seven in a row before it is taken for a dead one.
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="15",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL="2",
            # A task the killed worker had received but not yet started stays "queued": failed
            # after [scheduler] task_queued_timeout (600 s by default) and so retried. 30 s here.
            AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="30",
            AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL="5",
            # parse and report retry with exponential backoff from 2 minutes (pipeline.DAG_DEFAULT_ARGS);
            # [core] max_task_retry_delay caps that backoff: the retry starts within seconds.
            AIRFLOW__CORE__MAX_TASK_RETRY_DELAY="2",
            AIRFLOW__CORE__PARALLELISM="8",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:{ROLE}",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(tmp / "passwords.json"),
            AIRFLOW__API__PORT=str(port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
            AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(24),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            # Other Airflow tests may run beside this one: no fixed log-server ports.
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(_free_port()),
            OCOP_STORE_URL=f"file://{store}",
            OCOP_INBOX=str(store / "inbox"),
            OCOP_WAREHOUSE_URL=wh_url,
            OCOP_WORKERS=str(BATCHES),
        )
        env = airflow_env(control, **common)
        TIMINGS["db_migrate_s"] = migrate_metadata(env, control)
        t0 = time.monotonic()
        stack = Stack(control, env, port, password)
        stack.start("api-server", "api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1")
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        stack.start("triggerer", "triggerer")
        stack.worker_envs = {}
        for (name, home), queues in zip(workers.items(), (f"{queue},{warehouse_queue}", queue)):
            wenv = airflow_env(home, **common,
                               AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(_free_port()),
                               AIRFLOW__CORE__HOSTNAME_CALLABLE="celery_worker_hostname.hostname",
                               OCOP_TEST_WORKER_HOSTNAME=name,
                               # worker 2 (the one killed) holds each parse/report task 6 s, so
                               # the kill lands mid-task however fast the machine (storage.hold_for_fault_test)
                               OCOP_FAULT_HOLD_SECONDS="6" if name.startswith("w2@") else "0",
                               PYTHONPATH=str(ROOT / "tests"))
            assert wenv["OCOP_HOME"] == str(home / "data") and not str(home).startswith(str(store))
            stack.worker_envs[name] = wenv
            log = open(control / f"{name.split('@')[0]}.log", "wb")
            stack.procs[name.split("@")[0]] = subprocess.Popen(
                ["airflow", "celery", "worker", "-H", name, "-q", queues, "--without-mingle", "--without-gossip"],
                env=wenv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=home)
        _wait("the API server's health endpoint",
              lambda: httpx.get(f"{stack.base}/api/v2/monitor/health", timeout=5).status_code == 200, 180, stack)
        TIMINGS["servers_up_s"] = time.monotonic() - t0
        stack.meta_url, stack.wh_url, stack.store, stack.workers = meta_url, wh_url, store, workers
        yield stack
    finally:
        if stack is not None:
            stack.stop()
            stack.keep_logs("celery")
        _drop_db(meta_db)
        _drop_db(wh_db)
        _forget_queues(queue, warehouse_queue)
        if TIMINGS:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "celery-timings.json").write_text(json.dumps(TIMINGS, indent=1))
            print("celery deployment timings:", json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))


def _forget_queues(*queues: str) -> None:
    """This run's queues, removed from the shared Redis (whatever the killed worker left)."""
    import redis

    try:
        r = redis.Redis.from_url(REDIS, socket_timeout=2)
        for q in queues:
            r.delete(q)
            for key in r.scan_iter(match=f"_kombu.binding.{q}*"):
                r.delete(key)
    except redis.RedisError:
        pass


def _sql(url: str, query: str, **params) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(query, params).fetchall()]


def _tries(stack, run_id: str) -> list[tuple]:
    """(task_id, map_index, try_number, hostname, state) of every try of the run's tasks."""
    q = """SELECT task_id, map_index, try_number, hostname, state FROM task_instance
           WHERE dag_id = 'ocop_ingest' AND run_id = %(run)s
           UNION
           SELECT task_id, map_index, try_number, hostname, state FROM task_instance_history
           WHERE dag_id = 'ocop_ingest' AND run_id = %(run)s"""
    return sorted(_sql(stack.meta_url, q, run=run_id), key=lambda r: (r[0], r[1], r[2]))


def _kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a worker and everything it started (its pool and task processes), at once."""
    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    psutil.wait_procs(family, timeout=10)
    proc.wait(timeout=10)
    return [p.pid for p in family]


def test_two_celery_workers_one_killed_mid_task(deployment, national):
    stack = deployment
    _inbox, keep, truth = national
    first, second = stack.workers             # worker 1 (also the warehouse queue), worker 2 (killed)
    token = httpx.post(f"{stack.base}/auth/token", json={"username": USER, "password": stack.password},
                       timeout=30).json()["access_token"]
    api = httpx.Client(base_url=f"{stack.base}/api/v2", timeout=30, headers={"Authorization": f"Bearer {token}"})
    t0 = time.monotonic()

    def parsed():
        errors = api.get("/importErrors").json()
        assert errors["total_entries"] == 0, errors
        return "ocop_ingest" in {d["dag_id"] for d in api.get("/dags", params={"dag_id_pattern": "ocop"}).json()["dags"]}

    _wait("ocop_ingest to be parsed", parsed, 180, stack)
    TIMINGS["dag_parsed_s"] = time.monotonic() - t0
    assert api.patch("/dags/ocop_ingest", json={"is_paused": False}).status_code == 200
    r = api.post("/dags/ocop_ingest/dagRuns", json={"logical_date": None, "conf": {}})
    assert r.status_code == 200, r.text
    t0 = time.monotonic()

    # Worker 2 is killed while a per-submission task runs on it, once it has finished one (so
    # both workers have done work). Polled in the metadata database: a task runs for seconds;
    # the one that started last is the one seen running (it has the most left to do).
    running_q = """SELECT task_id, map_index, run_id, try_number FROM task_instance
                   WHERE dag_id = 'ocop_ingest' AND state = 'running' AND hostname = %(host)s
                   AND task_id = ANY(%(mapped)s) ORDER BY start_date DESC"""
    done_q = """SELECT count(*) FROM task_instance WHERE dag_id = 'ocop_ingest' AND state = 'success'
                AND hostname = %(host)s AND task_id = ANY(%(mapped)s)"""
    victim = None
    deadline = time.monotonic() + 420
    while victim is None and time.monotonic() < deadline:
        stack.check_alive()
        busy = _sql(stack.meta_url, running_q, host=second, mapped=list(MAPPED))
        if busy and _sql(stack.meta_url, done_q, host=second, mapped=list(MAPPED))[0][0] > 0:
            victim = busy[0]
            break
        states = {s for (s,) in _sql(stack.meta_url, "SELECT state FROM dag_run WHERE dag_id = 'ocop_ingest'")}
        assert states & {"queued", "running"}, f"every run ended before worker 2 ran a second mapped task: {states}"
        time.sleep(0.2)
    assert victim is not None, "no mapped task ran on worker 2 in time"
    run_id = victim[2]
    TIMINGS["trigger_to_kill_s"] = time.monotonic() - t0
    killed = _kill_tree(stack.procs.pop(second.split("@")[0]))
    t_kill = time.monotonic()
    assert killed

    def finished():
        run = api.get(f"/dags/ocop_ingest/dagRuns/{run_id}").json()
        return run if run["state"] in ("success", "failed") else None

    run = _wait(f"ocop_ingest run {run_id} after the kill", finished, 300, stack, every=2)
    TIMINGS["kill_to_run_end_s"] = time.monotonic() - t_kill
    TIMINGS["ocop_ingest_run_s"] = time.monotonic() - t0
    # Unpausing may also have started the hourly run (max_active_runs=1: one after the other).
    # The runs that finished before this one are checked too; one still to come finds nothing
    # new (the warehouse knows every file) and is not waited for.
    runs = [r for r in api.get("/dags/ocop_ingest/dagRuns", params={"limit": 20}).json()["dag_runs"]
            if r["dag_run_id"] == run_id or r["state"] in ("success", "failed")]

    tries = {rid["dag_run_id"]: _tries(stack, rid["dag_run_id"]) for rid in runs}
    workers: dict[str, list[str]] = {name: [] for name in stack.workers}
    for rows in tries.values():
        for tid, mi, _try, host, _state in rows:
            if host:
                workers.setdefault(host, []).append(f"{tid}[{mi}]" if mi >= 0 else tid)
    workers = {host: sorted(tasks) for host, tasks in workers.items()}
    # What the kill interrupted: worker 2's tries that the scheduler failed (heartbeat gone).
    # Not necessarily the task seen running a moment before (it may have just finished), and
    # maybe two (two slots). Each must have a later try that succeeded on worker 1.
    killed_tries = [(t, m, n) for t, m, n, h, st in tries[run_id] if h == second and st == "failed"]
    retries = {k: [(n, h, st) for t, m, n, h, st in tries[run_id] if (t, m) == k[:2] and n > k[2]]
               for k in killed_tries}
    recovered = (run["state"] == "success" and bool(killed_tries)
                 and all(any(h == first and st == "success" for _n, h, st in r) for r in retries.values()))
    label = [f"{t}[{m}]" if m >= 0 else t for t, m, _n in killed_tries]
    submissions = _sql(stack.wh_url, "SELECT province_code, sha256 FROM submission")
    counts_equal = all(_counts(stack.wh_url, day) == truth["counts"][day] for day in truth["snapshot_dates"])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "celery-workers.json").write_text(json.dumps({
        "workers": workers, "killed_worker": second, "killed_tasks": label, "seen_running": f"{victim[0]}[{victim[1]}]",
        "recovered": recovered, "counts_equal_truth": counts_equal, "timings_s": {k: round(v, 1) for k, v in TIMINGS.items()},
    }, indent=1))

    # The run succeeded: the killed try failed on worker 2, its retry succeeded on worker 1.
    assert run["state"] == "success", (tries[run_id], stack.log_tail("scheduler"))
    assert all(r["state"] == "success" for r in runs), runs
    assert killed_tries and any(t in MAPPED for t, _m, _n in killed_tries), (victim, tries[run_id])
    assert recovered, (killed_tries, retries)
    # Mapped tasks ran on both workers (worker 2 finished at least one before it was killed).
    for name in stack.workers:
        assert any(t.split("[")[0] in MAPPED for t in workers[name]), workers
    assert any(h == second and s == "success" and t in MAPPED for rows in tries.values() for t, _m, _n, h, s in rows)
    # Where the task logs are is where the tasks ran: each worker's own AIRFLOW_HOME.
    logs = {name: [p.relative_to(home) for p in (home / "airflow_home" / "logs").rglob("*.log")]
            for name, home in stack.workers.items()}
    def logged(name, t, m, n):
        return any(f"task_id={t}" in str(p) and f"map_index={m}" in str(p) and p.name == f"attempt={n}.log"
                   for p in logs[name])

    for t, m, n in killed_tries:
        assert logged(second, t, m, n), (t, m, n, logs[second])
        assert any(logged(first, t, m, n2) for n2, h, st in retries[(t, m, n)] if h == first and st == "success"), \
            (t, m, retries[(t, m, n)], logs[first])

    # No submission lost or loaded twice; the counts are the truth's.
    assert len(submissions) == len(set(submissions)) == len(truth["files"]), submissions
    assert counts_equal, {day: _counts(stack.wh_url, day) for day in truth["snapshot_dates"]}

    # The data between the tasks went through the store: landing zone, reports, bundles,
    # Data Docs are there; worker 1, which finished its tasks, kept nothing on its own disk.
    store = stack.store
    assert len([p for p in (store / "landing").rglob("*") if p.is_file() and p.suffix != ".json"]) == len(truth["files"])
    assert len(list((store / "reports").rglob("report.json"))) == len(truth["files"])
    assert len(list((store / "runs").glob("*/*/records.parquet"))) == len(truth["files"])
    leftovers = [p for p in (stack.workers[first] / "data").rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    assert all(p.startswith(f"file://{store}/landing/") for (p,) in _sql(stack.wh_url, "SELECT landed_path FROM submission"))
