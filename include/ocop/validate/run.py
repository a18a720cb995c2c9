"""Validate one parsed submission: row outcomes, issues and the file outcome.

``validate(parsed)`` builds the check frame (:mod:`ocop.validate.checks`), runs the GX suite
of every non-duplicate rule, then the duplicates suite over the rows no other rule rejected,
and turns the unexpected row ids into one issue per (row, rule, field). A row with a reject
issue is ``rejected``, else with a warning ``warning``, else ``accepted``; more than the
configured share of rejected rows rejects the whole file (``F_TOO_MANY_REJECTED``).

``file_rejected(meta, rule)`` gives the same :class:`Validated` shape for files rejected
before parsing, so reports are written the same way for both.

Counts: ``received`` = data rows; ``accepted`` (no issue), ``warned`` (accepted with
warnings) and ``rejected`` add up to it; ``by_rule`` = rows affected per rule code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ocop.config import Limits
from ocop.validate import checks, suite
from ocop.validate.rules import RULES, issue_message_vi, rule

log = logging.getLogger("ocop.validate")

ISSUE_COLUMNS = ["row_id", "excel_row", "sheet", "rule", "field", "column_letter", "severity", "message_vi"]
OUTCOMES = ("accepted", "warning", "rejected")
_RULE_ORDER = {r.code: i for i, r in enumerate(RULES)}


@dataclass
class Validated:
    """A submission after validation (the input of reports and of the warehouse load)."""

    parsed: Any  # the ParsedSubmission (or the file metadata of a file rejected before parsing)
    records: pd.DataFrame  # the record frame + ``outcome``
    issues: pd.DataFrame  # ISSUE_COLUMNS, one row per (row, rule, field)
    file_outcome: str  # "accepted" | "rejected"
    file_rule: str | None
    file_message_vi: str | None
    counts: dict
    gx_summary: dict = field(default_factory=dict)  # {"success", "statistics", "suites": {...}}
    file_detail: str | None = None  # technical detail of a file-level rejection
    data_docs_path: Path | None = None
    # row_ids of rejected rows whose product stays registered from the province's previous
    # accepted snapshot (set by the pipeline, which knows the warehouse; the reports say so)
    kept_from_previous: list[int] = field(default_factory=list)


def _result_issues(result) -> pd.DataFrame:
    """(row_id, rule, field) of every unexpected row of a GX suite result."""
    parts = []
    for r in result.results:
        if r.success:
            continue
        ids = [d["row_id"] for d in r.result.get("unexpected_index_list") or []]
        meta = r.expectation_config.meta
        parts.append(pd.DataFrame({"row_id": np.asarray(ids, dtype="int64"), "rule": meta["rule"],
                                   "field": meta["field"]}))
    if not parts:
        return pd.DataFrame({"row_id": pd.Series(dtype="int64"), "rule": pd.Series(dtype=object),
                             "field": pd.Series(dtype=object)})
    return pd.concat(parts, ignore_index=True)


def _rejected_mask(records: pd.DataFrame, issues: pd.DataFrame) -> pd.Series:
    reject_codes = [r.code for r in RULES if r.level == "reject"]
    ids = issues.loc[issues["rule"].isin(reject_codes), "row_id"]
    return records["row_id"].isin(ids)


def _enrich(issues: pd.DataFrame, records: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Add the cell address (sheet, excel_row, column letter), severity and message."""
    issues = issues.drop_duplicates().copy()
    by_id = records.set_index("row_id")
    issues["excel_row"] = issues["row_id"].map(by_id["excel_row"]).astype("int64")
    issues["sheet"] = issues["row_id"].map(by_id["sheet"]).astype(object)
    issues["column_letter"] = pd.Series([columns.get(f) if isinstance(f, str) else None for f in issues["field"]],
                                        index=issues.index, dtype=object)
    issues["severity"] = issues["rule"].map(lambda c: rule(c).level).astype(object)
    issues["message_vi"] = [issue_message_vi(c, f) for c, f in zip(issues["rule"], issues["field"])]
    issues["_order"] = issues["rule"].map(_RULE_ORDER)
    issues = issues.sort_values(["row_id", "_order"], kind="stable").drop(columns="_order")
    return issues[ISSUE_COLUMNS].reset_index(drop=True)


def _outcomes(records: pd.DataFrame, issues: pd.DataFrame) -> pd.Series:
    rejected = records["row_id"].isin(issues.loc[issues["severity"] == "reject", "row_id"])
    warned = records["row_id"].isin(issues.loc[issues["severity"] == "warning", "row_id"])
    return pd.Series(np.select([rejected, warned], ["rejected", "warning"], "accepted"), index=records.index,
                     dtype=object)


def _counts(records: pd.DataFrame, issues: pd.DataFrame) -> dict:
    outcome = records["outcome"].value_counts()
    by_rule = issues.groupby("rule")["row_id"].nunique()
    return {
        "received": int(len(records)),
        "accepted": int(outcome.get("accepted", 0)),
        "warned": int(outcome.get("warning", 0)),
        "rejected": int(outcome.get("rejected", 0)),
        "by_rule": {c: int(by_rule[c]) for c in sorted(by_rule.index, key=_RULE_ORDER.__getitem__)},
    }


