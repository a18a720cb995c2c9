"""Vocabularies of the synthetic registers: owners' legal forms and names, product names.

Data only (plus two tiny helpers). Owner *core* names (the part after the legal form) are built
from three families so that a province's owners are recognisably different people and firms:
household businesses carry a person's name, cooperatives an activity and a place, enterprises a
trade name. Product names are a base product of an OCOP group plus, often, a place qualifier.
"""

from __future__ import annotations

# Owner type (architecture codes) -> the legal forms written in front of the owner's name.
LEGAL_FORMS: dict[str, list[str]] = {
    "HTX": ["HTX", "HTX NN", "Hợp tác xã", "Hợp tác xã nông nghiệp"],
    "DN": ["Công ty TNHH", "Cty TNHH", "Công ty TNHH MTV", "Công ty CP", "CTCP",
           "Công ty cổ phần", "DNTN", "Doanh nghiệp tư nhân"],
    "THT": ["THT", "Tổ hợp tác"],
    "HKD": ["Hộ kinh doanh", "HKD", "Hộ SXKD", "CSSX", "Cơ sở sản xuất", "Cơ sở"],
}
OWNER_TYPE_SHARE = {"HTX": 0.42, "DN": 0.26, "HKD": 0.27, "THT": 0.05}

# Words that only qualify a legal form when they follow it (spec: "HTX NN" = "HTX nông nghiệp").
LEGAL_QUALIFIERS = ["nn", "nong nghiep", "dv", "dich vu", "dvnn", "mtv", "mot thanh vien", "hai thanh vien",
                    "sx", "san xuat", "kd", "kinh doanh", "sxkd", "va"]

# Interchangeable spellings of one legal form (noise between snapshots must keep the owner).
LEGAL_FORM_VARIANTS: list[tuple[str, ...]] = [
    ("HTX", "Hợp tác xã"), ("HTX NN", "Hợp tác xã nông nghiệp"),
    ("Công ty TNHH", "Cty TNHH"), ("Công ty CP", "CTCP", "Công ty cổ phần"),
    ("DNTN", "Doanh nghiệp tư nhân"), ("THT", "Tổ hợp tác"), ("Hộ kinh doanh", "HKD"),
    ("CSSX", "Cơ sở sản xuất"),
]

# How an owner-type column names each type.
OWNER_TYPE_WORDS: dict[str, list[str]] = {
    "HTX": ["HTX", "Hợp tác xã"],
    "DN": ["DN", "Doanh nghiệp", "Công ty"],
    "THT": ["THT", "Tổ hợp tác"],
    "HKD": ["HKD", "Hộ kinh doanh", "Hộ SXKD", "Cơ sở sản xuất"],
}

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Lương", "Tạ", "Quách", "Mai", "Trịnh"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Quang", "Hữu", "Ngọc", "Thanh", "Xuân", "Công", "Bá",
          "Đình", "Kim", "Hồng", "Trọng", "Thế"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Hương",
         "Khánh", "Khoa", "Lâm", "Lan", "Linh", "Long", "Mạnh", "Mai", "Nam", "Nga", "Nghĩa",
         "Nhung", "Phong", "Phúc", "Phượng", "Quân", "Quyết", "Sơn", "Tâm", "Thắng", "Thảo",
         "Thủy", "Tiến", "Trang", "Trung", "Tuấn", "Tùng", "Uyên", "Vân", "Việt", "Yến", "Đạt",
         "Điệp", "Hoa", "Huệ", "Kiên", "Loan", "Lộc", "Ngân", "Oanh", "Quỳnh", "Sáng", "Thịnh",
         "Thoa", "Toàn", "Tuyết", "Xuyến", "Chiến", "Duyên", "Hằng", "Khải", "Luyến", "Nhàn"]

# Two-syllable place names (villages, communes) from these halves.
PLACE_HEAD = ["Tân", "Yên", "Đông", "Phú", "Thượng", "Hạ", "Vĩnh", "Bình", "An", "Hòa",
              "Thạch", "Kim", "Ngọc", "Thanh", "Tiên", "Đại", "Trung", "Hồng", "Quảng", "Long",
              "Mường", "Nà", "Bản", "Cẩm", "Xuân", "Hưng", "Phước", "Mỹ", "Lạc", "Tam",
              "Cao", "Đức", "Gia", "Hiền", "Khánh", "Lục", "Nghi", "Sông", "Trà", "Vạn"]
