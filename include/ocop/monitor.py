"""Monitoring: which provinces need chasing, and who gets told when something fails.

- :func:`check_submissions` reads the warehouse table ``submission`` and lists the provinces
  with no accepted snapshot in ``OCOP_STALE_DAYS`` days (default 120; never submitted counts
  as stale) and the provinces whose latest file (by arrival) was rejected whole.
- Notifiers are pluggable: anything with ``notify(subject, body)``. :func:`notifiers_from_env`
  gives the log notifier always, and the e-mail notifier when ``OCOP_SMTP_HOST`` and
  ``OCOP_ALERT_TO`` (comma-separated addresses) are set; :func:`notify_all` sends to every
  notifier and never lets one broken notifier stop the others.
- :func:`task_failure_callback` is an ``on_failure_callback`` for Airflow tasks. It reads the
  callback context as a plain mapping, so this module does not import Airflow.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Mapping, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ocop.reference.provinces import PROVINCES
from ocop.warehouse import schema as s

log = logging.getLogger("ocop.monitor")

DEFAULT_STALE_DAYS = 120
REJECTED = "rejected"


def stale_days_from_env() -> int:
    value = os.environ.get("OCOP_STALE_DAYS")
    return int(value) if value not in (None, "") else DEFAULT_STALE_DAYS


# --------------------------------------------------------------------------- submission status

@dataclass(frozen=True)
class StaleProvince:
    province_code: str
    province_name: str
    last_accepted_snapshot: str | None     # ISO date; None: never an accepted snapshot
    days_since: int | None


@dataclass(frozen=True)
class RejectedProvince:
    province_code: str
    province_name: str
    submission_id: str
    file_name: str
    received_at: str
    file_rule: str | None
    file_message: str | None


@dataclass(frozen=True)
class SubmissionCheck:
    as_of: str
    stale_days: int
    stale: list[StaleProvince] = field(default_factory=list)
    rejected: list[RejectedProvince] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.stale and not self.rejected

    def as_dict(self) -> dict:
        return {"as_of": self.as_of, "stale_days": self.stale_days, "ok": self.ok,
                "stale": [asdict(x) for x in self.stale], "rejected": [asdict(x) for x in self.rejected]}

    def message(self) -> tuple[str, str]:
        """Subject and plain-text body for the people who chase provinces."""
        subject = (f"[OCOP] Submission status {self.as_of}: {len(self.stale)} province(s) stale, "
                   f"{len(self.rejected)} with a rejected latest file")
        lines = [f"Submission status as of {self.as_of}.", ""]
        lines.append(f"No accepted snapshot in the last {self.stale_days} days ({len(self.stale)}):")
        for x in self.stale:
            since = (f"last accepted snapshot {x.last_accepted_snapshot}, {x.days_since} days ago"
                     if x.last_accepted_snapshot else "never an accepted snapshot")
            lines.append(f"  {x.province_code} {x.province_name}: {since}")
        lines += ["", f"Latest file rejected ({len(self.rejected)}):"]
        for x in self.rejected:
            lines.append(f"  {x.province_code} {x.province_name}: {x.file_name} received {x.received_at} "
                         f"({x.file_rule or '-'}: {x.file_message or ''})")
        return subject, "\n".join(lines) + "\n"


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def check_submissions(engine: Engine, today: dt.date | None = None, stale_days: int | None = None) -> SubmissionCheck:
    """Stale provinces and provinces whose latest file was rejected, as of ``today``."""
    today = today or dt.date.today()
    stale_days = stale_days_from_env() if stale_days is None else stale_days
    sub = s.submission
    with engine.connect() as conn:
        rows = conn.execute(sa.select(
            sub.c.province_code, sub.c.submission_id, sub.c.file_name, sub.c.received_at,
            sub.c.snapshot_date, sub.c.outcome, sub.c.file_rule, sub.c.file_message,
        ).order_by(sub.c.province_code, sub.c.received_at, sub.c.submission_id)).mappings().all()
    latest: dict[str, Mapping] = {}
    last_ok: dict[str, dt.date] = {}
    for r in rows:
        latest[r["province_code"]] = r
        snap = _as_date(r["snapshot_date"])
        if r["outcome"] == s.ACCEPTED and snap is not None and snap <= today:
            last_ok[r["province_code"]] = max(snap, last_ok.get(r["province_code"], snap))
    stale, rejected = [], []
    for code, prov in sorted(PROVINCES.items()):
        ok = last_ok.get(code)
        if ok is None or (today - ok).days > stale_days:
            stale.append(StaleProvince(code, prov.short_name, _iso(ok), (today - ok).days if ok else None))
        r = latest.get(code)
        if r is not None and r["outcome"] == REJECTED:
            rejected.append(RejectedProvince(code, prov.short_name, r["submission_id"], r["file_name"],
                                             _iso(r["received_at"]), r["file_rule"], r["file_message"]))
    return SubmissionCheck(today.isoformat(), stale_days, stale, rejected)


# --------------------------------------------------------------------------- notifiers

class Notifier(Protocol):
    def notify(self, subject: str, body: str) -> None: ...


class LogNotifier:
    """Writes the alert to the log (the Airflow task log when run from a task or callback)."""

    def __init__(self, logger: logging.Logger = log):
        self.logger = logger

    def notify(self, subject: str, body: str) -> None:
        self.logger.warning("%s\n%s", subject, body)


class EmailNotifier:
    """E-mail through the SMTP settings of :mod:`ocop.report.mail` (``OCOP_SMTP_*``)."""

    def __init__(self, smtp, to: list[str], attempts: int = 3, backoff: float = 1.0):
        self.smtp, self.to, self.attempts, self.backoff = smtp, list(to), attempts, backoff

    def notify(self, subject: str, body: str) -> None:
        from ocop.report.mail import send_report

        send_report(self.smtp, self.to, subject, body, [], attempts=self.attempts, backoff=self.backoff)


def alert_recipients_from_env() -> list[str]:
    return [a.strip() for a in (os.environ.get("OCOP_ALERT_TO") or "").split(",") if a.strip()]


def notifiers_from_env() -> list[Notifier]:
    """The log always; e-mail when ``OCOP_SMTP_HOST`` and ``OCOP_ALERT_TO`` are set."""
    from ocop.report.mail import SmtpConfig

    notifiers: list[Notifier] = [LogNotifier()]
    smtp, to = SmtpConfig.from_env(), alert_recipients_from_env()
    if smtp is not None and to:
        notifiers.append(EmailNotifier(smtp, to))
    return notifiers


def notify_all(subject: str, body: str, notifiers: Iterable[Notifier] | None = None) -> list[str]:
    """Send to every notifier; returns the errors (one broken channel never hides the others)."""
    errors = []
    for n in (notifiers_from_env() if notifiers is None else notifiers):
        try:
            n.notify(subject, body)
        except Exception as exc:  # noqa: BLE001 - an alert must not crash the callback
            log.error("notifier %s failed: %s", type(n).__name__, exc)
            errors.append(f"{type(n).__name__}: {exc}")
    return errors


# --------------------------------------------------------------------------- Airflow callbacks

def failure_message(context: Mapping) -> tuple[str, str]:
    """Subject and body describing a failed task from an Airflow callback context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    try_number = getattr(ti, "try_number", "?")
    exc = context.get("exception")
    task = f"{task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else task_id
    subject = f"[OCOP] FAILED {dag_id}.{task} ({run_id})"
    body = (f"DAG:       {dag_id}\nTask:      {task}\nRun:       {run_id}\nTry:       {try_number}\n"
            f"Error:     {type(exc).__name__ + ': ' + str(exc) if exc else '-'}\n"
            f"Log:       {getattr(ti, 'log_url', '-')}\n")
    return subject, body


def task_failure_callback(context: Mapping, notifiers_factory: Callable[[], list[Notifier]] | None = None) -> None:
    """``on_failure_callback``: tell every configured notifier which task failed and why."""
    subject, body = failure_message(context)
    notify_all(subject, body, (notifiers_factory or notifiers_from_env)())
