"""One submitted file -> a :class:`ParsedSubmission` (the record frame of docs/architecture.md).

Steps: read every sheet, find the header, cut the table (total row, notes and signatures
under it are not data), convert legacy-font text, then parse each field's values. Parsing is
done once per distinct value (registers repeat the same ratings, groups, dates and decision
numbers a great deal), so it stays fast on large files.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ocop.config import Limits
from ocop.ingest import legacy, values
from ocop.ingest.header import HeaderMatch, find_header, is_total_row
from ocop.ingest.readers import FileRejected, column_letter, read_file
from ocop.reference.groups import resolve_group
from ocop.reference.provinces import ProvinceMatch, resolve_province
from ocop.text import nfc

RAW_FIELDS = (
    "product_name", "owner", "owner_type_raw", "address", "province_raw", "group_raw", "rating_raw",
    "potential5_raw", "decision_no_raw", "decision_date_raw", "issuing_level_raw", "expiry_raw",
    "status_raw", "notes",
)
# Fields whose text may be typed in a legacy font (TCVN3/VNI) and is converted.
_TEXT_FIELDS = RAW_FIELDS
_LEGACY_SAMPLE = 2000  # distinct texts sampled before checking a whole file for legacy fonts
_MIN_DATA_CELLS = 3  # a row with fewer filled fields is a note/signature (unless inside the table)


@dataclass
class ParsedSubmission:
    submission_id: str
    province_code: str
    file_name: str
    sha256: str
    sheet: str
    snapshot_date: str
    snapshot_date_source: str
    columns: dict[str, str]
    header_rows: list[int]
    records: pd.DataFrame
    legacy_encoding: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    header_labels: dict[str, str] = field(default_factory=dict)  # column letter -> header text as sent


def cell_text(value: object) -> str | None:
    """The text a person sees in a cell; None for blank. Real dates become ISO dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def _column_numbers_row(row: list[object]) -> bool:
    """The row of column numbers many forms carry under the header: ``(1) (2) (3)`` or ``1 2 3``."""
    numbers = []
    for v in row:
        t = cell_text(v)
        if t is None:
            continue
        t = t.strip("()[] .")
        if not t.isdigit():
            return False
        numbers.append(int(t))
    return len(numbers) >= 3 and all(b == a + 1 for a, b in zip(numbers, numbers[1:]))


def _looks_like_record(match: HeaderMatch, row: list[object]) -> bool:
    """A row holding something only a record holds: a rating, a known group, or a digit in the
    decision number or date. Notes and signatures (``NGƯỜI LẬP BIỂU``, ``TRƯỞNG PHÒNG``,
    ``GIÁM ĐỐC`` side by side) may fill as many columns as a record but hold none of these."""

    def cell(f: str) -> object:
        c = match.fields.get(f)
        return row[c] if c is not None and c < len(row) else None

    if values.parse_rating(cell("rating_raw")) or resolve_group(cell_text(cell("group_raw"))) is not None:
        return True
    return any(any(ch.isdigit() for ch in cell_text(cell(f)) or "") for f in ("decision_no_raw", "decision_date_raw"))


def _data_rows(match: HeaderMatch) -> list[int]:
    """Grid rows that hold records: after the header, before the total row, notes excluded."""
    rows = match.sheet.rows
    cols = [c for f, c in match.fields.items() if f != "row_number"]
    filled: list[tuple[int, int]] = []
    for r in range(match.first_data_row, len(rows)):
        row = rows[r]
        if is_total_row(row):
            break
        n = sum(1 for c in cols if c < len(row) and cell_text(row[c]) is not None)
        if not n:
            continue
        if not filled and _column_numbers_row(row):
            continue  # "(1) (2) (3) ..." under the header
        filled.append((r, n))
    # Sparse rows after the last full row are notes and signatures; inside the table they are
    # (very incomplete) records that validation rejects. Searched from the bottom up, so the
    # record check runs on the few rows under the table only.
    last_full = next((r for r, n in reversed(filled) if n >= _MIN_DATA_CELLS and _looks_like_record(match, rows[r])), -1)
    return [r for r, _ in filled if r <= last_full]


def _title_lines(match: HeaderMatch) -> list[str]:
    lines = []
    for row in match.sheet.rows[: match.header_rows[0]]:
        for v in row:
            t = cell_text(v)
            if t:
                lines.append(t)
    return lines


