"""Monitoring: the submission-status check on a real warehouse built through the pipeline, the
notifiers against a real SMTP server, and the failure callback inside a real Airflow task run."""

from __future__ import annotations

import datetime as dt
import email.policy
import subprocess
import sys
import textwrap
from email import message_from_bytes

import pytest

from airflow_helpers import ROOT, airflow_env
from ocop import monitor, pipeline
from scenarios import load_in_two_runs, plan

@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, small_national):
    """Accepted snapshots of three provinces (the other 31 never submit); then a rejected file
    arrives, the latest of its province."""
    source, truth = small_national
    _, _, last_snapshot = plan(truth)
    check = lambda settings: monitor.check_submissions(  # noqa: E731
        pipeline.engine_for(settings), today=last_snapshot + dt.timedelta(days=15), stale_days=120)
    run = load_in_two_runs(source, truth, tmp_path_factory.mktemp("monitor"), between=check)
    assert all(s["file_outcome"] == "accepted" for s in run.first["submissions"]), run.first["submissions"]
    assert [s["file_outcome"] for s in run.second["submissions"]] == ["rejected"], run.second["submissions"]
    return run.engine, run.mid, run.subset, run.late_rejected, run.last_snapshot


def test_provinces_without_an_accepted_snapshot_are_stale(warehouse):
    engine, before, subset, _, _ = warehouse
    stale = {x.province_code: x for x in before.stale}
    assert len(stale) == 31 and not set(subset) & set(stale)
    assert all(x.last_accepted_snapshot is None and x.days_since is None for x in stale.values())
    assert before.rejected == [] and not before.ok


def test_latest_rejected_file_is_reported(warehouse):
    from ocop.reference.provinces import PROVINCES

    engine, _, _, late_rejected, last_snapshot = warehouse
    code = late_rejected.parts[0]
    check = monitor.check_submissions(engine, today=last_snapshot + dt.timedelta(days=15), stale_days=120)
    assert [r.province_code for r in check.rejected] == [code]
    rejected = check.rejected[0]
    assert rejected.file_name == late_rejected.name and rejected.file_rule == "F_TOO_MANY_REJECTED"
    # Its accepted snapshot of the last date is still recent: rejected, but not stale.
    assert code not in {x.province_code for x in check.stale}
    subject, body = check.message()
    assert "1 with a rejected latest file" in subject and late_rejected.name in body
    assert PROVINCES[code].short_name in body


def test_stale_after_the_configured_days(warehouse, monkeypatch):
    engine, _, subset, _, last_snapshot = warehouse
    day = last_snapshot + dt.timedelta(days=121)
    check = monitor.check_submissions(engine, today=day, stale_days=120)
    assert len(check.stale) == 34
    assert {x.province_code: x.days_since for x in check.stale if x.province_code in subset} == \
        dict.fromkeys(subset, 121)
    monkeypatch.setenv("OCOP_STALE_DAYS", "200")
    assert {x.province_code for x in monitor.check_submissions(engine, today=day).stale} & set(subset) == set()
    assert monitor.check_submissions(engine, today=day).stale_days == 200


# --------------------------------------------------------------------------- notifiers



def _subject(envelope) -> str:
    return str(message_from_bytes(envelope.content, policy=email.policy.default)["Subject"])


def test_notifiers_from_env_mail_the_alert_and_survive_a_broken_channel(smtp_server, monkeypatch):
    host, port, received = smtp_server
    monkeypatch.setenv("OCOP_SMTP_HOST", host)
    monkeypatch.setenv("OCOP_SMTP_PORT", str(port))
    monkeypatch.setenv("OCOP_SMTP_FROM", "ocop@example.vn")
    monkeypatch.setenv("OCOP_ALERT_TO", "ops@example.vn, lead@example.vn")
    notifiers = monitor.notifiers_from_env()
    assert [type(n).__name__ for n in notifiers] == ["LogNotifier", "EmailNotifier"]

    class Broken:
        def notify(self, subject, body):
            raise ConnectionError("channel down")

    errors = monitor.notify_all("[OCOP] test alert ă", "body", [Broken(), *notifiers])
    assert errors == ["Broken: channel down"]
    assert len(received) == 1
    assert sorted(received[0].rcpt_tos) == ["lead@example.vn", "ops@example.vn"]
    assert _subject(received[0]) == "[OCOP] test alert ă"
    monkeypatch.delenv("OCOP_ALERT_TO")
    assert [type(n).__name__ for n in monitor.notifiers_from_env()] == ["LogNotifier"]


FAILING_DAG = '''
import pendulum
from airflow.sdk import dag, task
from ocop import monitor


@dag(dag_id="ocop_failure_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
     default_args={"retries": 0, "on_failure_callback": monitor.task_failure_callback})
def ocop_failure_probe():
    @task
    def explode():
        raise RuntimeError("province file server unreachable")

    explode()


ocop_failure_probe()
'''


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_failure_callback_mails_from_a_real_failed_task(tmp_path, smtp_server):
    host, port, received = smtp_server
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "ocop_failure_probe.py").write_text(textwrap.dedent(FAILING_DAG))
    env = airflow_env(tmp_path, AIRFLOW__CORE__DAGS_FOLDER=str(dags), OCOP_SMTP_HOST=host,
                      OCOP_SMTP_PORT=str(port), OCOP_ALERT_TO="ops@example.vn")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_dags.py"), "ocop_failure_probe"], env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]            # the task failed, as it should
    assert '"explode": "failed"' in out, out[-4000:]
    assert len(received) == 1, out[-4000:]
    assert _subject(received[0]).startswith("[OCOP] FAILED ocop_failure_probe.explode (")
    body = message_from_bytes(received[0].content).get_payload(decode=True).decode()
    assert "RuntimeError: province file server unreachable" in body
