"""GX Data Docs per run: validate(..., data_docs_dir=...) adds each submission to one static site."""

import json
import logging
import re

from great_expectations.data_context.data_context.context_factory import project_manager

from ocop.validate import docs, suite
from ocop.validate.run import validate
from ocop.validate.testing import make_parsed


def _row(i: int, **over) -> dict:
    return {"product_name": f"Sản phẩm {i}", "owner": f"HTX Số {i}", **over}


BAD_RATING = {"rating_raw": "6 sao"}


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _pages(site, sid: str) -> list:
    return sorted(site.glob(f"validations/*/{sid}/*/{sid}.html"))


def test_two_submissions_share_one_site_whose_index_links_both(tmp_path, caplog):
    site = tmp_path / "run-1" / "data_docs"
    a = make_parsed([_row(0), _row(1, **BAD_RATING), _row(2, owner_type_raw=None)], submission_id="01-aaaa",
                    file_name="ha_noi.xlsx")
    b = make_parsed([_row(0), _row(1, decision_no_raw="QĐ 12")], submission_id="48-bbbb",
                    province_code="48", file_name="da_nang.xlsx")
    with caplog.at_level(logging.WARNING):
        va = validate(a, data_docs_dir=site)
        vb = validate(b, data_docs_dir=site)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text  # GX logs render errors
    assert va.data_docs_path == vb.data_docs_path == (site / "index.html").resolve()

    index = _text(site / "index.html")
    for sid in ("01-aaaa", "48-bbbb"):
        pages = _pages(site, sid)
        assert {p.parts[-4] for p in pages} == {suite.ROWS_SUITE, suite.DUPLICATES_SUITE}
        for page in pages:
            assert page.relative_to(site).as_posix() in index  # the index table's row link
    assert "ha_noi.xlsx" in index and "da_nang.xlsx" in index

    # The page names each expectation (GX's text and its type) and its rule code, level and field.
    page = _text(next(p for p in _pages(site, "01-aaaa") if p.parts[-4] == suite.ROWS_SUITE))
    assert "values must belong to this set" in page and "expect_column_values_to_be_in_set" in page
    for code in ("R_RATING_INVALID", "W_OWNER_TYPE_INFERRED", "R_REQUIRED_MISSING", "R_PROVINCE_MISMATCH"):
        assert code in page
    assert "rating_raw" in page and "6 sao" in page and "reject" in page
    dup_page = _text(next(p for p in _pages(site, "48-bbbb") if p.parts[-4] == suite.DUPLICATES_SUITE))
    assert "R_DUPLICATE_CONFLICT" in dup_page and "W_DUPLICATE_IDENTICAL" in dup_page

    # The suite pages note every rule of their suite.
    rows_suite = _text(site / "expectations" / f"{suite.ROWS_SUITE}.html")
    for code in suite.row_rule_codes():
        if code not in suite.DUPLICATE_RULES:
            assert code in rows_suite


def test_nothing_is_written_without_a_docs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    v = validate(make_parsed([_row(0), _row(1, **BAD_RATING)]))
    assert v.data_docs_path is None
    assert list(tmp_path.iterdir()) == []


def test_docs_keep_counts_but_cap_the_unexpected_rows(tmp_path):
    site = tmp_path / "data_docs"
    n = docs.MAX_UNEXPECTED + 150
    v = validate(make_parsed([_row(i, **BAD_RATING) for i in range(n)], submission_id="01-many"), data_docs_dir=site)
    assert v.counts["rejected"] == n
    stored = next((site / "_gx" / "validations" / suite.ROWS_SUITE).glob("01-many/*/01-many.json"))
    result = next(r["result"] for r in json.loads(_text(stored))["results"]
                  if r["expectation_config"]["meta"]["rule"] == "R_RATING_INVALID")
    assert result["unexpected_count"] == n
    assert len(result["unexpected_index_list"]) == len(result["unexpected_list"]) == docs.MAX_UNEXPECTED
    assert "unexpected_index_query" not in result
    page = _text(_pages(site, "01-many")[0])
    assert str(n) in page  # the count of the whole file
    assert not re.search(rf"\b{n - 1}\b", page.replace(str(n), ""))  # the last row id is not listed


def test_a_retry_replaces_the_submissions_pages(tmp_path):
    site = tmp_path / "data_docs"
    p = make_parsed([_row(0, **BAD_RATING), _row(1)], submission_id="01-retry")
    validate(p, data_docs_dir=site)
    validate(p, data_docs_dir=site)
    assert len(_pages(site, "01-retry")) == 2  # one per suite, not per attempt
    assert len(list((site / "_gx" / "validations").rglob("01-retry.json"))) == 2


def test_docs_leave_the_validation_context_current(tmp_path):
    validate(make_parsed([_row(0)], submission_id="01-ctx"), data_docs_dir=tmp_path / "d")
    assert project_manager.get_current_project() is suite._context()


def test_a_docs_failure_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with caplog.at_level(logging.ERROR, logger="ocop.validate"):
        v = validate(make_parsed([_row(0)]), data_docs_dir=blocker / "data_docs")
    assert v.data_docs_path is None and v.counts["accepted"] == 1
    assert "could not be written" in caplog.text


def test_offline_index_lists_every_page_without_javascript(tmp_path):
    from ocop.validate.docs import OFFLINE_INDEX
    from ocop.validate.run import validate
    from ocop.validate.testing import make_parsed

    for sid in ("01-aaaa", "79-bbbb"):
        validate(make_parsed([{}, {"rating_raw": "x"}], submission_id=sid),
                 data_docs_dir=tmp_path / "docs")
    page = (tmp_path / "docs" / OFFLINE_INDEX).read_text(encoding="utf-8")
    assert "<script" not in page
    assert "01-aaaa" in page and "79-bbbb" in page
    for href in __import__("re").findall(r'href="([^"]+)"', page):
        assert (tmp_path / "docs" / href).exists(), href
