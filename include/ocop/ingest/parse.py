"""One submitted file -> a :class:`ParsedSubmission` (the record frame of docs/architecture.md).

Steps: read every sheet, find the header, cut the table (total row, notes and signatures
under it are not data), convert legacy-font text, then parse each field's values. Parsing is
done once per distinct value (registers repeat the same ratings, groups, dates and decision
numbers a great deal), so it stays fast on large files.
"""

from __future__ import annotations

import datetime as dt
import gc
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, islice, zip_longest
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ocop.config import Limits
from ocop.ingest import legacy, values
from ocop.ingest.columns import column_texts, rows_json, spread, text_array, unify_tones
from ocop.ingest.header import HeaderMatch, find_header, is_total_row
from ocop.ingest.readers import FileRejected, column_letter, read_file
from ocop.reference.groups import resolve_group
from ocop.reference.provinces import ProvinceMatch, resolve_province
from ocop.text import fold, nfc

RAW_FIELDS = (
    "product_name", "owner", "owner_type_raw", "address", "province_raw", "group_raw", "rating_raw",
    "potential5_raw", "decision_no_raw", "decision_date_raw", "issuing_level_raw", "expiry_raw",
    "status_raw", "notes",
)
# Names compared across snapshots and shown: written with one tone-mark placement (hoà -> hòa).
# The other fields are parsed through ``fold``, which ignores it.
_NAME_FIELDS = ("product_name", "owner", "address")
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


def _columns(rows: list[list], width: int) -> list[Sequence[object]]:
    """The rows as ``width`` columns (short rows padded with None)."""
    if rows and all(len(r) == width for r in rows):  # calamine pads its rows: one C-level zip
        return list(zip(*rows))  # (half the time of a numpy object transpose, measured)
    cols = [list(c) for c in zip_longest(*rows)] if rows else []
    empty = [None] * len(rows)
    return (cols + [empty] * (width - len(cols)))[:width]


def _raw_json(labels: dict[int, str], texts: list, n: int, plain: list[bool]) -> Sequence[str]:
    """Each row as ``{header text: cell text}`` of its non-empty cells, as JSON (``texts``: by
    column, a list or its Arrow array)."""
    names: dict[str, int] = {}
    keys, cols, flags = [], [], []
    for c, label in sorted(labels.items()):
        names[label] = names.get(label, 0) + 1
        keys.append(label if names[label] == 1 else f"{label} ({names[label]})")  # repeated header texts
        cols.append(texts[c])
        flags.append(plain[c])
    return rows_json(keys, cols, n, flags)


# Every total marker folds to "tong...", "cong" or "total" (Tổng cộng, Tổng số, Cộng, Total):
# the first letters of a text rule most texts out before the full check (``is_total_row``).
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _may_be_total(t: str) -> bool:
    first = t[0] if t[0] in _ASCII_ALNUM else fold(t[0])
    if first in ("", " "):
        return True  # leading punctuation: looked at in full
    if first in "cC":
        return fold(t[:7]) == "cong"  # the whole text must fold to "cong": "Cộng", "Cộng:"
    if first in "tT":
        return fold(t[:5]).startswith(("tong", "total"))  # Tổng cộng, TỔNG SỐ, Total
    return False


def _distinct_texts(col: list[str | None], array: pa.Array | None) -> list[str]:
    """The distinct texts of a column that may be a total marker (by their first letters)."""
    if array is None:
        return [t for t in set(col) if t is not None and _may_be_total(t)]
    first = pc.utf8_slice_codeunits(array, 0, 1)
    leads = [c for c in pc.unique(first).to_pylist() if c is not None and _may_be_total(c + "ong")]
    if not leads:
        return []
    picked = pc.filter(array, pc.fill_null(pc.is_in(first, pa.array(leads, pa.string())), False))
    return [t for t in pc.unique(picked).to_pylist() if _may_be_total(t)]


def _table_end(texts: list[list[str | None]], n: int, arrays: dict[int, pa.Array] | None = None) -> int:
    """Offset of the total row ("Tổng cộng", "Cộng") that ends the table, else ``n``. Only rows
    with such a text among their first cells are looked at closely."""
    lead = texts[:4]
    markers = set()
    for c, col in enumerate(lead):
        markers |= {t for t in _distinct_texts(col, (arrays or {}).get(c)) if is_total_row([t])}
    if not markers:
        return n
    rows = sorted({i for col in lead for i, t in enumerate(col) if t in markers})
    return next((i for i in rows if is_total_row([col[i] for col in texts])), n)


