"""Run Airflow in a child process with its own AIRFLOW_HOME (Airflow reads its configuration
once per process, so every test run gets a fresh one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def airflow_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OCOP_"))}
    home = tmp / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "False",
        "OCOP_HOME": str(tmp / "data"),
        "OCOP_SETTLE_SECONDS": "0",
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    })
    env.update(extra)
    return env


def run_dags(env: dict[str, str], *args: str, timeout: int = 900) -> tuple[int, dict, str]:
    """``scripts/run_dags.py ARGS`` in a child process: (exit code, parsed result, output)."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_dags.py"), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith("OCOP_RESULT "):
            result = json.loads(line[len("OCOP_RESULT "):])
    return proc.returncode, result, out
