"""Ground truth of a generated inbox: what the pipeline must find, as ``truth.json``.

- ``files``: every file, its expected outcome (``accepted`` or ``rejected`` with its rule),
  sheet, number of data rows and the spreadsheet row of the first one;
- ``issues``: every expected row-level issue of accepted files (rejections and warnings,
  whole-file warnings such as ``W_OWNER_TYPE_INFERRED`` and ``W_LEGACY_CONVERTED`` included on
  every row; ``W_EXPIRED`` only on rows that are not rejected);
- ``clusters``: the true product of every loaded (accepted or warned) record, one list of
  ``<code>/<file>#<excel_row>`` per product, singletons included;
- ``counts``: the official counts of outputs.md §5 on 2025-06-30, 2025-12-31 and 2026-06-30,
  per 2025 province and rating class; a product listed by two provinces counts once on a date,
  in the province whose snapshot in force that day holds its most recent decision (then the
  later snapshot, then the lower province code), as outputs.md §3 says.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath

import pandas as pd

from ocop.generate.model import S1, S2, expiry
from ocop.generate.render import SheetGrid
from ocop.generate.submissions import Submission
from ocop.reference.provinces import PROVINCES

COUNT_DATES = (S1, S2, dt.date(2026, 6, 30))
RATING_CLASSES = ("3", "4", "potential-5", "5")


def _file_entry(sub: Submission, grid: SheetGrid) -> dict:
    lay = sub.layout
    return {
        "path": sub.path, "province_code": lay.code, "snapshot_date": sub.snapshot.isoformat(),
        "format": lay.fmt, "file_outcome": "rejected" if sub.rejected_rule else "accepted",
        "file_rule": sub.rejected_rule,
        "sheet": PurePath(sub.file_name).stem if lay.fmt == "csv" else lay.sheet,
        "data_rows": len(sub.rows), "first_data_row": grid.first_data_row,
    }


def _records(subs: list[Submission], grids: list[SheetGrid]) -> pd.DataFrame:
    """Every data row of every accepted file, with its file, Excel row and snapshot date."""
    parts = []
    for sub, grid in zip(subs, grids):
        if sub.rejected_rule:
            continue
        rows = sub.rows[["pid", "province", "rating", "decision_date", "status", "rules", "rejected"]].copy()
        rows["file"] = sub.path
        rows["excel_row"] = range(grid.first_data_row, grid.first_data_row + len(rows))
        rows["snapshot"] = pd.Timestamp(sub.snapshot)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def _counts(records: pd.DataFrame, on: dt.date) -> dict[str, dict[str, int]]:
    d = pd.Timestamp(on)
    loaded = records[~records.rejected & (records.snapshot <= d)]
    latest = loaded.groupby("province").snapshot.transform("max")
    in_force = loaded[loaded.snapshot == latest]
    # One listing per product on the day: where it was decided last (then later snapshot, lower code).
    once = (in_force.sort_values(["decision_date", "snapshot", "province"], ascending=[False, False, True])
            .drop_duplicates("pid"))
    valid = once[(once.status != "revoked") & (once.decision_date <= d) & (expiry(once.decision_date) > d)]
    table = valid.groupby(["province", "rating"]).size()
    return {code: {cls: int(table.get((code, cls), 0)) for cls in RATING_CLASSES} for code in PROVINCES}


def build_truth(subs: list[Submission], grids: list[SheetGrid], seed: int, scale: float) -> dict:
    records = _records(subs, grids)
    issues = [{"file": f, "excel_row": int(r), "rule": rule}
              for f, r, rules in zip(records.file, records.excel_row, records.rules) for rule in rules]
    loaded = records[~records.rejected]
    refs = loaded.file + "#" + loaded.excel_row.astype(str)
    clusters = [sorted(group) for _, group in refs.groupby(loaded.pid.to_numpy())]
    return {
        "seed": seed,
        "scale": scale,
        "snapshot_dates": [S1.isoformat(), S2.isoformat()],
        "counts": {d.isoformat(): _counts(records, d) for d in COUNT_DATES},
        "files": [_file_entry(s, g) for s, g in zip(subs, grids)],
        "issues": issues,
        "clusters": clusters,
    }
