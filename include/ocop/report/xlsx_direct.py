"""The report sheets written straight as SpreadsheetML (the ``direct`` writer of report.xlsx).

XlsxWriter spends about 10 µs of Python per cell (argument checks, its cell table, the shared
string table, an XML writer call per cell); a report is mostly plain text cells, 400k of them
on the national sample. This writer makes each row's XML with one f-string per cell, streamed
into the zip member in chunks, so memory stays flat on a 100k-row report. It writes what the
reports use and nothing else:

- text as shared strings (escaped as XlsxWriter escapes them: ``& < >``, control characters
  as ``_xHHHH_``, a literal ``_xHHHH_`` with its underscore escaped; at most 32,767 UTF-16
  units, cut as XlsxWriter cuts them), numbers as XlsxWriter formats them (``%.16G``; NaN and
  infinity raise, as in XlsxWriter), booleans;
- one cell format per (fill, font, wrap) used: solid fills, bold / bold 14 pt, wrapped text
  aligned top;
- column widths (stored as XlsxWriter stores a width given in characters), frozen panes, the
  auto filter (with its ``_xlnm._FilterDatabase`` name, as Excel writes it);
- comments: ``commentsN.xml`` plus the legacy VML drawing Excel needs to show them; a comment
  longer than 32,767 UTF-16 units is not written (XlsxWriter's rule).

Read back with openpyxl, a report is cell for cell the same as XlsxWriter's
(``tests/test_report_writers.py``).
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from xlsxwriter.utility import _utf16_len, _utf16_truncate

STRMAX = 32767
_CHUNK_ROWS = 2000
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ESCAPE_THE_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_NEEDS_WORK = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_FONT = '<sz val="{size}"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'


def _cut(s: str) -> str:
    """At most 32,767 UTF-16 units, cut as XlsxWriter cuts."""
    return _utf16_truncate(s, STRMAX) if len(s) > STRMAX // 2 and _utf16_len(s) > STRMAX else s


def _text(s: str) -> str:
    """Cell or comment text as XlsxWriter writes it into XML (see the module docstring)."""
    if not _NEEDS_WORK.search(s):
        return s
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _ESCAPE_THE_ESCAPE.sub(r"_x005F\1", s)
    s = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", s)
    return s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def _number(value) -> str:
    if math.isnan(value) or math.isinf(value):
        raise TypeError("NAN/INF not supported in write_number()")  # what XlsxWriter raises
    return "%.16G" % value


def _letters(n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        s, k = "", i
        while k:
            k, r = divmod(k - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


def _cell_rc(ref: str) -> tuple[int, int]:
    """``"B2"`` -> (row 1, col 1), zero-based."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def _width(w: float) -> float:
    """A width in characters as XlsxWriter stores it (``set_column``: whole pixels of a
    7-pixel digit plus 5 pixels of padding, then back to 1/256ths of a character)."""
    pixels = int(w * 12 + 0.5) if w < 1 else int(w * 7 + 0.5) + 5
    return (pixels * 256 // 7) / 256.0


class _Styles:
    def __init__(self, fills: dict[str, str]):
        self.fill_colors = fills
        self.fill_ids: dict[str, int] = {}
        self.xfs: dict[tuple, int] = {(None, None, False): 0}

    def xf(self, fill, font, wrap) -> int:
        key = (fill, font, bool(wrap))
        if key not in self.xfs:
            if fill and fill not in self.fill_ids:
                self.fill_ids[fill] = 2 + len(self.fill_ids)
            self.xfs[key] = len(self.xfs)
        return self.xfs[key]

    def xml(self, bold: str, title: str) -> str:
        fonts = [f"<font>{_FONT.format(size=11)}</font>", f"<font><b/>{_FONT.format(size=11)}</font>",
                 f"<font><b/>{_FONT.format(size=14)}</font>"]
        font_id = {None: 0, bold: 1, title: 2}
        fills = ['<fill><patternFill patternType="none"/></fill>', '<fill><patternFill patternType="gray125"/></fill>']
        fills += [f'<fill><patternFill patternType="solid"><fgColor rgb="FF{self.fill_colors[k]}"/>'
                  f'<bgColor indexed="64"/></patternFill></fill>' for k in self.fill_ids]
        xfs = []
        for fill, font, wrap in self.xfs:
            attrs = f'numFmtId="0" fontId="{font_id[font]}" fillId="{self.fill_ids.get(fill, 0)}" borderId="0" xfId="0"'
            attrs += ' applyFont="1"' if font else ""
            attrs += ' applyFill="1"' if fill else ""
            if wrap:
                xfs.append(f'<xf {attrs} applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>')
            else:
                xfs.append(f"<xf {attrs}/>")
        return (f"{_HEAD}<styleSheet {_NS}>"
                f'<fonts count="{len(fonts)}">{"".join(fonts)}</fonts>'
                f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                '<dxfs count="0"/><tableStyles count="0"/></styleSheet>')


def _rows_xml(rows: list[list], styled_type, styles: _Styles, comments: list, letters: list[str], sst: dict):
    """Chunks of ``<row>`` elements; fills ``comments`` with (row, col, text) and the shared
    strings ``sst`` (text -> index: openpyxl reads ``_xHHHH_`` escapes back from shared
    strings only, as from XlsxWriter's files)."""
    chunk: list[str] = []
    for r, row in enumerate(rows):
        n = r + 1
        cells = []
        for c, value in enumerate(row):
            s = ""
            if type(value) is styled_type:
                s = styles.xf(value.fill, value.font, value.wrap)
                s = f' s="{s}"' if s else ""
                if value.comment and _utf16_len(value.comment) <= STRMAX:  # XlsxWriter's rule
                    comments.append((r, c, value.comment))
                value = value.value
            ref = f"{letters[c]}{n}"
            if value is None or value == "":
                if s:
                    cells.append(f'<c r="{ref}"{s}/>')
            elif isinstance(value, str):
                value = _cut(value)
                k = sst.get(value)
                if k is None:
                    k = sst[value] = len(sst)
                cells.append(f'<c r="{ref}"{s} t="s"><v>{k}</v></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"{s}><v>{_number(value)}</v></c>')
            else:
                value = _cut(str(value))
                k = sst.get(value)
                if k is None:
                    k = sst[value] = len(sst)
                cells.append(f'<c r="{ref}"{s} t="s"><v>{k}</v></c>')
        if cells:
            chunk.append(f'<row r="{n}">{"".join(cells)}</row>')
        if len(chunk) >= _CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _comments_xml(comments: list, letters: list[str]) -> str:
    items = "".join(
        f'<comment ref="{letters[c]}{r + 1}" authorId="0"><text><r><rPr><sz val="8"/><color indexed="81"/>'
        f'<rFont val="Tahoma"/><family val="2"/></rPr><t xml:space="preserve">{_text(text)}</t></r></text></comment>'
        for r, c, text in comments)
    return f"{_HEAD}<comments {_NS}><authors><author>OCOP</author></authors><commentList>{items}</commentList></comments>"


def _vml(comments: list, sheet_no: int, size: tuple[int, int]) -> str:
    width_pt, height_pt = size[0] * 0.75, size[1] * 0.75
    shapes = "".join(
        f'<v:shape id="_x0000_s{sheet_no * 1024 + 1 + i}" type="#_x0000_t202" style="position:absolute;'
        f"margin-left:0;margin-top:0;width:{width_pt:g}pt;height:{height_pt:g}pt;z-index:{i + 1};"
        'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
        '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
        '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f"<x:Anchor>{c + 1}, 15, {max(r - 1, 0)}, 10, {c + 4}, 15, {max(r - 1, 0) + 6}, 4</x:Anchor>"
        f"<x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>"
        for i, (r, c, _text_) in enumerate(comments))
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{sheet_no}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            f"{shapes}</xml>")


