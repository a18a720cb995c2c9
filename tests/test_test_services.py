"""`make test` sets up what its tests need on a bare machine (scripts/test_services.sh, the
`test-services` prerequisite): Chromium installed with apt-get when it is missing from the path
the live test uses (``OCOP_CHROMIUM``), PostgreSQL started when it is down. Checked through the
script's --dry-run (nothing is installed or started by a test) and through `make -n`."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test_services.sh"


def services(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("OCOP_CHROMIUM", "OCOP_SOFFICE", "OCOP_TEST_PG", "OCOP_PG_PORT", "OCOP_REDIS_PORT")}
    return subprocess.run([str(SCRIPT), "--dry-run", *args], capture_output=True, text=True, timeout=60,
                          env={**full, **env})


def test_make_test_sets_up_the_browser_and_postgresql_first():
    proc = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    chromium = lines.index("scripts/test_services.sh chromium")
    libreoffice = lines.index("scripts/test_services.sh libreoffice")
    postgresql = lines.index("scripts/test_services.sh postgresql")
    pytest_line = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert chromium < pytest_line and libreoffice < pytest_line and postgresql < pytest_line
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "apt-get" not in ci and "pg_ctlcluster" not in ci   # only make test


def test_a_missing_chromium_is_installed_with_apt(tmp_path):
    missing = tmp_path / "no-such" / "chromium"
    proc = services("chromium", OCOP_CHROMIUM=str(missing))
    assert proc.returncode == 0, proc.stderr
    assert f"chromium: {missing} is missing" in proc.stdout
    assert "would run: apt-get update -q" in proc.stdout
    assert "would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium" in proc.stdout


def test_a_present_chromium_is_left_alone(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    proc = services("chromium", OCOP_CHROMIUM=str(browser))
    assert proc.returncode == 0 and proc.stdout == f"chromium: {browser} is there\n"
    # The live test reads the same variable.
    assert 'os.environ.get("OCOP_CHROMIUM", "/usr/bin/chromium")' in \
        (ROOT / "tests" / "test_deploy_live.py").read_text(encoding="utf-8")


def test_a_missing_libreoffice_is_installed_with_apt(tmp_path):
    missing = tmp_path / "no-such" / "soffice"
    proc = services("libreoffice", OCOP_SOFFICE=str(missing))
    assert proc.returncode == 0, proc.stderr
    assert f"libreoffice: {missing} is missing" in proc.stdout
    assert ("would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "libreoffice-calc-nogui") in proc.stdout
    present = services("libreoffice", OCOP_SOFFICE="/bin/sh")
    assert present.returncode == 0 and present.stdout == "libreoffice: /bin/sh is there\n"


def test_postgresql_is_started_only_when_down():
    up = services("postgresql")                         # the server the suite uses is up here
    assert up.returncode == 0 and up.stdout == "postgresql: up on 127.0.0.1:5432\n"
    with socket.socket() as s:                          # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = services("postgresql", OCOP_PG_PORT=str(port))
    assert down.returncode == 0, down.stderr
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])[-1]
    assert f"would run: pg_ctlcluster --skip-systemctl-redirect {version} main start" in down.stdout
    assert f"would wait for: pg_isready -h 127.0.0.1 -p {port}" in down.stdout
    other = services("postgresql", OCOP_TEST_PG="postgresql://postgres@db.example:5432/postgres")
    assert "nothing started here" in other.stdout and "pg_ctlcluster" not in other.stdout


def test_redis_is_started_only_when_down():
    up = services("redis")                              # the broker the Celery test uses is up here
    assert up.returncode == 0 and up.stdout == "redis: up on 127.0.0.1:6379\n", up.stdout + up.stderr
    with socket.socket() as s:                          # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = services("redis", OCOP_REDIS_PORT=str(port))
    assert down.returncode == 0 and down.stderr == "", down.stderr
    assert (f"would run: redis-server --daemonize yes --bind 127.0.0.1 --port {port} --save  --appendonly no"
            in down.stdout), down.stdout
    proc = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    assert lines.index("scripts/test_services.sh redis") < next(i for i, x in enumerate(lines) if "pytest" in x)