PLACE_TAIL = ["Cương", "Sở", "Lộc", "Thành", "Hưng", "Phong", "Khánh", "Lạc", "Thịnh", "Xuyên",
              "Sơn", "Hải", "Điền", "Mỹ", "Đồng", "Tiến", "Lợi", "Hiệp", "Thuận", "Quý",
              "Giang", "Lâm", "Châu", "Bồng", "Khê", "Ninh", "Trạch", "Vân", "Uyên", "Nghĩa",
              "Dương", "Hòa", "Liêm", "Minh", "Nguyên", "Phúc", "Quang", "Tường", "Xá", "Yên"]
COOP_ACTIVITY = ["Nông nghiệp", "Dịch vụ nông nghiệp", "Chè", "Mật ong", "Rau an toàn",
                 "Chăn nuôi", "Thủy sản", "Dược liệu", "Nấm", "Cây ăn quả", "Mây tre đan",
                 "Làng nghề", "Sản xuất và tiêu thụ", "Du lịch cộng đồng", "Gạo sạch",
                 "Nông sản sạch", "Trồng trọt", "Sinh vật cảnh"]
# Trade names are two of these auspicious syllables ("Thành Công", "Phú Quý", "Thịnh Phát").
TRADE_SYLLABLE = ["Thành", "Công", "Phú", "Quý", "Thịnh", "Phát", "Hưng", "Đạt", "An", "Minh",
                  "Long", "Tân", "Tiến", "Việt", "Kim", "Ngân", "Hoàng", "Gia", "Đại", "Lộc",
                  "Bảo", "Ngọc", "Thiên", "Phúc", "Hồng", "Hà", "Nam", "Trường", "Sơn", "Hải",
                  "Đăng", "Vạn", "Xuân", "Mai", "Ánh", "Dương", "Quang", "Toàn", "Thắng", "Khánh",
                  "Nhật", "Trúc", "Lâm", "Hương", "Sen", "Đông", "Tây", "Bắc", "Mekong", "Cửu"]
TRADE_ACTIVITY = ["", "Thực phẩm", "Nông sản", "Thương mại và Dịch vụ", "Đầu tư và Phát triển",
                  "Xuất nhập khẩu", "Dược liệu", "Sản xuất và Thương mại"]

# Product bases per Decision 148 group. Names realistic for OCOP registers.
PRODUCTS: dict[int, list[str]] = {
    1: ["Mật ong bạc hà", "Mật ong rừng", "Gạo ST25", "Gạo nếp cái hoa vàng", "Gạo lứt",
        "Nước mắm", "Miến dong", "Bún khô", "Phở khô", "Bánh đa nem", "Bánh chưng",
        "Giò lụa", "Chả cá", "Chả mực", "Tương bần", "Tương ớt", "Mắm tôm", "Mắm tép",
        "Lạp xưởng", "Thịt trâu gác bếp", "Ruốc nấm", "Nấm hương khô", "Mộc nhĩ",
        "Cà phê rang xay", "Hạt điều rang muối", "Hạt mắc ca", "Tiêu đen", "Bưởi Diễn",
        "Cam Vinh", "Vải thiều", "Nhãn lồng", "Xoài cát Hòa Lộc", "Thanh long ruột đỏ",
        "Mứt gừng", "Ô mai", "Kẹo dừa", "Bánh pía", "Bánh tráng", "Trứng vịt muối",
        "Tỏi đen", "Muối tôm", "Khô cá lóc", "Tôm khô", "Chuối sấy", "Mít sấy", "Dầu lạc",
        "Tinh bột nghệ", "Bột sắn dây", "Ngũ cốc dinh dưỡng", "Chè lam", "Cốm làng Vòng",
        "Gà đồi", "Lợn đen", "Bò một nắng", "Nem chua", "Chè Shan tuyết", "Chè Tân Cương",
        "Trà xanh túi lọc", "Trà hoa vàng"],
    2: ["Rượu ngô", "Rượu nếp cẩm", "Rượu sim", "Rượu mơ", "Rượu chuối hột", "Rượu đinh lăng",
        "Nước cốt gừng", "Nước ép chanh leo", "Nước dừa", "Sữa bò tươi", "Sữa chua",
        "Mật mía", "Cà phê hòa tan", "Nước khoáng", "Siro dâu tằm", "Trà atiso",
        "Rượu vang nho", "Bia thủ công", "Kombucha"],
    3: ["Nấm linh chi", "Cao dược liệu", "Cao atiso", "Cao chè vằng", "Tinh dầu sả chanh",
        "Tinh dầu quế", "Tinh dầu tràm", "Trà giảo cổ lam", "Trà túi lọc dược liệu",
        "Sâm Ngọc Linh", "Đông trùng hạ thảo", "Hà thủ ô", "Cà gai leo", "Xạ đen",
        "Cao xương khớp", "Dầu gấc", "Bột nghệ vàng", "Thuốc tắm người Dao"],
    4: ["Mây tre đan", "Gốm sứ", "Lụa tơ tằm", "Thổ cẩm", "Chiếu cói", "Tranh Đông Hồ",
        "Nón lá", "Đồ gỗ mỹ nghệ", "Sơn mài", "Khay tre ép", "Giỏ lục bình", "Túi cói",
        "Trang sức bạc", "Đèn lồng", "Tranh thêu tay", "Chổi đót"],
    5: ["Lan hồ điệp", "Đào Nhật Tân", "Quất cảnh", "Bonsai", "Mai vàng", "Hoa lan rừng",
        "Cây cảnh nghệ thuật", "Cá Koi"],
    6: ["Homestay", "Điểm du lịch cộng đồng", "Du lịch sinh thái vườn", "Làng nghề du lịch",
        "Du lịch trải nghiệm nông nghiệp", "Khu du lịch sinh thái", "Điểm du lịch văn hóa"],
}
GROUP_SHARE = {1: 0.70, 2: 0.09, 3: 0.09, 4: 0.07, 5: 0.03, 6: 0.02}
# Qualifiers added to some product names (a brand, a style or a place).
PRODUCT_QUALIFIER = ["", "", "", "đặc sản", "hữu cơ", "truyền thống", "thượng hạng", "loại 1",
                     "cao cấp", "sạch"]

