"""Mailing reports through a real SMTP server (aiosmtpd on loopback)."""

import email
import email.policy
import hashlib
import json
import socket
import time

import pytest

from ocop.report import write_reports
from ocop.report.mail import SmtpConfig, report_email, send_report
from ocop.validate.run import validate
from ocop.validate.testing import make_parsed


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def reports(tmp_path):
    v = validate(make_parsed([{}, {"rating_raw": "x", "owner": "HTX Khác"}]))
    return v, write_reports(v, tmp_path)


def test_report_arrives_with_attachment_bytes_intact(smtp_server, reports):
    v, paths = reports
    port = smtp_server.port
    subject, body = report_email(v)
    smtp = SmtpConfig.from_uri(f"smtp://127.0.0.1:{port}?from_email=ocop%40mard.gov.vn")
    send_report(smtp, ["ocop@hanoi.gov.vn"], subject, body, [paths["xlsx"], paths["json"]])

    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["ocop@hanoi.gov.vn"] and envelope.mail_from == "ocop@mard.gov.vn"
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"] == subject == "[OCOP] Kết quả tiếp nhận tệp ocop_2025-06-30.xlsx"
    assert "Bị loại: 1" in msg.get_body(("plain",)).get_content()
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert hashlib.sha256(files["report.xlsx"]).digest() == hashlib.sha256(paths["xlsx"].read_bytes()).digest()
    assert json.loads(files["report.json"])["counts"] == v.counts


def test_closed_port_raises_after_retries_and_leaves_reports_alone(reports):
    _, paths = reports
    before = {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in paths.items()}
    smtp = SmtpConfig(host="127.0.0.1", port=_free_port(), timeout=2)
    start = time.monotonic()
    with pytest.raises(OSError):
        send_report(smtp, ["a@b.vn"], "s", "b", [paths["xlsx"]], attempts=3, backoff=0.05)
    assert time.monotonic() - start >= 0.15  # waited 0.05 + 0.1 between the three attempts
    assert {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in paths.items()} == before


def test_config_from_env_and_uri(monkeypatch):
    for k, val in {"OCOP_SMTP_HOST": "mail.local", "OCOP_SMTP_PORT": "2525", "OCOP_SMTP_USER": "u",
                   "OCOP_SMTP_PASSWORD": "p", "OCOP_SMTP_FROM": "x@y.vn"}.items():
        monkeypatch.setenv(k, val)
    assert SmtpConfig.from_env() == SmtpConfig("mail.local", 2525, "u", "p", False, "x@y.vn")
    monkeypatch.delenv("OCOP_SMTP_HOST")
    assert SmtpConfig.from_env() is None
    c = SmtpConfig.from_uri("smtp://us%40er:p%3Ass@smtp.gov.vn:587?from_email=a@b.vn&starttls=true")
    assert (c.host, c.port, c.user, c.password, c.starttls, c.sender) == ("smtp.gov.vn", 587, "us@er", "p:ss", True,
                                                                         "a@b.vn")
