"""Security checks: no secrets in the repository, report and landing paths stay inside their
roots whatever the file name or province code, and the Airflow REST API refuses anonymous
callers.

Covered elsewhere (not repeated here): the read-only warehouse role cannot write
(tests/test_warehouse_core.py::test_readonly_role); the OCOP status page refuses anonymous and
forged callers and does not serve files outside the reports folder on the live deployment
(tests/test_deploy_live.py::test_status_page_requires_airflow_authentication); formulas never
reach report.xlsx (tests/test_reliability_corpus.py::test_no_report_xlsx_holds_a_formula).
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocop.config import Settings
from ocop.ingest.landing import land, safe_extension
from ocop.ingest.sources import safe_name
from ocop.pipeline import report_dir

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- secrets in git

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "GitHub/Slack token": re.compile(r"\b(?:ghp_[A-Za-z0-9]{36}|gh[ousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,})\b"),
}
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s/:@'\"]+:([^\s@/'\"]+)@")
QUOTED_PASSWORD = re.compile(r"(?i)\b(?:password|passwd|pwd|secret|token|api_key)\w*\s*[=:]\s*['\"]([^'\"\s]+)['\"]")
ENV_PASSWORD = re.compile(r"(?m)^[ \t]*[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN)[A-Z0-9_]*[ \t]*[=:][ \t]*([^\s#]*)")
PLACEHOLDER_WORDS = {"password", "pass", "passwd", "secret", "changeme", "change_me", "xxx", "none", "null", ""}


def _placeholder(value: str) -> bool:
    v = value.strip().strip("'\"")
    return (v.lower() in PLACEHOLDER_WORDS or v.startswith(("${", "$", "{", "<", "%(")) or re.fullmatch(r"[.…*x]+", v)
            is not None or v.endswith("}"))


PASSWORD_PATTERNS = {"password in a URL": URL_PASSWORD, "quoted password": QUOTED_PASSWORD}


def _tracked_text_files(root: Path = ROOT) -> list[tuple[str, str]]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    files = []
    for name in out.decode().split("\0"):
        path = root / name
        if not name or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            files.append((name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def scan(files: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(file, what, the start of the match) for every secret in ``files``."""
    found = []
    for name, text in files:
        for what, pattern in SECRET_PATTERNS.items():
            found += [(name, what, m.group(0)[:40]) for m in pattern.finditer(text)]
        if name.startswith("tests/"):
            continue  # tests use throwaway passwords for servers they start themselves
        config_like = not name.endswith(".py")  # env files, compose, shell, docs: KEY=value lines
        patterns = {**PASSWORD_PATTERNS, **({"KEY=password line": ENV_PASSWORD} if config_like else {})}
        for what, pattern in patterns.items():
            found += [(name, what, m.group(0)[:60]) for m in pattern.finditer(text) if not _placeholder(m.group(1))]
    return found


def test_no_secrets_in_tracked_files():
    files = _tracked_text_files()
    assert len(files) > 50
    assert scan(files) == []


def test_no_credential_files_are_tracked():
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    bad = [n for n in names if Path(n).name in (".env", "id_rsa", "id_ed25519", "passwords.json", ".pgpass", ".netrc")
           or Path(n).suffix in (".pem", ".key", ".p12", ".pfx")]
    assert bad == []


def test_the_scan_finds_real_secrets_in_a_repository(tmp_path):
    """The whole scan (git's file list, the tests/ and .py exemptions, placeholders) on a throwaway
    repository where real-looking secrets were committed, next to what must pass."""
    import asyncssh

    repo = tmp_path / "repo"
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()  # a real key
    aws = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    files = {
        "deploy/backup_key.txt": key,
        "notes.txt": f"aws key {aws} for the bucket\n",
        "docker-compose.override.yaml": "x-db: &db\n  DATABASE_URL: postgresql://ocop:Xk3-realpass@db:5432/ocop\n",
        "deploy/prod.env": "POSTGRES_PASSWORD=hunter2hunter2\nAIRFLOW_SECRET_KEY=${FROM_VAULT}\n",
        "include/settings.py": 'SMTP = dict(host="mail", password="s3cr3t-value")\nPASSWORD=os.environ["PW"]\n',
        # must pass: placeholders, a throwaway password in tests/
        "docs/setup.md": "POSTGRES_PASSWORD=CHANGE_ME\npostgresql://ocop:${POSTGRES_PASSWORD}@db/x\n",
        "tests/test_server.py": 'PASSWORD = "throwaway-test-pw"\n',
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    (repo / "untracked.env").write_text("POSTGRES_PASSWORD=not-committed-yet\n", encoding="utf-8")

    found = {(name, what) for name, what, _ in scan(_tracked_text_files(repo))}
    assert found == {
        ("deploy/backup_key.txt", "private key"),
        ("notes.txt", "AWS access key id"),
        ("docker-compose.override.yaml", "password in a URL"),
        ("deploy/prod.env", "KEY=password line"),
        ("include/settings.py", "quoted password"),
    }


# --------------------------------------------------------------------------- paths stay inside their roots

HOSTILE_NAMES = [
    "../../../etc/passwd", "..\\..\\..\\windows\\system32\\x.xlsx", "/etc/passwd", "..", ".", "", "a/../../b.xlsx",
    "~/.ssh/id_rsa", "x.xlsx\x00.sh", "dòng\nmới.xlsx", "..%2F..%2Fx.xlsx", "CON.xlsx", " .xlsx", "-rf .xlsx",
    "=HYPERLINK(\"http://x\").xlsx", "a" * 1000 + ".xlsx", "ằ" * 300 + ".xlsx",
]
HOSTILE_CODES = ["..", "../..", "/etc", "01/../../x", "", ".", "01\x00", "0", "001", "xx"]


def _settings(tmp: Path) -> Settings:
    return Settings(home=tmp, inbox=tmp / "inbox", landing=tmp / "landing", reports=tmp / "reports", runs=tmp / "runs",
                    publications=tmp / "publications", warehouse_url=f"sqlite:///{tmp / 'w.db'}")


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve()) and path.resolve() != root.resolve()


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_report_dir_stays_in_the_province_folder_for_hostile_names(tmp_path, name):
    s = _settings(tmp_path)
    folder = report_dir(s, "01", "2025-06-30", name)
    assert folder.parent == (s.reports / "01").resolve()
    assert "/" not in folder.name and "\\" not in folder.name and "\x00" not in folder.name
    assert not folder.name.startswith(".")


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_report_dir_refuses_or_contains_hostile_province_codes(tmp_path, code):
    s = _settings(tmp_path)
    try:
        folder = report_dir(s, code, "2025-06-30", "x.xlsx")
    except ValueError:
        return
    assert _inside(folder, s.reports)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.one_of(st.sampled_from(HOSTILE_CODES), st.text(max_size=12)),
       name=st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=80)),
       snapshot=st.one_of(st.none(), st.sampled_from(["2025-06-30", "../..", "/tmp"]), st.text(max_size=12)))
