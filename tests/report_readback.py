"""What a province sees in its reports, read back: ``report.json`` as data and every cell of
``report.xlsx`` (value, fill colour, comment, bold) read with openpyxl, plus each sheet's
frozen panes, auto filter and column widths. Two report folders with equal
``report_content`` tell the province the same thing in the same cells."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter


def xlsx_content(path: Path) -> dict:
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                fill = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
                comment = c.comment.text if c.comment is not None else None
                if c.value is None and fill is None and comment is None:
                    continue
                cells[c.coordinate] = (c.value, fill[-6:] if isinstance(fill, str) else None, comment,
                                       bool(c.font and c.font.b))
        widths = {get_column_letter(i): int(d.width) for d in ws.column_dimensions.values() if d.width
                  for i in range(d.min, d.max + 1)}  # a writer may store equal neighbours as one range
        out[ws.title] = {"cells": cells, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
                         "widths": widths}
    return out


def report_content(folder: Path) -> dict:
    folder = Path(folder)
    return {"json": json.loads((folder / "report.json").read_text(encoding="utf-8")),
            "xlsx": xlsx_content(folder / "report.xlsx")}
