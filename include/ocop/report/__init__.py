"""Reports to provinces: ``write_reports`` writes ``report.xlsx`` (Vietnamese, highlighted cells)
and ``report.json`` (outputs.md §2) for one validated submission; ``ocop.report.mail`` sends them.

A report is built from one :class:`ocop.validate.run.Validated` only, so it holds that
submission's rows and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from ocop.report.json_report import write_json
from ocop.report.xlsx import write_xlsx

XLSX_NAME = "report.xlsx"
JSON_NAME = "report.json"


def write_reports(validated, out_dir: Path) -> dict[str, Path]:
    """Write both reports into ``out_dir`` (created if needed); returns ``{"xlsx": path, "json": path}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"xlsx": write_xlsx(validated, out_dir / XLSX_NAME), "json": write_json(validated, out_dir / JSON_NAME)}
