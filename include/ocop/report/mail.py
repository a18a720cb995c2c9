"""E-mail the reports to a province with :mod:`smtplib`.

``SmtpConfig`` comes from ``OCOP_SMTP_HOST`` / ``_PORT`` / ``_USER`` / ``_PASSWORD`` / ``_FROM``
(``OCOP_SMTP_STARTTLS=1`` for STARTTLS) or from an Airflow-style connection URI
``smtp://user:pass@host:25?from_email=ocop@example.vn&starttls=true``. ``send_report``
retries with exponential backoff and raises the last error after the final attempt; it only
reads the attachments.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("ocop.report.mail")

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "ocop@localhost"
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> "SmtpConfig | None":
        """From ``OCOP_SMTP_*``; ``None`` when no host is configured (mail is optional)."""
        host = os.environ.get("OCOP_SMTP_HOST")
        if not host:
            return None
        return cls(
            host=host,
            port=int(os.environ.get("OCOP_SMTP_PORT") or 25),
            user=os.environ.get("OCOP_SMTP_USER") or None,
            password=os.environ.get("OCOP_SMTP_PASSWORD") or None,
            starttls=(os.environ.get("OCOP_SMTP_STARTTLS") or "").lower() in _TRUE,
            sender=os.environ.get("OCOP_SMTP_FROM") or cls.sender,
        )

    @classmethod
    def from_uri(cls, uri: str) -> "SmtpConfig":
        """From an Airflow connection URI, e.g. ``smtp://user:pass@host:587?from_email=x@y&starttls=true``."""
        parts = urlsplit(uri)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or 25,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=query.get("starttls", "").lower() in _TRUE,
            sender=query.get("from_email") or cls.sender,
        )


def build_message(smtp: SmtpConfig, to: list[str], subject: str, body: str, attachments: list[Path]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, ", ".join(to), subject
    msg.set_content(body)
    for path in map(Path, attachments):
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def _send_once(smtp: SmtpConfig, msg: EmailMessage) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as conn:
        if smtp.starttls:
            conn.starttls()
        if smtp.user:
            conn.login(smtp.user, smtp.password or "")
        conn.send_message(msg)


def send_report(smtp: SmtpConfig, to: list[str], subject: str, body: str, attachments: list[Path], *,
                attempts: int = 3, backoff: float = 1.0) -> None:
    """Send one message; retry ``attempts`` times (waiting ``backoff``, 2x, 4x ... seconds)."""
    msg = build_message(smtp, to, subject, body, attachments)
    for attempt in range(1, attempts + 1):
        try:
            _send_once(smtp, msg)
            log.info("report mailed to %s (%s)", ", ".join(to), subject)
            return
        except (OSError, smtplib.SMTPException) as exc:
            if attempt == attempts:
                raise
            wait = backoff * 2 ** (attempt - 1)
            log.warning("sending to %s failed (%s), attempt %d/%d; retrying in %.1f s", to, exc, attempt,
                        attempts, wait)
            time.sleep(wait)


def report_email(validated) -> tuple[str, str]:
    """Vietnamese subject and body for a validated submission's report."""
    p, c = validated.parsed, validated.counts
    snap = getattr(p, "snapshot_date", None) or "không xác định"
    if validated.file_outcome == "rejected":
        subject = f"[OCOP] Tệp {p.file_name} KHÔNG được tiếp nhận"
        result = f"Tệp không được tiếp nhận. Lý do: {validated.file_message_vi}"
    else:
        subject = f"[OCOP] Kết quả tiếp nhận tệp {p.file_name}"
        result = "Tệp đã được tiếp nhận."
    body = (
        "Kính gửi Văn phòng điều phối OCOP,\n\n"
        f"Hệ thống đã kiểm tra tệp “{p.file_name}” (ngày chốt số liệu: {snap}).\n"
        f"{result}\n\n"
        f"Số dòng nhận được: {c['received']}\n"
        f"Hợp lệ: {c['accepted']}\n"
        f"Hợp lệ có cảnh báo: {c['warned']}\n"
        f"Bị loại: {c['rejected']}\n\n"
        "Chi tiết từng dòng, các ô cần sửa (tô đỏ: bị loại, tô vàng: cảnh báo) và hướng dẫn sửa có trong "
        "tệp báo cáo report.xlsx đính kèm; report.json dành cho phần mềm.\n\n"
        "Thư này được gửi tự động, vui lòng không trả lời."
    )
    return subject, body
