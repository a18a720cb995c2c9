"""The status page's data and HTML (``ocop.status``) on a real warehouse built through the pipeline.

The page inside a running Airflow (login through Airflow's login page, headless Chromium,
screenshot) is checked in ``test_deploy_live.py``, which starts the servers once for both.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ocop import status
from ocop.reference.provinces import PROVINCES
from scenarios import load_in_two_runs

@pytest.fixture(scope="module")
def built(tmp_path_factory, small_national):
    source, truth = small_national
    run = load_in_two_runs(source, truth, tmp_path_factory.mktemp("status"))
    run.today = run.last_snapshot + dt.timedelta(days=15)
    run.page = status.build_status(run.engine, run.settings.reports, run.today)
    return run


def test_every_province_is_listed_with_its_latest_submission(built):
    page = built.page
    assert [p.code for p in page.provinces] == sorted(PROVINCES)
    by_code = {p.code: p for p in page.provinces}
    never = [p for c, p in by_code.items() if c not in built.subset]
    assert len(never) == 31
    assert all(p.latest_outcome is None and p.days_since_accepted is None and p.report_json is None for p in never)
    assert by_code["01"].latest_outcome == "accepted"
    assert by_code["01"].last_accepted_snapshot == built.last_snapshot
    assert by_code["01"].days_since_accepted == 15
    assert by_code["01"].rows_received == by_code["01"].rows_accepted + by_code["01"].rows_warned \
        + by_code["01"].rows_rejected
    rejected = by_code[built.late_rejected.parts[0]]
    assert rejected.latest_outcome == "rejected" and rejected.latest_file_name == built.late_rejected.name
    assert rejected.last_accepted_snapshot == built.last_snapshot     # the accepted one before still counts
    # The report link is the latest submission's own report.json, inside the reports folder.
    for code in built.subset:
        p = by_code[code]
        path = built.settings.reports / p.report_json
        assert path.is_file() and p.report_json.startswith(f"{code}/")
        assert f'"{p.latest_submission_id}"' in path.read_text(encoding="utf-8")


def test_counts_are_the_official_counts(built):
    from ocop.warehouse import counts_as_of

    official = counts_as_of(built.engine, built.today)
    assert built.page.national == official.national and built.page.national["total"] > 0
    assert {c: v["total"] for c, v in built.page.counts.items()} == \
        dict(zip(official.by_province_class["province_code"], official.by_province_class["total"]))


def test_html_is_self_contained_and_shows_everything(built):
    page = built.page
    html = status.render_html(page)
    assert html.count('<tr class="') == 34
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        and "https://" not in html
    assert f"{page.national['total']:,}" in html
    assert html.count("<svg") == 1 and html.count('<rect x="') >= 4 + 3
    assert 'href="reports/01/' in html and "report.json" in html
    assert re.search(rf'<tr class="rejected[^"]*" data-province="{built.late_rejected.parts[0]}"', html)
    never = next(c for c in sorted(PROVINCES) if c not in built.subset)
    assert re.search(rf'<tr class="none stale( late)?" data-province="{never}"', html)
    # Text from submissions is escaped.
    evil = status.StatusPage(built.today, [status.ProvinceStatus(
        "01", "Hà Nội", latest_file_name="<img src=x onerror=1>.xlsx", latest_outcome="accepted")])
    assert "<img" not in status.render_html(evil)


def test_report_files_cannot_escape_the_reports_folder(built, tmp_path):
    page, root = built.page, built.settings.reports
    assert status.resolve_report_file(root, "01/") == root.resolve() / "01"
    assert status.resolve_report_file(root, page.provinces[0].report_json) is not None
    for evil in ("../wh.db", "01/../../wh.db", "/etc/passwd", "01/../../../etc/passwd"):
        assert status.resolve_report_file(root, evil) is None, evil
    listing = status.directory_listing_html(root, "01")
    assert listing and "report.json" not in listing and "/</a>" in listing      # folders per submission


def test_waiting_decisions_link_to_airflow_and_late_provinces_are_listed(built, tmp_path):
    import json

    from ocop import pipeline

    settings = pipeline.Settings.from_env(publications=tmp_path / "publications", warehouse_url=built.settings.warehouse_url)
    listed = pipeline.write_open_items(settings)               # what ocop_publish's review_items writes
    today = dt.date.fromisoformat(built.last_snapshot.isoformat()[:8] + "01") + dt.timedelta(days=75)
    page = status.build_status(built.engine, built.settings.reports, today, publications_root=settings.publications)
    assert [i["key"] for i in page.open_items] == [i["key"] for i in listed]
    saved = json.loads((settings.publications / "current" / "open_review_items.json").read_text(encoding="utf-8"))
    assert len(saved["items"]) == len(listed)
    html = status.render_html(page)
    assert 'id="decisions" href="../required_actions?response_received=false" target="_top"' in html
    assert f"{len(listed)} mục rà soát chưa quyết định" in html
    # The reporting month is the one before `today`; its deadline (the 10th after) has passed,
    # and no province sent a register dated in that month: all 34 are late.
    assert page.deadline["passed"] and len(page.deadline["late"]) == 34
    assert html.count('<li data-province="') == 34 and "nộp muộn" in html
    assert re.search(r'<tr class="accepted( stale)? late" data-province="01"', html)
