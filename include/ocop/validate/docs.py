"""GX Data Docs for engineers: one static HTML site per pipeline run, one page per suite result.

``write_data_docs(results, site_dir, submission=...)`` adds the GX validation results of one
validation (the ``ocop-rows`` and ``ocop-duplicates`` suite results that
:func:`ocop.validate.run.validate_many` already computed; nothing is validated again) to the
static site in ``site_dir`` and returns the path of its ``index.html``. A pipeline run validates
all its submissions at once, so its site is built once, with one page per suite for the run
(its unexpected rows named by submission id and row id); ``validate(parsed)`` of one file
gives that file's pages. Several validations into the same ``site_dir`` (one per run:
``runs/<run id>/data_docs/``) share one site whose index links to every page; they may be
written by parallel processes.

Layout of ``site_dir``::

    index.html, static/                   the GX site (DefaultSiteIndexBuilder)
    validations/<suite>/<submission id>/<run time>/<submission id>.html
    expectations/<suite>.html             each suite, every expectation with its rule in a note
    _gx/validations/..., _gx/expectations/...   the (small) GX JSON the pages are built from
    .lock                                 serialises writers (fcntl)

How it uses GX 1.x: a docs-only ``EphemeralDataContext`` per site (cached per process) whose
expectations and validation-results stores are ``TupleFilesystemStoreBackend`` folders under
``site_dir/_gx`` and whose one Data Docs site (``SiteBuilder``) writes to ``site_dir``; the
submission's results are put in the validation-results store under a
``ValidationResultIdentifier`` and ``context.build_data_docs(resource_identifiers=[...])``
renders just those pages and rebuilds the index from every result in the store (the same
thing ``UpdateDataDocsAction`` does after a Checkpoint run, without running the suites again).
No config files are written and the process's validation context stays the current one.

Size: the validation results are COMPLETE (every unexpected row id, an ``unexpected_index_query``
naming all of them). The docs copy keeps the counts, percentages, the 20 sampled values with
their counts, and at most :data:`MAX_UNEXPECTED` unexpected rows (value + row_id) per
expectation, so a 100k-row file with every row failing gives pages of a few hundred kB. The
full lists are in the run's ``issues.parquet`` and the province report.

Each expectation row of a validation page has extra columns ``Field``, ``GX expectation``
(the expectation type), ``Level`` and ``Rule`` (GX's "meta properties" columns, filled from
``meta={"rule", "field"}`` of :mod:`ocop.validate.suite` by :class:`RuleValidationResultsPageRenderer`,
the site's validation page renderer); the suite pages carry the rule code, level and English
message as each expectation's note.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import html
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ocop.validate.gx_import import import_gx

gx = import_gx()  # no analytics; scipy.stats and altair deferred (ocop.validate.gx_import)
from great_expectations.core import ExpectationSuite  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context import set_context  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration  # noqa: E402
from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer  # noqa: E402
from great_expectations.render.renderer.site_builder import SiteBuilder  # noqa: E402

from ocop.validate import suite as gx_suite  # noqa: E402
from ocop.validate.rules import rule  # noqa: E402

log = logging.getLogger("ocop.validate")

SITE_NAME = "ocop"
MAX_UNEXPECTED = 50  # unexpected rows (value + row_id) kept per expectation in the docs
# Columns added to each expectation row of a validation page: header -> key in meta["attributes"].
META_COLUMNS = {"Rule": "rule", "Field": "field", "Level": "level", "GX expectation": "type"}
# Result keys kept as they are (everything small); the long lists are capped, the query dropped.
_KEEP = ("element_count", "missing_count", "missing_percent", "unexpected_count", "unexpected_percent",
         "unexpected_percent_total", "unexpected_percent_nonmissing", "observed_value", "details",
         "partial_unexpected_list", "partial_unexpected_counts", "partial_unexpected_index_list",
         "unexpected_index_column_names")
_CAPPED = ("unexpected_list", "unexpected_index_list")
_SAFE = re.compile(r"[^\w.\-]+")
_JINJA_CACHE = jinja2.FileSystemBytecodeCache()


# --------------------------------------------------------------------------- context per site

def _site_paths(site_dir: Path) -> dict[str, Path]:
    return {"site": site_dir, "expectations": site_dir / "_gx" / "expectations",
            "validations": site_dir / "_gx" / "validations"}


def _store(name: str, base: Path) -> dict:
    return {"class_name": name, "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                                  "base_directory": str(base)}}


@lru_cache(maxsize=8)
def _docs_context(site: str):
    """The docs-only GX context of the site folder ``site`` (absolute): filesystem stores under
    ``<site>/_gx``, one Data Docs site at ``<site>``; no analytics, no config file written."""
    paths = _site_paths(Path(site))
    defaults = InMemoryStoreBackendDefaults()  # checkpoints, validation definitions: in memory
    stores = {**defaults.stores,
              defaults.expectations_store_name: _store("ExpectationsStore", paths["expectations"]),
              defaults.validation_results_store_name: _store("ValidationResultsStore", paths["validations"])}
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={SITE_NAME: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(paths["site"])},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "site_section_builders": {
                "validations": {"renderer": {"module_name": __name__,
                                             "class_name": RuleValidationResultsPageRenderer.__name__}},
                "profiling": "None",
            },
        }},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    current = gx_suite._context()  # get_context() makes the new context the current one: restore
    try:
        return gx.get_context(mode="ephemeral", project_config=config)
    finally:
        set_context(current)


@lru_cache(maxsize=8)
def _site_builder(site: str) -> SiteBuilder:
    """The site's GX ``SiteBuilder``, kept: its Jinja views compile their templates once (a new
    builder per ``context.build_data_docs()`` call recompiles them, ~0.5 s every time)."""
    context = _docs_context(site)
    builder = SiteBuilder(data_context=context, site_name=SITE_NAME,
                          runtime_environment={"data_context": context, "root_directory": None,
                                               "site_name": SITE_NAME},
                          **{k: v for k, v in context.variables.data_docs_sites[SITE_NAME].items()
                             if k != "class_name"})
    # A new process (an Airflow task) would still compile them once (~0.4 s): Jinja's own
    # bytecode cache (a private per-user folder under the temp dir) makes that a load.
    for b in (*builder.site_section_builders.values(), builder.site_index_builder):
        b.view_class.env.bytecode_cache = _JINJA_CACHE
    return builder


def _build(site_dir: Path, resource_identifiers: list) -> None:
    """What ``context.build_data_docs(resource_identifiers=...)`` does (``SiteBuilder.build``), with
    the cached builder, and the ~4 MB of static assets copied once per site rather than per call."""
    builder = _site_builder(str(site_dir))
    for section in builder.site_section_builders.values():
        section.build(resource_identifiers=resource_identifiers)
    marker = site_dir / "static" / ".copied"
    if not marker.exists():
        builder.target_store.copy_static_assets()
        marker.touch()
    builder.site_index_builder.build()


@contextlib.contextmanager
def _locked(site_dir: Path) -> Iterator[None]:
    """One writer at a time per site (parallel Airflow tasks of one run share the folder)."""
    with open(site_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- rendering

class _RuleColumnsConfig(ExpectationConfiguration):
    """An expectation configuration carrying GX's ``meta_properties_to_render`` kwarg for the
    extra table columns; building the Expectation object (for its description) without it, as
    GX 1.24's pydantic models refuse unknown kwargs."""

    def to_domain_obj(self):
        plain = ExpectationConfiguration(
            type=self.type, kwargs={k: v for k, v in self.kwargs.items() if k != "meta_properties_to_render"},
            meta=self.meta, notes=self.notes, description=self.description, severity=self.severity, id=self.id)
        return plain.to_domain_obj()


