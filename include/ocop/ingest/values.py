"""Cell-value parsers: rating, dates, decision number, owner type, issuing level, status, snapshot.

Every parser is tolerant: it never raises, whatever it is given (text, numbers, dates, None,
NaN, odd objects), and returns None (or the documented default) when it cannot read the value.
They run on up to a million rows, so text parsing goes through precompiled patterns and
``lru_cache``-d helpers keyed on the cell text.

Conventions (submission-format.md): dates are day first, always; two-digit years are refused;
Excel serial numbers use the 1900 date system and are accepted only between 1990 and 2099.
A decision number is *well formed* when shaped ``<n>/QĐ-<issuer>`` (optionally with a year,
``12/2024/QĐ-UBND``); ``QD`` without the stroke does not count: the number is still used, but
the office gets the ``W_DECISION_NO_FORMAT`` warning so it fixes the spelling.
"""

from __future__ import annotations

import calendar
import math
import numbers
import re
from datetime import date, datetime, timedelta
from functools import lru_cache, wraps
from pathlib import PurePath

from ocop.text import fold, nfc, strip_diacritics

VALIDITY_MONTHS = 36

_EXCEL_EPOCH = date(1899, 12, 30)  # 1900 system, past Excel's fictitious 29 Feb 1900
_SERIAL_MIN = (date(1990, 1, 1) - _EXCEL_EPOCH).days
_SERIAL_MAX = (date(2099, 12, 31) - _EXCEL_EPOCH).days
_SNAPSHOT_YEARS = range(2018, 2100)

# --- small helpers ---------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _missing(value: object) -> bool:
    """None, NaN, NaT, pd.NA: anything not equal to itself."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except Exception:  # pd.NA and friends refuse a truth value
        return True


def _text(value: object) -> str | None:
    """Cell value as stripped NFC text; None for missing values and blanks."""
    if _missing(value):
        return None
    try:
        s = nfc(value)
    except Exception:  # an object whose str() fails
        return None
    return s or None


def _safe(default):
    """Decorator: a parser returns ``default`` instead of raising on unforeseen input."""

    def wrap(fn):
        @wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception:
                return default

        return inner

    return wrap


# --- dates -----------------------------------------------------------------------------------


def excel_serial_to_date(n: object) -> date | None:
    """Excel serial day number (1900 system, time fraction ignored) -> date, within 1990-2099."""
    if not _is_number(n) or not math.isfinite(float(n)):
        return None
    days = math.floor(float(n))
    if not _SERIAL_MIN <= days <= _SERIAL_MAX:
        return None
    return _EXCEL_EPOCH + timedelta(days=days)


_TIME = r"(?: \d{1,2} \d{2}(?: \d{2})?(?: \d+)?(?: am| pm)?)?"
_DMY_RE = re.compile(rf"(?:ngay )?(\d{{1,2}}) (?:thang )?(\d{{1,2}}) (?:nam )?(\d{{4}}){_TIME}")
_YMD_RE = re.compile(rf"(\d{{4}}) (\d{{1,2}}) (\d{{1,2}}){_TIME}")
_SERIAL_TEXT_RE = re.compile(r"\d{5}(?:\.\d+)?")
_ISO_T_RE = re.compile(r"(?<=\d)T(?=\d)")


def _ymd(y: str | int, m: str | int, d: str | int) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


@lru_cache(maxsize=100_000)
def _parse_date_text(s: str) -> date | None:
    if _SERIAL_TEXT_RE.fullmatch(s):
        return excel_serial_to_date(float(s))
    key = fold(_ISO_T_RE.sub(" ", s))
    if m := _DMY_RE.fullmatch(key):
        return _ymd(m.group(3), m.group(2), m.group(1))
    if m := _YMD_RE.fullmatch(key):
        return _ymd(m.group(1), m.group(2), m.group(3))
    return None


@_safe(None)
def parse_date(value: object) -> date | None:
    """A date from a real date, an Excel serial, or day-first text; None when unreadable."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if _is_number(value):
        return excel_serial_to_date(value)
    s = _text(value)
    return _parse_date_text(s) if s else None


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months, the day clamped to the target month's length."""
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def default_expiry(decision_date: date) -> date:
    """Expiry of a certificate without a given one: decision date + 36 months."""
    return add_months(decision_date, VALIDITY_MONTHS)


_DURATION_RE = re.compile(r"(\d{1,3}) (thang|nam)")