def _data_rows(match: HeaderMatch, texts: list[list[str | None]], n: int,
               arrays: dict[int, pa.Array]) -> list[int]:
    """Offsets under the header (``texts``: the cell texts there, by column; ``arrays``: some
    of them as Arrow arrays) of the rows that hold records: before the total row, notes and
    signatures excluded."""
    rows = match.sheet.rows
    first = match.first_data_row
    counts = np.zeros(n, dtype=np.int64)
    for f, c in match.fields.items():
        if f != "row_number":
            if c in arrays:
                counts += arrays[c].is_valid().to_numpy(zero_copy_only=False)
            else:
                counts += np.fromiter(map(bool, texts[c]), dtype=bool, count=n)  # a text is None or non-empty
    end = _table_end(texts, n, arrays)
    filled = np.flatnonzero(counts[:end])
    while len(filled) and _column_numbers_row([col[filled[0]] for col in texts]):
        filled = filled[1:]  # "(1) (2) (3) ..." under the header
    # Sparse rows after the last full row are notes and signatures; inside the table they are
    # (very incomplete) records that validation rejects. Searched from the bottom up, so the
    # record check runs on the few rows under the table only.
    full = filled[counts[filled] >= _MIN_DATA_CELLS]
    last_full = next((i for i in full[::-1].tolist() if _looks_like_record(match, rows[first + i])), -1)
    return filled[filled <= last_full].tolist()


def _take(column: Sequence, picked: list[int]) -> list:
    """``column``'s cells at ``picked`` (sorted, distinct offsets)."""
    if len(picked) == len(column):
        return column
    return [column[i] for i in picked]


def _title_lines(match: HeaderMatch) -> list[str]:
    """The texts of the rows above the header: each cell's, then each row's cells side by side,
    a date cell written day first (``Tính đến ngày`` next to a date cell, as in the register
    template of ``ocop template``, reads as ``Tính đến ngày 31/12/2025``)."""
    lines = []
    for row in match.sheet.rows[: match.header_rows[0]]:
        texts = []
        for v in row:
            t = cell_text(v)
            if t:
                lines.append(t)
                texts.append(v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else t)
        if len(texts) > 1:
            lines.append(" ".join(texts))
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


def _distinct(columns: list[list]):
    """The distinct texts of ``columns``, row after row, in order of appearance."""
    seen: set[str] = set()
    for row in zip(*columns):
        for t in row:
            if t is not None and t not in seen:
                seen.add(t)
                yield t


def _convert_legacy(cols: dict[str, list], sheet_encoding: str | None, n: int) -> tuple[list, list]:
    """Convert TCVN3/VNI text in ``cols`` (in place) to Unicode; returns, per row, the legacy
    encoding found and whether some text could not be converted.

    When the sheet as a whole was typed in a legacy font (decided over all its cells), every
    text is read in that font; otherwise each distinct text is checked on its own (a few rows
    pasted from an old document), after a sample of the file shows any sign of one."""
    encoding: list[str | None] = [None] * n
    failed = [False] * n
    texts = [cols[c] for c in _TEXT_FIELDS]
    if sheet_encoding:
        results = {t: legacy.convert_as(t, sheet_encoding) for t in _distinct(texts)}
    else:
        distinct = _distinct(texts)
        sample = list(islice(distinct, _LEGACY_SAMPLE + 1))
        if len(sample) > _LEGACY_SAMPLE and not any(legacy.detect(t) for t in sample[:_LEGACY_SAMPLE]):
            return encoding, failed
        results = {t: legacy.convert(t) for t in chain(sample, distinct)}  # the walk goes on where the sample stopped
    suspicious = {t: r for t, r in results.items() if r.encoding or not r.ok}
    if not suspicious:
        return encoding, failed
    for c in _TEXT_FIELDS:
        col = cols[c] = list(cols[c])
        for i, t in enumerate(col):
            r = suspicious.get(t) if t is not None else None
            if r is None:
                continue
            col[i] = nfc(r.text)  # NFC, single spaces, as every other text
            encoding[i] = encoding[i] or r.encoding
            failed[i] = failed[i] or not r.ok
    return encoding, failed


def _all_none(column: Sequence) -> bool:
    """Every cell is None (``list.count`` is quick on Nones, not on other values: so only when
    the first cell is one)."""
    return not column or (column[0] is None and column.count(None) == len(column))


