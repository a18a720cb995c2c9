"""Layout helpers: a register table (title block, header, data rows, total, notes) -> a sheet,
with the expected records numbered by the spreadsheet rows they land on."""

from __future__ import annotations

from dataclasses import dataclass, field

from corpus.writers import Book, Sheet
from ocop.ingest.legacy import from_unicode

EXPECTED_FIELDS = (
    "excel_row", "product_name", "owner", "rating_class", "group_code", "decision_no", "decision_date",
    "row_province_code", "owner_type",
)


@dataclass
class Item:
    """One data row: its cells (column key -> value as written) and what it must parse to."""

    cells: dict[str, object]
    expect: tuple  # product_name, owner, rating_class, group_code, decision_no, decision_date, row_province_code, owner_type


def item(cells: dict[str, object], *expect) -> Item:
    assert len(expect) == 8, expect
    return Item(cells, expect)


@dataclass
class Case:
    id: str
    fmt: str                      # corpus.writers.write_book format
    file_name: str
    book: Book
    records: list[dict]           # expected records, EXPECTED_FIELDS each
    snapshot: tuple[str, str]     # (snapshot_date, snapshot_date_source)
    header_rows: list[int]
    sheet: str
    province_code: str = "08"
    extra: dict[str, list] = field(default_factory=dict)  # more record columns to compare exactly
    raw_json: dict[int, dict] = field(default_factory=dict)  # row_id -> items raw_json must hold
    unknown_columns: list[str] | None = None
    known_gap: str | None = None  # a known limitation outside the parser this case shows (xfail)


@dataclass
class Table:
    """A register laid out on one sheet, top to bottom."""

    columns: list[tuple[str, str | None]]            # (key, header text); key None-able for empties
    items: list[Item]
    title: list[list[object]] = field(default_factory=list)     # rows above the header
    title_merges: list[str] = field(default_factory=list)
    header2: list[object] | None = None              # a second header row (sub-headers)
    header_merges: list[str] = field(default_factory=list)
    between: dict[int, list[list[object]]] = field(default_factory=dict)  # rows before item i
    footer: list[list[object]] = field(default_factory=list)   # total row, notes, signatures
    footer_merges: list[str] = field(default_factory=list)     # relative to the first footer row ("A{0}:B{0}")
    hidden_items: set[int] = field(default_factory=set)        # item indexes whose row is hidden
    hidden_cols: set[str] = field(default_factory=set)
    legacy: str | None = None                                   # write every text in this legacy font

    def render(self, name: str) -> tuple[Sheet, list[dict], list[int]]:
        rows: list[list[object]] = [list(r) for r in self.title]
        header = [label for _, label in self.columns]
        rows.append(header)
        header_rows = [len(rows)]
        if self.header2 is not None:
            rows.append(list(self.header2))
            header_rows.append(len(rows))
        records, hidden = [], set()
        for i, it in enumerate(self.items):
            rows.extend(list(r) for r in self.between.get(i, []))
            rows.append([it.cells.get(key) if key else None for key, _ in self.columns])
            excel_row = len(rows)
            if i in self.hidden_items:
                hidden.add(excel_row)
            records.append(dict(zip(EXPECTED_FIELDS, (excel_row, *it.expect))))
        footer_start = len(rows) + 1
        rows.extend(list(r) for r in self.footer)
        merges = self.title_merges + self.header_merges + [m.format(footer_start) for m in self.footer_merges]
        if self.legacy:
            rows = [[from_unicode(v, self.legacy) if isinstance(v, str) else v for v in r] for r in rows]
        return Sheet(name, rows, merges, hidden, set(self.hidden_cols)), records, header_rows


def one_table_case(id: str, fmt: str, file_name: str, table: Table, snapshot: tuple[str, str], *,
                   sheet: str = "Danh sách", before: list[Sheet] = (), after: list[Sheet] = (),
                   **kw) -> Case:
    data_sheet, records, header_rows = table.render(sheet)
    book = Book([*before, data_sheet, *after])
    return Case(id=id, fmt=fmt, file_name=file_name, book=book, records=records, snapshot=snapshot,
                header_rows=header_rows, sheet=sheet, **kw)