@_safe(None)
def parse_expiry(value: object, decision_date: date | None) -> date | None:
    """An expiry cell: a date, or a validity period from the decision date (``Thời hạn``:
    ``36 tháng``, ``3 năm``); None when unreadable or a period without a decision date."""
    if (d := parse_date(value)) is not None:
        return d
    s = _text(value)
    m = _DURATION_RE.fullmatch(fold(s)) if s else None
    if m is None or decision_date is None:
        return None
    months = int(m.group(1)) * (12 if m.group(2) == "nam" else 1)
    return add_months(decision_date, months)


# --- rating ----------------------------------------------------------------------------------

_STARS = "*★☆⭐✭✩✮✯✰"
_STAR_RUN_RE = re.compile(f"[{_STARS}\\s]+")
_RATING_NUMBER_RE = re.compile(rf"(?:hang\s*)?([345])(?:[.,]0+)?\s*(?:sao|[{_STARS}]|s)?(?:\s*ocop)?")
_RATING_WORDS = {"ba": "3", "bon": "4", "nam": "5"}
_RATING_WORD_RE = re.compile(r"(?:hang )?(ba|bon|nam) sao(?: ocop)?")
_POTENTIAL_RE = re.compile(r"tiem nang|\btn ?5 ?s(?:ao)?\b|\btn5\b")

_TRUE_WORDS = frozenset({"x", "co", "1", "true", "yes", "y", "dung", "dat", "v"})
_TRUE_MARKS = frozenset("✓✔☑")


@lru_cache(maxsize=4096)
def _rating_text(s: str) -> str | None:
    if _STAR_RUN_RE.fullmatch(s):
        n = sum(ch in _STARS for ch in s)
        return str(n) if 3 <= n <= 5 else None
    key = fold(s)
    if _POTENTIAL_RE.search(key):
        return "potential-5"
    if m := _RATING_NUMBER_RE.fullmatch(strip_diacritics(s).lower()):
        return m.group(1)
    if m := _RATING_WORD_RE.fullmatch(key):
        return _RATING_WORDS[m.group(1)]
    return None


@_safe(False)
def parse_potential_flag(value: object) -> bool:
    """True when a "Tiềm năng 5 sao" cell marks the row (x, có, 1, TRUE, ✓...)."""
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return float(value) == 1
    s = _text(value)
    if s is None:
        return False
    key = fold(s)
    return s in _TRUE_MARKS or key in _TRUE_WORDS or _POTENTIAL_RE.search(key) is not None


@_safe(None)
def parse_rating(value: object, potential_flag: object = None) -> str | None:
    """Rating class ``"3"``, ``"4"``, ``"5"`` or ``"potential-5"``; None when not a valid rating.

    A 4-star row whose potential 5-star flag is set is ``"potential-5"``.
    """
    if _is_number(value):
        f = float(value)
        rating = str(int(f)) if f in (3.0, 4.0, 5.0) else None
    else:
        s = _text(value)
        rating = _rating_text(s) if s else None
    if rating == "4" and potential_flag is not None and parse_potential_flag(potential_flag):
        return "potential-5"
    return rating


# --- decision number -------------------------------------------------------------------------

_DATE_IN_TEXT_RE = re.compile(
    r"(?<![\d/.\-])(\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}-\d{1,2}-\d{1,2})(?![\d/])"
    r"|(?:ngày|ngay)?\s*\d{1,2}\s+(?:tháng|thang)\s+\d{1,2}\s+(?:năm|nam)\s+\d{4}",
    re.IGNORECASE,
)
_NO_PREFIX_RE = re.compile(r"^(?:quyết định|qđ|quyet dinh|qd)?\s*(?:số|so)(?![^\W\d_])\s*[:.]?\s*", re.IGNORECASE)
_NO_TAIL_RE = re.compile(r"[\s,;:\-–(]*(?:ngày|ngay)?[\s,;:\-–(]*$", re.IGNORECASE)
_SPACED_PUNCT_RE = re.compile(r"\s*([/\-–])\s*")
_WELL_FORMED_RE = re.compile(r"\d+[a-z]?/(?:\d{4}/)?QĐ-[^\s/-]+(?:[-/&.][^\s/-]+)*", re.IGNORECASE)


def _clean_number(s: str) -> str | None:
    s = _NO_PREFIX_RE.sub("", s.strip(" ,;:()[]"))
    s = _NO_TAIL_RE.sub("", s)
    s = _SPACED_PUNCT_RE.sub(lambda m: "/" if m.group(1) == "/" else "-", s).strip(" ,;:()[]")
    return s or None


