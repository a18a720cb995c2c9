"""Monitoring: which provinces need chasing, and who gets told when something fails.

- :func:`check_submissions` reads the warehouse table ``submission`` and lists the provinces
  with no accepted snapshot in ``OCOP_STALE_DAYS`` days (default 120; never submitted counts
  as stale) and the provinces whose latest file (by arrival) was rejected whole.
- Notifiers are pluggable: anything with ``notify(subject, body)``. :func:`notifiers_from_env`
  gives the log notifier always, and the e-mail notifier when ``OCOP_SMTP_HOST`` and
  ``OCOP_ALERT_TO`` (comma-separated addresses) are set; :func:`notify_all` sends to every
  notifier and never lets one broken notifier stop the others.
- :func:`check_deadline`: once a reporting period's submission deadline (configured:
  :func:`submission_deadline`) has passed, the provinces with no accepted register for it;
  the daily ``ocop_submission_status`` DAG chases them through the same notifiers.
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


# --------------------------------------------------------------------------- deadlines

DEFAULT_DEADLINE_DAY = 10


@dataclass(frozen=True)
class LateProvince:
    province_code: str
    province_name: str
    last_accepted_snapshot: str | None


@dataclass(frozen=True)
class DeadlineCheck:
    """Provinces without an accepted snapshot for ``period`` once its deadline has passed."""

    as_of: str
    period: str
    deadline: str
    passed: bool
    late: list[LateProvince] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"as_of": self.as_of, "period": self.period, "deadline": self.deadline, "passed": self.passed,
                "late": [asdict(x) for x in self.late]}

    def message(self) -> tuple[str, str]:
        subject = (f"[OCOP] {len(self.late)} province(s) missed the {self.period} submission deadline "
                   f"({self.deadline})")
        lines = [f"Submission deadline for {self.period}: {self.deadline} (checked {self.as_of}).",
                 "No accepted register dated in or after the period from:", ""]
        lines += [f"  {x.province_code} {x.province_name}: last accepted snapshot {x.last_accepted_snapshot or 'never'}"
                  for x in self.late]
        return subject, "\n".join(lines) + "\n"


def reporting_period(today: dt.date) -> str:
    """The period being collected: the month before ``today`` (``YYYY-MM``)."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def submission_deadline(period: str, deadlines_file: str | os.PathLike | None = None,
                        day: int | None = None) -> dt.date:
    """The configured deadline of a month ``YYYY-MM``: its entry in the deadlines file
    (``OCOP_DEADLINES``, YAML ``{"2026-11": 2026-12-12}``), else day ``OCOP_DEADLINE_DAY``
    (default 10) of the following month."""
    import yaml

    path = deadlines_file if deadlines_file is not None else os.environ.get("OCOP_DEADLINES")
    if path and os.path.exists(path):
        configured = yaml.safe_load(open(path, encoding="utf-8")) or {}
        if not isinstance(configured, dict):
            raise ValueError(f"{path}: expected a mapping period -> date, got {type(configured).__name__}")
        if period in configured:
            value = configured[period]
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    year, month = (int(x) for x in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    day = day if day is not None else int(os.environ.get("OCOP_DEADLINE_DAY") or DEFAULT_DEADLINE_DAY)
    return dt.date(year, month, min(max(day, 1), 28))


def check_deadline(engine: Engine, today: dt.date | None = None, period: str | None = None,
                   deadline: dt.date | None = None) -> DeadlineCheck:
    """Once ``period``'s deadline has passed, the provinces with no accepted snapshot dated on
    or after the period's first day (their register for the period is missing)."""
    today = today or dt.date.today()
    period = period or reporting_period(today)
    deadline = deadline or submission_deadline(period)
    start = dt.date.fromisoformat(f"{period}-01")
    sub = s.submission
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sub.c.province_code, sa.func.max(sub.c.snapshot_date))
                            .where(sub.c.outcome == s.ACCEPTED).group_by(sub.c.province_code)).all()
    last = {code: _as_date(d) for code, d in rows}
    passed = today > deadline
    late = [LateProvince(code, prov.short_name, _iso(last.get(code)))
            for code, prov in sorted(PROVINCES.items())
            if passed and (last.get(code) is None or last[code] < start)]
    return DeadlineCheck(today.isoformat(), period, deadline.isoformat(), passed, late)


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
