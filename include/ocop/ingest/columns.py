"""Column-at-a-time cell work for large sheets: the texts of a column and the raw-record JSON.

A 100,000-row register has over a million cells; a Python call per cell costs more than reading
the file. So the texts of one column are joined into one string and checked as a whole: one
table look-up per code point (numpy) tells that every character is printable and NFC (else
``unicodedata`` decides), and a few vector operations find the cells with stray spaces and the
blank ones. When nothing needs changing (the common case) the cells' own strings are the texts
and only the few spaced cells are replaced; else the joined string is normalised and split again.
A column of few distinct values (ratings, groups, levels) is factorised and done once per value;
its codes let later steps parse each distinct text once too. Every function here gives exactly
what the per-cell definition gives (:func:`ocop.ingest.parse.cell_text`, ``json.dumps`` of each
row); ``tests/test_ingest_columns.py`` checks that on random cells. A column the fast path cannot
handle exactly (line breaks, tabs, non-breaking spaces, control characters) is done cell by
cell. Arrow arrays are split from the joined texts, and the raw-record JSON is assembled from
them by Arrow's string kernels.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from functools import partial
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for a str

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ocop.text import _TONE_PAIRS, nfc

# Between cells of a joined column. Printable (so one ``isprintable`` call checks a whole
# column), not white space, untouched by NFC; a column that holds it is done cell by cell.
SEP = "\u2af7"
_NONE = type(None)
# A text column with fewer distinct values than 1/_FEW_DISTINCT_SHARE of its rows is done once per
# distinct value (only worth it on a column long enough to pay for the dictionary).
_FEW_DISTINCT_SHARE = 8
_FEW_DISTINCT_MIN_ROWS = 64
_SAMPLE = 4096  # rows looked at first, to skip the dictionary for names and other unique texts
_nfc = partial(unicodedata.normalize, "NFC")


class Texts(list):
    """A column's texts; ``plain``: none needs a JSON escape (quote, backslash, control
    character), known from the checks :func:`column_texts` made anyway; ``joined``: the texts
    joined by ``SEP`` (``""`` for None), when :func:`column_texts` had that string anyway
    (:func:`text_array` splits it, far cheaper than converting the texts one by one);
    ``table`` and ``codes``, for a column of few distinct values: its texts are
    ``table[codes[i]]`` (what is done once per distinct text can be spread back by ``codes``)."""

    plain = False
    joined: str | None = None
    table: list[str | None] | None = None
    codes: np.ndarray | None = None


_SEP_CODE = ord(SEP)
# Code points whose text needs no check: printable, NFC on their own and never composed with
# what is next to them (no combining mark, no character NFC may compose: none of those lies in
# these ranges). Basic Latin, Latin-1, Latin Extended-A/B, Vietnamese (Latin Extended
# Additional), general punctuation (dashes, quotes, ...) and the separator.
_COMMON_RANGES = ((0x20, 0x7E), (0xA1, 0x24F), (0x1E00, 0x1EFF), (0x2010, 0x2027), (_SEP_CODE, _SEP_CODE))


def _common_table() -> np.ndarray:
    """A flag per code point: in _COMMON_RANGES, printable and NFC on its own."""
    table = np.zeros(0x110000, dtype=bool)
    for lo, hi in _COMMON_RANGES:
        for c in range(lo, hi + 1):
            ch = chr(c)
            table[c] = ch.isprintable() and unicodedata.is_normalized("NFC", ch) and not unicodedata.combining(ch)
    return table


_COMMON = _common_table()


def _code_points(joined: str) -> np.ndarray:
    """``joined``'s code points (element i is ``ord(joined[i])``)."""
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _spaced_cells(code: np.ndarray, bounds: np.ndarray) -> list[tuple[int, int, int]]:
    """The cells of a joined column (printable: no white space but ``" "``) that hold a run of
    spaces or start or end with a space, as (offset, start, end) of their text. ``code``: the
    joined string's code points; ``bounds``: -1, the separators' positions, its length.
    A few vector operations instead of a Python step per cell: a space is one to take out
    when a space, a separator or the string's start or end is next to it."""
    space = code == 32
    edge = space | (code == _SEP_CODE)
    bad = space.copy()
    bad[1:-1] &= edge[:-2] | edge[2:]  # (the first and last character: at the string's edge)
    at = np.flatnonzero(bad)
    if not len(at):
        return []
    cells = np.unique(np.searchsorted(bounds, at) - 1)  # the bounds before a position: its cell
    return list(zip(cells.tolist(), (bounds[cells] + 1).tolist(), bounds[cells + 1].tolist()))


