"""``ocop run`` on several workers consolidates while the workers write the reports, and commits
only once every report is written (``pipeline._process``). Its warehouse must be the one the
one-worker order (reports, then warehouse) gives, also when a report fails on its data and the
province gets a file-level rejection instead (the consolidation is rolled back and redone
with that bundle), and a run whose reports cannot be written at all loads nothing."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from ocop import pipeline
from ocop.config import Settings


def _settings(tmp: Path, inbox: Path, workers: int) -> Settings:
    home = tmp / f"home-{workers}"
    return Settings(home=home, inbox=inbox, landing=home / "landing", reports=home / "reports", runs=home / "runs",
                    publications=home / "publications", warehouse_url=f"sqlite:///{home / 'warehouse.db'}",
                    workers=workers)


def _warehouse(settings: Settings) -> dict:
    """Every derived and loaded table, minus the run's own ids and clock."""
    engine = pipeline.engine_for(settings)
    out = {}
    with engine.connect() as conn:
        for table, cols in {
            "submission": "province_code, file_name, sha256, outcome, file_rule, rows_received, rows_accepted, "
                          "rows_rejected",
            "source_record": "submission_id, row_id, outcome, match_key",
            "record_issue": "submission_id, row_id, rule, severity",
            "product": "product_id",
            "product_version": "product_id, province_code, rating_class, valid_from, valid_to, is_current",
            "record_link": "submission_id, row_id, product_id, rule",
            "dedupe_merge": "product_id, rule",
            "province_conflict": "product_id, valid_from, provinces, chosen_province",
        }.items():
            out[table] = sorted(conn.exec_driver_sql(f"SELECT {cols} FROM {table}").all())
    engine.dispose()
    return out


@pytest.fixture
def inbox(tmp_path, small_national):
    source, _truth = small_national
    out = tmp_path / "inbox"
    for code in ("01", "79", "46", "15"):
        if (source / code).exists():
            shutil.copytree(source / code, out / code)
    return out


def _broken_report_for(monkeypatch, code: str) -> None:
    """Writing the xlsx report of province ``code`` fails on its data (a ValueError, as a
    writer raises on a value it cannot hold); the forked workers inherit the patch."""
    import ocop.report as report

    real = report.write_xlsx

    def write_xlsx(validated, path):
        if validated.parsed is not None and validated.parsed.province_code == code \
                and validated.file_rule != "F_UNREADABLE":  # the fallback's own report is written
            raise ValueError("a value the writer cannot hold")
        return real(validated, path)

    monkeypatch.setattr(report, "write_xlsx", write_xlsx)


def test_two_workers_give_the_warehouse_of_one(tmp_path, inbox):
    one = pipeline.run(_settings(tmp_path, inbox, 1), settle_seconds=0)
    two = pipeline.run(_settings(tmp_path, inbox, 2), settle_seconds=0)
    assert "consolidate_while_reporting" in two["timings"] and "consolidate" in one["timings"]
    assert [r["file_outcome"] for r in one["submissions"]] == [r["file_outcome"] for r in two["submissions"]]
    assert one["consolidation"]["products"] == two["consolidation"]["products"]
    assert _warehouse(_settings(tmp_path, inbox, 1)) == _warehouse(_settings(tmp_path, inbox, 2))


def test_a_report_failing_on_its_data_rolls_the_consolidation_back_and_redoes_it(tmp_path, inbox, monkeypatch):
    _broken_report_for(monkeypatch, "79")
    one = pipeline.run(_settings(tmp_path, inbox, 1), settle_seconds=0)
    two = pipeline.run(_settings(tmp_path, inbox, 2), settle_seconds=0)
    assert "consolidate_again" in two["timings"]                           # the redo ran
    hcm = [r for r in two["submissions"] if r["province_code"] == "79"]
    assert hcm and all(r["file_outcome"] == "rejected" and r["file_rule"] == "F_UNREADABLE" for r in hcm)
    assert all(Path(r["bundle"]).name == "fallback" for r in hcm)       # the first bundle is never rewritten
    wh = _warehouse(_settings(tmp_path, inbox, 2))
    assert wh == _warehouse(_settings(tmp_path, inbox, 1))
    assert {(p, o, r) for p, _f, _s, o, r, *_ in wh["submission"] if p == "79"} == {("79", "rejected", "F_UNREADABLE")}
    assert not [x for x in wh["source_record"] if x[0].startswith("79-") and x[2] != "rejected"]
    with sa.create_engine(_settings(tmp_path, inbox, 2).warehouse_url).connect() as conn:
        runs = conn.exec_driver_sql("SELECT count(*) FROM dq_run").scalar()
    assert runs == 1                                                       # the rolled-back attempt left nothing


def test_unwritable_reports_load_nothing_with_two_workers(tmp_path, inbox):
    settings = _settings(tmp_path, inbox, 2)
    (settings.home).mkdir(parents=True)
    settings = replace(settings, reports=settings.home / "reports-file")
    settings.reports.write_text("a file where the reports folder should be")
    with pytest.raises(OSError):
        pipeline.run(settings, settle_seconds=0)
    with pipeline.engine_for(settings).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM submission").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM source_record").scalar() == 0
