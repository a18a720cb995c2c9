"""Validate one parsed submission: row outcomes, issues and the file outcome.

``validate_many(parsed_list)`` stacks the submissions of a run (or a batch of them) into one
check frame (:mod:`ocop.validate.checks`), runs the GX suite of every non-duplicate rule once,
then the duplicates suite once over the rows no other rule rejected, and maps the unexpected
positions back to one issue per (submission, row, rule, field). ``validate(parsed)`` is the
batch of one. A row with a reject
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
from ocop.validate import checks
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


def _result_issues(result, first_exp: int = 0) -> pd.DataFrame:
    """(pos, rule, field, exp) of every unexpected row of a GX suite result: ``pos`` is the
    row's position in the validated frame, ``exp`` numbers the expectation across suites."""
    parts = []
    for i, r in enumerate(result.results):
        if r.success:
            continue
        pos = np.asarray(r.result.get("unexpected_index_list") or [], dtype="int64")
        meta = r.expectation_config.meta  # GX rebuilds the configuration on each access: once
        parts.append(pd.DataFrame({"pos": pos, "rule": meta["rule"], "field": meta["field"],
                                   "exp": first_exp + i}))
    if not parts:
        return pd.DataFrame({"pos": pd.Series(dtype="int64"), "rule": pd.Series(dtype=object),
                             "field": pd.Series(dtype=object), "exp": pd.Series(dtype="int64")})
    return pd.concat(parts, ignore_index=True)


_LEVEL = {r.code: r.level for r in RULES}


def _drop_moot_warnings(issues: pd.DataFrame) -> pd.DataFrame:
    """W_EXPIRED says "loaded but not counted": moot on a row that is rejected anyway (a date
    before 2018 is also long expired), so the province is told the real problem only."""
    rejected = issues.loc[issues["rule"].map(_LEVEL) == "reject", "pos"]
    moot = (issues["rule"] == "W_EXPIRED") & issues["pos"].isin(rejected)
    return issues.loc[~moot].reset_index(drop=True)


@dataclass
class _Stack:
    """The submissions of one validation, one after the other (positions 0..n-1)."""

    parsed: list
    snapshots: list[str]
    records: pd.DataFrame  # the columns the checks read, RangeIndex
    sub: np.ndarray  # position -> index of its submission
    starts: np.ndarray  # submission -> its first position (and n at the end)

    @classmethod
    def of(cls, parsed: list, snapshots: list[str]) -> "_Stack":
        sizes = np.array([len(p.records) for p in parsed], dtype="int64")
        starts = np.concatenate([[0], np.cumsum(sizes)])
        frames = [p.records.drop(columns=["raw_json"], errors="ignore") for p in parsed]
        records = frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return cls(parsed, snapshots, records, np.repeat(np.arange(len(parsed)), sizes), starts)

    def per_row(self, values: list) -> pd.Series:
        return pd.Series(np.repeat(np.asarray(values, dtype=object), np.diff(self.starts)), index=self.records.index)


def _enrich(issues: pd.DataFrame, st: _Stack) -> pd.DataFrame:
    """Add the submission, row id, cell address (sheet, excel_row, column letter), severity and
    message; sorted by submission, row, then rule order (the rules table's)."""
    issues = issues.drop_duplicates(["pos", "rule", "field"]).copy()
    pos = issues["pos"].to_numpy()
    rec = st.records
    issues["sub"] = st.sub[pos]
    issues["row_id"] = rec["row_id"].to_numpy()[pos].astype("int64")
    issues["excel_row"] = rec["excel_row"].to_numpy()[pos].astype("int64")
    issues["sheet"] = pd.Series(rec["sheet"].to_numpy(dtype=object)[pos], index=issues.index, dtype=object)
    columns = [p.columns for p in st.parsed]
    issues["column_letter"] = pd.Series([columns[s].get(f) if isinstance(f, str) else None
                                         for s, f in zip(issues["sub"], issues["field"])],
                                        index=issues.index, dtype=object)
    issues["severity"] = issues["rule"].map(_LEVEL).astype(object)
    messages = {k: issue_message_vi(*k) for k in set(zip(issues["rule"], issues["field"]))}
    issues["message_vi"] = [messages[k] for k in zip(issues["rule"], issues["field"])]
    issues["_order"] = issues["rule"].map(_RULE_ORDER)
    return issues.sort_values(["sub", "row_id", "_order"], kind="stable").drop(columns="_order")


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


