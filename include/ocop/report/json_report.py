"""``report.json``: the machine-readable report of outputs.md §2.

Shape::

    {"submission_id", "file_name", "sha256", "snapshot_date", "province_code",
     "file_outcome": "accepted" | "rejected", "file_rule", "file_message", "file_detail",
     "counts": {"received", "accepted", "warned", "rejected", "by_rule": {code: rows}},
     "rows": [{"sheet", "excel_row", "outcome",
               "issues": [{"rule", "column", "field", "severity", "message"}]}]}

Every data row is listed, accepted ones with an empty ``issues`` list; ``column`` is the
spreadsheet column letter (null when the rule is about the whole row).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def _none(value: object) -> object:
    return value if isinstance(value, str) else None


def report_dict(v) -> dict:
    """The report as plain JSON-able data."""
    p = v.parsed
    by_row: dict[int, list[dict]] = defaultdict(list)
    for row_id, code, letter, fld, sev, msg in v.issues[
            ["row_id", "rule", "column_letter", "field", "severity", "message_vi"]].itertuples(index=False):
        by_row[int(row_id)].append({"rule": code, "column": _none(letter), "field": _none(fld), "severity": sev,
                                    "message": msg})
    kept = set(getattr(v, "kept_from_previous", ()) or ())
    rows = [{"sheet": sheet, "excel_row": int(excel_row), "outcome": outcome, "issues": by_row.get(int(row_id), []),
             **({"kept_from_previous": True} if int(row_id) in kept else {})}
            for row_id, sheet, excel_row, outcome in v.records[["row_id", "sheet", "excel_row", "outcome"]].itertuples(
                index=False)]
    return {
        "submission_id": p.submission_id,
        "file_name": p.file_name,
        "sha256": p.sha256,
        "snapshot_date": getattr(p, "snapshot_date", None),
        "province_code": p.province_code,
        "file_outcome": v.file_outcome,
        "file_rule": v.file_rule,
        "file_message": v.file_message_vi,
        "file_detail": v.file_detail,
        "counts": v.counts,
        "rows": rows,
    }


def write_json(v, path: Path) -> Path:
    """Write ``report.json`` (UTF-8, Vietnamese kept readable): the file's facts one per line,
    then one line per row (``json``'s C encoder per row: an indented dump of every row runs
    its pure-Python encoder, 10x slower on a large file)."""
    report = report_dict(v)
    rows = report.pop("rows")
    head = json.dumps(report, ensure_ascii=False, indent=1)[:-2]  # without the closing "\n}"
    body = ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in rows)
    path.write_text(f'{head},\n "rows": [{chr(10) + "  " + body + chr(10) + " " if rows else ""}]\n}}\n',
                    encoding="utf-8")
    return path
