"""Property tests: the value parsers never raise, and dates survive every accepted text format."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ocop.ingest import values as v

TEXT_FORMATS = (
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    lambda d: f"{d.day}/{d.month}/{d.year}",
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: d.isoformat(),
    lambda d: f"{d.isoformat()} 00:00:00",
    lambda d: f"ngày {d.day} tháng {d.month} năm {d.year}",
)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60), st.dates(), st.datetimes(), st.binary(max_size=8),
)
PARSERS = (
    v.parse_rating, v.parse_potential_flag, v.parse_date, v.parse_decision, v.decision_no_well_formed,
    v.parse_owner_type, v.infer_owner_type, v.parse_issuing_level, v.parse_status,
    v.excel_serial_to_date, v.snapshot_date_from_filename,
)
FILENAME_FORMATS = (
    lambda d: f"ocop_{d.isoformat()}.xlsx", lambda d: f"ocop_{d:%Y%m%d}.xlsx",
    lambda d: f"OCOP {d:%d-%m-%Y}.xls", lambda d: f"ocop_{d:%d_%m_%Y}.csv",
)


@settings(max_examples=400, deadline=None)
@given(anything)
def test_parsers_never_raise(value):
    for parser in PARSERS:
        parser(value)
    v.parse_rating(value, value)
    v.snapshot_date_from_title([value])
    v.parse_expiry(value, date(2024, 1, 1))
    assert v.parse_status(value) in ("valid", "expired", "revoked")
    assert v.parse_rating(value) in ("3", "4", "potential-5", "5", None)


@settings(max_examples=300, deadline=None)
@given(dates, st.sampled_from(TEXT_FORMATS))
def test_parse_date_round_trips_every_text_format(d, fmt):
    assert v.parse_date(fmt(d)) == d


@settings(max_examples=200, deadline=None)
@given(dates)
def test_excel_serial_round_trip(d):
    serial = (d - date(1899, 12, 30)).days
    assert v.parse_date(serial) == d == v.parse_date(float(serial) + 0.5)
    assert v.parse_date(datetime(d.year, d.month, d.day, 12)) == d


@settings(max_examples=200, deadline=None)
@given(dates, st.integers(min_value=1, max_value=9999), st.sampled_from(["UBND", "BNN-VPĐP", "TTg"]))
def test_combined_decision_cell_round_trips(d, n, issuer):
    number = f"{n}/QĐ-{issuer}"
    assert v.parse_decision(f"{number} ngày {d.day}/{d.month}/{d.year}") == (number, d)
    assert v.decision_no_well_formed(number)


@settings(max_examples=200, deadline=None)
@given(dates, st.integers(min_value=-120, max_value=120))
def test_add_months_moves_whole_months(d, months):
    out = v.add_months(d, months)
    assert (out.year * 12 + out.month) - (d.year * 12 + d.month) == months
    assert out.day == min(d.day, calendar.monthrange(out.year, out.month)[1])


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2018, 1, 1), max_value=date(2099, 12, 31)), st.sampled_from(FILENAME_FORMATS))
def test_snapshot_date_from_filename_round_trips(d, fmt):
    assert v.snapshot_date_from_filename(fmt(d)) == d
    assert v.snapshot_date_from_title([f"Tính đến ngày {d.day}/{d.month}/{d.year}"]) == d
