"""`ocop check`: a province checks a file before sending it. Same parse and validation as a run,
the same reports, a Vietnamese summary, exit codes 0 / 1 / 2; nothing landed, loaded or mailed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from ingest_files import HEADER, ROWS, write_xlsx

# Province 08 (Tuyên Quang, Hà Giang merged into it): the rows of ingest_files.ROWS, plus the
# owner type, so that the clean file has no issue at all (not even an inferred owner type).
CLEAN_HEADER = [*HEADER, "Loại hình chủ thể"]
CLEAN_ROWS = [[*r, t] for r, t in zip(ROWS, ["Hợp tác xã", "Doanh nghiệp", "Hộ kinh doanh"])]
BAD_RATING = [4, "Miến dong", "HTX Miến Bình Lư", "Thực phẩm", "6 sao", "12/QĐ-UBND", dt.datetime(2024, 1, 5),
              "Tuyên Quang", "Hợp tác xã"]


def ocop(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("check") / "08"
    folder.mkdir()
    return {
        "clean": write_xlsx(folder / "sach.xlsx", header=CLEAN_HEADER, rows=CLEAN_ROWS),
        # one row of four rejected (a 6-star rating), one warned (a decision number "QD" without the stroke)
        "partly": write_xlsx(folder / "mot-phan.xlsx", header=CLEAN_HEADER,
                             rows=[*CLEAN_ROWS[:2], [*CLEAN_ROWS[2][:5], "89/QD-UBND", *CLEAN_ROWS[2][6:]],
                                   BAD_RATING]),
        # three rows of four rejected: the whole file is rejected
        "rejected": write_xlsx(folder / "loai.xlsx", header=CLEAN_HEADER,
                               rows=[CLEAN_ROWS[0], *[[*BAD_RATING[:1], f"Sản phẩm {i}", *BAD_RATING[2:]]
                                                      for i in range(3)]]),
    }


def test_clean_file_exits_0_with_reports(files, tmp_path):
    proc = ocop("check", files["clean"], "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "tỉnh/thành 08 Tuyên Quang" in out
    assert "Ngày chốt số liệu: 30/06/2025 (ghi ở dòng tiêu đề)" in out
    assert "Số dòng dữ liệu: 3 — hợp lệ 3, có cảnh báo 0, bị loại 0" in out
    assert "không có lỗi hay cảnh báo nào" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["file_outcome"] == "accepted" and report["counts"]["accepted"] == 3
    assert openpyxl.load_workbook(tmp_path / "out" / "report.xlsx").sheetnames == ["Tóm tắt", "Dữ liệu"]


def test_partly_invalid_file_exits_1_and_names_the_cells(files, tmp_path):
    proc = ocop("check", files["partly"], "--out", tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Kết quả: tệp được tiếp nhận" in out
    assert "Số dòng dữ liệu: 4 — hợp lệ 2, có cảnh báo 1, bị loại 1" in out
    # Title rows 1-3, header row 4: the data rows are 5-8; rating in E, decision number in F.
    assert "Danh sách!F7 [Cảnh báo] W_DECISION_NO_FORMAT" in out
    assert "Danh sách!E8 [Loại dòng] R_RATING_INVALID: Hạng sao không hợp lệ" in out
    result = json.loads(ocop("check", files["partly"], "--out", tmp_path / "j", "--format", "json").stdout)
    assert [(i["cell"], i["rule"], i["severity"]) for i in result["issues"]] == [
        ("Danh sách!F7", "W_DECISION_NO_FORMAT", "warning"), ("Danh sách!E8", "R_RATING_INVALID", "reject")]
    assert result["exit_code"] == 1 and result["counts"]["by_rule"] == {"R_RATING_INVALID": 1, "W_DECISION_NO_FORMAT": 1}
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [r["outcome"] for r in report["rows"]] == ["accepted", "accepted", "warning", "rejected"]


def test_rejected_file_exits_2(files, tmp_path):
    proc = ocop("check", files["rejected"], "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "CẢ TỆP BỊ LOẠI (F_TOO_MANY_REJECTED)" in proc.stdout
    assert "bị loại 3" in proc.stdout
    # A file that is no spreadsheet at all: rejected before parsing, reports written all the same.
    junk = tmp_path / "08" / "ghi-chu.xlsx"
    junk.parent.mkdir()
    junk.write_text("<html><body>not a workbook</body></html>", encoding="utf-8")
    proc = ocop("check", junk, "--out", tmp_path / "junk")
    assert proc.returncode == 2 and "(F_UNREADABLE)" in proc.stdout
    assert json.loads((tmp_path / "junk" / "report.json").read_text(encoding="utf-8"))["file_rule"] == "F_UNREADABLE"


def test_exit_codes_are_in_the_help():
    proc = ocop("check", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.replace("│", " ").split())
    assert "0 = every row accepted, no issue at all" in text
    assert "1 = some rows rejected or with warnings" in text
    assert "2 = the file rejected as a whole" in text


def test_a_folder_gives_the_worst_exit_code_and_one_report_per_file(files, tmp_path):
    folder = files["clean"].parent.parent      # <tmp>/08/{sach,mot-phan,loai}.xlsx: the province from the folder
    proc = ocop("check", folder, "--out", tmp_path / "out", "--format", "json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["exit_code"] == 2
    assert sorted((Path(r["file_name"]).name, r["exit_code"]) for r in result["files"]) == [
        ("loai.xlsx", 2), ("mot-phan.xlsx", 1), ("sach.xlsx", 0)]
    assert sorted(p.parent.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("report.json")) \
        == ["08/loai_xlsx", "08/mot-phan_xlsx", "08/sach_xlsx"]
    text = ocop("check", folder, "--out", tmp_path / "out2").stdout
    assert "3 tệp: 1 không có lỗi, 1 có dòng bị loại hoặc cảnh báo, 1 bị loại cả tệp." in text


def test_the_province_is_required_when_the_folder_does_not_say(files, tmp_path):
    loose = tmp_path / "danh-sach.xlsx"
    loose.write_bytes(files["clean"].read_bytes())
    proc = ocop("check", loose, "--out", tmp_path / "out")
    assert proc.returncode == 3 and "--province" in proc.stderr and not (tmp_path / "out").exists()
    assert ocop("check", loose, "--province", "8", "--out", tmp_path / "out").returncode == 0   # "8" is 08
    bad = ocop("check", loose, "--province", "99", "--out", tmp_path / "o")
    assert bad.returncode == 3 and "không phải mã tỉnh" in bad.stderr
    # --snapshot-date replaces the title's date; a row decided after it is rejected.
    result = json.loads(ocop("check", loose, "--province", "08", "--snapshot-date", "2024-01-01", "--out",
                             tmp_path / "o", "--format", "json").stdout)
    assert (result["snapshot_date"], result["snapshot_date_source"]) == ("2024-01-01", "given")
    assert [(i["cell"], i["rule"]) for i in result["issues"]] == [("Danh sách!G5", "R_DATE_AFTER_SNAPSHOT")]  # 12/5/2024
    assert ocop("check", tmp_path / "nothing.xlsx", "--province", "08").returncode == 3


def test_check_lands_loads_and_mails_nothing(files, tmp_path, smtp_server):
    """With every OCOP folder, a warehouse URL, SMTP and the province's address configured, a
    check writes its reports and nothing else; the same file through ``ocop run`` (the control)
    lands, loads and mails."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text("contacts:\n  '08': ['ocop@tuyenquang.gov.vn']\n", encoding="utf-8")
    env = {**os.environ, "OCOP_HOME": str(home), "OCOP_CONTACTS": str(contacts),
           "OCOP_SMTP_HOST": smtp_server.host, "OCOP_SMTP_PORT": str(smtp_server.port),
           "OCOP_SMTP_FROM": "ocop@example.vn", "OCOP_SETTLE_SECONDS": "0"}
    env.pop("OCOP_WAREHOUSE_URL", None)
    env.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
    for key in ("partly", "rejected"):
        proc = ocop("check", files[key], "--out", work / key, env=env, cwd=work)
        assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert list(home.iterdir()) == []                                   # no warehouse, landing, runs, reports
    assert sorted(p.name for p in work.iterdir()) == ["partly", "rejected"]
    assert {p.name for p in (work / "partly").iterdir()} == {"report.xlsx", "report.json"}
    assert smtp_server.messages == []

    inbox = tmp_path / "inbox" / "08"
    inbox.mkdir(parents=True)
    inbox.joinpath("mot-phan.xlsx").write_bytes(files["partly"].read_bytes())
    proc = ocop("run", "--inbox", inbox.parent, env=env, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {"warehouse.db", "landing", "reports"} <= {p.name for p in home.iterdir()}
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ocop@tuyenquang.gov.vn"]]
