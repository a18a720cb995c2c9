"""Reports to provinces: ``write_reports`` writes ``report.xlsx`` (Vietnamese, highlighted cells)
and ``report.json`` (outputs.md §2) for one validated submission; ``ocop.report.mail`` sends them.

A report is built from one :class:`ocop.validate.run.Validated` only, so it holds that
submission's rows and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ocop.report.json_report import json_text
from ocop.report.xlsx import Sheet, sheets, write_sheets

XLSX_NAME = "report.xlsx"
JSON_NAME = "report.json"


@dataclass
class LaidOut:
    """Both reports of one submission laid out, not yet written: what depends on the
    submission's data is done (and can fail) here; writing them is plain output."""

    sheets: list[Sheet]
    json_text: str


def lay_out(validated) -> LaidOut:
    return LaidOut(sheets(validated), json_text(validated))


def write_laid_out(laid: LaidOut, out_dir: Path) -> dict[str, Path]:
    """Write both reports into ``out_dir`` (created if needed); returns ``{"xlsx": path, "json": path}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / JSON_NAME).write_text(laid.json_text, encoding="utf-8")
    return {"xlsx": write_sheets(laid.sheets, out_dir / XLSX_NAME), "json": out_dir / JSON_NAME}


def write_reports(validated, out_dir: Path) -> dict[str, Path]:
    """Write both reports into ``out_dir`` (created if needed); returns ``{"xlsx": path, "json": path}``."""
    return write_laid_out(lay_out(validated), out_dir)
