"""The column-at-a-time fast paths (``ocop.ingest.columns``) give exactly what the per-cell
definitions give: ``cell_text`` of each cell, ``nfc`` of each name, ``json.dumps`` of each row.
Random columns mix clean texts (the fast path) with every kind of cell that forces a slower one:
padding, inner runs of spaces, line breaks, NBSP, NFD, quotes, backslashes, control characters,
the separator itself, numbers, booleans and dates."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ocop.ingest.columns import _COMMON, SEP, column_texts, rows_json, text_array, unify_tones
from ocop.ingest.parse import cell_text
from ocop.text import nfc

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
clean = st.text(alphabet=st.sampled_from(VIET + VIET.upper() + "0123456789-.,()/"), min_size=1, max_size=12).map(
    lambda s: s.strip())
words = st.lists(clean, min_size=1, max_size=4).map(" ".join)
odd = st.one_of(
    words.map(lambda s: f"  {s} "), words.map(lambda s: s.replace(" ", "   ")), words.map(lambda s: s + "\nx\t"),
    words.map(lambda s: s + "\xa0y"), words.map(lambda s: unicodedata.normalize("NFD", s)),
    words.map(lambda s: f'{s} "Shan tuyết" \\'), words.map(lambda s: s + "\x07\x1b"), st.just(SEP),
    st.sampled_from(["Hoà Bình", "hoà", "Thuỷ", "khoẻ", "HOÀ", "thuý", "Hòa", "Hoàng", "quyết"]),
    st.text(max_size=10).filter(lambda s: "\x00" not in s),
)
other = st.one_of(st.none(), st.just(""), st.booleans(), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=True, allow_infinity=False, width=32), st.dates(), st.datetimes())
# Long columns of a few distinct values (ratings, groups, dates): done once per distinct value.
repetitive = st.lists(st.one_of(words, st.just(""), odd, st.none()), min_size=1, max_size=6).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), min_size=64, max_size=160))
column = st.one_of(
    repetitive,
    st.lists(st.one_of(words, st.just("")), max_size=30),                    # clean: the fast path
    st.lists(st.one_of(words, st.just(""), odd), max_size=30),
    st.lists(st.one_of(words, odd, other), max_size=30),
    st.lists(other, max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(column)
def test_column_texts_equal_cell_text_of_each_cell(cells):
    assert column_texts(cells, cell_text) == [cell_text(v) for v in cells]
    assert column_texts(tuple(cells), cell_text) == [cell_text(v) for v in cells]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([chr(c) for c in range(len(_COMMON)) if _COMMON[c]]), max_size=40))
def test_text_of_common_characters_needs_no_check(text):
    # column_texts skips the NFC and printable checks for a column of these characters only.
    assert unicodedata.is_normalized("NFC", text) and text.isprintable()


@settings(max_examples=400, deadline=None)
@given(column)
def test_text_array_holds_the_texts(cells):
    texts = column_texts(cells, cell_text)  # its Arrow array is split from the joined texts where it can
    array = text_array(texts)
    assert array is None or array.to_pylist() == [cell_text(v) for v in cells]


@settings(max_examples=300, deadline=None)
@given(column)
def test_unify_tones_equals_nfc_of_each_text(cells):
    texts = column_texts(cells, cell_text)
    assert unify_tones(texts) == [nfc(t) if t is not None else None for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(column, min_size=0, max_size=4), st.integers(0, 30))
def test_rows_json_equals_json_dumps_of_each_row(columns, n):
    columns = [(c + [""] * n)[:n] for c in columns]
    keys = [f'Cột "{i}"\n' for i in range(len(columns))]
    texts = [column_texts(c, cell_text) for c in columns]
    expected = [json.dumps({k: t for k, t in zip(keys, row) if t is not None}, ensure_ascii=False)
                for row in zip(*texts)] if texts else ["{}"] * n
    assert list(rows_json(keys, texts, n)) == expected
    plain = [getattr(t, "plain", False) for t in texts]
    assert list(rows_json(keys, texts, n, plain)) == expected
    assert all(json.loads(r) is not None for r in rows_json(keys, texts, n, plain))


@settings(max_examples=300, deadline=None)
@given(column)
def test_unify_tones_with_its_arrow_array_is_the_same(cells):
    texts = column_texts(cells, cell_text)
    assert unify_tones(texts, text_array(texts)) == [nfc(t) if t is not None else None for t in texts]


@settings(max_examples=500, deadline=None)
@given(st.one_of(odd, words, st.sampled_from(["Tổng cộng", "TỔNG CỘNG:", "Cộng", "Cộng :", "- Cộng -", "(Tổng số)",
                                              "Total", "Công ty TNHH", "Tô Hiến Thành", "Tổng", "tong so"])))
def test_the_total_row_prefilter_never_drops_a_marker(text):
    from ocop.ingest.header import is_total_row
    from ocop.ingest.parse import _may_be_total

    t = cell_text(text)
    if t is not None and is_total_row([t]):
        assert _may_be_total(t)


owner_names = st.one_of(
    st.tuples(st.sampled_from(["Hợp tác xã", "HTX", "Công ty TNHH", "Cty CP", "Tổng công ty", "Hộ kinh doanh",
                               "Cơ sở sản xuất", "Cơ sở", "Tổ hợp tác", "DNTN", "Hộ ông", "...", "- ", "Doanh nghiệp"]),
              st.text(alphabet=st.sampled_from(VIET + " .,-()"), max_size=40)).map(" ".join),
    odd, words)


@settings(max_examples=400, deadline=None)
@given(st.lists(owner_names, max_size=40))
def test_owner_types_by_name_head_equal_infer_owner_type(owners):
    from ocop.ingest import values
    from ocop.ingest.parse import _owner_types

    texts = [nfc(t) if t is not None else None for t in column_texts(owners, cell_text)]
    assert _owner_types(texts) == [values.infer_owner_type(o) for o in texts]


lead_cells = st.one_of(st.none(), words, owner_names,
                       st.sampled_from(["Tổng cộng", "TỔNG CỘNG:", "Cộng", "- Cộng -", "(Tổng số)", "Total", "Tổng"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(lead_cells, min_size=12, max_size=12), min_size=1, max_size=5))
def test_table_end_with_arrow_arrays_equals_the_plain_search(columns):
    from ocop.ingest.parse import _table_end

    texts = [column_texts(c, cell_text) for c in columns]
    arrays = {i: a for i, t in enumerate(texts) if (a := text_array(t)) is not None}
    assert _table_end(texts, 12, arrays) == _table_end(texts, 12)