def snapshot_date(match: HeaderMatch | None, file_name: str, arrived_at: dt.datetime) -> tuple[str, str]:
    if match is not None:
        lines = _title_lines(match)
        d = values.snapshot_date_from_title(lines)
        if d is None and match.legacy_header:
            d = values.snapshot_date_from_title([legacy.to_unicode(t, match.legacy_header) for t in lines])
        if d:
            return d.isoformat(), "title"
    d = values.snapshot_date_from_filename(file_name)
    if d:
        return d.isoformat(), "filename"
    return arrived_at.date().isoformat(), "arrival"


def _raw_json(labels: dict[int, str], row: list[object]) -> str:
    cells = {}
    for c, label in labels.items():
        if c < len(row):
            t = cell_text(row[c])
            if t is not None:
                cells[label] = t
    return json.dumps(cells, ensure_ascii=False)


def _convert_legacy(frame: pd.DataFrame, sheet_encoding: str | None) -> pd.DataFrame:
    """Convert TCVN3/VNI text to Unicode; flag rows whose text could not be converted.

    When the sheet as a whole was typed in a legacy font (decided over all its cells), every
    text is read in that font; otherwise each distinct text is checked on its own (a few rows
    pasted from an old document), after a sample of the file shows any sign of one."""
    frame["legacy_encoding"] = None
    frame["legacy_failed"] = False
    distinct = [t for t in pd.unique(frame[list(_TEXT_FIELDS)].to_numpy().ravel()) if isinstance(t, str)]
    if sheet_encoding:
        results = {t: legacy.convert_as(t, sheet_encoding) for t in distinct}
    else:
        if len(distinct) > _LEGACY_SAMPLE and not any(legacy.detect(t) for t in distinct[:_LEGACY_SAMPLE]):
            return frame
        results = {t: legacy.convert(t) for t in distinct}
    suspicious = {t: r for t, r in results.items() if r.encoding or not r.ok}
    for col in _TEXT_FIELDS:
        hit = frame[col].isin(list(suspicious))
        if not hit.any():
            continue
        res = frame.loc[hit, col].map(suspicious)
        frame.loc[hit, col] = [r.text for r in res]
        frame.loc[hit, "legacy_encoding"] = [e or r.encoding for e, r in zip(frame.loc[hit, "legacy_encoding"], res)]
        frame.loc[res.index[[not r.ok for r in res]], "legacy_failed"] = True
    return frame


def _parse_values(frame: pd.DataFrame, raw_objects: dict[str, list[object]]) -> pd.DataFrame:
    """Add the parsed columns of the contract, each computed once per distinct value."""

    def per_value(series: pd.Series, fn) -> pd.Series:
        uniques = {v: fn(v) for v in pd.unique(series.dropna())}
        return series.map(uniques)

    flag = frame["potential5_raw"].map(values.parse_potential_flag) if frame["potential5_raw"].notna().any() else False
    rating = per_value(frame["rating_raw"], values.parse_rating)
    frame["rating_class"] = rating.where(~((rating == "4") & flag), "potential-5")
    frame["group_code"] = per_value(frame["group_raw"], resolve_group).astype("Int64")

    decision = per_value(frame["decision_no_raw"], values.parse_decision)
    frame["decision_no"] = decision.map(lambda t: t[0] if isinstance(t, tuple) else None)
    inline_date = decision.map(lambda t: t[1] if isinstance(t, tuple) else None)
    # Dates: parse the original cell object (real date, serial number or text).
    date_obj = pd.Series(raw_objects["decision_date_raw"], index=frame.index, dtype=object)
    parsed = date_obj.map(lambda v: values.parse_date(v) if v not in (None, "") else None)
    parsed = parsed.where(parsed.notna(), inline_date)
    frame["decision_date"] = parsed.map(lambda d: d.isoformat() if isinstance(d, dt.date) else None)

    expiry_obj = pd.Series(raw_objects["expiry_raw"], index=frame.index, dtype=object)
    given_expiry = pd.Series([values.parse_expiry(v, d) if v not in (None, "") else None
                              for v, d in zip(expiry_obj, parsed)], index=frame.index, dtype=object)
    default_expiry = parsed.map(lambda d: values.default_expiry(d) if isinstance(d, dt.date) else None)
    expiry = given_expiry.where(given_expiry.notna(), default_expiry)
    frame["expiry_date"] = expiry.map(lambda d: d.isoformat() if isinstance(d, dt.date) else None)

    given_level = per_value(frame["issuing_level_raw"], values.parse_issuing_level)
    inferred_level = [values.infer_issuing_level(r, n) for r, n in zip(frame["rating_class"], frame["decision_no"])]
    frame["issuing_level"] = given_level.where(given_level.notna(), pd.Series(inferred_level, index=frame.index))
    frame["status"] = per_value(frame["status_raw"], values.parse_status).fillna("valid")

    given_type = per_value(frame["owner_type_raw"], values.parse_owner_type)
    inferred_type = per_value(frame["owner"], values.infer_owner_type)
    frame["owner_type_inferred"] = given_type.isna() & inferred_type.notna()
    frame["owner_type"] = given_type.where(given_type.notna(), inferred_type)

    prov = per_value(frame["province_raw"], resolve_province)
    frame["row_province_code"] = prov.map(lambda m: m.code_2025 if isinstance(m, ProvinceMatch) else None)
    frame["row_province_unresolved"] = frame["province_raw"].notna() & frame["row_province_code"].isna()
    return frame


