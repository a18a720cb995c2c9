"""Write a workbook model in every format provinces send: xlsx, xlsm, xls (BIFF8), ods, csv.

A :class:`Book` is a list of :class:`Sheet` grids (row ``i`` of ``rows`` is spreadsheet row
``i + 1``) with merged ranges and hidden rows/columns. Cell values: ``str`` (``\\n`` is a line
break inside the cell), ``int``/``float`` (numbers, so Excel serial dates too), ``bool``,
``datetime.date``/``datetime.datetime`` (a real date cell) and ``None`` (blank).

- ``.xlsx``/``.xlsm``: openpyxl; ``.xlsm`` gets the macro-enabled workbook content type.
- ``.xls``: a real BIFF8 workbook written by xlwt (dates as date-formatted numbers).
- ``.ods``: a real OpenDocument spreadsheet written by hand (``mimetype`` first and stored,
  manifest, ``content.xml`` with typed cells, spanned and covered cells, collapsed rows/columns).
- ``.csv``: first sheet only, every row padded to the table width as Excel exports it; UTF-8, UTF-8 with BOM or Windows-1258 (tones as combining marks),
  any delimiter; real dates are written as Excel exports them in Vietnam, ``dd/mm/yyyy``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]
    merges: list[str] = field(default_factory=list)       # "A1:H1"
    hidden_rows: set[int] = field(default_factory=set)    # 1-based row numbers
    hidden_cols: set[str] = field(default_factory=set)    # column letters


@dataclass
class Book:
    sheets: list[Sheet]


# --- xlsx / xlsm -----------------------------------------------------------------------------

_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def write_xlsx(book: Book, path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet in book.sheets:
        ws = wb.create_sheet(sheet.name)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, (dt.date, dt.datetime)):
                    cell.number_format = "dd/mm/yyyy"
        for rng in sheet.merges:
            ws.merge_cells(rng)
        for r in sheet.hidden_rows:
            ws.row_dimensions[r].hidden = True
        for letter in sheet.hidden_cols:
            ws.column_dimensions[letter].hidden = True
    wb.save(path)
    if path.suffix.lower() == ".xlsm":
        _set_content_type(path, _XLSX_MAIN, _XLSM_MAIN)
    return path


def _set_content_type(path: Path, old: str, new: str) -> None:
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            if info.filename == "[Content_Types].xml":
                data = data.replace(old.encode(), new.encode())
            zf.writestr(info, data)


# --- xls (BIFF8) -----------------------------------------------------------------------------


def write_xls(book: Book, path: Path) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    wrap_style = xlwt.easyxf("align: wrap on")
    for sheet in book.sheets:
        ws = wb.add_sheet(sheet.name, cell_overwrite_ok=True)
        merged_away = set()
        for rng in sheet.merges:
            c1, r1, c2, r2 = range_boundaries(rng)
            merged_away |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - {(r1, c1)}
            value = sheet.rows[r1 - 1][c1 - 1] if c1 - 1 < len(sheet.rows[r1 - 1]) else None
            ws.write_merge(r1 - 1, r2 - 1, c1 - 1, c2 - 1, value)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if value is None or (r + 1, c + 1) in merged_away:
                    continue
                if any(_in_range(rng, r + 1, c + 1, top_left=True) for rng in sheet.merges):
                    continue  # written by write_merge
                if isinstance(value, (dt.date, dt.datetime)):
                    ws.write(r, c, value, date_style)
                elif isinstance(value, str) and "\n" in value:
                    ws.write(r, c, value, wrap_style)
                else:
                    ws.write(r, c, value)
        for r in sheet.hidden_rows:
            ws.row(r - 1).hidden = True
        for letter in sheet.hidden_cols:
            ws.col(_col_index(letter)).hidden = True
    wb.save(str(path))
    return path


def _in_range(rng: str, r: int, c: int, top_left: bool = False) -> bool:
    c1, r1, c2, r2 = range_boundaries(rng)
    if top_left:
        return (r, c) == (r1, c1)
    return r1 <= r <= r2 and c1 <= c <= c2


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


# --- ods -------------------------------------------------------------------------------------

_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'office:version="1.2"'
)
_ODS_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{_ODS_MIME}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
_ODS_STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles {_ODS_NS}><office:styles/></office:document-styles>
"""


