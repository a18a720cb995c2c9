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
from functools import lru_cache
from pathlib import Path

import numpy as np
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


@lru_cache(maxsize=1 << 17)
def _text_of(value: str) -> str | None:
    return " ".join(unicodedata.normalize("NFC", value).split()) or None


def cell_text(value: object) -> str | None:
    """The text a person sees in a cell; None for blank. Real dates become ISO dates."""
    if type(value) is str:  # the common case first; registers repeat their texts a great deal
        return _text_of(value)
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


def _grid(rows: list[list], width: int) -> np.ndarray:
    """Rows as a 2-D object array (padded to ``width``): columns are then views, not loops."""
    grid = np.full((len(rows), width), None, dtype=object)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = row
    return grid


_cell_texts = np.frompyfunc(cell_text, 1, 1)


def _raw_json(labels: dict[int, str], texts: np.ndarray) -> list[str]:
    """Each row as ``{header text: cell text}`` of its non-empty cells, as JSON."""
    names: dict[str, int] = {}
    keys, cols = [], []
    for c, label in sorted(labels.items()):
        names[label] = names.get(label, 0) + 1
        keys.append(label if names[label] == 1 else f"{label} ({names[label]})")  # repeated header texts
        cols.append(c)
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return [dumps({k: v for k, v in zip(keys, row) if v is not None}) for row in texts[:, cols].tolist()]


def _data_rows(match: HeaderMatch, body: np.ndarray) -> list[int]:
    """Offsets in ``body`` (the cell texts under the header) of the rows that hold records:
    before the total row, notes and signatures excluded."""
    rows = match.sheet.rows
    first = match.first_data_row
    cols = [c for f, c in match.fields.items() if f != "row_number"]
    counts = (body[:, cols] != None).sum(axis=1) if len(body) else np.zeros(0, int)  # noqa: E711 (elementwise)
    # The table ends at the first total row ("Tổng cộng", "Cộng"): only rows with such a text
    # among their first cells are looked at closely.
    lead = pd.DataFrame(body[:, :4])
    markers = {t for t in pd.unique(lead.to_numpy().ravel()) if isinstance(t, str) and is_total_row([t])}
    end = next((i for i in np.flatnonzero(lead.isin(markers).any(axis=1).to_numpy()) if is_total_row(body[i])),
               len(body)) if markers else len(body)
    filled: list[tuple[int, int]] = []
    for i in np.flatnonzero(counts[:end]):
        if not filled and _column_numbers_row(body[i]):
            continue  # "(1) (2) (3) ..." under the header
        filled.append((int(i), int(counts[i])))
    # Sparse rows after the last full row are notes and signatures; inside the table they are
    # (very incomplete) records that validation rejects. Searched from the bottom up, so the
    # record check runs on the few rows under the table only.
    last_full = next((i for i, n in reversed(filled)
                      if n >= _MIN_DATA_CELLS and _looks_like_record(match, rows[first + i])), -1)
    return [i for i, _ in filled if i <= last_full]


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


def _per_value(column: list, fn) -> list:
    """``fn`` of every cell, computed once per distinct value (None stays None)."""
    done = {v: fn(v) for v in set(column) if v is not None}
    return [done[v] if v is not None else None for v in column]


def _iso(d: object) -> str | None:
    return d.isoformat() if isinstance(d, dt.date) else None


