"""The production compose file, statically: services, versions, mounts, environment, secrets.

No Docker here: the YAML is parsed (anchors and merge keys resolved by PyYAML) and checked
against the repository (requirements.txt, Dockerfile, the code's OCOP_* names, Airflow's own
configuration reference).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker", "airflow-worker-warehouse", "airflow-init"]
REQUIRED_SERVICES = ["postgres", "redis", *AIRFLOW_SERVICES]
# What the pipeline cannot run without in a multi-container deployment: every folder explicit,
# the store the tasks pass their data through (no folder shared between workers), the
# warehouse queue and the PostgreSQL warehouse.
REQUIRED_OCOP = ["OCOP_WAREHOUSE_URL", "OCOP_INBOX", "OCOP_LANDING", "OCOP_REPORTS", "OCOP_RUNS",
                 "OCOP_PUBLICATIONS", "OCOP_STORE_URL", "OCOP_WAREHOUSE_QUEUE"]
# Options of providers the official image ships but requirements.txt does not install.
PROVIDER_SECTIONS = {"celery": {"broker_url", "result_backend"}}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$", re.I)
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
ONLY_INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", line.strip())
        if m:
            pins[m.group(1).split("[")[0].lower()] = m.group(2)
    return pins


def _code_text() -> str:
    files = [*(ROOT / "include" / "ocop").rglob("*.py"), *(ROOT / "dags").glob("*.py"),
             *(ROOT / "plugins").glob("*.py")]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def test_every_service_is_there_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(REQUIRED_SERVICES) <= set(services), set(REQUIRED_SERVICES) - set(services)
    for name in REQUIRED_SERVICES:
        if name != "airflow-init":
            assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    commands = {n: services[n].get("command") for n in AIRFLOW_SERVICES if n != "airflow-init"}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-worker": "celery worker",
                        "airflow-worker-warehouse": "celery worker --queues ocop_warehouse --concurrency 1",
                        "airflow-triggerer": "triggerer"}
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:") or \
            env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:@redis:"), name
        assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert services[name].get("build") == "." and services[name].get("image"), name
    # Everything but airflow-init waits for the migrations.
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_image_and_airflow_versions_match_requirements(compose):
    airflow_version = _pins()["apache-airflow"]
    base = re.search(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert base == f"apache/airflow:{airflow_version}-python3.11", base
    for name in AIRFLOW_SERVICES:
        image = compose["services"][name]["image"]
        default_tag = INTERPOLATION.sub(lambda m: m.group(3) or "", image).rsplit(":", 1)[-1]
        assert default_tag == airflow_version, (name, image)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "include" in dockerfile, "the image installs the pins and ocop"


def test_every_bind_mount_exists_in_the_repository(compose):
    mounts = []
    common_volumes = [v for s in compose["services"].values() for v in s.get("volumes", [])]
    for volume in common_volumes:
        host = (volume if isinstance(volume, str) else volume.get("source", "")).split(":", 1)[0]
        if host.startswith((".", "/")):
            mounts.append(host)
            assert (ROOT / host).exists(), f"bind-mounted host path {host} is not in the repository"
    data = {m for m in mounts if m.startswith("./deploy/") and "postgres" not in m}
    assert {f"./deploy/{d}" for d in ("inbox", "store", "publications")} <= data
    for folder in data:
        assert (ROOT / folder / ".gitkeep").exists(), folder
    assert "./deploy/postgres-init" in mounts


def test_ocop_environment_names_are_the_ones_the_code_reads(compose):
    code = _code_text()
    read_by_code = set(re.findall(r"\bOCOP_[A-Z0-9_]+\b", code))
    for name in AIRFLOW_SERVICES:
        env = _env(compose["services"][name])
        ocop = {k for k in env if k.startswith("OCOP_")}
        unknown = ocop - read_by_code
        assert not unknown, f"{name} sets OCOP_* names no code reads: {sorted(unknown)}"
        missing = set(REQUIRED_OCOP) - ocop
        assert not missing, f"{name} does not set {sorted(missing)}"
    config = "\n".join((ROOT / "include" / "ocop" / f).read_text() for f in ("config.py", "storage.py", "pipeline.py"))
    for required in REQUIRED_OCOP:
        assert f'"{required}"' in config, f"ocop.config / ocop.storage / ocop.pipeline do not read {required}"


def test_airflow_settings_are_real_airflow_options(compose):
    from airflow.configuration import conf

    reference = conf.configuration_description  # every documented option, defaults or not
    for name in AIRFLOW_SERVICES:
        for key in _env(compose["services"][name]):
            if key.startswith("AIRFLOW__"):
                section, option = key[len("AIRFLOW__"):].lower().split("__", 1)
                if option not in reference.get(section, {}).get("options", {}) and section in PROVIDER_SECTIONS:
                    # The provider (in the official image) is not installed in this venv.
                    assert option in PROVIDER_SECTIONS[section], key
                    continue
                assert option in reference.get(section, {}).get("options", {}), f"{key} is not an Airflow option"


def test_no_secret_literal_values_come_from_the_env_file(compose):
    example = (ROOT / ".env.example").read_text()
    example_vars = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example, re.M))
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key):
                assert ONLY_INTERPOLATION.match(value), f"{name}: {key} must come from ${{VAR}}, got {value!r}"
            for user_pass in re.findall(r"://([^@/\s]*)@", value):
                if ":" in user_pass and user_pass.split(":", 1)[1]:
                    assert ONLY_INTERPOLATION.match(user_pass.split(":", 1)[1]), f"{name}: {key} has a password literal"
    # Every variable the compose file requires (${VAR:?...}) is documented in .env.example,
    # and the example holds placeholders only.
    required = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text()) if m.group(2) == ":?"}
    assert required <= set(example_vars), required - set(example_vars)
    for key, value in example_vars.items():
        if SECRET_NAME.search(key):
            assert value in ("", "CHANGE_ME"), f".env.example {key} must be a placeholder"
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert ".env" in gitignore or "/.env" in gitignore, ".env must be git-ignored"


def test_warehouse_database_is_created_and_migrated(compose):
    url = _env(compose["services"]["airflow-scheduler"])["OCOP_WAREHOUSE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    database = url.rsplit("/", 1)[1]
    sql = "\n".join(p.read_text() for p in (ROOT / "deploy" / "postgres-init").glob("*.sql"))
    assert re.search(rf"CREATE DATABASE\s+{database}\b", sql), sql
    init = compose["services"]["airflow-init"]
    script = "\n".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "upgrade(" in script and "OCOP_WAREHOUSE_URL" in script
    assert _env(init)["_AIRFLOW_DB_MIGRATE"] == "true"


def test_one_worker_serves_the_warehouse_queue_the_dags_use(compose):
    """discover, consolidate and ocop_publish's writers go to OCOP_WAREHOUSE_QUEUE; exactly one
    service serves it, with one process (one warehouse lock holder); the other workers serve the
    default queue; every service passes the data between tasks through the same store."""
    services = compose["services"]
    queue = _env(services["airflow-scheduler"])["OCOP_WAREHOUSE_QUEUE"]
    serving = {n: s["command"] for n, s in services.items() if "celery worker" in str(s.get("command", ""))}
    assert {n for n, c in serving.items() if f"--queues {queue}" in c} == {"airflow-worker-warehouse"}
    assert "--concurrency 1" in serving["airflow-worker-warehouse"]
    assert "--queues" not in serving["airflow-worker"]                  # [operators] default_queue
    stores = {_env(services[n])["OCOP_STORE_URL"] for n in AIRFLOW_SERVICES}
    assert stores == {"${OCOP_STORE_URL:-file:///opt/ocop/store}"}, stores
    assert any(v.startswith("./deploy/store:/opt/ocop/store") for v in services["airflow-worker"]["volumes"])
    # The DAGs read the same variable when parsed.
    import ast

    for dag_file, tasks in {"ocop_ingest.py": {"discover", "consolidate"},
                            "ocop_publish.py": {"current_counts", "review_items", "apply_review", "publish_period"}}.items():
        tree = ast.parse((ROOT / "dags" / dag_file).read_text(encoding="utf-8"))
        queued = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                  for d in f.decorator_list if isinstance(d, ast.Call)
                  for k in d.keywords if k.arg == "queue" and ast.unparse(k.value) == "pipeline.WAREHOUSE_QUEUE"}
        assert queued == tasks, (dag_file, queued)
    pipeline_src = (ROOT / "include" / "ocop" / "pipeline.py").read_text(encoding="utf-8")
    assert 'os.environ.get("OCOP_WAREHOUSE_QUEUE") or "ocop_warehouse"' in pipeline_src and queue == "ocop_warehouse"


def test_the_celery_provider_is_pinned_and_importable():
    pins = _pins()
    assert pins["apache-airflow-providers-celery"] and pins["celery"]
    from importlib.metadata import version

    assert version("apache-airflow-providers-celery") == pins["apache-airflow-providers-celery"]
    assert version("celery") == pins["celery"]
    from airflow.providers.celery.executors.celery_executor import app  # noqa: F401  (what `celery worker` loads)
