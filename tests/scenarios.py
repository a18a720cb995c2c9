"""Scenarios on the generated national data set shared by several test modules."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Callable


def plan(truth: dict) -> tuple[tuple[str, ...], Path, dt.date]:
    """Three provinces from the generated set: 01, 79 and the one with a rejected file (more
    than half its rows rejected); that file is held back for a second run, where it arrives
    last. Also the last snapshot date."""
    rejected = next(Path(f["path"]) for f in truth["files"]
                    if f["file_outcome"] == "rejected" and f["file_rule"] == "F_TOO_MANY_REJECTED")
    subset = tuple(sorted({"01", "79", rejected.parts[0]}))
    return subset, rejected, dt.date.fromisoformat(truth["snapshot_dates"][-1])


def load_in_two_runs(source: Path, truth: dict, tmp: Path, between: Callable | None = None) -> SimpleNamespace:
    """The three provinces of :func:`plan` loaded through the real pipeline into a SQLite
    warehouse under ``tmp``: first their accepted files, then (after ``between(settings)``, if
    given) the rejected file, which arrives last and so is its province's latest."""
    from ocop import pipeline
    from ocop.config import Settings

    subset, late_rejected, last_snapshot = plan(truth)
    inbox = tmp / "inbox"
    for code in subset:
        shutil.copytree(source / code, inbox / code)
    held = tmp / late_rejected.name
    shutil.move(inbox / late_rejected, held)
    settings = Settings.from_env(inbox=inbox, landing=tmp / "landing", reports=tmp / "reports", runs=tmp / "runs",
                                 publications=tmp / "publications", warehouse_url=f"sqlite:///{tmp / 'warehouse.db'}")
    first = pipeline.run(settings, run_id=f"{tmp.name}-1", settle_seconds=0)
    mid = between(settings) if between else None
    shutil.move(held, inbox / late_rejected)
    second = pipeline.run(settings, run_id=f"{tmp.name}-2", settle_seconds=0)
    return SimpleNamespace(settings=settings, engine=pipeline.engine_for(settings), subset=subset,
                           late_rejected=late_rejected, last_snapshot=last_snapshot, first=first, second=second,
                           mid=mid)