def _parse_values(frame: pd.DataFrame, raw_objects: dict[str, list[object]]) -> pd.DataFrame:
    """Add the parsed columns of the contract. Plain lists and one computation per distinct
    value: registers repeat their ratings, groups, dates and decisions a great deal."""
    col = {f: frame[f].tolist() for f in RAW_FIELDS}
    flags = _per_value(col["potential5_raw"], values.parse_potential_flag)
    ratings = _per_value(col["rating_raw"], values.parse_rating)
    rating = ["potential-5" if r == "4" and f else r for r, f in zip(ratings, flags)]
    decisions = _per_value(col["decision_no_raw"], values.parse_decision)
    decision_no = [t[0] if t else None for t in decisions]
    # Dates: parse the original cell object (real date, serial number or text), else the date
    # written in the decision cell ("1234/QĐ-UBND ngày 12/5/2024").
    parsed = _per_value(raw_objects["decision_date_raw"], values.parse_date)
    parsed = [d if d is not None else (t[1] if t else None) for d, t in zip(parsed, decisions)]
    expiry = [values.parse_expiry(v, d) if v not in (None, "") else None
              for v, d in zip(raw_objects["expiry_raw"], parsed)]
    defaults = _per_value(parsed, values.default_expiry)
    expiry = [e if e is not None else d for e, d in zip(expiry, defaults)]
    levels = _per_value(col["issuing_level_raw"], values.parse_issuing_level)
    given_type = _per_value(col["owner_type_raw"], values.parse_owner_type)
    inferred_type = _per_value(col["owner"], values.infer_owner_type)
    provinces = _per_value(col["province_raw"], resolve_province)

    obj = lambda values_: pd.Series(values_, index=frame.index, dtype=object)  # noqa: E731
    frame["rating_class"] = obj(rating)
    frame["group_code"] = pd.array(_per_value(col["group_raw"], resolve_group), dtype="Int64")
    frame["decision_no"] = obj(decision_no)
    frame["decision_date"] = obj(_per_value(parsed, _iso))
    frame["expiry_date"] = obj(_per_value(expiry, _iso))
    frame["issuing_level"] = obj([g or values.infer_issuing_level(r, n) for g, r, n in zip(levels, rating, decision_no)])
    frame["status"] = obj([st or "valid" for st in _per_value(col["status_raw"], values.parse_status)])
    frame["owner_type_inferred"] = [g is None and i is not None for g, i in zip(given_type, inferred_type)]
    frame["owner_type"] = obj([g or i for g, i in zip(given_type, inferred_type)])
    codes = [m.code_2025 if isinstance(m, ProvinceMatch) else None for m in provinces]
    frame["row_province_code"] = obj(codes)
    frame["row_province_unresolved"] = [r is not None and c is None for r, c in zip(col["province_raw"], codes)]
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

    first = match.first_data_row
    below = match.sheet.rows[first:]
    width = max(max(map(len, below), default=0), max(match.labels, default=-1) + 1, 1)
    grid = _grid(below, width)
    body = _cell_texts(grid) if grid.size else grid
    picked = _data_rows(match, body)
    if not picked:
        raise FileRejected("F_EMPTY", "the table has a header but no data rows")
    objects, texts = grid[picked], body[picked]
    none = [None] * len(picked)

    def column(c: int | None, table: np.ndarray) -> list:
        return table[:, c].tolist() if c is not None else list(none)

    raw_objects = {f: column(match.fields.get(f), objects) for f in RAW_FIELDS}
    columns = {f: column(match.fields.get(f), texts) for f in RAW_FIELDS}
    # Address split over commune / district columns: joined into the address field.
    for part in ("commune", "district"):
        c = match.fields.get(part)
        if c is not None and "address" not in match.fields:
            columns["address"] = [", ".join(p for p in (a, b) if p) or None
                                  for a, b in zip(columns["address"], column(c, texts))]

    frame = pd.DataFrame(columns, dtype=object)
    frame.insert(0, "row_id", range(len(picked)))
    frame.insert(1, "sheet", match.sheet.name)
    frame.insert(2, "excel_row", [first + i + 1 for i in picked])
    frame["raw_json"] = _raw_json(match.labels, texts)
    frame = _convert_legacy(frame, match.legacy_header)
    for col in RAW_FIELDS:  # one spelling of tone marks (hoà/hòa), after legacy conversion
        frame[col] = pd.Series(_per_value(frame[col].tolist(), nfc), index=frame.index, dtype=object)
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
