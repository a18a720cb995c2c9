"""validate() on hand-made rows (cells as sent; parsed by the parser's value parsing): one row
per rule, outcomes, counts, file outcome."""

import logging

import pytest

from ocop.validate.run import ISSUE_COLUMNS, file_rejected, validate
from ocop.validate.testing import make_parsed


def _row(i: int, **over) -> dict:
    """A valid, distinct row (distinct owner and product so no duplicates)."""
    return {"product_name": f"Sản phẩm {i}", "owner": f"HTX Số {i}", **over}


CASES = [
    ({"rating_raw": "6 sao"}, "R_RATING_INVALID", "rating_raw", "F"),
    ({"product_name": None}, "R_REQUIRED_MISSING", "product_name", "B"),
    ({"owner": "  "}, "R_REQUIRED_MISSING", "owner", "C"),
    ({"decision_no_raw": None}, "R_REQUIRED_MISSING", "decision_no_raw", "G"),
    ({"decision_date_raw": None}, "R_REQUIRED_MISSING",
     "decision_date_raw", "H"),
    ({"group_raw": "Xe máy"}, "R_GROUP_UNKNOWN", "group_raw", "E"),
    ({"decision_date_raw": "31/02/2024"}, "R_DATE_INVALID",
     "decision_date_raw", "H"),
    ({"decision_date_raw": "31/12/2017", "expiry_raw": "31/12/2026"},
     "R_DATE_BEFORE_PROGRAM", "decision_date_raw", "H"),
    ({"decision_date_raw": "01/07/2025"}, "R_DATE_AFTER_SNAPSHOT",
     "decision_date_raw", "H"),
    ({"province_raw": "Đà Nẵng"}, "R_PROVINCE_MISMATCH", "province_raw", "D"),
    ({"province_raw": "Atlantis"}, "R_PROVINCE_MISMATCH", "province_raw", "D"),
    ({"rating_raw": "5", "issuing_level_raw": "Tỉnh"}, "R_FIVE_STAR_NOT_CENTRAL",
     "issuing_level_raw", "I"),
    ({"legacy_failed": True, "legacy_encoding": "tcvn3"}, "R_LEGACY_ENCODING", None, None),
    ({"expiry_raw": "30/06/2025"}, "W_EXPIRED", "expiry_raw", "K"),
    ({"status_raw": "Hết hạn"}, "W_EXPIRED", "status_raw", "L"),
    ({"owner_type_raw": None}, "W_OWNER_TYPE_INFERRED", "owner_type_raw", "J"),
    ({"decision_no_raw": "QĐ 12 UBND"}, "W_DECISION_NO_FORMAT", "decision_no_raw", "G"),
    ({"legacy_encoding": "vni"}, "W_LEGACY_CONVERTED", None, None),
]


@pytest.mark.parametrize("over,code,field,letter", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_names_rule_field_and_cell(over, code, field, letter):
    v = validate(make_parsed([_row(0), _row(1, **over), _row(2)]))
    issues = v.issues
    assert list(issues.columns) == ISSUE_COLUMNS
    assert issues[["row_id", "rule"]].values.tolist() == [[1, code]]
    issue = issues.iloc[0]
    assert (issue["field"], issue["column_letter"], issue["excel_row"], issue["sheet"]) == (field, letter, 6, "Danh sách")
    assert issue["severity"] == ("warning" if code.startswith("W_") else "reject")
    expected = "warning" if code.startswith("W_") else "rejected"
    assert v.records["outcome"].tolist() == ["accepted", expected, "accepted"]
    assert v.file_outcome == "accepted" and v.counts["by_rule"] == {code: 1}


def test_decision_date_from_the_number_cell_is_not_missing():
    v = validate(make_parsed([_row(0, decision_date_raw=None, decision_no_raw="5/QĐ-UBND ngày 1/2/2024")]))
    assert v.issues.empty and v.counts["accepted"] == 1


def test_duplicates_conflicting_on_every_copy_identical_on_later_copies():
    rows = [
        _row(0, owner="Hợp tác xã Hòa Bình", product_name="Mật ong"),
        _row(0, owner="Hợp tác xã Hoà Bình", product_name="MẬT ONG"),  # same after folding: identical
        _row(0, owner="Hợp tác xã Hòa Bình", product_name="Mật ong"),
        _row(3, product_name="Trà xanh"),
        _row(3, product_name="Trà xanh", rating_raw="3"),  # conflicting rating
        _row(5, product_name="Gạo"),
        _row(5, product_name="Gạo", rating_raw=None),  # otherwise rejected: not a duplicate
    ]
    v = validate(make_parsed(rows))
    by_row = v.issues.groupby("row_id")["rule"].apply(set).to_dict()
    assert by_row == {1: {"W_DUPLICATE_IDENTICAL"}, 2: {"W_DUPLICATE_IDENTICAL"}, 3: {"R_DUPLICATE_CONFLICT"},
                      4: {"R_DUPLICATE_CONFLICT"}, 6: {"R_REQUIRED_MISSING"}}
    assert set(v.issues.loc[v.issues["rule"] == "R_DUPLICATE_CONFLICT", "field"]) == {"rating_raw"}
    assert v.records["outcome"].tolist() == ["accepted", "warning", "warning", "rejected", "rejected", "accepted",
                                             "rejected"]
    assert v.counts == {"received": 7, "accepted": 2, "warned": 2, "rejected": 3,
                        "by_rule": {"R_REQUIRED_MISSING": 1, "R_DUPLICATE_CONFLICT": 2, "W_DUPLICATE_IDENTICAL": 2}}


def test_more_than_half_rejected_rejects_the_file(caplog):
    bad = {"rating_raw": "x"}
    with caplog.at_level(logging.INFO, logger="ocop.validate"):
        half = validate(make_parsed([_row(0), _row(1, **bad)]))
        most = validate(make_parsed([_row(0), _row(1, **bad), _row(2, **bad)]))
    assert (half.file_outcome, half.file_rule) == ("accepted", None)
    assert (most.file_outcome, most.file_rule) == ("rejected", "F_TOO_MANY_REJECTED")
    assert most.file_message_vi.startswith("Hơn một nửa")
    assert most.gx_summary["success"] is False and most.gx_summary["statistics"]["evaluated_expectations"] > 10
    assert "2 rejected" in caplog.text and "F_TOO_MANY_REJECTED" in caplog.text


def test_snapshot_date_argument_overrides_the_parsed_one():
    p = make_parsed([_row(0, decision_date_raw="10/01/2025")])
    assert validate(p, snapshot_date="2025-01-01").issues["rule"].tolist() == ["R_DATE_AFTER_SNAPSHOT"]


def test_file_rejected_before_parsing():
    v = file_rejected({"submission_id": "s", "province_code": "01", "file_name": "a.xls", "sha256": "ab",
                       "snapshot_date": None}, "F_ENCRYPTED", "password protected")
    assert (v.file_outcome, v.file_rule, v.file_detail) == ("rejected", "F_ENCRYPTED", "password protected")
    assert v.records.empty and v.issues.empty and v.counts["received"] == 0
    with pytest.raises(ValueError):
        file_rejected({"submission_id": "s"}, "R_RATING_INVALID")