@lru_cache(maxsize=100_000)
def _parse_decision_text(s: str) -> tuple[str | None, date | None]:
    m = _DATE_IN_TEXT_RE.search(s)
    if m is None:
        return _clean_number(s), None
    # "1234/QĐ-UBND ngày 12/5/2024", or the date first: "ngày 12/5/2024, số 1234/QĐ-UBND"
    number = _clean_number(s[: m.start()]) or _clean_number(s[m.end():])
    return number, _parse_date_text(m.group(0).strip())


@_safe((None, None))
def parse_decision(value: object) -> tuple[str | None, date | None]:
    """Decision number (NFC, spaces normalised) and the date when the same cell holds one."""
    if _missing(value):
        return None, None
    if _is_number(value):
        f = float(value)
        return (str(int(f)) if f.is_integer() else str(value)), None
    s = _text(value)
    return _parse_decision_text(s) if s else (None, None)


@_safe(False)
def decision_no_well_formed(no: str) -> bool:
    """True for the ``<n>/QĐ-<issuer>`` shape (``1234/QĐ-UBND``, ``56/QĐ-BNN-VPĐP``)."""
    s = _text(no)
    return bool(s and _WELL_FORMED_RE.fullmatch(s))


# --- owner type ------------------------------------------------------------------------------

# Legal forms (folded) -> owner type; longest first so "ho kinh doanh" wins over shorter forms.
_LEGAL_FORMS: dict[str, str] = {
    "hop tac xa": "HTX", "htx": "HTX",
    "cong ty": "DN", "cty": "DN", "ctcp": "DN", "ct tnhh": "DN", "tong cong ty": "DN",
    "doanh nghiep": "DN", "dntn": "DN", "dn": "DN",
    "to hop tac": "THT", "tht": "THT",
    "ho kinh doanh": "HKD", "hkd": "HKD", "ho sxkd": "HKD", "ho san xuat": "HKD",
    "co so san xuat": "HKD", "cssx": "HKD", "co so": "HKD", "ho gia dinh": "HKD",
    "ho ong": "HKD", "ho ba": "HKD", "ca nhan": "HKD",
}
_LEGAL_FORM_RE = re.compile(
    r"(" + "|".join(sorted(map(re.escape, _LEGAL_FORMS), key=len, reverse=True)) + r")\b"
)


@lru_cache(maxsize=100_000)
def _legal_form(text: str) -> str | None:
    m = _LEGAL_FORM_RE.match(fold(text))
    return _LEGAL_FORMS[m.group(1)] if m else None


OWNER_TYPES = ("HTX", "DN", "THT", "HKD")
# One written form per owner type, as the register template's drop-down offers them.
OWNER_TYPE_LABELS_VI = {"HTX": "Hợp tác xã", "DN": "Doanh nghiệp", "THT": "Tổ hợp tác", "HKD": "Hộ kinh doanh"}


@_safe(None)
def parse_owner_type(value: object) -> str | None:
    """Owner-type cell -> ``HTX``, ``DN``, ``THT`` or ``HKD`` (None if unrecognised)."""
    s = _text(value)
    return _legal_form(s) if s else None


@_safe(None)
def infer_owner_type(owner_name: object) -> str | None:
    """Owner type from the legal form in front of the owner's name (``HTX Thành Công`` -> HTX),
    also when the form is mistyped by one edit (``Hợp tá xã``, ``Cty TNH``: the dedupe
    normaliser's reading, :func:`ocop.dedupe.normalize.split_owner`)."""
    s = _text(owner_name)
    if not s:
        return None
    found = _legal_form(s)
    if found is None:
        from ocop.dedupe.normalize import LEGAL_FAMILY, split_owner

        legal = split_owner(s)[0]
        found = LEGAL_FAMILY.get(legal) if legal else None
    return found


# --- issuing level ---------------------------------------------------------------------------

_LEVEL_PREFIX_RE = re.compile(r"^(?:cap |ubnd |uy ban nhan dan |co quan )+")
_LEVEL_WORDS = (
    ("central", re.compile(r"(?:trung uong|tw|bo|bnn\w*|chinh phu|thu tuong|ttg|quoc gia)\b")),
    ("district", re.compile(r"(?:huyen|quan|thi xa)\b")),
    ("provincial", re.compile(r"(?:tinh|thanh pho|tp)\b")),
)
_CENTRAL_ISSUERS = re.compile(r"\bqd (?:bnn\w*|ttg|bct|bkhcn|bvhttdl|btc)\b")
_PROVINCIAL_ISSUERS = re.compile(r"\bqd ubnd\b")


@lru_cache(maxsize=4096)
def _issuing_level_text(s: str) -> str | None:
    key = _LEVEL_PREFIX_RE.sub("", fold(s))
    for level, pattern in _LEVEL_WORDS:
        if pattern.match(key):
            return level
    return None


