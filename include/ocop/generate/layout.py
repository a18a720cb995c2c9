"""Each province's own file design: format, title block, columns, headers and value styles.

A province keeps its design across snapshots (offices reuse their template). Designs are drawn
from the seed, then a few are forced so that every variation of submission-format.md occurs
at least once nationally (CSV in each encoding, ``.xlsm``, legacy fonts, a two-row header, a
combined number+date cell, no owner-type column, old province names in Đà Nẵng's file...).
Header texts come from ``ocop.reference.headers.ALIASES`` (the one list of written forms).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np

from ocop.reference.headers import ALIASES
from ocop.reference.provinces import PROVINCES
from ocop.text import strip_diacritics

# Canonical column order before shuffling; "" marks an empty column.
BASE_FIELDS = ("row_number", "product_name", "owner", "owner_type_raw", "address", "province_raw",
               "group_raw", "rating_raw", "potential5_raw", "decision_no_raw", "decision_date_raw",
               "issuing_level_raw", "expiry_raw", "status_raw", "notes")
OPTIONAL_SHARE = {"row_number": 0.9, "owner_type_raw": 0.8, "address": 0.6, "province_raw": 0.45,
                  "potential5_raw": 0.2, "issuing_level_raw": 0.45, "expiry_raw": 0.25,
                  "status_raw": 0.35, "notes": 0.4}
DATE_STYLES = ("excel", "serial", "dmy", "dmy_short", "dmy_dash", "dmy_dot", "iso", "mixed")
TEXT_DATE_STYLES = ("dmy", "dmy_short", "dmy_dash", "dmy_dot", "iso")
RATING_STYLES = ("num", "numtext", "sao", "star", "starchar", "stars", "word", "mixed")
PLAIN_RATING_STYLES = ("num", "numtext", "sao", "star", "word")  # encodable in cp1258 / legacy fonts
GROUP_STYLES = ("148", "1048", "short", "number", "mixed")
DECISION_GROUP_TITLE = "Quyết định công nhận"
SUB_HEADERS = {"decision_no_raw": "Số", "decision_date_raw": "Ngày"}
SHEET_NAMES = ("Danh sách", "DS OCOP", "Sheet1", "OCOP 2025", "Tổng hợp", "Danh sach SP")
FLAG_WORDS = ("x", "có", "1", "TRUE")
NAME_PATTERNS = ("DS_OCOP_{code}_{iso}", "OCOP_{ascii}_{compact}", "Danh sách sản phẩm OCOP {dmy}",
                 "bao_cao_ocop_dot_{n}")


@dataclass(frozen=True)
class Layout:
    """How one province writes its register."""

    code: str
    fmt: str                      # "xlsx", "xlsm" or "csv"
    encoding: str | None          # CSV only: "utf-8", "utf-8-sig", "cp1258"
    fields: tuple[str, ...]       # canonical field per column, "" for an empty column
    headers: tuple[str, ...]      # header text per column (sub-header under the decision group)
    decision_group: bool          # two-row header: "Quyết định công nhận" over "Số" / "Ngày"
    combined_decision: bool       # number and date in one cell, no date column
    title: bool
    title_form: int
    total_row: bool
    footer: bool
    lead_sheet: bool              # an instructions sheet comes first
    sheet: str
    name_pattern: str
    date_style: str
    rating_style: str
    group_style: str
    old_province_names: bool      # province column names the old (2008) province
    owner_type_long: bool
    flag_word: str
    legacy: str | None            # "tcvn3" / "vni": the whole sheet typed in a legacy font

    def has(self, field: str) -> bool:
        return field in self.fields

    @property
    def header_rows(self) -> int:
        return 2 if self.decision_group else 1

    def file_name(self, snapshot: dt.date, n: int) -> str:
        """The file name for the n-th submission (1-based) of this province."""
        short = PROVINCES[self.code].short_name
        stem = self.name_pattern.format(
            code=self.code, iso=snapshot.isoformat(), compact=snapshot.strftime("%Y%m%d"),
            dmy=snapshot.strftime("%d-%m-%Y"), n=n,
            ascii=strip_diacritics(short).replace(" ", ""))
        return f"{stem}.{self.fmt}"


def _pick(rng: np.random.Generator, seq):
    return seq[rng.integers(len(seq))]


def _header(rng: np.random.Generator, field: str, combined: bool, csv: bool) -> str:
    if field == "":
        return ""
    aliases = ALIASES[field]
    if field == "decision_no_raw":
        with_date = [a for a in aliases if "ngày" in a.lower()]
        aliases = with_date if combined else [a for a in aliases if a not in with_date]
    text = _pick(rng, aliases[:6])
    if not csv and " " in text and rng.random() < 0.12:
        text = text.replace(" ", "\n", 1)   # a line break inside the header cell
    return text


def _columns(rng: np.random.Generator, combined: bool, decision_group: bool) -> list[str]:
    fields = [f for f in BASE_FIELDS if rng.random() < OPTIONAL_SHARE.get(f, 1.0)]
    if combined:
        fields.remove("decision_date_raw")
    if rng.random() < 0.4:  # shuffle the middle columns, keeping the decision pair together
        middle = [f for f in fields if f not in ("row_number", "decision_date_raw")]
        rng.shuffle(middle)
        fields = (["row_number"] if "row_number" in fields else []) + middle
        if not combined:
            fields.insert(fields.index("decision_no_raw") + 1, "decision_date_raw")
    if rng.random() < 0.25:
        fields.insert(int(rng.integers(1, len(fields))), "")
    if decision_group and "" in fields and fields.index("") == fields.index("decision_no_raw") + 1:
        fields.remove("")
    return fields


def _design(rng: np.random.Generator, code: str) -> Layout:
    combined = rng.random() < 0.12
    group2 = not combined and rng.random() < 0.2
    fields = _columns(rng, combined, group2)
    headers = [SUB_HEADERS[f] if group2 and f in SUB_HEADERS else _header(rng, f, combined, False)
               for f in fields]
    title = rng.random() < 0.85
    name_pattern = _pick(rng, NAME_PATTERNS)
    return Layout(
        code=code, fmt="xlsx", encoding=None, fields=tuple(fields), headers=tuple(headers),
        # The snapshot date must be in the title or the file name, so a name without a date
        # always comes with a title block.
        decision_group=group2, combined_decision=combined, title=title or "{n}" in name_pattern,
        title_form=int(rng.integers(3)), total_row=rng.random() < 0.4, footer=rng.random() < 0.5,
        lead_sheet=rng.random() < 0.12, sheet=_pick(rng, SHEET_NAMES),
        name_pattern=name_pattern, date_style=_pick(rng, DATE_STYLES),
        rating_style=_pick(rng, RATING_STYLES), group_style=_pick(rng, GROUP_STYLES),
        old_province_names=rng.random() < 0.3, owner_type_long=rng.random() < 0.5,
        flag_word=_pick(rng, FLAG_WORDS), legacy=None)


def _as_csv(rng: np.random.Generator, lay: Layout, encoding: str) -> Layout:
    """A CSV: one header row, text dates, no merged cells, no extra sheet."""
    fields = [f for f in lay.fields if f != ""]
    headers = [h.replace("\n", " ") for f, h in zip(lay.fields, lay.headers) if f != ""]
    if lay.decision_group:
        headers = [_header(rng, f, False, True) if f in SUB_HEADERS else h for f, h in zip(fields, headers)]
    plain = encoding == "cp1258"
    return replace(lay, fmt="csv", encoding=encoding, fields=tuple(fields), headers=tuple(headers),
                   decision_group=False, lead_sheet=False, title=lay.title and rng.random() < 0.5,
                   date_style=_pick(rng, TEXT_DATE_STYLES),
                   rating_style=_pick(rng, PLAIN_RATING_STYLES) if plain else lay.rating_style,
                   name_pattern=_pick(rng, NAME_PATTERNS[:3]))


def _with(lay: Layout, rng: np.random.Generator, field: str) -> Layout:
    """The layout with ``field`` as a column (appended before the notes)."""
    if lay.has(field):
        return lay
    at = lay.fields.index("notes") if lay.has("notes") else len(lay.fields)
    fields = lay.fields[:at] + (field,) + lay.fields[at:]
    headers = lay.headers[:at] + (_header(rng, field, lay.combined_decision, lay.fmt == "csv"),) + lay.headers[at:]
    return replace(lay, fields=fields, headers=headers)


def _without(lay: Layout, field: str) -> Layout:
    keep = [i for i, f in enumerate(lay.fields) if f != field]
    return replace(lay, fields=tuple(lay.fields[i] for i in keep), headers=tuple(lay.headers[i] for i in keep))


def design_layouts(rng: np.random.Generator) -> dict[str, Layout]:
    """One design per 2025 province; the variations the pipeline must meet forced at least once."""
    layouts = {code: _design(rng, code) for code in PROVINCES}
    order = [c for c in rng.permutation(list(PROVINCES)) if c != "48"]
    forced = iter(order)

    def force(**changes) -> str:
        code = next(forced)
        layouts[code] = replace(layouts[code], **changes)
        return code

    for enc in ("utf-8", "utf-8-sig", "cp1258"):
        code = next(forced)
        layouts[code] = _as_csv(rng, layouts[code], enc)
    force(fmt="xlsm")
    force(fmt="xlsm")
    for enc in ("tcvn3", "vni"):
        code = force(legacy=enc, group_style=_pick(rng, ("148", "1048")), rating_style="sao")
        layouts[code] = _with(layouts[code], rng, "owner_type_raw")
    code = force(decision_group=False, combined_decision=False)
    layouts[code] = _without(_with(layouts[code], rng, "issuing_level_raw"), "owner_type_raw")
    layouts[code] = _with(layouts[code], rng, "status_raw")
    code = force()
    layouts[code] = _with(_with(layouts[code], rng, "potential5_raw"), rng, "province_raw")
    code = force(date_style="excel")
    layouts[code] = _with(_with(layouts[code], rng, "issuing_level_raw"), rng, "expiry_raw")
    layouts["48"] = replace(_with(layouts["48"], rng, "province_raw"), old_province_names=True)
    for code in order[-3:]:  # the variations of the header itself
        layouts[code] = _two_row(rng, layouts[code]) if code == order[-1] else layouts[code]
    code = order[-2]
    layouts[code] = _combined(rng, layouts[code])
    return layouts


def _two_row(rng: np.random.Generator, lay: Layout) -> Layout:
    if lay.combined_decision or lay.fmt == "csv":
        return lay
    headers = tuple(SUB_HEADERS.get(f, h) for f, h in zip(lay.fields, lay.headers))
    fields = list(lay.fields)
    i = fields.index("decision_no_raw")
    if fields[i + 1] != "decision_date_raw":
        return lay
    return replace(lay, decision_group=True, headers=headers)


def _combined(rng: np.random.Generator, lay: Layout) -> Layout:
    if lay.combined_decision or lay.fmt == "csv":
        return lay
    lay = _without(lay, "decision_date_raw")
    headers = tuple(_header(rng, f, True, False) if f == "decision_no_raw" else h
                    for f, h in zip(lay.fields, lay.headers))
    return replace(lay, combined_decision=True, decision_group=False, headers=headers)