def _pane(freeze: str) -> str:
    r, c = _cell_rc(freeze)
    if not r and not c:
        return ""
    pane = "bottomRight" if r and c else ("bottomLeft" if r else "topRight")
    split = (f' xSplit="{c}"' if c else "") + (f' ySplit="{r}"' if r else "")
    selections = "".join(f'<selection pane="{p}"/>' for p in ("topRight", "bottomLeft") if r and c)
    return (f'<pane{split} topLeftCell="{freeze}" activePane="{pane}" state="frozen"/>{selections}'
            f'<selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/>')


def write(laid_out: list, path: Path, *, styled_type, fills: dict[str, str], bold: str, title: str,
          comment_size: tuple[int, int]) -> None:
    """Write the sheets of :func:`ocop.report.xlsx.sheets` (``styled_type``: its ``Styled``)."""
    styles = _Styles(fills)
    ncols = max([len(row) for sheet in laid_out for row in sheet.rows] +
                [max(sheet.widths, default=0) for sheet in laid_out] + [1])
    letters = _letters(ncols)
    types = ['<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
             '<Default Extension="xml" ContentType="application/xml"/>',
             '<Override PartName="/xl/workbook.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>',
             '<Override PartName="/xl/styles.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>']
    sheets_xml, rels, names = [], [], []
    sst: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        any_vml = False
        for i, sheet in enumerate(laid_out, start=1):
            comments: list = []
            member = f"xl/worksheets/sheet{i}.xml"
            with zf.open(member, "w") as fh:
                selected = ' tabSelected="1"' if i == 1 else ""
                view = f'<sheetView{selected} workbookViewId="0">'
                view += (_pane(sheet.freeze) if sheet.freeze else "") + "</sheetView>"
                cols = "".join(f'<col min="{c}" max="{c}" width="{_width(w):.16g}" customWidth="1"/>'
                               for c, w in sorted(sheet.widths.items()))
                fh.write((f"{_HEAD}<worksheet {_NS} {_NS_R}><sheetViews>{view}</sheetViews>"
                          '<sheetFormatPr defaultRowHeight="15"/>'
                          + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>").encode("utf-8"))
                for part in _rows_xml(sheet.rows, styled_type, styles, comments, letters, sst):
                    fh.write(part.encode("utf-8"))
                tail = "</sheetData>"
                if sheet.auto_filter:
                    tail += f'<autoFilter ref="{sheet.auto_filter}"/>'
                tail += '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                if comments:
                    tail += '<legacyDrawing r:id="rId1"/>'
                fh.write((tail + "</worksheet>").encode("utf-8"))
            types.append(f'<Override PartName="/{member}" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
            if comments:
                any_vml = True
                zf.writestr(f"xl/comments{i}.xml", _comments_xml(comments, letters))
                zf.writestr(f"xl/drawings/vmlDrawing{i}.vml", _vml(comments, i, comment_size))
                zf.writestr(f"xl/worksheets/_rels/sheet{i}.xml.rels",
                            f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
                            f'<Relationship Id="rId1" Type="{_REL}/vmlDrawing" Target="../drawings/vmlDrawing{i}.vml"/>'
                            f'<Relationship Id="rId2" Type="{_REL}/comments" Target="../comments{i}.xml"/>'
                            "</Relationships>")
                types.append(f'<Override PartName="/xl/comments{i}.xml" '
                             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>')
            sheets_xml.append(f'<sheet name={quoteattr(sheet.title)} sheetId="{i}" r:id="rId{i}"/>')
            rels.append(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>')
            if sheet.auto_filter:
                a, b = sheet.auto_filter.split(":")
                absolute = ":".join("$" + re.sub(r"(\d+)", r"$\1", x) for x in (a, b))
                quoted = "'" + sheet.title.replace("'", "''") + "'"
                names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i - 1}" hidden="1">'
                             f"{_text(quoted)}!{absolute}</definedName>")
        if any_vml:
            types.insert(2, '<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>')
        n = len(laid_out)
        rels.append(f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>')
        if sst:
            rels.append(f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>')
            types.append('<Override PartName="/xl/sharedStrings.xml" ContentType='
                         '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
            with zf.open("xl/sharedStrings.xml", "w") as fh:
                fh.write(f'{_HEAD}<sst {_NS} count="{len(sst)}" uniqueCount="{len(sst)}">'.encode("utf-8"))
                strings = list(sst)
                for a in range(0, len(strings), 20 * _CHUNK_ROWS):
                    fh.write("".join(f'<si><t xml:space="preserve">{_text(t)}</t></si>'
                                     for t in strings[a:a + 20 * _CHUNK_ROWS]).encode("utf-8"))
                fh.write(b"</sst>")
        zf.writestr("xl/styles.xml", styles.xml(bold, title))
        zf.writestr("xl/workbook.xml",
                    f'{_HEAD}<workbook {_NS} {_NS_R}><bookViews><workbookView/></bookViews>'
                    f'<sheets>{"".join(sheets_xml)}</sheets>'
                    + (f'<definedNames>{"".join(names)}</definedNames>' if names else "")
                    + "</workbook>")
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{"".join(rels)}</Relationships>')
        zf.writestr("_rels/.rels",
                    f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
                    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("[Content_Types].xml",
                    f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    f'{"".join(types)}</Types>')