def _gx_summary(results: dict) -> dict:
    suites = {name: {"success": bool(r.success), "statistics": dict(r.statistics)} for name, r in results.items()}
    stats = {k: sum(s["statistics"][k] for s in suites.values())
             for k in ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations")}
    return {"success": all(s["success"] for s in suites.values()), "statistics": stats, "suites": suites}


def _log_summary(v: Validated) -> None:
    p, c = v.parsed, v.counts
    top = ", ".join(f"{code} {n}" for code, n in sorted(c["by_rule"].items(), key=lambda kv: -kv[1])[:5])
    log.info(
        "Data quality of %s (province %s, snapshot %s): %d rows received, %d accepted, %d with warnings, "
        "%d rejected; file %s%s. Most frequent rules: %s. GX: %d of %d expectations met.",
        p.file_name, p.province_code, getattr(p, "snapshot_date", None), c["received"], c["accepted"],
        c["warned"], c["rejected"], v.file_outcome, f" ({v.file_rule})" if v.file_rule else "", top or "none",
        v.gx_summary.get("statistics", {}).get("successful_expectations", 0),
        v.gx_summary.get("statistics", {}).get("evaluated_expectations", 0),
    )


def _drop_moot_warnings(issues: pd.DataFrame) -> pd.DataFrame:
    """W_EXPIRED says "loaded but not counted": moot on a row that is rejected anyway (a date
    before 2018 is also long expired), so the province is told the real problem only."""
    rejected = set(issues.loc[issues["rule"].map(lambda c: rule(c).level) == "reject", "row_id"])
    moot = (issues["rule"] == "W_EXPIRED") & issues["row_id"].isin(rejected)
    return issues.loc[~moot].reset_index(drop=True)


def validate(parsed, snapshot_date: str | None = None, *, limits: Limits | None = None,
             data_docs_dir: Path | None = None) -> Validated:
    """Validate a ``ParsedSubmission`` (duck-typed: see docs/architecture.md).

    ``data_docs_dir``: when given (one folder per run, e.g. ``<run_dir>/data_docs``), the GX
    results are also added as pages to the GX Data Docs site there (:mod:`ocop.validate.docs`)
    and ``Validated.data_docs_path`` is its ``index.html``. Failing to write the docs is logged,
    never fails the validation (``data_docs_path`` stays None)."""
    limits = limits or Limits()
    snapshot = snapshot_date or parsed.snapshot_date or dt.date.today().isoformat()
    records = parsed.records
    params = {"snapshot_date": snapshot, "province_code": parsed.province_code}

    first = suite.run_suite(suite.ROWS_SUITE, checks.check_frame(records), **params)
    row_issues = _result_issues(first)
    dup_frame = checks.duplicate_frame(records, _rejected_mask(records, row_issues))
    second = suite.run_suite(suite.DUPLICATES_SUITE, dup_frame, **params)

    issues = pd.concat([row_issues, _result_issues(second)], ignore_index=True)
    issues = _enrich(_drop_moot_warnings(issues), records, parsed.columns)
    records = records.assign(outcome=_outcomes(records, issues))
    counts = _counts(records, issues)
    too_many = counts["received"] > 0 and counts["rejected"] > limits.max_reject_share * counts["received"]
    file_rule = "F_TOO_MANY_REJECTED" if too_many else None
    v = Validated(
        parsed=parsed, records=records, issues=issues,
        file_outcome="rejected" if too_many else "accepted",
        file_rule=file_rule, file_message_vi=rule(file_rule).message_vi if file_rule else None,
        counts=counts, gx_summary=_gx_summary({suite.ROWS_SUITE: first, suite.DUPLICATES_SUITE: second}),
        file_detail=(f"{counts['rejected']} of {counts['received']} rows rejected" if too_many else None),
    )
    _log_summary(v)
    if data_docs_dir is not None:
        v.data_docs_path = _write_docs({suite.ROWS_SUITE: first, suite.DUPLICATES_SUITE: second}, parsed,
                                       snapshot, counts, Path(data_docs_dir))
    return v


def _write_docs(results: dict, parsed, snapshot: str, counts: dict, site_dir: Path) -> Path | None:
    from ocop.validate.docs import write_data_docs

    submission = {"submission_id": getattr(parsed, "submission_id", None) or parsed.file_name,
                  "province_code": parsed.province_code, "file_name": parsed.file_name,
                  "snapshot_date": snapshot, "sha256": getattr(parsed, "sha256", None),
                  "rows": counts["received"], "rejected": counts["rejected"], "warned": counts["warned"]}
    try:
        return write_data_docs(results, site_dir, submission=submission)
    except Exception:  # the engineers' HTML must never cost a province its validation
        log.exception("GX Data Docs for %s could not be written to %s", parsed.file_name, site_dir)
        return None


def file_rejected(meta, rule_code: str, detail: str | None = None) -> Validated:
    """A :class:`Validated` for a file rejected before parsing (``meta``: object or mapping with
    submission_id, province_code, file_name, sha256, snapshot_date)."""
    if isinstance(meta, Mapping):
        meta = SimpleNamespace(**meta)
    r = rule(rule_code)
    if r.level != "file":
        raise ValueError(f"{rule_code} is not a file-level rule")
    records = pd.DataFrame({"row_id": pd.Series(dtype="int64"), "sheet": pd.Series(dtype=object),
                            "excel_row": pd.Series(dtype="int64"), "raw_json": pd.Series(dtype=object),
                            "outcome": pd.Series(dtype=object)})
    issues = pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})
    v = Validated(parsed=meta, records=records, issues=issues, file_outcome="rejected", file_rule=rule_code,
                  file_message_vi=r.message_vi, file_detail=detail,
                  counts={"received": 0, "accepted": 0, "warned": 0, "rejected": 0, "by_rule": {}})
    _log_summary(v)
    return v