def _gx_summary(n_expectations: dict[str, int], failed: dict[str, int]) -> dict:
    """GX statistics of one submission: of its suites' expectations, those with an unexpected row."""
    suites = {name: {"success": not failed.get(name), "statistics": {
        "evaluated_expectations": n, "successful_expectations": n - failed.get(name, 0),
        "unsuccessful_expectations": failed.get(name, 0)}} for name, n in n_expectations.items()}
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


def validate(parsed, snapshot_date: str | None = None, *, limits: Limits | None = None,
             data_docs_dir: Path | None = None) -> Validated:
    """Validate a ``ParsedSubmission`` (duck-typed: see docs/architecture.md): a batch of one
    of :func:`validate_many`.

    ``data_docs_dir``: when given (one folder per run, e.g. ``<run_dir>/data_docs``), the GX
    results are also added as pages to the GX Data Docs site there (:mod:`ocop.validate.docs`)
    and ``Validated.data_docs_path`` is its ``index.html``. Failing to write the docs is logged,
    never fails the validation (``data_docs_path`` stays None)."""
    return validate_many([parsed], [snapshot_date], limits=limits, data_docs_dir=data_docs_dir)[0]


def validate_many(parsed: list, snapshot_dates: list[str | None] | None = None, *, limits: Limits | None = None,
                  data_docs_dir: Path | None = None, docs_id: str | None = None,
                  docs_later: list | None = None) -> list[Validated]:
    """Validate several submissions in one GX run per suite; one :class:`Validated` each, the
    same as validating each alone: the rows are stacked (each submission's snapshot date and
    province per row), the unexpected positions mapped back to (submission, row id), and the
    file-level rules (the > 50 % rule) judged per submission.

    ``data_docs_dir``: the batch's results go to the run's Data Docs site in one build, as one
    page per suite named ``docs_id`` (by default the submission id of a batch of one, else the
    first submission id and the count); its unexpected rows are named by submission and row id.
    ``docs_later``: given a list, the build is appended to it as a function to call later (off
    a run's critical path) and ``data_docs_path`` is the index it writes."""
    if not parsed:
        return []
    from ocop.validate import suite  # Great Expectations: imported on first use, not with this module

    limits = limits or Limits()
    snapshot_dates = snapshot_dates or [None] * len(parsed)
    snapshots = [s or p.snapshot_date or dt.date.today().isoformat() for p, s in zip(parsed, snapshot_dates)]
    st = _Stack.of(parsed, snapshots)
    rec = st.records

    keys = checks.DuplicateKeys(rec)  # a large frame's: worked out on another core meanwhile
    try:
        first = suite.run_suite(suite.ROWS_SUITE, checks.check_frame(
            rec, pd.to_datetime(st.per_row(snapshots)), st.per_row([p.province_code for p in parsed])))
        row_issues = _result_issues(first)
        reject_codes = [r.code for r in RULES if r.level == "reject"]
        rejected = pd.Series(False, index=rec.index)
        rejected.iloc[row_issues.loc[row_issues["rule"].isin(reject_codes), "pos"].unique()] = True
        dup_frame = checks.duplicate_frame(rec, rejected, group=pd.Series(st.sub, index=rec.index), keys=keys)
    finally:
        keys.close()
    second = suite.run_suite(suite.DUPLICATES_SUITE, dup_frame)
    raw = pd.concat([row_issues, _result_issues(second, len(first.results))], ignore_index=True)

    issues = _enrich(_drop_moot_warnings(raw), st)
    sev = issues["severity"].to_numpy()
    is_rej = np.zeros(len(rec), bool)
    is_rej[issues["pos"].to_numpy()[sev == "reject"]] = True
    is_warn = np.zeros(len(rec), bool)
    is_warn[issues["pos"].to_numpy()[sev == "warning"]] = True
    outcome = np.select([is_rej, is_warn], ["rejected", "warning"], "accepted")
    n_exp = {suite.ROWS_SUITE: len(first.results), suite.DUPLICATES_SUITE: len(second.results)}
    failed_exp = raw.assign(sub=st.sub[raw["pos"].to_numpy()]).groupby("sub")["exp"].unique()
    by_sub = issues.groupby("sub").indices

    out = []
    for i, p in enumerate(parsed):
        a, b = st.starts[i], st.starts[i + 1]
        records = p.records.assign(outcome=pd.Series(outcome[a:b], index=p.records.index, dtype=object))
        mine = issues.iloc[by_sub[i]] if i in by_sub else issues.iloc[:0]
        mine = mine[ISSUE_COLUMNS].reset_index(drop=True)
        counts = _counts(records, mine)
        too_many = counts["received"] > 0 and counts["rejected"] > limits.max_reject_share * counts["received"]
        file_rule = "F_TOO_MANY_REJECTED" if too_many else None
        exps = failed_exp.get(i, [])
        failed = {suite.ROWS_SUITE: int(sum(e < n_exp[suite.ROWS_SUITE] for e in exps))}
        failed[suite.DUPLICATES_SUITE] = len(exps) - failed[suite.ROWS_SUITE]
        v = Validated(
            parsed=p, records=records, issues=mine,
            file_outcome="rejected" if too_many else "accepted",
            file_rule=file_rule, file_message_vi=rule(file_rule).message_vi if file_rule else None,
            counts=counts, gx_summary=_gx_summary(n_exp, failed),
            file_detail=(f"{counts['rejected']} of {counts['received']} rows rejected" if too_many else None),
        )
        _log_summary(v)
        out.append(v)
    if data_docs_dir is not None:
        results = {suite.ROWS_SUITE: first, suite.DUPLICATES_SUITE: second}
        if docs_later is not None:
            docs_later.append(lambda: _write_docs(results, st, out, Path(data_docs_dir), docs_id))
            index = Path(data_docs_dir).resolve() / "index.html"
        else:
            index = _write_docs(results, st, out, Path(data_docs_dir), docs_id)
        for v in out:
            v.data_docs_path = index
    return out


