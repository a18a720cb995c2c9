"""A rejected row of a product accepted in the province's previous snapshot does not remove
the product, and the province's report says so (outputs.md §1, issue 4)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import openpyxl

from ingest_files import ROWS, write_xlsx
from ocop import pipeline
from ocop.config import Settings
from ocop.report.xlsx import KEPT_LABEL_VI
from ocop.warehouse import counts_as_of


def test_rejected_row_keeps_the_previous_version_and_the_report_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("OCOP_HOME", str(tmp_path / "home"))
    settings = Settings.from_env(inbox=tmp_path / "inbox", settle_seconds=0, workers=1)
    folder = settings.inbox / "08"
    folder.mkdir(parents=True)
    old = time.time() - 3600
    write_xlsx(folder / "ds_2025-06-30.xlsx", title=False)
    os.utime(folder / "ds_2025-06-30.xlsx", (old, old))
    pipeline.run(settings)

    second = [list(r) for r in ROWS]
    second[1][4] = "2 sao"  # Chè Shan tuyết: rating not certifiable -> rejected
    write_xlsx(folder / "ds_2025-12-31.xlsx", rows=second, title=False)
    os.utime(folder / "ds_2025-12-31.xlsx", (old, old))
    result = pipeline.run(settings)

    report = json.loads((pipeline.Path(result["submissions"][0]["report_dir"]) / "report.json").read_text("utf-8"))
    rows = {r["excel_row"]: r for r in report["rows"]}
    assert rows[3]["outcome"] == "rejected" and rows[3].get("kept_from_previous") is True
    assert not any(r.get("kept_from_previous") for n, r in rows.items() if n != 3)
    summary = openpyxl.load_workbook(pipeline.Path(result["submissions"][0]["report_dir"]) / "report.xlsx")["Tóm tắt"]
    assert any(row[0] == KEPT_LABEL_VI for row in summary.iter_rows(values_only=True))

    counts = counts_as_of(pipeline.engine_for(settings), dt.date(2025, 12, 31)).by_province_class.set_index("province_code")
    assert counts.loc["08", "total"] == 3  # the rejected row's product is still counted, at its previous rating
    assert counts.loc["08", "stars_3"] == 1