def _patched(texts: Texts, joined: str, spaced: list[tuple[int, int, int]],
             cell_text: Callable[[object], str | None]) -> str:
    """Replace in ``texts`` the cells with spaces to take out (:func:`_spaced_cells`) by their
    text; returns ``joined`` with the same replacements."""
    pieces, last = [], 0
    for i, start, end in spaced:
        t = texts[i] = cell_text(joined[start:end])
        pieces += (joined[last:start], t or "")
        last = end
    if not pieces:
        return joined
    pieces.append(joined[last:])
    return "".join(pieces)


def _few_distinct(cells: Sequence[object]) -> tuple[np.ndarray, list] | None:
    """A long column that has few distinct values (ratings, groups, dates, levels) as codes
    into its distinct values (one C-level hashing pass), else None. Blank cells (None) have
    the code -1. Numbers and booleans are left out: as hash keys True == 1 == 1.0."""
    n = len(cells)
    if n < _FEW_DISTINCT_MIN_ROWS or len(set(cells[:_SAMPLE])) * _FEW_DISTINCT_SHARE >= min(n, _SAMPLE):
        return None
    codes, distinct = pd.factorize(np.fromiter(cells, dtype=object, count=n))
    if len(distinct) * _FEW_DISTINCT_SHARE >= n or any(type(k) in (bool, int, float) for k in distinct):
        return None
    return codes, distinct.tolist()


def spread(table: list, codes: np.ndarray) -> list:
    """``[table[c] for c in codes]``, without touching the cells."""
    values = np.empty(len(table), dtype=object)
    for i, v in enumerate(table):  # (not np.array(table): it would make rows of tuples)
        values[i] = v
    return values.take(codes).tolist()


def column_texts(cells: Sequence[object], cell_text: Callable[[object], str | None]) -> list[str | None]:
    """``[cell_text(v) for v in cells]``: NFC, runs of white space made one space, stripped,
    blank -> None; ``cell_text`` gives the text of a number, date, boolean... cell.

    Each pass over a column's million-odd objects costs (they are scattered in memory), so the
    common cases take as few as possible: a column of few distinct values is factorised (one
    hashing pass) and done once per value, its texts spread back by the codes; a column of texts
    is joined (one pass) and checked on the joined string."""
    if (distinct := _few_distinct(cells)) is not None:
        codes, keys = distinct
        done = column_texts(keys, cell_text)
        table = [*done, None]
        codes[codes < 0] = len(table) - 1  # a blank cell: None
        texts = Texts(spread(table, codes))
        texts.plain = getattr(done, "plain", False)
        texts.table, texts.codes = table, codes
        return texts
    try:
        strs, joined = cells, SEP.join(cells)  # only texts (calamine gives "" for a blank cell)
    except TypeError:
        kinds = set(map(type, cells))
        if kinds <= {_NONE}:
            texts = Texts([None] * len(cells))
            texts.plain = True
            return texts
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
    code = _code_points(joined)
    seps = np.flatnonzero(code == _SEP_CODE)
    if len(seps) != len(strs) - 1:  # a cell holds SEP: no fast path
        return [cell_text(v) for v in cells]
    if _COMMON[code].all():  # one table look-up per character instead of the two checks below
        normal = printable = True
    else:
        normal = joined.isascii() or unicodedata.is_normalized("NFC", joined)
        printable = joined.isprintable()
    if normal and printable:  # the common case: every text is the cell's own string, ...
        bounds = np.concatenate(([-1], seps, [len(code)]))  # cell i: bounds[i] + 1 to bounds[i + 1]
        blanks = bool((np.diff(bounds) == 1).any())
        texts = Texts([v or None for v in strs] if blanks else strs)
        texts.plain = '"' not in joined and "\\" not in joined  # printable: no control character
        # ... but for the few with spaces to take out
        texts.joined = _patched(texts, joined, _spaced_cells(code, bounds), cell_text)
        return texts
    if not normal:
        # Cell by cell: each cell's quick check passes but for the few decomposed (NFD) ones.
        joined = SEP.join(map(_nfc, strs))
    # Collapse runs of spaces and strip each cell of spaces, on the whole column at once ...
    while "  " in joined:
        joined = joined.replace("  ", " ")
    joined = joined.replace(" " + SEP, SEP).replace(SEP + " ", SEP).strip(" ")
    parts = joined.split(SEP)
    printable = joined.isprintable()  # (again: NFC may have changed it)
    if not printable:
        # ... then the cells with other white space (line breaks, tabs, NBSP) one by one.
        is_printable = str.isprintable
        parts = [p if is_printable(p) else " ".join(p.split()) for p in parts]
    texts = Texts([p or None for p in parts])
    texts.plain = printable and '"' not in joined and "\\" not in joined
    texts.joined = joined if printable else None
    return texts


# _TONE_RE for Arrow's RE2 (no look-ahead): a tone pair at the end of a syllable.
_TONE_RE2 = "(?:" + "|".join(sorted(_TONE_PAIRS, key=len, reverse=True)) + ")(?:[^a-zA-Zà-ỹÀ-Ỹđ]|$)"