# Genuinely different product lines of one owner that dedup must keep apart, by kind:
# an added product-line word, a number or model code, one short word one edit apart.
HARD_NEGATIVE_LINES: list[tuple[int, str, str, str]] = [
    (1, "Trà xanh", "Trà xanh túi lọc", "product_line_word"),
    (1, "Gạo ST25", "Gạo ST24", "number_or_code"),
    (1, "Chả cá", "Chả cua", "short_word_line"),
    (1, "Nước mắm 30 độ đạm", "Nước mắm 40 độ đạm", "number_or_code"),
    (2, "Rượu ngô", "Rượu ngô men lá", "product_line_word"),
    (2, "Rượu sim", "Rượu sâm", "short_word_line"),
    (1, "Miến dong", "Miến dong tươi", "product_line_word"),
    (1, "Hạt điều", "Hạt tiêu", "short_word_line"),
    (3, "Tinh dầu sả chanh", "Tinh dầu sả", "product_line_word"),
    (1, "Cam sành", "Cam canh", "short_word_line"),
    (1, "Mật ong bạc hà", "Mật ong hoa nhãn", "product_line_word"),
    (1, "Nấm mỡ", "Nấm mối", "short_word_line"),
    (1, "Mắm tôm", "Mắm tỏi", "short_word_line"),
]

# Real syllables one letter apart from a vocabulary syllable once folded (``An``/``Anh``,
# ``Tâm``/``Tân``): the other half of a near-identical owner who is another person or firm.
EXTRA_SYLLABLES = ["Anh", "Ân", "Tín", "Tí", "Phác", "Mạnh", "Mính", "Hà", "Hai", "Lang", "Lòng",
                   "Lạnh", "Thàng", "Thạnh", "Phục", "Quang", "Toản", "Tiền", "Long", "Lục", "Sang",
                   "Ngọ", "Hoan", "Khang", "Vinh", "Vĩ", "Loan", "Lam", "Nhân", "Thiện", "Thuận"]

STREET = ["Thôn", "Xóm", "Ấp", "Bản", "Tổ dân phố", "Khu phố"]


def place(i: int) -> str:
    """The i-th two-syllable place name (wraps around)."""
    n = len(PLACE_HEAD) * len(PLACE_TAIL)
    i %= n
    return f"{PLACE_HEAD[i // len(PLACE_TAIL)]} {PLACE_TAIL[i % len(PLACE_TAIL)]}"


N_PLACES = len(PLACE_HEAD) * len(PLACE_TAIL)
