"""The Vietnamese summary ``ocop check`` prints for a province: from the dict of
:func:`ocop.pipeline.check_file` (the reports themselves are the usual ``report.xlsx`` /
``report.json``)."""

from __future__ import annotations

import datetime as dt

from ocop.reference.provinces import PROVINCES
from ocop.validate.rules import LEVEL_VI

SNAPSHOT_SOURCE_VI = {
    "title": "ghi ở dòng tiêu đề",
    "filename": "lấy từ tên tệp",
    "given": "theo --snapshot-date",
    "arrival": "tệp không ghi ngày chốt: tạm lấy ngày kiểm tra; khi gửi, ngày nhận tệp sẽ được dùng",
}
EXIT_VI = {
    0: "Mọi dòng đều hợp lệ, không có lỗi hay cảnh báo nào: có thể gửi tệp.",
    1: "Có dòng bị loại hoặc có cảnh báo: sửa các ô nêu trên (xem report.xlsx) rồi kiểm tra lại trước khi gửi.",
    2: "Cả tệp bị loại: sửa theo hướng dẫn trên rồi kiểm tra lại trước khi gửi.",
}


def _day(iso: str | None) -> str:
    try:
        return dt.date.fromisoformat(str(iso)).strftime("%d/%m/%Y")
    except ValueError:
        return str(iso)


def check_summary_vi(result: dict) -> str:
    """A few lines: the file, its snapshot date, the outcome, the row counts, the first issues
    with their cells, what to do next and where the reports are."""
    code = result["province_code"]
    province = PROVINCES[code].short_name if code in PROVINCES else code
    c = result["counts"]
    lines = [
        f"Tệp: {result['file']} (tỉnh/thành {code} {province})",
        f"Ngày chốt số liệu: {_day(result['snapshot_date'])} "
        f"({SNAPSHOT_SOURCE_VI.get(result['snapshot_date_source'], result['snapshot_date_source'])})",
    ]
    if result["file_outcome"] == "rejected":
        lines.append(f"Kết quả: CẢ TỆP BỊ LOẠI ({result['file_rule']}): {result['file_message']}")
        if result.get("file_detail"):
            lines.append(f"  Chi tiết: {result['file_detail']}")
    else:
        lines.append("Kết quả: tệp được tiếp nhận")
    lines.append(f"Số dòng dữ liệu: {c['received']} — hợp lệ {c['accepted']}, có cảnh báo {c['warned']}, "
                 f"bị loại {c['rejected']}")
    if result["issues"]:
        lines.append("Các lỗi đầu tiên:")
        for i in result["issues"]:
            lines.append(f"  {i['cell']} [{LEVEL_VI.get(i['severity'], i['severity'])}] {i['rule']}: {i['message']}")
        more = result["issues_total"] - len(result["issues"])
        if more > 0:
            lines.append(f"  … và {more} lỗi khác (xem report.xlsx)")
    lines.append(EXIT_VI[result["exit_code"]])
    lines.append(f"Báo cáo: {result['report_xlsx']} và {result['report_json']}")
    return "\n".join(lines)