def _with_rule_columns(config: ExpectationConfiguration) -> ExpectationConfiguration:
    meta = dict(config.meta or {})
    code = meta.get("rule")
    meta["attributes"] = {"rule": code, "field": meta.get("field") or "(row)",
                          "level": rule(code).level if code else None, "type": config.type}
    return _RuleColumnsConfig(type=config.type, kwargs={**config.kwargs, "meta_properties_to_render": META_COLUMNS},
                              meta=meta, notes=config.notes, description=config.description,
                              severity=config.severity, id=config.id)


class RuleValidationResultsPageRenderer(ValidationResultsPageRenderer):
    """GX's validation page with ``Field``, ``Level`` and ``Rule`` columns from each expectation's
    ``meta`` (the site's ``validations`` section renderer)."""

    def render(self, validation_results, suite_parameters=None):
        for evr in validation_results.results:
            if evr.expectation_config is not None and "rule" in (evr.expectation_config.meta or {}):
                evr.expectation_config = _with_rule_columns(evr.expectation_config)
        return super().render(validation_results, suite_parameters=suite_parameters)


# --------------------------------------------------------------------------- docs copies

def _docs_result(result: Mapping | None, index_label: Callable[[int], dict] | None = None,
                 column: str | None = None) -> dict:
    """The counts and samples of an expectation result, with the long lists capped; the
    unexpected rows' positions named by ``index_label`` (e.g. ``{"row_id": 7}``) beside the
    value of ``column`` (as GX's own ``unexpected_index_column_names`` lists them)."""
    result = result or {}
    out = {k: result[k] for k in _KEEP if k in result}
    for k in _CAPPED:
        if k in result and result[k] is not None:
            out[k] = list(result[k][:MAX_UNEXPECTED])
    if index_label is not None:
        for k, values in (("unexpected_index_list", "unexpected_list"),
                          ("partial_unexpected_index_list", "partial_unexpected_list")):
            if out.get(k) is not None:
                vals = list(result.get(values) or [])
                out[k] = [{**index_label(int(p)), **({column: vals[i]} if column and i < len(vals) else {})}
                          for i, p in enumerate(out[k])]
        if out.get("unexpected_index_list"):
            out["unexpected_index_column_names"] = [k for k in out["unexpected_index_list"][0] if k != column]
    return out


