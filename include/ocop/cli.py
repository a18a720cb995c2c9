"""The ``ocop`` command line: the same pipeline functions the Airflow DAGs call.

    ocop run --inbox DIR [--warehouse URL] [--reports DIR]
    ocop counts [--warehouse URL] [--as-of YYYY-MM-DD] [--format table|csv|json]
    ocop export links [--warehouse URL] --format csv
    ocop generate --out DIR [--seed N] [--scale X]
    ocop publish --period 2026-Q2 [--supersede-reason TEXT]
    ocop dedupe review | override

The warehouse URL defaults to the embedded SQLite file ``$OCOP_HOME/warehouse.db``
(``OCOP_HOME`` defaults to ``./data``); ``--warehouse postgresql://...`` uses PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ocop.config import Settings

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
export_app = typer.Typer(help="Export warehouse tables.", no_args_is_help=True)
dedupe_app = typer.Typer(help="Review and override deduplication decisions.", no_args_is_help=True)
app.add_typer(export_app, name="export")
app.add_typer(dedupe_app, name="dedupe")

WarehouseOpt = Annotated[Optional[str], typer.Option("--warehouse", help="Warehouse URL: sqlite:///PATH or postgresql://...; default: the embedded SQLite file.")]
HomeOpt = Annotated[Optional[Path], typer.Option("--home", help="Data folder for landing/, runs/, reports/ (default $OCOP_HOME or ./data).")]


class CountsFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(str, Enum):
    csv = "csv"


def _settings(warehouse: str | None = None, home: Path | None = None, **folders) -> Settings:
    if home is not None:
        import os

        os.environ["OCOP_HOME"] = str(home)
    return Settings.from_env(warehouse_url=warehouse, **folders)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@app.command()
def run(
    inbox: Annotated[Path, typer.Option("--inbox", help="Drop folder laid out as DIR/<province code>/<file>.")],
    warehouse: WarehouseOpt = None,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Where province reports are written (default $OCOP_HOME/reports).")] = None,
    home: HomeOpt = None,
    settle_seconds: Annotated[float, typer.Option(help="Leave files modified less than this many seconds ago for the next run.")] = 0.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process every file in the inbox not processed before, end to end."""
    from ocop import pipeline

    _logging(verbose)
    settings = _settings(warehouse, home, inbox=inbox, reports=reports)
    summary = pipeline.run(settings, settle_seconds=settle_seconds)
    subs = summary["submissions"]
    rejected = [s for s in subs if s["file_outcome"] == "rejected"]
    typer.echo(f"run {summary['run_id']}: {len(subs)} new submission(s), {len(rejected)} rejected whole; "
               f"reports in {settings.reports}")
    for s in rejected:
        typer.echo(f"  rejected: {s['province_code']}/{s['file_name']} ({s['file_rule']})")


@app.command()
def counts(
    warehouse: WarehouseOpt = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Reference date YYYY-MM-DD (default: today).")] = None,
    fmt: Annotated[CountsFormat, typer.Option("--format", help="table, csv or json.")] = CountsFormat.table,
    home: HomeOpt = None,
) -> None:
    """Official counts: distinct products with a valid certificate on the date, by province and class."""
    from ocop import pipeline
    from ocop.warehouse import counts_as_of, counts_csv, counts_json, format_counts_table

    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {as_of}", param_hint="--as-of")
    c = counts_as_of(pipeline.engine_for(_settings(warehouse, home)), day)
    render = {"table": format_counts_table, "csv": counts_csv, "json": counts_json}[fmt.value]
    typer.echo(render(c), nl=False)