def _write_docs(results: dict, st: _Stack, validated: list[Validated], site_dir: Path,
                docs_id: str | None) -> Path | None:
    from ocop.validate.docs import write_data_docs

    parsed = st.parsed
    one = len(parsed) == 1
    sids = [getattr(p, "submission_id", None) or p.file_name for p in parsed]
    row_ids = st.records["row_id"].to_numpy()
    if one:
        p, c = parsed[0], validated[0].counts
        submission = {"submission_id": docs_id or sids[0], "province_code": p.province_code,
                      "file_name": p.file_name, "snapshot_date": st.snapshots[0], "sha256": getattr(p, "sha256", None),
                      "rows": c["received"], "rejected": c["rejected"], "warned": c["warned"]}

        def label(pos: int) -> dict:
            return {"row_id": int(row_ids[pos])}
    else:
        submission = {"submission_id": docs_id or f"{sids[0]}+{len(sids) - 1}",
                      "province_code": ",".join(dict.fromkeys(p.province_code for p in parsed)),
                      "file_name": f"{len(parsed)} submissions: " + ", ".join(p.file_name for p in parsed),
                      "snapshot_date": ",".join(sorted(set(st.snapshots))), "sha256": None,
                      "submissions": ", ".join(sids),
                      **{k: sum(v.counts[c] for v in validated)
                         for k, c in (("rows", "received"), ("rejected", "rejected"), ("warned", "warned"))}}

        def label(pos: int) -> dict:
            return {"submission_id": sids[st.sub[pos]], "row_id": int(row_ids[pos])}
    try:
        return write_data_docs(results, site_dir, submission=submission, index_label=label)
    except Exception:  # the engineers' HTML must never cost a province its validation
        log.exception("GX Data Docs for %s could not be written to %s", submission["submission_id"], site_dir)
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
