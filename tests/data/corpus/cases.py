"""The corpus: every variation of submission-format.md, each as a file and its expected records.

``CASES`` is the list ``tests/test_ingest_corpus.py`` parametrises over. Each case is a workbook
model, the format and file name it is written as, and what ``parse_file`` must return: the
records (``build.EXPECTED_FIELDS``), the snapshot date and its source, the header rows and the
sheet. Expected values are written out by hand, never computed with the parser's own helpers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from corpus.build import Case, Table, item, one_table_case
from corpus.writers import Sheet

D = dt.datetime
TITLE_SNAPSHOT = ("2025-06-30", "title")


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# --- the common register ---------------------------------------------------------------------

COLS = [("stt", "STT"), ("name", "Tên sản phẩm"), ("owner", "Chủ thể"), ("group", "Nhóm sản phẩm"),
        ("rating", "Hạng sao"), ("no", "Số quyết định"), ("date", "Ngày quyết định"),
        ("prov", "Tỉnh/Thành phố"), ("note", "Ghi chú")]

TITLE = [
    ["UBND TỈNH TUYÊN QUANG", None, None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
    ["SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG", None, None, None, None, "Độc lập - Tự do - Hạnh phúc"],
    ["DANH SÁCH SẢN PHẨM OCOP TỈNH TUYÊN QUANG NĂM 2025"],
    ["(Tính đến ngày 30/6/2025)"],
    [],
]
TITLE_MERGES = ["A1:C1", "F1:I1", "A2:C2", "F2:I2", "A3:I3", "A4:I4"]

FOOTER = [
    ["Tổng cộng", None, "5 sản phẩm"],
    [],
    [None, "Ghi chú: Danh sách gồm các sản phẩm còn hiệu lực."],
    [None, "NGƯỜI LẬP BIỂU", None, None, None, None, "KT. GIÁM ĐỐC"],
    [None, "(Ký, ghi rõ họ tên)", None, None, None, None, "PHÓ GIÁM ĐỐC"],
    [],
    [None, "Nguyễn Văn Bình", None, None, None, None, "Trần Thị Hoà"],
]
FOOTER_MERGES = ["A{0}:B{0}"]

# Only characters Windows-1258 can hold, so the same register is written in every format.
BASE_ITEMS = [
    item({"stt": 1, "name": "Mật ong bạc hà Mèo Vạc", "owner": "HTX Mật ong Mèo Vạc", "group": "Thực phẩm",
          "rating": "4 sao", "no": "1234/QĐ-UBND", "date": D(2024, 5, 12), "prov": "Hà Giang"},
         "Mật ong bạc hà Mèo Vạc", "HTX Mật ong Mèo Vạc", "4", 1, "1234/QĐ-UBND", "2024-05-12", "08", "HTX"),
    item({"stt": 2, "name": "Chè Shan tuyết Hồng Thái", "owner": "Công ty TNHH Chè Hà Giang", "group": "Đồ uống",
          "rating": 3, "no": "567/QĐ-UBND", "date": "03/07/2023", "prov": "Tuyên Quang"},
         "Chè Shan tuyết Hồng Thái", "Công ty TNHH Chè Hà Giang", "3", 2, "567/QĐ-UBND", "2023-07-03", "08", "DN"),
    item({"stt": 3, "name": "Cao dược liệu Hà Thủ Ô", "owner": "Hộ kinh doanh Lý Văn Páo", "group": "Thảo dược",
          "rating": "Tiềm năng 5 sao", "no": "89/QĐ-UBND", "date": 45292, "prov": "Tỉnh Tuyên Quang"},
         "Cao dược liệu Hà Thủ Ô", "Hộ kinh doanh Lý Văn Páo", "potential-5", 3, "89/QĐ-UBND", "2024-01-01", "08", "HKD"),
    item({"stt": 4, "name": "Miến dong, bún khô Na Hang", "owner": "Tổ hợp tác Miến dong Hoà Phú", "group": "1",
          "rating": "3*", "no": "56/QĐ-UBND", "date": "1/2/2024", "prov": "Tuyên Quang", "note": "Cấp lại; đổi bao bì"},
         "Miến dong, bún khô Na Hang", "Tổ hợp tác Miến dong Hòa Phú", "3", 1, "56/QĐ-UBND", "2024-02-01", "08", "THT"),
    item({"stt": 5, "name": "Khăn thổ cẩm Lũng Cú", "owner": "Cơ sở sản xuất Thổ cẩm Lũng Cú",
          "group": "Thủ công mỹ nghệ", "rating": "5 sao", "no": "1010/QĐ-BNN-VPĐP", "date": "2024-11-20",
          "prov": "Hà Giang"},
         "Khăn thổ cẩm Lũng Cú", "Cơ sở sản xuất Thổ cẩm Lũng Cú", "5", 4, "1010/QĐ-BNN-VPĐP", "2024-11-20", "08", "HKD"),
]


def base_table(**kw) -> Table:
    args = dict(columns=COLS, items=BASE_ITEMS, title=TITLE, title_merges=TITLE_MERGES, footer=FOOTER,
                footer_merges=FOOTER_MERGES)
    args.update(kw)
    return Table(**args)




def format_cases() -> list[Case]:
    """The same register (title block, merged cells, total row, notes) in every format."""
    out = []
    for fmt, name in [("xlsx", "DS_OCOP.xlsx"), ("xlsm", "DS_OCOP.xlsm"), ("xls", "DS_OCOP.xls"),
                      ("ods", "DS_OCOP.ods"), ("csv:utf-8", "DS_OCOP.csv"), ("csv:utf-8-sig", "DS_OCOP_bom.csv"),
                      ("csv:cp1258", "DS_OCOP_1258.csv"), ("csv:utf-8:;:lf", "DS_OCOP_champhay.csv"),
                      ("csv:cp1258:;:lf", "DS_OCOP_1258_champhay.csv"), ("csv:utf-8:;", "DS_OCOP_champhay_crlf.csv"),
                      ("csv:utf-8-sig:;", "DS_OCOP_champhay_bom_crlf.csv")]:
        sheet = name.rsplit(".", 1)[0] if fmt.startswith("csv") else "Danh sách"
        case_id = "format-" + fmt.replace(":;", "-semicolon").replace(":", "-")
        out.append(one_table_case(case_id, fmt, name, base_table(), TITLE_SNAPSHOT, sheet=sheet,
                                  raw_json={3: {"Ghi chú": "Cấp lại; đổi bao bì", "Tên sản phẩm": "Miến dong, bún khô Na Hang"}}))
    return out


# --- every sheet read; header on a later sheet -----------------------------------------------

INSTRUCTIONS = Sheet("Hướng dẫn", [
    ["HƯỚNG DẪN ĐIỀN BIỂU MẪU DANH SÁCH SẢN PHẨM OCOP"],
    [],
    ["Cột", "Nội dung", "Ghi chú"],
    ["Tên sản phẩm", "Ghi đầy đủ tên sản phẩm theo quyết định công nhận", None],
    ["Chủ thể", "Tên chủ thể sản xuất, kèm loại hình (HTX, Công ty, Hộ kinh doanh)", None],
    ["Hạng sao", "3, 4 hoặc 5 sao", "Tiềm năng 5 sao ghi rõ"],
    ["Ví dụ:", "Tên sản phẩm", "Chủ thể", "Hạng sao"],
    ["", "Mật ong", "HTX A", "3 sao"],
], merges=["A1:D1"])
SUMMARY = Sheet("Tổng hợp", [
    ["TỔNG HỢP SẢN PHẨM OCOP THEO NHÓM"],
    ["STT", "Nhóm sản phẩm", "Số sản phẩm", "3 sao", "4 sao", "5 sao", "Ghi chú"],
    [1, "Thực phẩm", 2, 0, 1, 0, None],
    [2, "Đồ uống", 1, 1, 0, 0, None],
    [None, "Tổng cộng", 5, 2, 1, 1, None],
], merges=["A1:G1"])
EMPTY = Sheet("Sheet3", [])


def later_sheet_cases() -> list[Case]:
    return [
        one_table_case(f"instructions-sheet-first-{fmt}", fmt, f"DS_OCOP.{fmt}", base_table(), TITLE_SNAPSHOT,
                       sheet="Danh sách", before=[INSTRUCTIONS, SUMMARY], after=[EMPTY])
        for fmt in ("xlsx", "xls", "ods")
    ]


# --- hidden rows and columns -------------------------------------------------------------------

def hidden_cases() -> list[Case]:
    cols = COLS[:3] + [("code", "Mã hồ sơ")] + COLS[3:]
    items = [item({**it.cells, "code": f"HS-{i:03d}"}, *it.expect) for i, it in enumerate(BASE_ITEMS)]
    table = base_table(columns=cols, items=items, hidden_items={1, 3}, hidden_cols={"D", "I"},
                       title_merges=["A3:J3", "A4:J4"])
    return [
        one_table_case(f"hidden-rows-and-columns-{fmt}", fmt, f"DS_OCOP_an.{fmt}", table, TITLE_SNAPSHOT,
                       raw_json={0: {"Mã hồ sơ": "HS-000", "Tỉnh/Thành phố": "Hà Giang"}})
        for fmt in ("xlsx", "xls", "ods")
    ]


# --- two-row header under a merged "Quyết định công nhận" ------------------------------------

def two_row_header_cases() -> list[Case]:
    cols = [("stt", "STT"), ("name", "Tên sản phẩm"), ("owner", "Chủ thể"), ("group", "Nhóm sản phẩm"),
            ("rating", "Hạng sao"), ("no", "Quyết định công nhận"), ("date", None), ("prov", "Tỉnh/Thành phố")]
    title = [["DANH SÁCH SẢN PHẨM OCOP ĐƯỢC CÔNG NHẬN"], ["Tính đến ngày 30/6/2025"], []]
    merges = ["A1:H1", "A2:H2", "A4:A5", "B4:B5", "C4:C5", "D4:D5", "E4:E5", "F4:G4", "H4:H5"]
    out = [
        one_table_case(f"two-row-header-{fmt}", fmt, f"DS_OCOP.{fmt}",
                       Table(columns=cols, items=BASE_ITEMS, title=title, title_merges=merges[:2],
                             header2=[None] * 5 + ["Số", "Ngày", None], header_merges=merges[2:], footer=FOOTER,
                             footer_merges=FOOTER_MERGES), TITLE_SNAPSHOT)
        for fmt in ("xlsx", "xls", "ods")
    ]
    # The same group with the date first ("Ngày" / "Số") and sub-headers "Ngày QĐ" / "Số QĐ".
    cols2 = cols[:5] + [("date", "QĐ công nhận"), ("no", None), ("prov", "Tỉnh/Thành phố")]
    out.append(one_table_case(
        "two-row-header-date-first", "xlsx", "DS_OCOP.xlsx",
        Table(columns=cols2, items=BASE_ITEMS, title=title, title_merges=merges[:2],
              header2=[None] * 5 + ["Ngày QĐ", "Số QĐ", None], header_merges=merges[2:], footer=FOOTER,
              footer_merges=FOOTER_MERGES), TITLE_SNAPSHOT))
    # The address split into Xã / Huyện / Tỉnh under a merged "Địa chỉ", next to the decision group.
    cols3 = cols[:5] + [("commune", "Địa chỉ"), ("district", None), ("prov", None), ("no", "Quyết định công nhận"),
                        ("date", None)]
    items3 = [item({**it.cells, "commune": "Xã Mèo Vạc", "district": "Huyện Mèo Vạc"}, *it.expect) for it in BASE_ITEMS]
    out.append(one_table_case(
        "two-row-header-address-and-decision-groups", "xlsx", "DS_OCOP.xlsx",
        Table(columns=cols3, items=items3, title=title, title_merges=["A1:J1", "A2:J2"],
              header2=[None] * 5 + ["Xã/Phường", "Huyện", "Tỉnh", "Số", "Ngày"],
              header_merges=["A4:A5", "B4:B5", "C4:C5", "D4:D5", "E4:E5", "F4:H4", "I4:J4"], footer=FOOTER,
              footer_merges=FOOTER_MERGES), TITLE_SNAPSHOT,
        extra={"address": ["Xã Mèo Vạc, Huyện Mèo Vạc"] * 5}))
    return out


# --- header spellings --------------------------------------------------------------------------

def header_variant_cases() -> list[Case]:
    variants = [
        ("upper-case", ["STT", "TÊN SẢN PHẨM", "CHỦ THỂ", "NHÓM SẢN PHẨM", "HẠNG SAO", "SỐ QUYẾT ĐỊNH",
                        "NGÀY QUYẾT ĐỊNH", "TỈNH/THÀNH PHỐ", "GHI CHÚ"]),
        ("nfd", [nfd(h) for h in ["Số TT", "Tên sản phẩm OCOP", "Tên chủ thể", "Ngành hàng", "Phân hạng",
                                  "Số QĐ", "Ngày công nhận", "Tỉnh", "Ghi chú"]]),
        ("tone-placement", ["TT", "Tên SP", "Chủ thể sản xuất", "Nhóm ngành", "Kết qủa phân hạng",
                            "Quyết định số", "Ngày QĐ", "Tỉnh/TP", "Ghi chú"]),
        ("line-breaks", ["Số\nTT", "Tên\nsản phẩm", "Chủ thể/\nĐơn vị", "Nhóm\nsản phẩm", "Hạng\nsao",
                         "Số\nquyết định", "Ngày\nquyết định", "Tỉnh/\nThành phố", "Ghi\nchú"]),
        ("spaces-and-punctuation", ["S TT.", "  Tên   sản  phẩm: ", "Chủ thể / Đơn vị", "Nhóm sản phẩm (*)",
                                    "Hạng sao (3*, 4*, 5*)", "Số quyết định:", "Ngày quyết định (dd/mm/yyyy)",
                                    "Tỉnh, thành phố", "Ghi chú."]),
    ]
    out = []
    broken = [item({**it.cells, "name": it.cells["name"].replace(" ", "\n", 1),
                    "owner": it.cells["owner"].replace(" ", " \n ", 2)}, *it.expect) for it in BASE_ITEMS]
    out.append(one_table_case("values-with-line-breaks-and-spaces", "xlsx", "DS_OCOP.xlsx", base_table(items=broken),
                              TITLE_SNAPSHOT))
    for name, labels in variants:
        cols = [(key, label) for (key, _), label in zip(COLS, labels)]
        out.append(one_table_case(f"header-{name}", "xlsx", "DS_OCOP.xlsx", base_table(columns=cols), TITLE_SNAPSHOT))
    return out


# --- column order, empty columns, unknown columns ----------------------------------------------

def column_layout_cases() -> list[Case]:
    cols = [("prov", "Tỉnh/Thành phố"), ("date", "Ngày quyết định"), (None, None), ("phone", "Số điện thoại"),
            ("no", "Số quyết định"), ("rating", "Hạng sao"), ("blank", "Mã vùng trồng"), ("group", "Nhóm sản phẩm"),
            (None, None), ("owner", "Chủ thể"), ("name", "Tên sản phẩm"), ("stt", "STT"), ("barcode", "Mã vạch")]
    items = [item({**it.cells, "phone": f"0912 345 67{i}", "barcode": f"893600000{i}"}, *it.expect)
             for i, it in enumerate(BASE_ITEMS)]
    table = Table(columns=cols, items=items, title=[["DANH SÁCH SẢN PHẨM OCOP"], []],
                  footer=[["Cộng", None, None, None, None, None, None, None, None, None, "5"]])
    return [
        one_table_case(f"columns-any-order-empty-unknown-{fmt}", fmt, f"ocop_2025-06-30.{fmt}", table,
                       ("2025-06-30", "filename"), sheet="Danh sách" if fmt != "csv" else "ocop_2025-06-30",
                       raw_json={0: {"Số điện thoại": "0912 345 670", "Mã vạch": "8936000000"}},
                       unknown_columns=["Số điện thoại", "Mã vùng trồng", "Mã vạch"])
        for fmt in ("xlsx", "csv")
    ]


# --- the end of the table: totals, notes, signatures, template rows -------------------------

def table_end_cases() -> list[Case]:
    template_rows = [[n] + [None] * 8 for n in (6, 7, 8)]  # numbered template rows left blank
    out = [
        one_table_case("total-row-cong", "xlsx", "DS_OCOP.xlsx",
                       base_table(footer=[["Cộng", None, "5", None, "5", None, None, None, None]] + FOOTER[1:]),
                       TITLE_SNAPSHOT),
        one_table_case("total-row-tong-cong-with-counts", "xlsx", "DS_OCOP.xlsx",
                       base_table(footer=[["Tổng cộng: 5 sản phẩm", None, "5 chủ thể", "3 nhóm", "5", None, None,
                                           "1 tỉnh", None]] + FOOTER[1:]), TITLE_SNAPSHOT),
        one_table_case("no-total-row-blank-template-rows-and-signatures", "xlsx", "DS_OCOP.xlsx",
                       base_table(footer=template_rows + [
                           [],
                           [None, "Ghi chú: (*) Sản phẩm được công nhận lại."],
                           [None, None, None, None, None, None, "Tuyên Quang, ngày 30 tháng 6 năm 2025"],
                           [None, "NGƯỜI LẬP BIỂU", None, "TRƯỞNG PHÒNG", None, None, "GIÁM ĐỐC"],
                           [None, "(Ký, ghi rõ họ tên)", None, "(Ký, ghi rõ họ tên)", None, None, "(Ký tên, đóng dấu)"],
                           [],
                           [None, "Nguyễn Văn Bình", None, "Lê Thị Lan", None, None, "Hoàng Văn Sơn"],
                       ], footer_merges=[]), TITLE_SNAPSHOT),
        one_table_case("blank-rows-inside-table", "xlsx", "DS_OCOP.xlsx",
                       base_table(between={2: [[]], 4: [[], []]}), TITLE_SNAPSHOT),
        one_table_case("column-number-row-under-header", "xlsx", "DS_OCOP.xlsx",
                       base_table(between={0: [["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)", "(9)"]]}),
                       TITLE_SNAPSHOT),
        one_table_case("column-number-row-under-header-numbers", "xls", "DS_OCOP.xls",
                       base_table(between={0: [[1, 2, 3, 4, 5, 6, 7, 8, 9]]}), TITLE_SNAPSHOT),
    ]
    return out


# --- ratings -----------------------------------------------------------------------------------

RATING_COLS = [("stt", "STT"), ("name", "Tên sản phẩm"), ("owner", "Chủ thể"), ("group", "Nhóm sản phẩm"),
               ("rating", "Hạng sao"), ("flag", "Tiềm năng 5 sao"), ("no", "Số quyết định"),
               ("date", "Ngày quyết định")]
RATINGS = [  # (rating cell, potential-5 flag cell, expected class)
    (3, None, "3"), (4, None, "4"), (5, None, "5"), (4.0, None, "4"),
    ("3", None, "3"), ("3 sao", None, "3"), ("4 Sao", None, "4"), ("3*", None, "3"), ("4 *", None, "4"),
    ("3★", None, "3"), ("5★", None, "5"), ("★★★", None, "3"), ("★★★★", None, "4"), ("★★★★★", None, "5"),
    ("Ba sao", None, "3"), ("Bốn sao", None, "4"), ("Năm sao", None, "5"),
    ("Tiềm năng 5 sao", None, "potential-5"), ("4 sao (tiềm năng 5 sao)", None, "potential-5"),
    ("TN5S", None, "potential-5"),
    (4, "x", "potential-5"), ("4 sao", "có", "potential-5"), ("4", 1, "potential-5"), (4, True, "potential-5"),
    (4, "X", "potential-5"), ("4 sao", "Có", "potential-5"), (4, "TRUE", "potential-5"), (4, "1", "potential-5"),
    (4, "Không", "4"), (4, 0, "4"), (4, False, "4"), (3, "x", "3"), (5, "x", "5"),
]


def rating_cases() -> list[Case]:
    items = []
    for i, (cell, flag, klass) in enumerate(RATINGS, start=1):
        items.append(item({"stt": i, "name": f"Sản phẩm số {i}", "owner": f"HTX Nông nghiệp Số {i}", "group": "Thực phẩm",
                           "rating": cell, "flag": flag, "no": f"{100 + i}/QĐ-UBND", "date": D(2024, 6, i % 28 + 1)},
                          f"Sản phẩm số {i}", f"HTX Nông nghiệp Số {i}", klass, 1, f"{100 + i}/QĐ-UBND",
                          f"2024-06-{i % 28 + 1:02d}", None, "HTX"))
    table = Table(columns=RATING_COLS, items=items, title=[["DANH SÁCH SẢN PHẨM OCOP"], ["Tính đến ngày 30/6/2025"]])
    return [one_table_case(f"ratings-every-form-{fmt}", fmt, f"DS_OCOP.{fmt}", table, TITLE_SNAPSHOT)
            for fmt in ("xlsx", "ods")]


# --- dates ---------------------------------------------------------------------------------------

DATES = [  # (cell, expected ISO date)
    (D(2024, 5, 12), "2024-05-12"), (dt.date(2023, 12, 31), "2023-12-31"),
    (45424, "2024-05-12"), (45292.0, "2024-01-01"), (43466, "2019-01-01"),
    ("12/05/2024", "2024-05-12"), ("1/2/2024", "2024-02-01"), ("9/11/2023", "2023-11-09"),
    ("05-03-2023", "2023-03-05"), ("5-3-2023", "2023-03-05"), ("20.10.2022", "2022-10-20"),
    ("2.8.2021", "2021-08-02"), ("2024-06-15", "2024-06-15"), ("2024-6-5", "2024-06-05"),
    ("45424", "2024-05-12"), (" 12/05/2024 ", "2024-05-12"), ("ngày 15 tháng 3 năm 2024", "2024-03-15"),
    ("31/12/2019", "2019-12-31"),
]


def date_cases() -> list[Case]:
    cols = RATING_COLS[:5] + RATING_COLS[6:]
    items = []
    for i, (cell, iso) in enumerate(DATES, start=1):
        items.append(item({"stt": i, "name": f"Gạo nếp cái hoa vàng {i}", "owner": f"Công ty CP Lương thực {i}",
                           "group": "Thực phẩm", "rating": 3, "no": f"{i}/QĐ-UBND", "date": cell},
                          f"Gạo nếp cái hoa vàng {i}", f"Công ty CP Lương thực {i}", "3", 1, f"{i}/QĐ-UBND", iso,
                          None, "DN"))
    table = Table(columns=cols, items=items, title=[["DANH SÁCH SẢN PHẨM OCOP TỈNH"], ["tính đến 30/06/2025"]])
    out = []
    for fmt in ("xlsx", "xls", "ods", "csv"):
        sheet = "ngay_thang" if fmt == "csv" else "Danh sách"
        out.append(one_table_case(f"dates-every-form-{fmt}", fmt, f"ngay_thang.{fmt}", table, TITLE_SNAPSHOT,
                                  sheet=sheet))
    return out


# --- decision number and date in one cell --------------------------------------------------------

def combined_decision_cases() -> list[Case]:
    cells = [
        ("1234/QĐ-UBND ngày 12/5/2024", "1234/QĐ-UBND", "2024-05-12"),
        ("Số 56/QĐ-UBND, ngày 03/7/2023", "56/QĐ-UBND", "2023-07-03"),
        ("89/QĐ-UBND ngày 15 tháng 3 năm 2024", "89/QĐ-UBND", "2024-03-15"),
        ("Quyết định số 77/QĐ-UBND ngày 01-02-2024", "77/QĐ-UBND", "2024-02-01"),
        ("1010/QĐ-BNN-VPĐP\nngày 20/11/2024", "1010/QĐ-BNN-VPĐP", "2024-11-20"),
        ("ngày 5/6/2023, số 45/QĐ-UBND", "45/QĐ-UBND", "2023-06-05"),
        ("12/2024/QĐ-UBND ngày 09.08.2024", "12/2024/QĐ-UBND", "2024-08-09"),
        ("321/QĐ-UBND (28/02/2022)", "321/QĐ-UBND", "2022-02-28"),
    ]
    out = []
    for header in ("Số, ngày quyết định", "Quyết định công nhận"):
        cols = [("stt", "STT"), ("name", "Tên sản phẩm"), ("owner", "Chủ thể"), ("group", "Nhóm sản phẩm"),
                ("rating", "Hạng sao"), ("no", header)]
        items = [item({"stt": i, "name": f"Trà hoa vàng {i}", "owner": f"HTX Trà {i}", "group": "Đồ uống",
                       "rating": "4 sao", "no": cell}, f"Trà hoa vàng {i}", f"HTX Trà {i}", "4", 2, no, iso, None, "HTX")
                 for i, (cell, no, iso) in enumerate(cells, start=1)]
        table = Table(columns=cols, items=items, title=[["DANH SÁCH SẢN PHẨM OCOP (Tính đến ngày 30/6/2025)"]])
        out.append(one_table_case(f"decision-number-and-date-in-one-cell-{header.split()[0].strip(',').lower()}",
                                  "xlsx", "DS.xlsx", table, TITLE_SNAPSHOT))
    return out


# --- product groups -----------------------------------------------------------------------------

GROUPS = [
    ("Thực phẩm", 1), ("Đồ uống", 2), ("Dược liệu và sản phẩm từ dược liệu", 3), ("Hàng thủ công mỹ nghệ", 4),
    ("Sinh vật cảnh", 5), ("Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch", 6),
    ("Thảo dược", 3), ("Vải và may mặc", 4), ("Lưu niệm - nội thất - trang trí", 4),
    ("Lưu niệm – nội thất – trang trí", 4), ("Dịch vụ du lịch nông thôn, bán hàng", 6),
    ("TP", 1), ("Dược liệu", 3), ("Thủ công mỹ nghệ", 4), ("TCMN", 4), ("SVC", 5), ("Du lịch", 6),
    ("Dịch vụ du lịch", 6), ("THỰC PHẨM", 1), (nfd("Đồ uống"), 2), ("Nhóm Thực phẩm", 1), ("  Thực   phẩm ", 1),
    (1, 1), ("2", 2), (3.0, 3), (4, 4), ("5", 5), (6, 6),
]


def group_cases() -> list[Case]:
    cols = RATING_COLS[:5] + RATING_COLS[6:]
    items = [item({"stt": i, "name": f"Sản phẩm nhóm {i}", "owner": f"Hộ kinh doanh Nguyễn Văn {i}", "group": cell,
                   "rating": 3, "no": f"{i}/QĐ-UBND", "date": "01/03/2024"},
                  f"Sản phẩm nhóm {i}", f"Hộ kinh doanh Nguyễn Văn {i}", "3", code, f"{i}/QĐ-UBND", "2024-03-01",
                  None, "HKD")
             for i, (cell, code) in enumerate(GROUPS, start=1)]
    table = Table(columns=cols, items=items, title=[["Danh sách (tính đến 30/06/2025)"]])
    return [one_table_case(f"groups-every-form-{fmt}", fmt, f"nhom.{fmt}", table, TITLE_SNAPSHOT,
                           sheet="nhom" if fmt == "csv" else "Danh sách")
            for fmt in ("xlsx", "csv")]


# --- owner types ---------------------------------------------------------------------------------

OWNERS_BY_NAME = [  # owner name -> inferred type
    ("HTX Chè Tân Cương", "HTX"), ("HTX NN Thành Công", "HTX"), ("Hợp tác xã Rau an toàn", "HTX"),
    ("Hợp tác xã nông nghiệp Quyết Thắng", "HTX"), ("HTX. Dịch vụ Nông nghiệp Tân Lập", "HTX"),
    ("Công ty TNHH Thực phẩm Xanh", "DN"), ("Cty TNHH Sâm Ngọc Linh", "DN"), ("Công ty TNHH MTV Yến Sào", "DN"),
    ("Công ty CP Chè Thái", "DN"), ("CTCP Nông sản Việt", "DN"), ("Công ty cổ phần Dược liệu", "DN"),
    ("DNTN Hải Sản Bảy Hiền", "DN"), ("Doanh nghiệp tư nhân Tiến Đạt", "DN"),
    ("THT Chè Shan tuyết", "THT"), ("Tổ hợp tác Nuôi ong", "THT"),
    ("Hộ kinh doanh Lò Văn Hùng", "HKD"), ("HKD Nguyễn Thị Mai", "HKD"), ("Hộ SXKD Trần Văn Tư", "HKD"),
    ("CSSX Bánh chưng Tranh Khúc", "HKD"), ("Cơ sở sản xuất Nước mắm Cát Hải", "HKD"), ("Cơ sở Bún Chả Cá", "HKD"),
    ("Nguyễn Văn An", None),
]
OWNER_TYPE_CELLS = [  # (owner name, type cell, expected type)
    ("Chè Tân Cương", "Hợp tác xã", "HTX"), ("Thành Công", "HTX", "HTX"), ("Thực phẩm Xanh", "Doanh nghiệp", "DN"),
    ("Sâm Ngọc Linh", "DN", "DN"), ("Yến Sào Khánh Hòa", "Công ty", "DN"), ("Nuôi ong", "Tổ hợp tác", "THT"),
    ("Chè Shan", "THT", "THT"), ("Lò Văn Hùng", "Hộ kinh doanh", "HKD"), ("Trần Văn Tư", "Hộ SXKD", "HKD"),
    ("Nguyễn Thị Mai", "HKD", "HKD"), ("Bánh chưng", "Cơ sở sản xuất", "HKD"), ("Nước mắm", "CSSX", "HKD"),
    ("HTX Tân Lập", "Doanh nghiệp", "DN"),  # the column wins over the name
    ("HTX Quyết Thắng", None, "HTX"),  # blank cell: from the name
]


def owner_type_cases() -> list[Case]:
    cols = RATING_COLS[:5] + RATING_COLS[6:]
    items = [item({"stt": i, "name": f"Đặc sản {i}", "owner": owner, "group": "TP", "rating": 3, "no": f"{i}/QĐ-UBND",
                   "date": "01/03/2024"}, f"Đặc sản {i}", owner, "3", 1, f"{i}/QĐ-UBND", "2024-03-01", None, otype)
             for i, (owner, otype) in enumerate(OWNERS_BY_NAME, start=1)]
    owners = one_table_case("owner-type-from-name-prefix", "xlsx", "DS_2025-06-30.xlsx",
                            Table(columns=cols, items=items), ("2025-06-30", "filename"),
                            extra={"owner_type_inferred": [t is not None for _, t in OWNERS_BY_NAME]})
    cols2 = cols[:3] + [("type", "Loại hình chủ thể")] + cols[3:]
    items2 = [item({"stt": i, "name": f"Đặc sản {i}", "owner": owner, "type": cell, "group": "TP", "rating": 3,
                    "no": f"{i}/QĐ-UBND", "date": "01/03/2024"},
                   f"Đặc sản {i}", owner, "3", 1, f"{i}/QĐ-UBND", "2024-03-01", None, otype)
              for i, (owner, cell, otype) in enumerate(OWNER_TYPE_CELLS, start=1)]
    column = one_table_case("owner-type-from-column", "xlsx", "DS_2025-06-30.xlsx",
                            Table(columns=cols2, items=items2), ("2025-06-30", "filename"),
                            extra={"owner_type_inferred": [c is None for _, c, _ in OWNER_TYPE_CELLS]})
    return [owners, column]


# --- provinces -----------------------------------------------------------------------------------

PROVINCE_FORMS = [
    ("Tỉnh Bắc Giang", "24"), ("Bắc Giang", "24"), ("T. Bắc Giang", "24"), ("Bắc Ninh", "24"),
    ("TP Hà Nội", "01"), ("Hà Nội", "01"), ("Thành phố Hà Nội", "01"), ("TP. Hà Nội", "01"),
    ("TP. Hồ Chí Minh", "79"), ("Thành phố Hồ Chí Minh", "79"), ("HCM", "79"), ("TPHCM", "79"), ("TP.HCM", "79"),
    ("Hồ Chí Minh", "79"), ("Bình Dương", "79"),
    ("Hòa Bình", "25"), ("Hoà Bình", "25"), ("Khánh Hòa", "56"), ("Khánh Hoà", "56"), ("Thanh Hóa", "38"),
    ("Thanh Hoá", "38"), ("Tỉnh Thanh Hoá", "38"),
    (nfd("Đắk Lắk"), "66"), (nfd("Bà Rịa - Vũng Tàu"), "79"), ("BẮC GIANG", "24"), ("  Bắc   Giang ", "24"),
    ("bắc giang", "24"),
    ("Bac Giang", "24"), ("Dak Lak", "66"), ("Ba Ria - Vung Tau", "79"), ("Da Nang", "48"), ("Dong Thap", "82"),
    ("Bà Rịa - Vũng Tàu", "79"), ("Bà Rịa–Vũng Tàu", "79"), ("Bà Rịa-Vũng Tàu", "79"), ("Bà Rịa — Vũng Tàu", "79"),
    ("Quảng Nam", "48"), ("Thừa Thiên Huế", "46"), ("Thừa Thiên - Huế", "46"), ("Huế", "46"),
    ("Thành phố Huế", "46"), ("Hậu Giang", "92"), ("Sóc Trăng", "92"), ("Kon Tum", "51"), ("Long An", "80"),
    ("Tiền Giang", "82"), ("Kiên Giang", "91"), ("Bạc Liêu", "96"), ("Đắk Nông", "68"), ("Bình Thuận", "68"),
    ("Phú Yên", "66"), ("Quảng Bình", "44"), ("Yên Bái", "15"), ("Hà Giang", "08"), ("Bắc Kạn", "19"),
    ("Hải Dương", "31"), ("Thái Bình", "33"), ("Nam Định", "37"), ("Ninh Thuận", "56"), ("Bình Phước", "75"),
    ("Bến Tre", "86"), ("Vĩnh Phúc", "25"), ("Bình Định", "52"), ("Tỉnh Cà Mau", "96"),
    ("Tp.HCM", "79"), ("TP. HCM", "79"), ("Tp.Hồ Chí Minh", "79"), ("T.Bắc Giang", "24"), ("TP Huế", "46"),
    ("Thừa Thiên-Huế", "46"), ("Tỉnh Thừa Thiên Huế", "46"), ("Bà Rịa Vũng Tàu", "79"), ("BR-VT", "79"),
    ("Đăk Lăk", "66"), ("Đắc Lắc", "66"),
]
# Since the July 2025 merger, documents write old names with "(cũ)" and new ones with "(mới)".
PROVINCE_FORMS_ANNOTATED = [("Hà Giang (cũ)", "08"), ("tỉnh Hà Giang (cũ)", "08"), ("Tuyên Quang (mới)", "08")]


def province_cases() -> list[Case]:
    cols = RATING_COLS[:5] + RATING_COLS[6:] + [("prov", "Tỉnh")]
    items = [item({"stt": i, "name": f"Đặc sản vùng {i}", "owner": f"HTX Đặc sản {i}", "group": 1, "rating": 4,
                   "no": f"{i}/QĐ-UBND", "date": "01/03/2024", "prov": cell},
                  f"Đặc sản vùng {i}", f"HTX Đặc sản {i}", "4", 1, f"{i}/QĐ-UBND", "2024-03-01", code, "HTX")
             for i, (cell, code) in enumerate(PROVINCE_FORMS, start=1)]
    out = [one_table_case(f"province-every-form-{fmt.replace(':', '-')}", fmt, f"tinh.{fmt.split(':')[0]}",
                          Table(columns=cols, items=items), ("2025-07-05", "arrival"),
                          sheet="tinh" if fmt.startswith("csv") else "Danh sách")
           for fmt in ("xlsx", "csv:utf-8-sig")]
    annotated = [item({**items[0].cells, "prov": cell}, *items[0].expect[:6], code, "HTX")
                 for cell, code in PROVINCE_FORMS_ANNOTATED]
    out.append(one_table_case("province-old-name-annotated-cu", "xlsx", "tinh.xlsx", Table(columns=cols, items=annotated),
                              ("2025-07-05", "arrival")))
    return out


# --- snapshot date -------------------------------------------------------------------------------

def snapshot_cases() -> list[Case]:
    def titled(lines):
        return base_table(title=[[t] for t in lines] + [[]], title_merges=[])

    out = []
    for i, (lines, name, expected) in enumerate([
        (["DANH SÁCH SẢN PHẨM OCOP", "(Tính đến ngày 30/6/2025)"], "ds.xlsx", ("2025-06-30", "title")),
        (["DANH SÁCH SẢN PHẨM OCOP tính đến 30/06/2025"], "ds.xlsx", ("2025-06-30", "title")),
        (["DANH SÁCH SẢN PHẨM OCOP", "(Cập nhật đến ngày 31 tháng 12 năm 2025)"], "ds_2025-06-30.xlsx",
         ("2025-12-31", "title")),
        (["Số liệu tính đến hết ngày 31.3.2025"], "ds.xlsx", ("2025-03-31", "title")),
        (["DANH SÁCH SẢN PHẨM OCOP NĂM 2025"], "OCOP_TuyenQuang_2025-06-30.xlsx", ("2025-06-30", "filename")),
        (["DANH SÁCH SẢN PHẨM OCOP NĂM 2025"], "ds_ocop_20250630.xlsx", ("2025-06-30", "filename")),
        (["DANH SÁCH SẢN PHẨM OCOP NĂM 2025"], "DS OCOP 30-06-2025.xlsx", ("2025-06-30", "filename")),
        (["(Kèm theo Quyết định số 123/QĐ-UBND ngày 15/3/2025 của UBND tỉnh)"], "ds_30-06-2025.xlsx",
         ("2025-06-30", "filename")),
        (["DANH SÁCH SẢN PHẨM OCOP NĂM 2025"], "danh_sach_ocop.xlsx", ("2025-07-05", "arrival")),
        ([], "danh sach ocop.xlsx", ("2025-07-05", "arrival")),
    ]):
        table = titled(lines) if lines else base_table(title=[], title_merges=[])
        out.append(one_table_case(f"snapshot-{i}-{expected[1]}", "xlsx", name, table, expected))
    return out


# --- legacy fonts --------------------------------------------------------------------------------

LEGACY_ITEMS = [  # no toned capital letters: TCVN3 has no code for them (see ocop.ingest.legacy)
    item({"stt": 1, "name": "Mật ong bạc hà", "owner": "Hợp tác xã Mật ong Mèo Vạc", "group": "Thực phẩm",
          "rating": "4 sao", "no": "1234/QĐ-UBND", "date": "12/05/2024", "prov": "Hà Giang"},
         "Mật ong bạc hà", "Hợp tác xã Mật ong Mèo Vạc", "4", 1, "1234/QĐ-UBND", "2024-05-12", "08", "HTX"),
    item({"stt": 2, "name": "Chè Shan tuyết Hồng Thái", "owner": "Công ty TNHH Chè Hà Giang", "group": "Đồ uống",
          "rating": "Ba sao", "no": "567/QĐ-UBND", "date": "03/07/2023", "prov": "Tuyên Quang"},
         "Chè Shan tuyết Hồng Thái", "Công ty TNHH Chè Hà Giang", "3", 2, "567/QĐ-UBND", "2023-07-03", "08", "DN"),
    item({"stt": 3, "name": "Cao dược liệu", "owner": "Hộ kinh doanh Lý Văn Páo", "group": "Thảo dược",
          "rating": "Tiềm năng 5 sao", "no": "89/QĐ-UBND", "date": "01/01/2024", "prov": "Tỉnh Tuyên Quang"},
         "Cao dược liệu", "Hộ kinh doanh Lý Văn Páo", "potential-5", 3, "89/QĐ-UBND", "2024-01-01", "08", "HKD"),
    item({"stt": 4, "name": "Miến dong Na Hang", "owner": "Tổ hợp tác Miến dong Hoà Phú", "group": "Thực phẩm",
          "rating": "Bốn sao", "no": "56/QĐ-UBND", "date": "01/02/2024", "prov": "Tuyên Quang"},
         "Miến dong Na Hang", "Tổ hợp tác Miến dong Hòa Phú", "4", 1, "56/QĐ-UBND", "2024-02-01", "08", "THT"),
]


def legacy_cases() -> list[Case]:
    out = []
    for enc, fmt in (("tcvn3", "xlsx"), ("tcvn3", "xls"), ("vni", "xlsx"), ("vni", "ods")):
        table = base_table(items=LEGACY_ITEMS, legacy=enc, footer=[["Tổng cộng", None, "4 sản phẩm"]] + FOOTER[1:])
        out.append(one_table_case(f"legacy-font-{enc}-{fmt}", fmt, f"DS_OCOP.{fmt}", table, TITLE_SNAPSHOT,
                                  extra={"legacy_encoding": [enc] * len(LEGACY_ITEMS)}))
    # A Unicode register with one row pasted from an old TCVN3 document.
    from ocop.ingest.legacy import from_unicode

    mixed = [item({k: from_unicode(v, "tcvn3") if i == 1 and isinstance(v, str) else v for k, v in it.cells.items()},
                  *it.expect) for i, it in enumerate(LEGACY_ITEMS)]
    out.append(one_table_case("legacy-font-tcvn3-one-pasted-row", "xlsx", "DS_OCOP.xlsx", base_table(items=mixed),
                              TITLE_SNAPSHOT, extra={"legacy_encoding": [None, "tcvn3", None, None]}))
    return out


# -------------------------------------------------------------------------------------------------

CASES: list[Case] = [
    *format_cases(), *later_sheet_cases(), *hidden_cases(), *two_row_header_cases(), *header_variant_cases(),
    *column_layout_cases(), *table_end_cases(), *rating_cases(), *date_cases(), *combined_decision_cases(),
    *group_cases(), *owner_type_cases(), *province_cases(), *snapshot_cases(), *legacy_cases(),
]
assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
