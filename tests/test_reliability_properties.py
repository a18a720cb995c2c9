"""Property tests (hypothesis) on what reads hostile input and is not yet covered elsewhere:
``cell_text``, header detection on random grids, the readers on random bytes, ``nfc``/``fold``,
``resolve_province`` (every province name, every way of writing it) and the dedupe keys'
invariance under Unicode forms and case. (Value parsers: tests/test_values_properties.py; key
idempotence: tests/test_dedupe_normalize.py.)"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocop.dedupe.normalize import owner_key, product_key
from ocop.ingest.header import find_header, is_total_row
from ocop.ingest.parse import cell_text
from ocop.ingest.readers import FileRejected, Sheet, read_file
from ocop.reference.headers import ALIASES, GROUP_HEADERS, REQUIRED_FIELDS, header_key, match_header
from ocop.reference.provinces import OLD_PROVINCES, PROVINCES, resolve_province
from ocop.text import fold, nfc, strip_diacritics

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
viet_text = st.text(alphabet=st.sampled_from(VIET + VIET.upper() + " -.,()/"), max_size=40)
any_text = st.one_of(viet_text, st.text(max_size=40))
cells = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True), any_text, st.dates(), st.datetimes(),
    st.sampled_from([a for names in ALIASES.values() for a in names] + list(GROUP_HEADERS)
                    + ["Số", "Ngày", "Tổng cộng", "Cộng", "#REF!", "#N/A", ""]),
)
_WS_RUN = re.compile(r"\s\s")


@settings(max_examples=500, deadline=None)
@given(cells)
def test_cell_text_never_raises_and_is_clean(value):
    text = cell_text(value)
    if text is None:
        return
    assert isinstance(text, str) and text
    assert text == text.strip() and not _WS_RUN.search(text)
    assert unicodedata.is_normalized("NFC", text)
    assert cell_text(text) == text  # idempotent on its own output


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**52), max_value=2**52))
def test_cell_text_integer_floats_have_no_decimal_point(n):
    assert cell_text(float(n)) == str(n)


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_cell_text_midnight_datetimes_are_dates(d):
    midnight = d.replace(hour=0, minute=0, second=0, microsecond=0)
    assert cell_text(midnight) == midnight.date().isoformat()


grids = st.lists(st.lists(cells, max_size=12), max_size=45)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(grids, min_size=0, max_size=3))
def test_find_header_never_raises_on_random_grids(sheets):
    match = find_header([Sheet(f"s{i}", rows) for i, rows in enumerate(sheets)])
    if match is None:
        return
    rows = match.sheet.rows
    assert all(0 <= r < len(rows) for r in match.header_rows)
    assert match.header_rows == sorted(match.header_rows) and len(match.header_rows) in (1, 2)
    width = max(len(rows[r]) for r in match.header_rows)
    assert all(0 <= c < width for c in match.fields.values())
    assert set(match.missing) <= set(REQUIRED_FIELDS)
    assert len(set(match.fields.values())) == len(match.fields) or len(match.header_rows) == 2
    for row in rows:  # a total row says so in one of its first three filled cells; a "Tổng cộng" always is one
        first = [fold(v) for v in row if v not in (None, "")][:3]
        if is_total_row(row):
            assert any(k in ("tong", "cong", "total", "tong so") or k.startswith("tong cong") for k in first), row
        assert is_total_row(["Tổng cộng", *row]) and is_total_row([None, "", "Cộng", *row])


noise_cells = st.one_of(st.none(), st.integers(), st.dates(),
                        any_text.filter(lambda t: match_header(t) is None and header_key(t) not in _GROUP_KEYS))
_GROUP_KEYS = {header_key(g) for g in GROUP_HEADERS}


@settings(max_examples=150, deadline=None)
@given(st.permutations(REQUIRED_FIELDS), st.lists(noise_cells, max_size=6), st.integers(0, 10))
def test_find_header_finds_a_complete_header_anywhere_in_the_first_rows(order, noise, at):
    header = [ALIASES[f][0] for f in order]
    rows = [list(noise) for _ in range(at)] + [header, ["x"] * len(header)]
    match = find_header([Sheet("s", rows)])
    assert match is not None and not match.missing
    assert {f: header[c] for f, c in match.fields.items() if f in REQUIRED_FIELDS} == {f: ALIASES[f][0] for f in order}


def test_a_lone_header_word_above_the_header_does_not_hide_it():
    header = [ALIASES[f][0] for f in REQUIRED_FIELDS]
    for above in (["TT", False], ["Sản phẩm OCOP"]):
        match = find_header([Sheet("s", [above, header, ["x"] * len(header)])])
        assert match is not None and not match.missing, above
        assert match.header_rows == [1] and match.fields["product_name"] == 0, above


PREFIXES = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<html>", b"\xef\xbb\xbf", b"\xff\xfe"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PREFIXES), st.binary(max_size=600),
       st.sampled_from([".xlsx", ".xls", ".xlsm", ".xlsb", ".ods", ".csv", ".txt", ".bin", ""]))
def test_readers_reject_random_bytes_with_a_rule_never_a_crash(tmp_path, prefix, body, ext):
    path = tmp_path / f"f{ext}"
    path.write_bytes(prefix + body)
    try:
        sheets = read_file(path)
    except FileRejected as exc:
        assert exc.rule.startswith("F_")
        return
    assert all(isinstance(s.rows, list) for s in sheets)
    assert not any(isinstance(v, str) and "\x00" in v for s in sheets for row in s.rows for v in row)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_nfc_and_fold_are_idempotent_and_fold_is_a_plain_key(text):
    n = nfc(text)
    assert nfc(n) == n
    f = fold(text)
    assert fold(f) == f
    assert re.fullmatch(r"([0-9a-z]+( [0-9a-z]+)*)?", f), f
    assert fold(n) == f  # tone placement and spacing never change the key
    assert fold(unicodedata.normalize("NFD", text)) == f


def _writings(name: str) -> list[str]:
    plain = strip_diacritics(name)
    forms = [name, unicodedata.normalize("NFD", name), name.upper(), name.lower(), plain, plain.upper(),
             f"  {name}  ", name.replace(" ", "  "), nfc(name)]
    return forms


ALL_NAMES = ([(p.code, n) for p in PROVINCES.values() for n in (p.name, p.short_name)]
             + [(o.new_code, o.name) for o in OLD_PROVINCES.values()])


@pytest.mark.parametrize("code, name", ALL_NAMES, ids=[f"{c}-{fold(n).replace(' ', '_')}" for c, n in ALL_NAMES])
def test_resolve_province_is_stable_for_every_way_of_writing_every_name(code, name):
    prefixes = ["", "Tỉnh ", "tinh ", "TP. ", "Thành phố ", "T. "]
    for written in _writings(name):
        for p in prefixes:
            m = resolve_province(p + written)
            assert m is not None and m.code_2025 == code, (p + written, m)


@settings(max_examples=500, deadline=None)
@given(st.one_of(any_text, st.none(), st.integers(), st.floats(allow_nan=True), st.booleans()))
def test_resolve_province_never_raises(value):
    m = resolve_province(value)
    assert m is None or m.code_2025 in PROVINCES


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["HTX", "Hợp tác xã", "Công ty TNHH", "Cty CP", "Hộ kinh doanh", "Tổ hợp tác",
                                 "Nông nghiệp", "Hoà Bình", "Thuỷ", "Mật ong", "Gạo", "ST25", "Trà", "xanh"]),
                max_size=6).map(" ".join))
def test_dedupe_keys_ignore_unicode_form_case_and_tone_placement(text):
    for variant in (unicodedata.normalize("NFD", text), text.upper(), text.lower(), nfc(text), f"  {text} "):
        assert owner_key(variant) == owner_key(text), variant
        assert product_key(variant) == product_key(text), variant
