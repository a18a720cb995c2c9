"""The pipeline pulls from configured remote sources and mails each province its report.

Real servers on loopback: an HTTP server publishing a province's file through a JSON index,
and an aiosmtpd SMTP server receiving the report with its Excel attachment."""

from __future__ import annotations

import email
import json
import os
import time

import pytest
import yaml

from ingest_files import write_xlsx
from ocop import pipeline
from ocop.config import Settings
from test_sources_http import running_http_server


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("OCOP_HOME", str(tmp_path / "home"))
    for name in ("OCOP_SMTP_HOST", "OCOP_SMTP_PORT", "AIRFLOW_CONN_SMTP_DEFAULT", "OCOP_SOURCES", "OCOP_CONTACTS"):
        monkeypatch.delenv(name, raising=False)
    return Settings.from_env(inbox=tmp_path / "inbox", settle_seconds=0)


def test_http_source_and_report_mailed_to_the_province(tmp_path, settings, smtp_server, monkeypatch):
    port = smtp_server.port
    site = tmp_path / "site"
    (site / "08").mkdir(parents=True)
    write_xlsx(site / "08" / "ds_2025-06-30.xlsx")
    old = time.time() - 3600
    os.utime(site / "08" / "ds_2025-06-30.xlsx", (old, old))
    (site / "08" / "index.json").write_text(json.dumps([{"name": "ds_2025-06-30.xlsx", "url": "ds_2025-06-30.xlsx", "mtime": old}]))
    # The drop folder holds the very same bytes for province 08: one submission, not two.
    (settings.inbox / "08").mkdir(parents=True)
    (settings.inbox / "08" / "copy.xlsx").write_bytes((site / "08" / "ds_2025-06-30.xlsx").read_bytes())
    os.utime(settings.inbox / "08" / "copy.xlsx", (old, old))

    with running_http_server(site) as base:
        settings.home.mkdir(parents=True, exist_ok=True)
        settings.sources_file.write_text(yaml.safe_dump({"sources": [
            {"type": "http", "provinces": ["08"], "index_url": f"{base}/{{province}}/index.json"},
            {"type": "folder"},
        ]}))
        settings.contacts_file.write_text(yaml.safe_dump({"contacts": {"08": ["ocop@tuyenquang.gov.vn"]}}))
        monkeypatch.setenv("OCOP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OCOP_SMTP_PORT", str(port))
        result = pipeline.run(settings)

    assert len(result["submissions"]) == 1
    sub = result["submissions"][0]
    assert sub["file_name"] == "ds_2025-06-30.xlsx" and sub["mail"] == "sent"
    assert result["consolidation"]["loaded"] == 1
    assert len(smtp_server.messages) == 1
    msg = email.message_from_bytes(smtp_server.messages[0].content)
    assert smtp_server.messages[0].rcpt_tos == ["ocop@tuyenquang.gov.vn"]
    attached = [p for p in msg.walk() if p.get_filename() == "report.xlsx"]
    report = next(settings.reports.glob("08/*/report.xlsx"))
    assert attached and attached[0].get_payload(decode=True) == report.read_bytes()


def test_mail_failure_keeps_the_report_and_the_run(tmp_path, settings, monkeypatch):
    (settings.inbox / "08").mkdir(parents=True)
    write_xlsx(settings.inbox / "08" / "ds.xlsx")
    old = time.time() - 3600
    os.utime(settings.inbox / "08" / "ds.xlsx", (old, old))
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.contacts_file.write_text(yaml.safe_dump({"08": "ocop@tuyenquang.gov.vn"}))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://127.0.0.1:1")  # nothing listens there
    result = pipeline.run(settings)
    sub = result["submissions"][0]
    assert sub["mail"].startswith("failed")
    assert result["consolidation"]["loaded"] == 1
    assert next(settings.reports.glob("08/*/report.xlsx")).stat().st_size > 0
