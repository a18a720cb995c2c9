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
    # The row shows the snapshot applied; the rejected file that arrived after it is named too.
    assert rejected.arrival_outcome == "rejected" and rejected.arrival_file_name == built.late_rejected.name
    assert rejected.latest_outcome == "accepted" and rejected.latest_snapshot_date == built.last_snapshot
    assert rejected.last_accepted_snapshot == built.last_snapshot     # the accepted one before still counts
    # The report link is the latest submission's own report.json, inside the reports folder.
    for code in built.subset:
        p = by_code[code]
        path = built.settings.reports / p.report_json
        assert path.is_file() and p.report_json.startswith(f"{code}/")
        assert f'"{p.latest_submission_id}"' in path.read_text(encoding="utf-8")


def test_counts_are_the_generators_truth(built, small_national):
    """The page's counts on the last snapshot date against the generator's truth (not against
    counts_as_of, which the page calls). The provinces loaded share no product with another
    province, so the truth's counts for them hold for this partial load; the rest count 0."""
    _source, truth = small_national
    day = built.last_snapshot.isoformat()
    shared = {p for c in truth["clusters"] if len(provs := {r.split("/")[0] for r in c}) > 1 for p in provs}
    assert not shared & set(built.subset)
    classes = {"stars_3": "3", "stars_4": "4", "potential_5": "potential-5", "stars_5": "5"}
    expected = {code: ({col: truth["counts"][day][code][cls] for col, cls in classes.items()}
                       if code in built.subset else dict.fromkeys(classes, 0)) for code in PROVINCES}
    for row in expected.values():
        row["total"] = sum(row.values())
    page = status.build_status(built.engine, built.settings.reports, built.last_snapshot)
    assert page.counts == expected and expected["01"]["total"] > 0
    assert page.national == {k: sum(r[k] for r in expected.values()) for k in (*classes, "total")}


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


def _run(settings, name: str) -> None:
    from ocop import pipeline

    pipeline.run(settings, run_id=name, settle_seconds=0)


def test_the_row_shows_the_snapshot_applied_not_the_last_file_landed(tmp_path):
    """Two files of one province in one run, the older snapshot landing last: the row names the
    newer one. Then an older snapshot sent later, then a rejected file: the row still names the
    snapshot applied, and names the latest arrival beside it, saying why it is not applied."""
    from ingest_files import TEMPLATE_ROWS, fill_template
    from ocop import pipeline
    from ocop.config import Settings
    from ocop.template import write_template

    template = write_template(tmp_path / "mau.xlsx", "01")
    inbox = tmp_path / "inbox" / "01"
    settings = Settings.from_env(inbox=inbox.parent, landing=tmp_path / "landing", reports=tmp_path / "reports",
                                 runs=tmp_path / "runs", publications=tmp_path / "publications",
                                 warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}", workers=1)
    # One worker, files in name order: the 2025-06-30 file lands after the 2025-12-31 one.
    fill_template(template, inbox / "a-cuoi-nam.xlsx", rows=TEMPLATE_ROWS, snapshot=dt.date(2025, 12, 31))
    fill_template(template, inbox / "b-giua-nam.xlsx", rows=TEMPLATE_ROWS[:3], snapshot=dt.date(2025, 6, 30))
    _run(settings, "run-1")
    engine = pipeline.engine_for(settings)
    today = dt.date(2026, 1, 15)

    def row():
        page = status.build_status(engine, settings.reports, today)
        return next(p for p in page.provinces if p.code == "01"), status.render_html(page)

    p, html = row()
    assert (p.latest_file_name, p.latest_snapshot_date, p.latest_outcome) == ("a-cuoi-nam.xlsx", dt.date(2025, 12, 31),
                                                                            "accepted")
    assert (p.rows_received, p.rows_accepted, p.last_accepted_snapshot, p.days_since_accepted) == \
        (6, 6, dt.date(2025, 12, 31), 15)
    assert p.arrival_file_name is None and p.arrival_note is None       # the two arrived together
    assert p.report_json.startswith("01/2025-12-31_a-cuoi-nam_")
    tr = re.search(r'<tr class="([^"]*)" data-province="01">(.*?)</tr>', html).groups()
    assert tr[0] == "accepted" and "a-cuoi-nam.xlsx" in tr[1] and "giua-nam" not in tr[1]
    assert "<td>2025-12-31</td>" in tr[1]

    # An older snapshot sent later: loaded, not applied over the newer one.
    fill_template(template, inbox / "c-quy-ba.xlsx", rows=TEMPLATE_ROWS[:3], snapshot=dt.date(2025, 9, 30))
    _run(settings, "run-2")
    p, html = row()
    assert (p.latest_file_name, p.latest_snapshot_date) == ("a-cuoi-nam.xlsx", dt.date(2025, 12, 31))
    assert (p.arrival_file_name, p.arrival_snapshot_date, p.arrival_outcome) == ("c-quy-ba.xlsx", dt.date(2025, 9, 30),
                                                                              "accepted")
    assert p.arrival_note == "Tệp nhận sau cùng có ngày chốt 2025-09-30, cũ hơn bản chốt 2025-12-31 đang áp dụng."
    tr = re.search(r'<tr class="([^"]*)" data-province="01">(.*?)</tr>', html).groups()
    assert tr[0] == "accepted arrival-differs"
    assert "Nhận sau cùng: c-quy-ba.xlsx" in tr[1] and "cũ hơn bản chốt 2025-12-31 đang áp dụng" in tr[1]

    # A rejected file arrives last: the row turns red, the applied snapshot stays.
    (inbox / "d-moi.xlsx").write_text("<html>không phải bảng tính</html>", encoding="utf-8")
    _run(settings, "run-3")
    p, html = row()
    assert (p.latest_file_name, p.last_accepted_snapshot) == ("a-cuoi-nam.xlsx", dt.date(2025, 12, 31))
    assert (p.arrival_file_name, p.arrival_outcome, p.arrival_file_rule) == ("d-moi.xlsx", "rejected", "F_UNREADABLE")
    assert p.arrival_note == "Tệp nhận sau cùng bị loại (F_UNREADABLE); đang áp dụng bản chốt 2025-12-31."
    assert p.arrival_report_json and p.arrival_report_json.startswith("01/") and "d-moi" in p.arrival_report_json
    tr = re.search(r'<tr class="([^"]*)" data-province="01">(.*?)</tr>', html).groups()
    assert tr[0] == "rejected arrival-differs" and "d-moi.xlsx" in tr[1] and "a-cuoi-nam.xlsx" in tr[1]


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