def _docs_suite_result(res: ExpectationSuiteValidationResult, meta: dict, params: Mapping[str, Any],
                       index_label: Callable[[int], dict] | None = None) -> ExpectationSuiteValidationResult:
    results = [
        ExpectationValidationResult(success=r.success, expectation_config=r.expectation_config,
                                    result=_docs_result(r.result, index_label, (r.expectation_config.kwargs or {}).get("column")), meta=dict(r.meta or {}),
                                    exception_info=r.exception_info)
        for r in res.results
    ]
    return ExpectationSuiteValidationResult(
        success=res.success, results=results, suite_name=res.suite_name, suite_parameters=dict(params),
        statistics=dict(res.statistics), meta=meta, batch_id=res.batch_id)


def _docs_suite(name: str) -> ExpectationSuite:
    """Suite ``name`` as documentation: every expectation notes its rule code, level and message."""
    configs = []
    for e in gx_suite.build_suite(name).expectations:
        c = e.configuration
        r = rule(c.meta["rule"])
        field = c.meta.get("field") or "the row's missing field"
        configs.append(ExpectationConfiguration(
            type=c.type, kwargs={k: v for k, v in c.kwargs.items() if k != "batch_id"}, meta=dict(c.meta),
            notes=f"**{r.code}** ({r.level}; field `{field}`; `{c.type}`): {r.message_en}"))
    return ExpectationSuite(name=name, expectations=configs,
                            notes=f"OCOP validation suite {name}, built from ocop.validate.rules.RULES.")


# --------------------------------------------------------------------------- public

def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "submission"


def write_data_docs(results: Mapping[str, ExpectationSuiteValidationResult], site_dir: Path, *,
                    submission: Mapping[str, Any], run_time: dt.datetime | None = None,
                    index_label: Callable[[int], dict] | None = None) -> Path:
    """Add one submission's suite results to the Data Docs site in ``site_dir``; return index.html.

    ``results``: suite name -> the GX result of :func:`ocop.validate.suite.run_suite`.
    ``submission``: ``submission_id`` (or ``file_name``), ``province_code``, ``file_name``,
    ``snapshot_date``, ``sha256``, ``rows`` (shown on the pages). Writing the same submission
    again (an Airflow retry) replaces its pages. ``index_label``: position of an unexpected row
    in the validated frame -> how the pages name it (``{"row_id": ...}``, with the submission
    id when the frame held several).
    """
    site_dir = Path(site_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)
    sid = _safe(str(submission.get("submission_id") or submission.get("file_name") or "submission"))
    run_time = run_time or dt.datetime.now(dt.timezone.utc)
    asset = f"{submission.get('province_code')} / {submission.get('file_name')}"
    params = {"snapshot_date": str(submission.get("snapshot_date")),
              "province_codes": str(submission.get("province_code")).split(",")}
    with _locked(site_dir):  # first: creating the stores writes their backend id files
        context = _docs_context(str(site_dir))
        store = context.validation_results_store
        suite_keys = []
        for name in results:  # the suites are the same for every submission: written once per site
            key = ExpectationSuiteIdentifier(name=name)
            if not context.expectations_store.has_key(key):
                context.expectations_store.add(key, _docs_suite(name))
                suite_keys.append(key)
        # A retry replaces the submission's earlier results (their pages go with the index rebuild).
        for old in store.list_keys():
            if old.batch_identifier == sid and old.expectation_suite_identifier.name in results:
                store.remove_key(old)
        keys = []
        for name, res in results.items():
            key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=name),
                                             RunIdentifier(run_name=sid, run_time=run_time), sid)
            meta = {
                "great_expectations_version": gx.__version__,
                "run_id": key.run_id,
                "validation_id": sid,
                "batch_spec": {"data_asset_name": asset, **{k: str(v) for k, v in submission.items()},
                               "docs_note": f"at most {MAX_UNEXPECTED} unexpected rows per expectation; "
                                            "all of them are in the run's issues.parquet"},
                "active_batch_definition": res.meta.get("active_batch_definition"),
            }
            store.set(key, _docs_suite_result(res, meta, params, index_label))
            keys.append(key)
        _build(site_dir, resource_identifiers=[*keys, *suite_keys])
        _write_offline_index(site_dir)
    index = site_dir / "index.html"
    log.info("GX Data Docs of %s: %s (offline list: %s)", sid, index, site_dir / OFFLINE_INDEX)
    return index


OFFLINE_INDEX = "submissions.html"


def _write_offline_index(site_dir: Path) -> None:
    """A plain list of every validation page. GX's own index.html draws its table with
    JavaScript loaded from CDNs, so on an offline network it shows no rows; the pages
    themselves are server-rendered and readable without their stylesheets."""
    pages = sorted((site_dir / "validations").glob("*/*/*/*.html"))
    items = "\n".join(
        f'<li><a href="{html.escape(p.relative_to(site_dir).as_posix())}">{html.escape(p.parts[-3])}</a> '
        f"— suite {html.escape(p.parts[-4])}, run {html.escape(p.parts[-2])}</li>" for p in pages)
    (site_dir / OFFLINE_INDEX).write_text(
        "<!doctype html><meta charset=utf-8><title>OCOP validation results</title>"
        f"<h1>OCOP validation results ({len(pages)} pages)</h1><ul>\n{items}\n</ul>\n", encoding="utf-8")
