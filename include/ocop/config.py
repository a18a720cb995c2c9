"""Settings, read from ``OCOP_*`` environment variables with defaults under one data folder.

Everything the pipeline writes lives under ``OCOP_HOME`` (default ``./data``) unless a folder is
given explicitly: ``inbox/``, ``landing/``, ``reports/``, ``runs/``, ``publications/`` and the
embedded SQLite warehouse ``warehouse.db``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Limits:
    """File-level limits (protect against huge files and zip bombs)."""

    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    max_columns: int = 200
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_reject_share: float = 0.5

    @classmethod
    def from_env(cls) -> "Limits":
        d = cls()
        return cls(
            max_bytes=_env_int("OCOP_MAX_BYTES", d.max_bytes),
            max_rows=_env_int("OCOP_MAX_ROWS", d.max_rows),
            max_columns=_env_int("OCOP_MAX_COLUMNS", d.max_columns),
            max_uncompressed_bytes=_env_int("OCOP_MAX_UNCOMPRESSED_BYTES", d.max_uncompressed_bytes),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    inbox: Path
    landing: Path
    reports: Path
    runs: Path
    publications: Path
    warehouse_url: str
    limits: Limits = field(default_factory=Limits)
    settle_seconds: float = 5.0  # a drop-folder file modified more recently is still being written
    sources_file: Path | None = None   # YAML of per-province sources (docs/sources.md); none: the inbox
    contacts_file: Path | None = None  # YAML {province code: [e-mail, ...]} for mailing reports
    workers: int = 1                   # submissions processed in parallel by `ocop run`; batches of the DAG

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        home = Path(os.environ.get("OCOP_HOME", "data")).resolve()

        def folder(env: str, default: str) -> Path:
            return Path(os.environ.get(env) or home / default).resolve()

        s = cls(
            home=home,
            inbox=folder("OCOP_INBOX", "inbox"),
            landing=folder("OCOP_LANDING", "landing"),
            reports=folder("OCOP_REPORTS", "reports"),
            runs=folder("OCOP_RUNS", "runs"),
            publications=folder("OCOP_PUBLICATIONS", "publications"),
            warehouse_url=os.environ.get("OCOP_WAREHOUSE_URL") or f"sqlite:///{home / 'warehouse.db'}",
            limits=Limits.from_env(),
            settle_seconds=float(os.environ.get("OCOP_SETTLE_SECONDS", "5")),
            sources_file=folder("OCOP_SOURCES", "sources.yaml"),
            contacts_file=folder("OCOP_CONTACTS", "contacts.yaml"),
            workers=_env_int("OCOP_WORKERS", os.cpu_count() or 1),
        )
        overrides = {k: (Path(v).resolve() if isinstance(v, (str, Path)) and k != "warehouse_url" else v)
                     for k, v in overrides.items() if v is not None}
        return replace(s, **overrides)