def unify_tones(texts: list[str | None], array: pa.Array | None = None) -> list[str | None]:
    """``[nfc(t) for t in texts]`` (None stays None) for texts that :func:`column_texts` gave:
    those are NFC with single spaces already, so only the tone-mark placement is left. The
    texts are searched by RE2 (``array``: them as an Arrow array, if the caller has it) and
    only those with a tone pair go through ``nfc``."""
    if array is None:
        array = text_array(texts)
    if array is None:  # a text Arrow cannot hold
        return [nfc(t) if t is not None else None for t in texts]
    hits = pc.fill_null(pc.match_substring_regex(array, _TONE_RE2), False)
    if not pc.any(hits).as_py():
        return texts
    out = list(texts)
    for i in np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist():
        out[i] = nfc(out[i])
    return out


def _plain(texts: pa.Array) -> bool:
    """No text needs a JSON escape (quote, backslash, control character)."""
    return not pc.any(pc.match_substring_regex(texts, r'["\\\x00-\x1f]')).as_py()


def text_array(texts: list[str | None]) -> pa.Array | None:
    """The texts as an Arrow string array (None: a text Arrow cannot hold, a lone surrogate)."""
    try:
        if texts and getattr(texts, "codes", None) is not None:
            return pc.take(pa.array(texts.table, type=pa.string()), pa.array(texts.codes))
        joined = getattr(texts, "joined", None)
        if joined is None or not texts:
            return pa.array(texts, type=pa.string())
        array = pc.split_pattern(pa.array([joined], type=pa.string()), SEP).flatten()
        lengths = pc.binary_length(array)
        if pc.min(lengths).as_py() == 0:  # "" stands for None (a text is never empty)
            array = pc.if_else(pc.greater(lengths, 0), array, pa.scalar(None, pa.string()))
        return array
    except (pa.ArrowException, UnicodeError):
        return None


def rows_json(keys: list[str], columns: list[list[str | None] | pa.Array], n: int,
              plain: list[bool] | None = None) -> Sequence[str]:
    """Each of the ``n`` rows as the JSON object ``{key: text}`` of its non-empty cells, keys in
    the given order: the same text as ``json.dumps({...}, ensure_ascii=False)``.

    Built with Arrow's string kernels, in one join of the columns' pieces (see below), so the
    30-odd MB of a large file's JSON are written once. ``plain[i]``: column ``i`` is known to
    need no escape (else it is checked here). A column may come as a list or as its
    :func:`text_array`.
    (``binary_join_element_wise(..., null_handling="skip")`` would be the natural call, but
    pyarrow 26 drops the rows whose cells are all null from its result.)"""
    arrays = [col if isinstance(col, pa.Array) else text_array(col) for col in columns]
    if any(a is None for a in arrays):
        return _rows_json_python(keys, [a.to_pylist() if isinstance(a, pa.Array) else c
                                        for a, c in zip(arrays, columns)], n)
    # One join of, per column in key order: ', "key": "' + text + '"' (its pieces given as they
    # are where the column has no blank cell, else as a fragment that is "" for a blank one).
    # The first column's fragment has no ", " in front when it has no blank cell (the usual
    # case); else the ", " in front of each row is trimmed.
    args: list = []
    lead = None  # whether rows start with ", "
    for i, (key, texts) in enumerate(zip(keys, arrays)):
        if texts.null_count == len(texts):
            continue  # a column of blanks adds nothing
        if lead is None:
            lead = texts.null_count > 0
        sep = ", " if args or lead else ""
        if (plain and plain[i]) or _plain(texts):
            parts = [f'{sep}{encode_basestring(key)}: "', texts, '"']
        else:  # escaped by json's own encoder, cell by cell
            quoted = pa.array([encode_basestring(t) if t is not None else None for t in texts.to_pylist()],
                              type=pa.string())
            parts = [f"{sep}{encode_basestring(key)}: ", quoted, ""]
        args += parts if texts.null_count == 0 else [pc.fill_null(pc.binary_join_element_wise(*parts, ""), "")]
    if not args:
        return ["{}"] * n  # (an object array of str otherwise)
    if lead:
        rows = pc.binary_join_element_wise("{", pc.utf8_ltrim(pc.binary_join_element_wise(*args, ""), characters=", "),
                                           "}", "")  # a fragment starts ', "'
    else:
        rows = pc.binary_join_element_wise("{", *args, "}", "")
    # Handed to pandas as it is (its "str" dtype is Arrow-backed): making 100,000 Python
    # strings of it would cost more than building it.
    return pd.array(rows, dtype="str")


def _rows_json_python(keys: list[str], columns: list[list[str | None]], n: int) -> list[str]:
    """The same, one ``json`` call per row: for texts Arrow cannot hold."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    if not columns:
        return ["{}"] * n
    return [dumps({k: v for k, v in zip(keys, row) if v is not None}) for row in zip(*columns)]
