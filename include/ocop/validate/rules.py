"""The one table of validation rules: code, level, field, Vietnamese/English message and fix.

Every rule code used anywhere in the pipeline is defined here once (docs/architecture.md,
"Rule codes"). The GX suite (:mod:`ocop.validate.suite`), the row/file outcomes
(:mod:`ocop.validate.run`), the province reports (:mod:`ocop.report`) and ``docs/rules.md``
(:func:`rules_markdown`) are all derived from :data:`RULES`.

Levels: ``file`` (the whole file is rejected), ``reject`` (the row is rejected), ``warning``
(the row is accepted with a warning). ``field`` is the record-frame column the rule is about
(``None`` for file rules and for rules whose field depends on the row, e.g. a missing field).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ocop.config import Limits

Level = Literal["file", "reject", "warning"]

PROGRAM_START = "2018-01-01"  # decisions dated before the programme began are errors
RATING_CLASSES = ("3", "4", "potential-5", "5")  # the rating classes of the record frame
# One written form per rating class (the register template's drop-down offers these).
RATING_LABELS_VI = {"3": "3 sao", "4": "4 sao", "potential-5": "Tiềm năng 5 sao", "5": "5 sao"}

# Required fields of the record frame; the decision date may instead sit in the number cell.
REQUIRED_FIELDS = ("product_name", "owner", "group_raw", "rating_raw", "decision_no_raw")
DECISION_DATE_FIELD = "decision_date_raw"

# How a provincial office names each record-frame field (column headers it knows).
FIELD_LABELS_VI: dict[str, str] = {
    "product_name": "Tên sản phẩm",
    "owner": "Chủ thể",
    "owner_type_raw": "Loại hình chủ thể",
    "address": "Địa chỉ",
    "province_raw": "Tỉnh/Thành phố",
    "group_raw": "Nhóm sản phẩm",
    "rating_raw": "Hạng sao",
    "potential5_raw": "Tiềm năng 5 sao",
    "decision_no_raw": "Số quyết định",
    "decision_date_raw": "Ngày quyết định",
    "issuing_level_raw": "Cấp công nhận",
    "expiry_raw": "Ngày hết hạn",
    "status_raw": "Tình trạng",
    "notes": "Ghi chú",
}


@dataclass(frozen=True)
class Rule:
    code: str
    level: Level
    field: str | None
    message_vi: str
    message_en: str
    fix_vi: str


RULES: tuple[Rule, ...] = (
    # --- file level -------------------------------------------------------------------------
    Rule("F_UNREADABLE", "file", None,
         "Không đọc được tệp: tệp không phải là bảng tính Excel (.xlsx, .xlsm, .xls, .ods) hoặc CSV hợp lệ.",
         "Not a readable spreadsheet or CSV file (unsupported format, corrupt, or HTML disguised as .xls).",
         "Mở tệp bằng Excel và lưu lại dưới dạng “Excel Workbook (.xlsx)”, rồi gửi lại."),
    Rule("F_ENCRYPTED", "file", None,
         "Tệp được đặt mật khẩu hoặc mã hóa nên không thể đọc.",
         "The workbook is password-protected or encrypted.",
         "Gỡ bỏ mật khẩu (Tệp → Thông tin → Bảo vệ sổ làm việc) rồi gửi lại tệp."),
    Rule("F_EMPTY", "file", None,
         "Tệp không có dòng dữ liệu nào.",
         "The file has no data rows.",
         "Kiểm tra lại tệp đã có danh sách sản phẩm OCOP dưới dòng tiêu đề chưa, rồi gửi lại."),
    Rule("F_NO_HEADER", "file", None,
         "Không tìm thấy dòng tiêu đề có đủ các cột bắt buộc "
         "(Tên sản phẩm, Chủ thể, Nhóm sản phẩm, Hạng sao, Số và ngày quyết định).",
         "No header row with the required fields was found.",
         "Thêm một dòng tiêu đề có các cột: Tên sản phẩm, Chủ thể, Nhóm sản phẩm, Hạng sao, "
         "Số quyết định, Ngày quyết định; rồi gửi lại."),
    Rule("F_TOO_LARGE", "file", None,
         "Tệp vượt quá giới hạn cho phép (dung lượng, số dòng, số cột hoặc dung lượng khi giải nén).",
         "The file exceeds the configured limits (bytes, rows, columns or uncompressed size).",
         "Xóa các trang tính, cột và dòng thừa (chỉ giữ danh sách sản phẩm OCOP) rồi gửi lại."),
    Rule("F_TOO_MANY_REJECTED", "file", None,
         "Hơn một nửa số dòng dữ liệu bị loại nên toàn bộ tệp không được tiếp nhận.",
         "More than 50 % of the data rows were rejected, so the whole file was rejected.",
         "Sửa các ô được tô đỏ trong trang “Dữ liệu” của báo cáo này rồi gửi lại toàn bộ danh sách."),
    # --- row level, rejected ----------------------------------------------------------------
    Rule("R_REQUIRED_MISSING", "reject", None,
         "Thiếu thông tin bắt buộc.",
         "A required field is blank.",
         "Điền đầy đủ tên sản phẩm, chủ thể, nhóm sản phẩm, hạng sao, số và ngày quyết định."),
    Rule("R_RATING_INVALID", "reject", "rating_raw",
         "Hạng sao không hợp lệ: chỉ chấp nhận 3, 4, 5 sao hoặc tiềm năng 5 sao.",
         "Rating is not 3, 4, 5 stars or potential 5-star.",
         "Ghi hạng sao là 3, 4 hoặc 5 (hoặc “Tiềm năng 5 sao”)."),
    Rule("R_GROUP_UNKNOWN", "reject", "group_raw",
         "Nhóm sản phẩm không đúng danh mục theo Quyết định 148/QĐ-TTg.",
         "Product group not recognised.",
         "Ghi một trong các nhóm: Thực phẩm; Đồ uống; Dược liệu và sản phẩm từ dược liệu; "
         "Hàng thủ công mỹ nghệ; Sinh vật cảnh; Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch."),
    Rule("R_DATE_INVALID", "reject", "decision_date_raw",
         "Ngày quyết định không đọc được.",
         "Decision date cannot be parsed.",
         "Ghi ngày theo dạng ngày/tháng/năm, ví dụ 12/05/2024, hoặc dùng ô kiểu Ngày của Excel."),
    Rule("R_DATE_BEFORE_PROGRAM", "reject", "decision_date_raw",
         "Ngày quyết định trước 01/01/2018, trước khi Chương trình OCOP bắt đầu.",
         "Decision date is before 2018-01-01.",
         "Kiểm tra lại ngày quyết định (ngày/tháng/năm, từ năm 2018 trở đi)."),
    Rule("R_DATE_AFTER_SNAPSHOT", "reject", "decision_date_raw",
         "Ngày quyết định sau ngày chốt số liệu của danh sách.",
         "Decision date is after the snapshot date.",
         "Kiểm tra lại ngày quyết định, hoặc ghi đúng ngày chốt số liệu ở tiêu đề (“Tính đến ngày …”)."),
    Rule("R_PROVINCE_MISMATCH", "reject", "province_raw",
         "Cột Tỉnh/Thành phố ghi một tỉnh khác (hoặc không xác định được tỉnh) so với tỉnh gửi danh sách.",
         "The province column names another province than the submitting one (or no known province).",
         "Chỉ gửi sản phẩm của tỉnh mình; ghi đúng tên tỉnh (tên mới hoặc tên cũ trước sáp nhập)."),
    Rule("R_FIVE_STAR_NOT_CENTRAL", "reject", "issuing_level_raw",
         "Sản phẩm 5 sao phải do Trung ương (Bộ Nông nghiệp và Môi trường) công nhận.",
         "A 5-star product whose decision is not a central one.",
         "Kiểm tra lại hạng sao hoặc cấp công nhận; sản phẩm tỉnh đề xuất lên Trung ương ghi “Tiềm năng 5 sao”."),
    Rule("R_LEGACY_ENCODING", "reject", None,
         "Dòng có chữ gõ bằng phông cũ (TCVN3/VNI) không chuyển được sang Unicode.",
         "Legacy font text (TCVN3/VNI) that could not be converted.",
         "Chuyển bảng tính sang Unicode (ví dụ bằng Unikey: Công cụ chuyển mã) rồi gửi lại."),
    Rule("R_DUPLICATE_CONFLICT", "reject", None,
         "Cùng một sản phẩm của cùng chủ thể xuất hiện nhiều lần với hạng sao hoặc quyết định khác nhau.",
         "The same owner and product appear more than once with conflicting rating or decision.",
         "Giữ lại một dòng đúng cho mỗi sản phẩm (hạng sao, số và ngày quyết định mới nhất), xóa các dòng còn lại."),
    # --- row level, warnings ----------------------------------------------------------------
    Rule("W_DUPLICATE_IDENTICAL", "warning", "product_name",
         "Sản phẩm bị lặp lại với thông tin giống hệt; chỉ tính một lần.",
         "Same product twice with identical facts (counted once).",
         "Xóa dòng lặp lại."),
    Rule("W_EXPIRED", "warning", "expiry_raw",
         "Giấy chứng nhận OCOP đã hết hạn tại ngày chốt số liệu; sản phẩm không được tính là còn hiệu lực.",
         "The certificate expired on or before the snapshot date (loaded, not counted as valid).",
         "Nếu sản phẩm đã được đánh giá lại, ghi số và ngày quyết định mới; nếu không, đưa sản phẩm ra khỏi danh sách."),
    Rule("W_OWNER_TYPE_INFERRED", "warning", "owner_type_raw",
         "Không có loại hình chủ thể; đã suy ra từ tên chủ thể.",
         "Owner type missing, inferred from the owner name.",
         "Ghi loại hình chủ thể: Hợp tác xã, Doanh nghiệp, Tổ hợp tác hoặc Hộ kinh doanh."),
    Rule("W_DECISION_NO_FORMAT", "warning", "decision_no_raw",
         "Số quyết định không theo mẫu thông thường “số/QĐ-…”.",
         "Decision number not of the usual <n>/QĐ-... shape.",
         "Ghi số quyết định theo mẫu, ví dụ 1234/QĐ-UBND."),
    Rule("W_LEGACY_CONVERTED", "warning", None,
         "Dòng có chữ gõ bằng phông cũ (TCVN3/VNI) đã được tự động chuyển sang Unicode.",
         "Text was converted from a legacy font (TCVN3/VNI).",
         "Kiểm tra lại chữ tiếng Việt của dòng này; lần sau vui lòng dùng phông Unicode."),
)

_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    """The rule with this code (``KeyError`` for an unknown code)."""
    return _BY_CODE[code]


@lru_cache(maxsize=None)
def issue_message_vi(code: str, field: str | None) -> str:
    """The message for one issue: the rule's message, naming the field when the rule has none."""
    r = rule(code)
    if r.field is None and field in FIELD_LABELS_VI:
        return f"{r.message_vi.rstrip('.')} (cột “{FIELD_LABELS_VI[field]}”)."
    return r.message_vi