@export_app.command("links")
def export_links(
    warehouse: WarehouseOpt = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv")] = ExportFormat.csv,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOpt = None,
) -> None:
    """One line per accepted source record: product_id,province_code,file_name,sheet,row_number."""
    from ocop import pipeline
    from ocop.warehouse import export_links as _export

    frame = _export(pipeline.engine_for(_settings(warehouse, home)))
    text = frame.to_csv(index=False, lineterminator="\n")
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write inbox/ and truth.json into.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 2025,
    scale: Annotated[float, typer.Option(help="1.0 = the national register (~18,000 products); 50 ≈ 1M rows.")] = 1.0,
) -> None:
    """Generate a realistic synthetic national data set plus its ground truth."""
    from ocop.generate import generate as _generate

    truth = _generate(out, seed=seed, scale=scale)
    typer.echo(f"inbox: {Path(out) / 'inbox'}\ntruth: {truth}")


@app.command()
def publish(
    period: Annotated[str, typer.Option("--period", help="2026-Q2, 2026-06 or 2026 (counts as of the period's last day).")],
    supersede_reason: Annotated[Optional[str], typer.Option(help="Re-publish an already published period, recording why.")] = None,
    who: Annotated[Optional[str], typer.Option("--who", help="Who approves this publication (default: your login name).")] = None,
    warehouse: WarehouseOpt = None,
    home: HomeOpt = None,
) -> None:
    """Freeze the official counts of a period and write the Ministry's workbook, CSV and chart.

    For scripted use: the publication is recorded as approved by ``<who> (ocop publish)``. The
    scheduled publication asks a Ministry user in Airflow instead (docs/deployment.md)."""
    import getpass

    from ocop import pipeline
    from ocop.warehouse.publish import PublicationExists

    approver = f"{(who or getpass.getuser()).strip()} (ocop publish)"
    try:
        path = pipeline.publish(_settings(warehouse, home), period, supersede_reason=supersede_reason,
                                approved_by=approver)
    except PublicationExists as exc:
        typer.echo(f"not published: {exc}. Published counts never change; to replace them, run again "
                   f"with --supersede-reason \"why\".", err=True)
        raise typer.Exit(1)
    typer.echo(f"published {period}: {path} (approved by {approver})")


@dedupe_app.command("review")
def dedupe_review(warehouse: WarehouseOpt = None, home: HomeOpt = None,
                  limit: Annotated[int, typer.Option(help="Show at most this many pairs.")] = 50) -> None:
    """List the borderline pairs a person should decide (then: ocop dedupe override)."""
    from ocop import pipeline
    from ocop.dedupe.review import review_table
    from ocop.warehouse import review_pairs

    frame = review_pairs(pipeline.engine_for(_settings(warehouse, home)))
    typer.echo("no borderline pairs to review" if frame.empty else review_table(frame, limit=limit))


def _record_ref(text: str, option: str) -> tuple[str, int]:
    sid, sep, row = text.rpartition("#")
    if not sep or not sid or not row.isdigit():
        raise typer.BadParameter("SUBMISSION_ID#ROW_ID, e.g. 01-e83aa216aa12dd3b#12", param_hint=option)
    return sid, int(row)


@dedupe_app.command("override")
def dedupe_override(
    a: Annotated[str, typer.Option("--a", help="First record: SUBMISSION_ID#ROW_ID")],
    b: Annotated[str, typer.Option("--b", help="Second record: SUBMISSION_ID#ROW_ID")],
    action: Annotated[str, typer.Option(help="merge (same product) or split (never the same product)")],
    who: Annotated[str, typer.Option(help="Who decided")],
    why: Annotated[str, typer.Option(help="Why")],
    warehouse: WarehouseOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record a Ministry decision on a pair of records; applied now and on every later run."""
    from ocop import pipeline
    from ocop.dedupe.review import override_row
    from ocop.warehouse import record_override

    try:
        row = override_row(_record_ref(a, "--a"), _record_ref(b, "--b"), action, who, why)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_id = "override-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    stats = record_override(pipeline.engine_for(_settings(warehouse, home)), row, run_id)
    typer.echo(f"recorded: {action} {a} {b}; products rebuilt: {stats.products} products, "
               f"{stats.current} current versions")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