def _ods_cell(value: object, span: tuple[int, int] | None) -> str:
    attrs = ""
    if span:
        attrs += f' table:number-rows-spanned="{span[0]}" table:number-columns-spanned="{span[1]}"'
    if value is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(value, bool):
        attrs += f' office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
        shown = "TRUE" if value else "FALSE"
    elif isinstance(value, (dt.date, dt.datetime)):
        d = value.date() if isinstance(value, dt.datetime) else value
        attrs += f' office:value-type="date" office:date-value="{d.isoformat()}" table:style-name="ceDate"'
        shown = d.strftime("%d/%m/%Y")
    elif isinstance(value, (int, float)):
        attrs += f' office:value-type="float" office:value="{value}"'
        shown = str(value)
    else:
        attrs += ' office:value-type="string"'
        shown = str(value)
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in shown.split("\n"))
    return f"<table:table-cell{attrs}>{paragraphs}</table:table-cell>"


def write_ods(book: Book, path: Path) -> Path:
    tables = []
    for sheet in book.sheets:
        width = max((len(r) for r in sheet.rows), default=1)
        spans: dict[tuple[int, int], tuple[int, int]] = {}
        covered: set[tuple[int, int]] = set()
        for rng in sheet.merges:
            c1, r1, c2, r2 = range_boundaries(rng)
            width = max(width, c2)
            spans[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1)
            covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - {(r1, c1)}
        cols = "".join(
            '<table:table-column table:visibility="collapse"/>' if get_column_letter(c) in sheet.hidden_cols
            else "<table:table-column/>"
            for c in range(1, width + 1)
        )
        rows = []
        for r, row in enumerate(sheet.rows, start=1):
            cells = []
            for c in range(1, width + 1):
                if (r, c) in covered:
                    cells.append("<table:covered-table-cell/>")
                else:
                    value = row[c - 1] if c - 1 < len(row) else None
                    cells.append(_ods_cell(value, spans.get((r, c))))
            vis = ' table:visibility="collapse"' if r in sheet.hidden_rows else ""
            rows.append(f"<table:table-row{vis}>{''.join(cells)}</table:table-row>")
        tables.append(f'<table:table table:name="{escape(sheet.name)}">{cols}{"".join(rows)}</table:table>')
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NS}>'
        '<office:automatic-styles>'
        '<number:date-style style:name="N37"><number:day number:style="long"/><number:text>/</number:text>'
        '<number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/>'
        '</number:date-style>'
        '<style:style style:name="ceDate" style:family="table-cell" style:data-style-name="N37"/>'
        '</office:automatic-styles>'
        f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body>'
        '</office:document-content>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIME, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        zf.writestr("styles.xml", _ODS_STYLES)
        zf.writestr("content.xml", content)
    return path


# --- csv -------------------------------------------------------------------------------------

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Windows-1258 keeps base letters precomposed (â, ơ, ư, đ) and tones as combining marks."""
    out = []
    for ch in text:
        d = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
        out.append(base + "".join(c for c in d if c in _TONES))
    return "".join(out).encode("cp1258")


def csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # as Excel exports it
    return str(value)


def write_csv(book: Book, path: Path, encoding: str = "utf-8", delimiter: str = ",", lineterminator: str = "\r\n") -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    rows = book.sheets[0].rows
    width = max((len(r) for r in rows), default=0)
    for row in rows:  # Excel pads every row to the width of the used range
        writer.writerow([csv_text(v) for v in row] + [""] * (width - len(row)))
    text = buf.getvalue()
    if encoding == "cp1258":
        data = to_cp1258(text)
    elif encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    else:
        data = text.encode(encoding)
    path.write_bytes(data)
    return path


# --- dispatch --------------------------------------------------------------------------------

def write_book(book: Book, path: Path, fmt: str) -> Path:
    """``fmt``: ``xlsx``, ``xlsm``, ``xls``, ``ods`` or ``csv[:encoding[:delimiter[:lf]]]`` (CSV lines
    end in CRLF as Excel writes them, or in LF with ``:lf``)."""
    ext, *opts = fmt.split(":")
    if ext in ("xlsx", "xlsm"):
        return write_xlsx(book, path)
    if ext == "xls":
        return write_xls(book, path)
    if ext == "ods":
        return write_ods(book, path)
    if ext == "csv":
        encoding, delimiter, newline = (opts + [None] * 3)[:3]
        return write_csv(book, path, encoding=encoding or "utf-8", delimiter=delimiter or ",",
                         lineterminator="\n" if newline == "lf" else "\r\n")
    raise ValueError(f"unknown corpus format {fmt!r}")
