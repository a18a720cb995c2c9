"""Scenarios on the generated national data set shared by several test modules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def plan(truth: dict) -> tuple[tuple[str, ...], Path, dt.date]:
    """Three provinces from the generated set: 01, 79 and the one with a rejected file (more
    than half its rows rejected); that file is held back for a second run, where it arrives
    last. Also the last snapshot date."""
    rejected = next(Path(f["path"]) for f in truth["files"]
                    if f["file_outcome"] == "rejected" and f["file_rule"] == "F_TOO_MANY_REJECTED")
    subset = tuple(sorted({"01", "79", rejected.parts[0]}))
    return subset, rejected, dt.date.fromisoformat(truth["snapshot_dates"][-1])
