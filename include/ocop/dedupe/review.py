"""Helpers for people: ``ocop dedupe review`` and ``ocop dedupe override`` (the CLI calls these).

``review_table`` renders the borderline pairs of a :class:`~ocop.dedupe.DedupeResult` (or the
same columns read back from the warehouse) as a plain-text table; ``override_row`` builds one row
of the warehouse table ``dedupe_override`` after checking it. Both are pure: no I/O.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ocop.dedupe.identity import MERGE_ACTION, SPLIT_ACTION

OVERRIDE_COLUMNS = ["a_submission_id", "a_row_id", "b_submission_id", "b_row_id", "action", "who", "why", "created_at"]
_SHOWN = {"a_submission_id": "A file", "a_row_id": "A row", "a_owner": "A owner", "a_product": "A product",
          "b_submission_id": "B file", "b_row_id": "B row", "b_owner": "B owner", "b_product": "B product",
          "score": "score", "reason": "why"}


def review_table(review: pd.DataFrame, limit: int | None = 50, width: int = 28) -> str:
    """Borderline pairs, highest score first, as an aligned text table (long texts are cut)."""
    if review.empty:
        return "No pairs to review."
    shown = review.sort_values("score", ascending=False).head(limit)[list(_SHOWN)].rename(columns=_SHOWN)
    shown = shown.astype(str).apply(lambda col: col.str.slice(0, width))
    footer = f"\n({len(review) - len(shown)} more)" if len(shown) < len(review) else ""
    return shown.to_string(index=False) + footer


def override_row(
    a: tuple[str, int], b: tuple[str, int], action: str, who: str, why: str, now: dt.datetime | None = None
) -> dict:
    """One ``dedupe_override`` row: force (``merge``) or forbid (``split``) records ``a`` and ``b``.

    The pair is stored in a canonical order so that the same decision entered twice is one row.
    """
    if action not in (MERGE_ACTION, SPLIT_ACTION):
        raise ValueError(f"action must be {MERGE_ACTION!r} or {SPLIT_ACTION!r}, not {action!r}")
    if not who.strip() or not why.strip():
        raise ValueError("an override needs who decided and why")
    (sa, ra), (sb, rb) = sorted([(str(a[0]), int(a[1])), (str(b[0]), int(b[1]))])
    if (sa, ra) == (sb, rb):
        raise ValueError("an override joins two different records")
    created = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    return dict(zip(OVERRIDE_COLUMNS, [sa, ra, sb, rb, action, who.strip(), why.strip(), created], strict=True))
