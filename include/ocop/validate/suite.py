"""The Great Expectations (1.x) suites, built from :data:`ocop.validate.rules.RULES`.

Each row-level rule has one builder in :data:`_BUILDERS` that returns its GX expectations
over the check frame of :mod:`ocop.validate.checks`; each expectation carries
``meta={"rule": code, "field": record column}`` so a failed expectation's unexpected row ids
become issues. Two suites are built: ``ocop-rows`` (every rule but duplicates) and
``ocop-duplicates`` (judged among the rows the first suite did not reject).

The snapshot date and the submitting province differ per file, and one validation covers
every submission of a run stacked into one frame (:func:`ocop.validate.run.validate_many`):
so the rules that compare with them read per-row columns of the check frame (days after the
row's snapshot, the row's province when it is not the submitting one) against constant bounds,
and the suites have no parameters. They are built once per process (``ExpectationSuite(
expectations=[...])``, not ``add_expectation`` one by one). The ephemeral context (no usage
statistics, no progress bars) and its pandas batch definition are cached as well.

Results name the unexpected rows by their position in the frame (GX's pandas index): the
caller maps positions back to (submission, row id), which is cheaper than GX's per-row
``unexpected_index_column_names`` lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import pandas as pd

from ocop.validate.gx_import import import_gx

gx = import_gx()  # no analytics; scipy.stats and altair deferred (ocop.validate.gx_import)
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from ocop.reference.groups import GROUPS_148  # noqa: E402
from ocop.validate.checks import DUPLICATE_FACTS  # noqa: E402
from ocop.validate.rules import (  # noqa: E402
    DECISION_DATE_FIELD,
    PROGRAM_START,
    RATING_CLASSES,
    REQUIRED_FIELDS,
    RULES,
)

ROWS_SUITE = "ocop-rows"
DUPLICATES_SUITE = "ocop-duplicates"
DUPLICATE_RULES = frozenset({"R_DUPLICATE_CONFLICT", "W_DUPLICATE_IDENTICAL"})
# COMPLETE: every unexpected row's position (the frame has a RangeIndex); no query string.
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


def _meta(code: str, field: str | None) -> dict:
    return {"rule": code, "field": field}


def _required(code: str) -> list:
    exps = [gxe.ExpectColumnValuesToNotBeNull(column=f, meta=_meta(code, f)) for f in REQUIRED_FIELDS]
    exps.append(gxe.ExpectColumnValuesToNotBeNull(column="decision_date_given",
                                                  meta=_meta(code, DECISION_DATE_FIELD)))
    return exps


def _in_set(column: str, values) -> Callable[[str, str | None], list]:
    return lambda code, field: [gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values,
                                                                meta=_meta(code, field))]


def _duplicate_conflict(code: str, _field: str | None) -> list:
    return [gxe.ExpectColumnValuesToBeInSet(column=f"dup_conflict_{raw}", value_set=[False], meta=_meta(code, raw))
            for raw in DUPLICATE_FACTS.values()]


def _expired(code: str, field: str | None) -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="expiry_days_after_snapshot", min_value=0, strict_min=True,
                                          meta=_meta(code, field)),
        gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["expired"], meta=_meta(code, "status_raw")),
    ]


# Rule code -> builder(code, rule.field) of its expectations over the check frame.
_BUILDERS: dict[str, Callable[[str, str | None], list]] = {
    "R_REQUIRED_MISSING": lambda code, _field: _required(code),
    "R_RATING_INVALID": _in_set("rating", list(RATING_CLASSES)),
    "R_GROUP_UNKNOWN": _in_set("group", [str(c) for c in GROUPS_148]),
    "R_DATE_INVALID": lambda code, field: [gxe.ExpectColumnValuesToMatchRegex(
        column="decision_date_text", regex=r"^\d{4}-\d{2}-\d{2}$", meta=_meta(code, field))],
    "R_DATE_BEFORE_PROGRAM": lambda code, field: [gxe.ExpectColumnValuesToBeBetween(
        column="decision_dt", min_value=pd.Timestamp(PROGRAM_START), meta=_meta(code, field))],
    "R_DATE_AFTER_SNAPSHOT": lambda code, field: [gxe.ExpectColumnValuesToBeBetween(
        column="decision_days_after_snapshot", max_value=0, meta=_meta(code, field))],
    "R_PROVINCE_MISMATCH": lambda code, field: [gxe.ExpectColumnValuesToBeNull(
        column="row_province_foreign", meta=_meta(code, field))],
    "R_FIVE_STAR_NOT_CENTRAL": _in_set("five_star_level", ["central"]),
    "R_LEGACY_ENCODING": _in_set("legacy_failed", [False]),
    "R_DUPLICATE_CONFLICT": _duplicate_conflict,
    "W_DUPLICATE_IDENTICAL": _in_set("dup_repeat", [False]),
    "W_EXPIRED": _expired,
    "W_OWNER_TYPE_INFERRED": _in_set("owner_type_inferred", [False]),
    "W_DECISION_NO_FORMAT": _in_set("decision_no_ok", [True]),
    "W_LEGACY_CONVERTED": _in_set("legacy_converted", [False]),
}


def row_rule_codes() -> list[str]:
    """Codes of the row-level rules (every one must have a builder)."""
    return [r.code for r in RULES if r.level != "file"]


@lru_cache(maxsize=None)
def build_suite(name: str) -> gx.ExpectationSuite:
    """The suite ``name`` (:data:`ROWS_SUITE` or :data:`DUPLICATES_SUITE`) built from RULES."""
    _context()  # GX suites need an active context
    want_duplicates = name == DUPLICATES_SUITE
    expectations = [e for r in RULES if r.level != "file" and (r.code in DUPLICATE_RULES) == want_duplicates
                    for e in _BUILDERS[r.code](r.code, r.field)]
    return gx.ExpectationSuite(name=name, expectations=expectations)


@lru_cache(maxsize=1)
def _context():
    """The process's ephemeral GX context: in memory, no analytics, no progress bars.

    GX's pandas engine also fingerprints every batch (an md5 of ``hash_pandas_object`` of the
    whole frame, 2 s of a 100k-row validation) for a batch marker nothing here reads; a zero
    threshold turns that off for this process."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@lru_cache(maxsize=1)
def _batch_definition():
    asset = _context().data_sources.add_pandas("ocop").add_dataframe_asset("check_frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_suite(name: str, frame: pd.DataFrame):
    """Validate ``frame`` (RangeIndex: its positions name the unexpected rows) against suite
    ``name`` with ``Batch.validate`` (no result store, no checkpoint); returns the GX
    ``ExpectationSuiteValidationResult``.

    Raises ``RuntimeError`` when an expectation itself failed to run (a bug, never data).
    """
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(build_suite(name), result_format=RESULT_FORMAT)
    broken = [r for r in result.results if _raised(r.exception_info or {})]
    if broken:
        raise RuntimeError(f"GX expectation {broken[0].expectation_config.type} failed: {broken[0].exception_info}")
    return result


def _raised(info: dict) -> bool:
    """GX reports an exception either flat or keyed by metric id."""
    return bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())
