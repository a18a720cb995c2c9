"""Column-at-a-time cell work for large sheets: the texts of a column and the raw-record JSON.

A 100,000-row register has over a million cells; a Python call per cell costs more than reading
the file. So the texts of one column are joined into one string and checked by a few C-level string
operations; when they find nothing to change (the common case), the cells' own strings are the
texts, else the joined string is normalised and split again. Every function here gives exactly what the
per-cell definition gives (:func:`ocop.ingest.parse.cell_text`, ``json.dumps`` of each row);
``tests/test_ingest_columns.py`` checks that on random cells. A column the fast path cannot
handle exactly (line breaks, tabs, non-breaking spaces, control characters) is done cell by
cell. The raw-record JSON is assembled by Arrow's string kernels.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for a str

import pyarrow as pa
import pyarrow.compute as pc

from ocop.text import _TONE_PAIRS, _TONE_RE, nfc

# Between cells of a joined column. Printable (so one ``isprintable`` call checks a whole
# column), not white space, untouched by NFC; a column that holds it is done cell by cell.
SEP = "\u2af7"
_NONE = type(None)


class Texts(list):
    """A column's texts; ``plain``: none needs a JSON escape (quote, backslash, control
    character), known from the checks :func:`column_texts` made anyway."""

    plain = False


def _split(joined: str) -> list[str | None]:
    return [p or None for p in joined.split(SEP)]


def _clean(joined: str) -> bool:
    """The cells joined are NFC, printable, and hold no white space but single inner spaces."""
    return ((joined.isascii() or unicodedata.is_normalized("NFC", joined)) and joined.isprintable()
            and "  " not in joined and " " + SEP not in joined and SEP + " " not in joined
            and not joined.startswith(" ") and not joined.endswith(" "))


def column_texts(cells: Sequence[object], cell_text: Callable[[object], str | None]) -> list[str | None]:
    """``[cell_text(v) for v in cells]``: NFC, runs of white space made one space, stripped,
    blank -> None; ``cell_text`` gives the text of a number, date, boolean... cell."""
    kinds = set(map(type, cells))
    if kinds <= {_NONE}:
        texts = Texts([None] * len(cells))
        texts.plain = True
        return texts
    if kinds <= {str, _NONE}:
        strs = cells if _NONE not in kinds else [v or "" for v in cells]
    else:
        # Numbers, dates, booleans: once per distinct value, unless booleans and numbers mix
        # (True == 1 == 1.0 as dictionary keys, but their texts differ).
        mixed = bool in kinds and bool(kinds & {int, float})
        done: dict[object, str] = {}

        def other(v: object) -> str:
            if mixed:
                return cell_text(v) or ""
            t = done.get(v)
            if t is None:
                t = done[v] = cell_text(v) or ""
            return t

        strs = [v if type(v) is str else other(v) for v in cells]
    joined = SEP.join(strs)
    if joined.count(SEP) != len(strs) - 1:  # a cell holds SEP: no fast path
        return [cell_text(v) for v in cells]
    if _clean(joined):  # the common case: every text is the cell's own string
        texts = Texts([v or None for v in strs] if "" in strs else strs)
        texts.plain = '"' not in joined and "\\" not in joined  # printable: no control character
        return texts
    if not joined.isascii():
        joined = unicodedata.normalize("NFC", joined)  # SEP never composes: the same as per cell
    if not joined.isprintable():
        # Line breaks, tabs, NBSP or other white space than " " (or control characters).
        return [" ".join(p.split()) or None for p in joined.split(SEP)]
    # Only " " is white space here: collapse runs, then strip each cell.
    while "  " in joined:
        joined = joined.replace("  ", " ")
    joined = joined.replace(" " + SEP, SEP).replace(SEP + " ", SEP).strip(" ")
    return _split(joined)


def unify_tones(texts: list[str | None]) -> list[str | None]:
    """``[nfc(t) for t in texts]`` (None stays None) for texts that :func:`column_texts` gave:
    those are NFC with single spaces already, so only the tone-mark placement is left."""
    joined = SEP.join([t or "" for t in texts])
    if joined.count(SEP) != len(texts) - 1:
        return [nfc(t) if t is not None else None for t in texts]
    if _TONE_RE.search(joined) is None:
        return texts
    return _split(_TONE_RE.sub(lambda m: _TONE_PAIRS[m.group(1)], joined))


def _plain(texts: pa.Array) -> bool:
    """No text needs a JSON escape (quote, backslash, control character)."""
    return not pc.any(pc.match_substring_regex(texts, r'["\\\x00-\x1f]')).as_py()


def rows_json(keys: list[str], columns: list[list[str | None]], n: int,
              plain: list[bool] | None = None) -> Sequence[str]:
    """Each of the ``n`` rows as the JSON object ``{key: text}`` of its non-empty cells, keys in
    the given order: the same text as ``json.dumps({...}, ensure_ascii=False)``.

    Built column by column with Arrow's string kernels: each cell becomes ``"key": "text", ``
    (empty for a blank cell), a row is those fragments end to end, less the last ``, ``.
    ``plain[i]``: column ``i`` is known to need no escape (else it is checked here).
    (``binary_join_element_wise(..., null_handling="skip")`` would be the natural call, but
    pyarrow 26 drops the rows whose cells are all null from its result.)"""
    frags = []
    for i, (key, col) in enumerate(zip(keys, columns)):
        prefix = encode_basestring(key) + ": "
        texts = pa.array(col, type=pa.string())
        if (plain and plain[i]) or _plain(texts):
            frag = pc.binary_join_element_wise(prefix + '"', texts, '", ', "")
        else:  # escaped by json's own encoder, cell by cell
            quoted = pa.array([encode_basestring(t) if t is not None else None for t in col], type=pa.string())
            frag = pc.binary_join_element_wise(prefix, quoted, ", ", "")
        frags.append(pc.fill_null(frag, ""))
    if not frags:
        return ["{}"] * n  # (an object array of str otherwise)
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*frags, ""), characters=", ")  # a fragment ends with '"'
    return pc.binary_join_element_wise("{", body, "}", "").to_numpy(zero_copy_only=False)
