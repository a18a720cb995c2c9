"""Spreadsheet and CSV readers: a file becomes a list of sheets, each a grid of cell values.

Row ``i`` of a grid is spreadsheet row ``i + 1`` as the office sees it (empty leading rows are
kept), column ``j`` is column letter ``column_letter(j)``. Hidden rows and columns are data.

Excel formats and ODS go through python-calamine (fast, Rust); openpyxl is the fallback for an
``.xlsx``/``.xlsm`` that calamine refuses. CSV is decoded as UTF-8 (with or without BOM), else
Windows-1258, and normalised to NFC. Every failure becomes :class:`FileRejected` with a rule
code and a message a province can act on, never a bare exception.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ocop.config import Limits

EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_EXTENSIONS = {".csv", ".txt"}
SUPPORTED_EXTENSIONS = EXCEL_EXTENSIONS | CSV_EXTENSIONS
_ZIP_BASED = {".xlsx", ".xlsm", ".xlsb", ".ods"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"), b"EncryptionInfo")


class FileRejected(Exception):
    """The whole file cannot be used. ``rule`` is a file-level rule code (F_...)."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def read_file(path: Path, limits: Limits | None = None, name: str | None = None) -> list[Sheet]:
    """Read every sheet of a spreadsheet or CSV file, enforcing the file-level limits.

    ``name`` is the file's name as sent (the landed copy is named by its sha256): a CSV's one
    sheet is named after it."""
    limits = limits or Limits()
    path = Path(path)
    ext = path.suffix.lower()
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("F_EMPTY", "the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise FileRejected("F_TOO_LARGE", f"{size} bytes, over the limit of {limits.max_bytes}")
    if ext not in SUPPORTED_EXTENSIONS:
        raise FileRejected("F_UNREADABLE", f"unsupported file type '{ext or '(none)'}'")
    with path.open("rb") as fh:
        head = fh.read(2048)
    if ext in CSV_EXTENSIONS:
        sheets, may_hold_nul = [_read_csv(path, name)], True
    else:
        scan = _check_container(path, ext, head, limits)
        # The archive's integrity scan (every member read to its end, CRCs checked) runs in a
        # thread while calamine, which releases the GIL, parses the workbook: a corrupt member
        # rejects the file whatever calamine made of it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zipscan") as pool:
            scanned = pool.submit(scan) if scan else None
            try:
                sheets = _read_excel(path, ext, by_content=ext == ".xls" and head.startswith(b"PK"))
            except FileRejected:
                if scanned:
                    scanned.result()  # its own rejection (a corrupt member) comes first
                raise
            may_hold_nul = scanned.result() if scanned else True
    for sheet in sheets:
        _check_shape(sheet, limits)
        if may_hold_nul:
            _drop_nul(sheet)
    return sheets


def _drop_nul(sheet: Sheet) -> None:
    """NUL characters (a CSV cell, an ``_x0000_`` escape in an .xlsx) mean nothing in a cell and
    PostgreSQL cannot store them in text: they are removed."""
    if "\x00" not in "".join([v for row in sheet.rows for v in row if type(v) is str]):
        return  # the common case, found without a Python call per cell
    for i, row in enumerate(sheet.rows):
        if any(type(v) is str and "\x00" in v for v in row):
            sheet.rows[i] = [v.replace("\x00", "") if type(v) is str else v for v in row]


def _check_container(path: Path, ext: str, head: bytes, limits: Limits) -> Callable[[], bool] | None:
    """Catch encrypted, disguised and zip-bomb files before a parser sees them. Returns, for a
    zip-based workbook, the deeper scan to run: it raises :class:`FileRejected` for a damaged
    archive and tells whether a cell may hold a NUL character (False only for an OOXML workbook
    whose XML has none). None: no scan, and any cell may hold one."""
    if head.startswith(_OLE_MAGIC):
        # An encrypted OOXML workbook is an OLE container holding an EncryptedPackage stream
        # (whatever its name says: such files are often renamed .xls).
        with path.open("rb") as fh:
            blob = fh.read(1 << 20)
        if any(marker in blob for marker in _ENCRYPTION_MARKERS):
            raise FileRejected("F_ENCRYPTED", "the workbook is password-protected (encrypted)")
        if ext != ".xls":
            raise FileRejected("F_UNREADABLE", f"an old binary (OLE) file named '{ext}'")
        return None
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<")):
        raise FileRejected("F_UNREADABLE", "the file is a web page (HTML/XML) with a spreadsheet name")
    if ext in _ZIP_BASED or (ext == ".xls" and head.startswith(b"PK")):  # an .xlsx saved as .xls too
        with _zip_errors(ext), zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
        if total > limits.max_uncompressed_bytes:
            raise FileRejected(
                "F_TOO_LARGE",
                f"uncompressed size {total} bytes is over the limit of {limits.max_uncompressed_bytes}",
            )
        if total >= 64 * 1024 * 1024:
            return None
        return lambda: _scan_archive(path, ext)
    if ext == ".xls":
        raise FileRejected("F_UNREADABLE", "not an Excel workbook (a text file named .xls)")
    return None


@contextmanager
def _zip_errors(ext: str):
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        raise FileRejected("F_UNREADABLE", f"the file is damaged (not a valid {ext} archive: {exc})") from exc


_NUL_MARKS = (b"\x00", b"_x0000_")  # a raw NUL, or the OOXML escape calamine turns into one
_NUL_REF = re.compile(rb"&#(?:[xX]0*|0+);")  # a character reference to NUL


def _holds_nul(window: bytes) -> bool:
    return any(mark in window for mark in _NUL_MARKS) or (b"&#" in window and _NUL_REF.search(window) is not None)


def _scan_archive(path: Path, ext: str) -> bool:
    """Read every member to its end, as ``ZipFile.testzip`` does (a CRC mismatch raises there):
    raises :class:`FileRejected` for a corrupt member, else tells whether a cell may hold a NUL
    (an XML member holds one or its escape; a binary .bin member, as in xlsb or VBA, may; an
    ODS may)."""
    nul = ext == ".ods"
    with _zip_errors(ext), zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.lower()
            nul = nul or name.endswith(".bin")
            try:
                with zf.open(info) as fh:
                    tail = b""
                    while chunk := fh.read(1 << 20):
                        if not nul and name.endswith(".xml"):
                            nul = _holds_nul(tail + chunk)
                            tail = chunk[-16:]
            except zipfile.BadZipFile:
                raise FileRejected("F_UNREADABLE", f"the file is damaged (corrupt member {info.filename})") from None
    return nul


def _check_shape(sheet: Sheet, limits: Limits) -> None:
    if len(sheet.rows) > limits.max_rows:
        raise FileRejected("F_TOO_LARGE", f"sheet '{sheet.name}' has {len(sheet.rows)} rows, over the limit of {limits.max_rows}")
    width = max((len(r) for r in sheet.rows), default=0)
    if width > limits.max_columns:
        raise FileRejected("F_TOO_LARGE", f"sheet '{sheet.name}' has {width} columns, over the limit of {limits.max_columns}")


def _read_excel(path: Path, ext: str, by_content: bool = False) -> list[Sheet]:
    """``by_content``: calamine chooses its reader from the extension; an .xlsx named .xls is
    opened from its bytes instead, so that calamine recognises the format by content."""
    import python_calamine as pc

    try:
        opened = (pc.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())) if by_content
                  else pc.CalamineWorkbook.from_path(str(path)))
        with opened as wb:
            return [Sheet(name, wb.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in wb.sheet_names]
    except pc.PasswordError as exc:
        raise FileRejected("F_ENCRYPTED", "the workbook is password-protected") from exc
    except Exception as exc:  # calamine raises several error types; try openpyxl where it can
        if ext in {".xlsx", ".xlsm"}:
            return _read_openpyxl(path, exc)
        message = str(exc).lower()
        if "password" in message or "encrypt" in message:
            raise FileRejected("F_ENCRYPTED", "the workbook is password-protected") from exc
        raise FileRejected("F_UNREADABLE", f"the workbook cannot be read ({type(exc).__name__}: {exc})") from exc


def _read_openpyxl(path: Path, first_error: Exception) -> list[Sheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise FileRejected("F_UNREADABLE", f"the workbook cannot be read ({first_error}; {exc})") from exc
    try:
        return [Sheet(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]
    finally:
        wb.close()


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else Windows-1258; NFC either way (cp1258 text is decomposed)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text)


def _read_csv(path: Path, name: str | None = None) -> Sheet:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("F_UNREADABLE", "binary content in a .csv file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = unicodedata.normalize("NFC", data.decode("utf-16", errors="replace"))  # odd length: U+FFFD
    else:
        text = decode_text(data)
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), _dialect(text[:8192]))]
    return Sheet(Path(name).stem if name else path.stem, rows)


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """The delimiter (``,`` ``;`` or tab). The sniffer is given ``\n`` line ends (it fails on
    Excel's CRLF); failing that, the delimiter most used on the first lines wins."""
    lines = sample.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return csv.Sniffer().sniff(lines, delimiters=",;\t")
    except csv.Error:
        head = lines.split("\n")[:20]
        best = max(",;\t", key=lambda d: sum(line.count(d) for line in head))
        return type("Sniffed", (csv.excel,), {"delimiter": best})