LEVEL_VI = {"file": "Loại cả tệp", "reject": "Loại dòng", "warning": "Cảnh báo"}  # how reports name levels


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rules_markdown() -> str:
    """``docs/rules.md``: the rule table rendered for people (generated, do not edit by hand)."""
    lines = [
        "# Validation rules",
        "",
        "Generated from `ocop.validate.rules.RULES` by `rules_markdown()`; do not edit by hand.",
        "Regenerate with:",
        "",
        "```",
        ".venv/bin/python -c \"from ocop.validate.rules import rules_markdown; "
        "open('docs/rules.md', 'w', encoding='utf-8').write(rules_markdown())\"",
        "```",
        "",
        f"A file with more than {Limits().max_reject_share:.0%} of its data rows rejected is rejected as a whole "
        f"(`F_TOO_MANY_REJECTED`). Decisions before {PROGRAM_START} are errors.",
        "",
        "| code | level | field | message (vi) | message (en) | how to fix (vi) |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        field = f"`{r.field}`" if r.field else ""
        lines.append(f"| `{r.code}` | {r.level} ({LEVEL_VI[r.level]}) | {field} | {_cell(r.message_vi)} "
                     f"| {_cell(r.message_en)} | {_cell(r.fix_vi)} |")
    return "\n".join(lines) + "\n"