ISSUING_LEVELS = ("central", "provincial", "district")
# One written form per issuing level (template drop-down). Districts issued some 3-star
# decisions before 1 July 2025; the level stays valid for those.
ISSUING_LEVEL_LABELS_VI = {"central": "Trung ương", "provincial": "Tỉnh", "district": "Huyện"}


@_safe(None)
def parse_issuing_level(value: object) -> str | None:
    """``central`` (Trung ương, Bộ, TW), ``provincial`` (Tỉnh, Thành phố), ``district``
    (Huyện, Quận, Thị xã); None if unrecognised."""
    s = _text(value)
    return _issuing_level_text(s) if s else None


def infer_issuing_level(rating_class: str | None, decision_no: str | None) -> str:
    """Issuing level when no column says: from the decision's issuer (``/QĐ-BNN…``, ``/QĐ-TTg``
    -> central, ``/QĐ-UBND`` -> provincial), else 5-star -> central, otherwise provincial."""
    key = fold(decision_no) if isinstance(decision_no, str) else ""
    if _CENTRAL_ISSUERS.search(key):
        return "central"
    if _PROVINCIAL_ISSUERS.search(key):
        return "provincial"
    return "central" if rating_class == "5" else "provincial"


# --- status ----------------------------------------------------------------------------------

_STILL_VALID_RE = re.compile(r"(?:con|chua|dang)\b")
_REVOKED_RE = re.compile(r"thu hoi|\bhuy\b|revoked")
_EXPIRED_RE = re.compile(r"het han|het hieu luc|qua han|expired")


@lru_cache(maxsize=1024)
def _status_text(s: str) -> str:
    key = fold(s)
    if _STILL_VALID_RE.match(key):
        return "valid"
    if _REVOKED_RE.search(key):
        return "revoked"
    if _EXPIRED_RE.search(key):
        return "expired"
    return "valid"


STATUSES = ("valid", "expired", "revoked")
STATUS_LABELS_VI = {"valid": "Còn hiệu lực", "expired": "Hết hạn", "revoked": "Thu hồi"}  # template drop-down


@_safe("valid")
def parse_status(value: object) -> str:
    """``valid`` (Còn hiệu lực, blank, unknown), ``expired`` (Hết hạn), ``revoked`` (Thu hồi)."""
    s = _text(value)
    return _status_text(s) if s else "valid"


# --- snapshot date ---------------------------------------------------------------------------

_TITLE_DATE_RE = re.compile(
    r"\bden (?:het )?(?:ngay )?(\d{1,2}) (?:thang )?(\d{1,2}) (?:nam )?(\d{4})\b"
)
# year-month-day and day-month-year, with one separator repeated, or compact (20250630, 30062025)
_NAME_YMD_RE = re.compile(r"(?<!\d)(\d{4})(?:([-_.])(\d{1,2})\2(\d{1,2})|(\d{2})(\d{2}))(?!\d)")
_NAME_DMY_RE = re.compile(r"(?<!\d)(?:(\d{1,2})([-_.])(\d{1,2})\2|(\d{2})(\d{2}))(\d{4})(?!\d)")


def _plausible_snapshot(d: date | None) -> date | None:
    return d if d is not None and d.year in _SNAPSHOT_YEARS else None


@_safe(None)
def snapshot_date_from_title(lines: list[str]) -> date | None:
    """The "as of" date of title rows: ``Tính đến ngày 30/6/2025``, ``đến ngày 31 tháng 12 năm
    2025``, ``Cập nhật đến 30.6.2025``; the first such line wins."""
    for line in lines:
        s = _text(line)
        if s and (m := _TITLE_DATE_RE.search(fold(s))):
            if d := _plausible_snapshot(_ymd(m.group(3), m.group(2), m.group(1))):
                return d
    return None


@_safe(None)
def snapshot_date_from_filename(name: str) -> date | None:
    """A date in a file name (``2025-06-30``, ``20250630``, ``30-06-2025``, ``30_06_2025``);
    the latest plausible one (2018-2099) when several; None if none."""
    stem = PurePath(str(name)).name
    found = [_ymd(m[1], m[3] or m[5], m[4] or m[6]) for m in _NAME_YMD_RE.finditer(stem)]
    found += [_ymd(m[6], m[3] or m[5], m[1] or m[4]) for m in _NAME_DMY_RE.finditer(stem)]
    plausible = [d for d in map(_plausible_snapshot, found) if d]
    return max(plausible, default=None)