def parse_file(
    path: Path,
    *,
    province_code: str,
    file_name: str,
    sha256: str,
    submission_id: str,
    arrived_at: dt.datetime,
    limits: Limits | None = None,
) -> ParsedSubmission:
    """Parse one landed file; raises :class:`FileRejected` for file-level problems."""
    sheets = read_file(Path(path), limits, name=file_name)
    if not any(any(cell_text(v) for v in row) for s in sheets for row in s.rows):
        raise FileRejected("F_EMPTY", "the file has no data")
    match = find_header(sheets)
    if match is None or match.missing:
        missing = ", ".join(match.missing) if match else "all"
        raise FileRejected("F_NO_HEADER", f"no header row with the required columns (missing: {missing})")
    snap, snap_source = snapshot_date(match, file_name, arrived_at)

    rows = match.sheet.rows
    data_rows = _data_rows(match)
    if not data_rows:
        raise FileRejected("F_EMPTY", "the table has a header but no data rows")

    raw_objects: dict[str, list[object]] = {}
    columns: dict[str, list[object]] = {}
    for f in RAW_FIELDS:
        c = match.fields.get(f)
        objs = [rows[r][c] if c is not None and c < len(rows[r]) else None for r in data_rows]
        raw_objects[f] = objs
        columns[f] = [cell_text(v) for v in objs]
    # Address split over commune / district columns: joined into the address field.
    for part in ("commune", "district"):
        c = match.fields.get(part)
        if c is not None and "address" not in match.fields:
            parts = [cell_text(rows[r][c]) if c < len(rows[r]) else None for r in data_rows]
            columns["address"] = [", ".join(p for p in (a, b) if p) or None for a, b in zip(columns["address"], parts)]

    frame = pd.DataFrame(columns, dtype=object)
    frame.insert(0, "row_id", range(len(data_rows)))
    frame.insert(1, "sheet", match.sheet.name)
    frame.insert(2, "excel_row", [r + 1 for r in data_rows])
    frame["raw_json"] = [_raw_json(match.labels, rows[r]) for r in data_rows]
    frame = _convert_legacy(frame, match.legacy_header)
    for col in RAW_FIELDS:  # one spelling of tone marks (hoà/hòa), after legacy conversion
        frame[col] = frame[col].map({t: nfc(t) for t in pd.unique(frame[col].dropna())})
    frame = _parse_values(frame, raw_objects)

    used = set(match.fields.values())
    encodings = frame["legacy_encoding"].dropna()
    return ParsedSubmission(
        submission_id=submission_id,
        province_code=province_code,
        file_name=file_name,
        sha256=sha256,
        sheet=match.sheet.name,
        snapshot_date=snap,
        snapshot_date_source=snap_source,
        columns=match.letters(),
        header_rows=[r + 1 for r in match.header_rows],
        records=frame,
        legacy_encoding=match.legacy_header or (encodings.iloc[0] if len(encodings) else None),
        unknown_columns=[label for c, label in match.labels.items() if c not in used],
        header_labels={column_letter(c): label for c, label in sorted(match.labels.items())},
    )
