"""Find the header row of a register and map its columns to canonical fields.

Registers carry a title block above the header (merged cells), sometimes a header split over two
rows under a merged group cell (``Quyết định công nhận`` over ``Số`` / ``Ngày``), empty columns,
and a total row plus notes and signatures under the table. The header is the row, among the
first rows of a sheet, whose cells match the most aliases of ``ocop.reference.headers``; the
first sheet that has one with every required field wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ocop.ingest import legacy
from ocop.ingest.readers import Sheet, column_letter
from ocop.reference.headers import GROUP_HEADERS, REQUIRED_FIELDS, header_key, match_header
from ocop.text import fold

SCAN_ROWS = 40  # the header is within the first rows of a sheet
_TOTAL_MARKERS = {"tong cong", "cong", "tong", "tong so", "tong cong toan tinh", "total"}
_GROUPS = {header_key(k): {header_key(s): f for s, f in subs.items()} for k, subs in GROUP_HEADERS.items()}


@dataclass
class HeaderMatch:
    sheet: Sheet
    header_rows: list[int]                 # 0-based grid rows holding the header (1 or 2)
    fields: dict[str, int]                 # canonical field -> 0-based column
    labels: dict[int, str]                 # every non-empty header column -> its header text
    legacy_header: str | None = None       # the sheet was typed in this legacy font (tcvn3/vni)
    missing: list[str] = field(default_factory=list)

    @property
    def first_data_row(self) -> int:
        return self.header_rows[-1] + 1

    def letters(self) -> dict[str, str]:
        return {f: column_letter(c) for f, c in self.fields.items()}


def sheet_encoding(rows: list[list[object]], sample_rows: int = 200) -> str | None:
    """The legacy font (TCVN3/VNI) the sheet was typed in, if any, decided over many cells."""
    texts = {v for row in rows[:sample_rows] for v in row if isinstance(v, str) and not v.isascii()}
    return legacy.dominant_encoding(texts)


def header_text(value: object, encoding: str | None) -> str | None:
    """A header cell as Unicode text (converted from the sheet's legacy font when it has one)."""
    if value is None or value == "":
        return None
    text = str(value)
    return legacy.convert_as(text, encoding).text if encoding else text


def _cell_field(text: str | None) -> str | None:
    return match_header(text) if text else None


def _group_subfield(top: str | None, below: str | None) -> str | None:
    if top is None or below is None:
        return None
    subs = _GROUPS.get(header_key(top))
    return subs.get(header_key(below)) if subs else None


def _spans_group(row: list[str | None], below: list[str | None], c: int) -> bool:
    """The top cell of column ``c`` is a group title merged over the next column too: that
    column is blank on top and holds a sub-header below."""
    nxt = c + 1
    return (nxt >= len(row) or row[nxt] is None) and nxt < len(below) and below[nxt] is not None


def _match_row(rows: list[list[object]], r: int, encoding: str | None) -> HeaderMatch | None:
    row = [header_text(v, encoding) for v in rows[r]]
    fields: dict[str, int] = {}
    labels: dict[int, str] = {}
    for c, text in enumerate(row):
        if text is None:
            continue
        labels[c] = text
        f = _cell_field(text)
        if f and f not in fields:
            fields[f] = c
    header_rows = [r]
    # A second header row under merged group cells: "Quyết định công nhận" over "Số" / "Ngày".
    # Only under a row that is itself a header: a blank or title row above the header is not one.
    if fields and r + 1 < len(rows):
        below = [header_text(v, encoding) for v in rows[r + 1]]
        group_top = None
        group_fields: dict[str, tuple[int, str]] = {}
        other_fields: dict[str, tuple[int, str]] = {}
        group_cols: set[int] = set()  # columns whose top cell is a merged group title
        for c in range(max(len(row), len(below))):
            top = row[c] if c < len(row) else None
            group_top = top if top is not None else group_top
            low = below[c] if c < len(below) else None
            sub = _group_subfield(group_top, low)
            if sub is not None:
                label = f"{group_top} / {low}" if group_top and group_top != low else low
                group_fields.setdefault(sub, (c, label))
                group_cols.add(c)
            elif low is not None and (f := _cell_field(low)) and (top is None or _spans_group(row, below, c)):
                # A header cell that only the second row holds, or the first sub-header under a
                # merged group title that is a field name itself ("Địa chỉ" over "Xã" / "Huyện").
                other_fields.setdefault(f, (c, f"{group_top} / {low}" if top is not None else low))
                if top is not None:
                    group_cols.add(c)
        # A group title names the group, not a column: its own match ("Quyết định công nhận" is
        # also the single-cell decision-number header, "Địa chỉ" the address) gives way to the
        # sub-headers, which may come in any order ("Ngày" / "Số").
        for f, c in list(fields.items()):
            if c in group_cols:
                del fields[f]
        sub_hits = 0
        for f, (c, label) in [*group_fields.items(), *other_fields.items()]:
            if f not in fields:
                fields[f] = c
                labels[c] = label
                sub_hits += 1
        if sub_hits:
            header_rows.append(r + 1)
    if not fields:
        return None
    return HeaderMatch(sheet=Sheet("", []), header_rows=header_rows, fields=fields, labels=labels,
                       legacy_header=encoding)


def _required_missing(fields: dict[str, int]) -> list[str]:
    # The decision date may live in the number cell ("1234/QĐ-UBND ngày 12/5/2024").
    return [f for f in REQUIRED_FIELDS if f not in fields and not (f == "decision_date_raw" and "decision_no_raw" in fields)]


def _rank(m: HeaderMatch) -> tuple[int, int, int]:
    """Better headers first: fewer required fields missing, then more fields, then the
    lower row (a lone header word above the real header must not win a tie)."""
    return (-len(m.missing), len(m.fields), m.header_rows[0])


def find_header(sheets: list[Sheet]) -> HeaderMatch | None:
    """The best header of the first sheet that has all required fields, else the best overall
    (with ``missing`` filled in so the caller can report which fields were not found)."""
    best: HeaderMatch | None = None
    for sheet in sheets:
        sheet_best: HeaderMatch | None = None
        encoding = sheet_encoding(sheet.rows)
        for r in range(min(SCAN_ROWS, len(sheet.rows))):
            m = _match_row(sheet.rows, r, encoding)
            if m is None:
                continue
            m.sheet, m.missing = sheet, _required_missing(m.fields)
            if sheet_best is None or _rank(m) > _rank(sheet_best):
                sheet_best = m
        if sheet_best is None:
            continue
        if not sheet_best.missing:
            return sheet_best
        if best is None or _rank(sheet_best) > _rank(best):
            best = sheet_best
    return best


def is_total_row(row: list[object]) -> bool:
    """``Tổng cộng`` / ``Cộng`` / ``Tổng`` in one of the first cells marks the end of the table."""
    seen = 0
    for value in row:
        if value in (None, ""):
            continue
        key = fold(value)
        if key in _TOTAL_MARKERS or key.startswith("tong cong"):
            return True
        seen += 1
        if seen >= 3:
            break
    return False