def _per_value(column: Sequence, fn, blank: object = None) -> list:
    """``fn`` of every cell, computed once per distinct value; a None cell gives ``blank``."""
    if _all_none(column):  # a column the file does not have
        return [blank] * len(column)
    if (codes := getattr(column, "codes", None)) is not None:  # few distinct texts (ocop.ingest.columns.Texts)
        return spread([fn(t) if t is not None else blank for t in column.table], codes)
    done = {v: fn(v) for v in set(column) if v is not None}
    done[None] = blank
    return list(map(done.__getitem__, column))


def _nones(column: list) -> list[int]:
    """The offsets of the None cells of ``column`` (C-level searches: registers have few)."""
    if _all_none(column):
        return list(range(len(column)))
    found, i = [], -1
    try:
        while True:
            i = column.index(None, i + 1)
            found.append(i)
    except ValueError:
        return found


def _filled(column: list, fill) -> list:
    """``column`` (a list of its own), each None cell replaced by ``fill(offset)``."""
    for i in _nones(column):
        column[i] = fill(i)
    return column


# The legal form ("Hợp tác xã", "Công ty TNHH", "Hộ kinh doanh") is at the front of an owner's
# name: its first characters decide the owner type, and thousands of owners share them.
_FORM_HEAD = 20
_UNDECIDED = object()


def _owner_types(owners: list[str | None]) -> list[str | None]:
    """``values.infer_owner_type`` of each owner, looked at once per distinct name head. A head
    decides when it is the whole name, or when its folded text is longer than any legal form
    plus the character after it (every form folds to 14 characters or fewer)."""
    heads = [o[:_FORM_HEAD] if o is not None else None for o in owners]

    def of_head(h: str):
        if len(h) < _FORM_HEAD or len(fold(h)) > 16:
            return values.infer_owner_type(h)
        return _UNDECIDED

    by_head = _per_value(heads, of_head)
    return [t if t is not _UNDECIDED else values.infer_owner_type(o) for t, o in zip(by_head, owners)]


def _frame_column(values_: Sequence) -> Sequence:
    """Numbers, flags and nullable integers as they come; texts as Python objects (dtype=object:
    pandas 3 would otherwise convert each text column to Arrow strings)."""
    if isinstance(values_, pd.api.extensions.ExtensionArray) or (
            isinstance(values_, np.ndarray) and values_.dtype != object):
        return values_
    return pd.Series(values_, dtype=object)


def _province_code(text: str) -> str | None:
    m = resolve_province(text)
    return m.code_2025 if isinstance(m, ProvinceMatch) else None


def _iso(d: object) -> str | None:
    return d.isoformat() if isinstance(d, dt.date) else None


def _parse_values(col: dict[str, list], raw_objects: dict[str, list[object]]) -> dict[str, list]:
    """The parsed columns of the contract, from the text columns ``col``. Plain lists and one
    computation per distinct value: registers repeat their ratings, groups, dates and
    decisions a great deal."""
    flags = _per_value(col["potential5_raw"], values.parse_potential_flag)
    rating = _per_value(col["rating_raw"], values.parse_rating)
    if any(flags):
        rating = ["potential-5" if r == "4" and f else r for r, f in zip(rating, flags)]
    decisions = _per_value(col["decision_no_raw"], values.parse_decision)
    decision_no = [t[0] if t else None for t in decisions]
    # Dates: parse the original cell object (real date, serial number or text), else the date
    # written in the decision cell ("1234/QĐ-UBND ngày 12/5/2024").
    parsed = _per_value(raw_objects["decision_date_raw"], values.parse_date)
    parsed = _filled(parsed, lambda i: decisions[i][1] if decisions[i] else None)
    expiry = defaults = _per_value(parsed, values.default_expiry)
    expiry_raw = raw_objects["expiry_raw"]
    if not _all_none(expiry_raw) and any(v is not None and v != "" for v in expiry_raw):  # an expiry column
        expiry = [values.parse_expiry(v, d) if v not in (None, "") else None for v, d in zip(expiry_raw, parsed)]
        expiry = _filled(expiry, defaults.__getitem__)
    levels = _per_value(col["issuing_level_raw"], values.parse_issuing_level)
    levels = _filled(levels, lambda i: values.infer_issuing_level(rating[i], decision_no[i]))
    # Owner type: the column's, else inferred from the owner's name (for the rows without one).
    owner_type = _per_value(col["owner_type_raw"], values.parse_owner_type)
    owner_type_inferred = np.zeros(len(owner_type), dtype=bool)
    untyped = _nones(owner_type)
    owners = col["owner"]
    inferred = _owner_types(owners if len(untyped) == len(owners) else [owners[i] for i in untyped])
    for i, t in zip(untyped, inferred):
        if t is not None:
            owner_type[i] = t
            owner_type_inferred[i] = True
    codes = _per_value(col["province_raw"], _province_code)
    status = _per_value(col["status_raw"], values.parse_status, blank="valid")
    return {
        "rating_class": rating,
        # (through float64, exact for group codes: a third of the time of converting the list)
        "group_code": pd.array(np.array(_per_value(col["group_raw"], resolve_group), dtype="float64"), dtype="Int64"),
        "decision_no": decision_no,
        "decision_date": _per_value(parsed, _iso),
        "expiry_date": _per_value(expiry, _iso),
        "issuing_level": levels,
        "status": status,
        "owner_type_inferred": owner_type_inferred,
        "owner_type": owner_type,
        "row_province_code": codes,
        "row_province_unresolved": np.array([r is not None and c is None for r, c in zip(col["province_raw"], codes)],
                                            dtype=bool),
    }


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
    with cyclic_gc_paused():
        return _parse_file(path, province_code=province_code, file_name=file_name, sha256=sha256,
                           submission_id=submission_id, arrived_at=arrived_at, limits=limits)


@contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector for the block. Reading a large sheet allocates a
    list per row; each full collection then walks every row and touches each of the million-odd
    cells to see whether it is a container, and such collections come again and again while the
    sheet is processed (measured: a third of the parse of a 100k-row workbook). Parsing creates
    no reference cycles; reference counting frees everything as usual, and any cycle left (an
    exception's traceback) is collected once the collector is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_file(path: Path, *, province_code: str, file_name: str, sha256: str, submission_id: str,
                arrived_at: dt.datetime, limits: Limits | None) -> ParsedSubmission:
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
    cells = _columns(below, width)
    texts = [column_texts(col, cell_text) for col in cells]
    plain = [getattr(t, "plain", False) for t in texts]
    arrays = {c: a for c in match.labels if (a := text_array(texts[c])) is not None}
    picked = _data_rows(match, texts, len(below), arrays)
    if not picked:
        raise FileRejected("F_EMPTY", "the table has a header but no data rows")
    texts = [_take(col, picked) for col in texts]
    if len(picked) != len(below):
        arrays = {c: a.take(pa.array(picked)) for c, a in arrays.items()}
    none = [None] * len(picked)

    def column(c: int | None, table: list) -> list:
        return table[c] if c is not None else none

    raw_objects = {f: _take(cells[c], picked) if (c := match.fields.get(f)) is not None else none
                   for f in ("decision_date_raw", "expiry_raw")}
    columns = {f: column(match.fields.get(f), texts) for f in RAW_FIELDS}
    # Address split over commune / district columns: joined into the address field.
    for part in ("commune", "district"):
        c = match.fields.get(part)
        if c is not None and "address" not in match.fields:
            columns["address"] = [", ".join(p for p in (a, b) if p) or None
                                  for a, b in zip(columns["address"], column(c, texts))]

    n = len(picked)
    # The raw-record JSON is built by Arrow kernels, which release the GIL: on a second core,
    # while the values are parsed here. (It reads the text columns, which nothing changes.)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rawjson") as pool:
        raw_json = pool.submit(_raw_json, match.labels, [arrays.get(c, t) for c, t in enumerate(texts)], n, plain)
        encoding, failed = _convert_legacy(columns, match.legacy_header, n)
        converted = any(encoding)
        for f in _NAME_FIELDS:  # one spelling of tone marks (hoà/hòa), after legacy conversion
            c = match.fields.get(f)
            same = not converted and c is not None and columns[f] is texts[c]  # as in arrays[c]
            columns[f] = unify_tones(columns[f], arrays.get(c) if same else None)
        parsed = _parse_values(columns, raw_objects)
        data = {
            "row_id": np.arange(n, dtype=np.int64),
            "sheet": [match.sheet.name] * n,
            "excel_row": np.asarray(picked, dtype=np.int64) + (first + 1),
            **{f: columns[f] for f in RAW_FIELDS},
            "raw_json": raw_json.result(),
            "legacy_encoding": encoding,
            "legacy_failed": np.array(failed, dtype=bool),
            **parsed,
        }
    frame = pd.DataFrame({k: _frame_column(v) for k, v in data.items()}, copy=False)

    used = set(match.fields.values())
    encodings = [e for e in encoding if e]
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
        legacy_encoding=match.legacy_header or (encodings[0] if encodings else None),
        unknown_columns=[label for c, label in match.labels.items() if c not in used],
        header_labels={column_letter(c): label for c, label in sorted(match.labels.items())},
    )