def test_report_dir_never_escapes_the_reports_root(tmp_path, code, name, snapshot):
    s = _settings(tmp_path)
    try:
        folder = report_dir(s, code, snapshot, name)
    except ValueError:
        return
    assert _inside(folder, s.reports)


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_landing_copies_stay_in_the_landing_zone_for_hostile_names(tmp_path, name):
    src = tmp_path / "incoming.bin"
    src.write_bytes(b"register bytes " + name.encode("utf-8", "replace"))
    root = tmp_path / "landing"
    landed = land(src, "01", root, original_name=name)
    path = Path(landed.path)
    assert path.parent.parent == (root / "01").resolve()
    assert re.fullmatch(r"[0-9a-f]{64}(\.[a-z0-9]{1,8}|\.bin)", path.name), path.name
    assert landed.original_name == (name or src.name)  # kept as data, never as a path
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, f"{landed.sha256}.json"])


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_landing_refuses_hostile_province_codes(tmp_path, code):
    src = tmp_path / "x.xlsx"
    src.write_bytes(b"x")
    with pytest.raises(ValueError):
        land(src, code, tmp_path / "landing")
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").rglob("*"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=300)))
def test_safe_extension_and_safe_name_are_plain(name):
    assert re.fullmatch(r"\.[a-z0-9]{1,8}", safe_extension(name))
    base = safe_name(name)
    assert base and "/" not in base and "\\" not in base and base not in (".", "..")
    assert not re.search(r"[\x00-\x1f\x7f]", base)


# --------------------------------------------------------------------------- the Airflow REST API

_API_PROBE = r"""
import json, sys
from airflow.api_fastapi.app import create_app
from fastapi.testclient import TestClient
client = TestClient(create_app())
out = {}
for method, path in [("GET", "/api/v2/dags"), ("GET", "/api/v2/connections"), ("GET", "/api/v2/variables"),
                     ("GET", "/api/v2/dags/ocop_ingest/dagRuns"), ("POST", "/api/v2/dags/ocop_ingest/dagRuns"),
                     ("PATCH", "/api/v2/dags/ocop_ingest"), ("GET", "/api/v2/config")]:
    out[f"{method} {path}"] = client.request(method, path, json={}).status_code
out["forged GET /api/v2/dags"] = client.get("/api/v2/dags", headers={"Authorization": "Bearer not-a-jwt"}).status_code
out["health"] = client.get("/api/v2/monitor/health").status_code
print("PROBE " + json.dumps(out))
"""

@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.parametrize("manager", [
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",  # production (docker-compose.yaml)
], ids=["simple", "fab"])
def test_airflow_rest_api_refuses_anonymous_callers(tmp_path, manager):
    """The real API application (the one ``airflow api-server`` serves), called in process: no
    token, or a forged one, gets 401/403 on every DAG, connection, variable and config route.
    (The live deployment test checks the OCOP status page on a running server.)"""
    from airflow_helpers import airflow_env

    env = airflow_env(tmp_path, AIRFLOW__CORE__AUTH_MANAGER=manager,
                      AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
                      AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(24),
                      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="ocop:admin")
    if "fab" in manager:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, timeout=300)
    proc = subprocess.run([sys.executable, "-c", _API_PROBE], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("PROBE ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    import json

    codes = json.loads(lines[-1][len("PROBE "):])
    health = codes.pop("health")
    assert health == 200  # the health endpoint is public by design; nothing else is
    assert all(code in (401, 403) for code in codes.values()), codes
