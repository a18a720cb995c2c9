"""The ``ocop`` command line: the same pipeline functions the Airflow DAGs call.

    ocop run --inbox DIR [--warehouse URL] [--reports DIR]
    ocop counts [--warehouse URL] [--as-of YYYY-MM-DD] [--format table|csv|json]
    ocop export links [--warehouse URL] --format csv
    ocop generate --out DIR [--seed N] [--scale X]
    ocop publish --period 2026-Q2 [--supersede-reason TEXT]
    ocop dedupe review | override
    ocop rebuild                   # maintenance: recompute identities and history from the records
    ocop check FILE|FOLDER [--province CODE] [--out DIR]   (a province's check before sending)
    ocop template [--out FILE] [--province CODE]          (the register template)

The warehouse URL defaults to the embedded SQLite file ``$OCOP_HOME/warehouse.db``
(``OCOP_HOME`` defaults to ``./data``); ``--warehouse postgresql://...`` uses PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
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


@app.command()
def rebuild(warehouse: WarehouseOpt = None, home: HomeOpt = None) -> None:
    """Maintenance: recompute every product identity and the whole history (product_version,
    province_conflict) from the stored source records and overrides. Run it after a change of
    the matching rules, or after a migration that recreates derived tables (0003). Ids stay
    stable; published counts never change."""
    from ocop import pipeline
    from ocop.warehouse import rebuild_all

    run_id = "rebuild-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    stats = rebuild_all(pipeline.engine_for(_settings(warehouse, home)), run_id)
    typer.echo(f"rebuilt: {stats.products} products, {stats.versions} versions ({stats.current} current), "
               f"{stats.conflicts} products listed by several provinces")


# --------------------------------------------------------------------------- for provinces

class CheckFormat(str, Enum):
    text = "text"
    json = "json"


CHECK_CANNOT_RUN = 3  # no such file, unknown province, bad date: nothing was checked


def _check_error(message: str) -> None:
    typer.echo(f"Lỗi: {message}", err=True)
    raise typer.Exit(CHECK_CANNOT_RUN)


def _check_targets(path: Path, out: Path) -> list[Path]:
    """The files to check: ``path`` itself, or every file under the folder (hidden files,
    Office lock files, partial uploads and the reports folder left out), in name order."""
    from ocop.ingest.sources import _skippable

    if path.is_file():
        return [path]
    out = out.resolve()
    found = []
    for f in sorted(path.rglob("*")):
        if f.is_symlink() or not f.is_file() or _skippable(f.name):
            continue
        if f.resolve() == out or out in f.resolve().parents:
            continue
        if any(part.startswith(".") for part in f.relative_to(path).parts):
            continue
        found.append(f)
    return found


def _province_of(file: Path, given: str | None) -> str | None:
    from ocop.reference.provinces import PROVINCES

    if given is not None:
        return given
    parent = file.resolve().parent.name
    return parent if parent in PROVINCES else None


@app.command(epilog="Exit codes: 0 = every row accepted, no issue at all; 1 = some rows rejected or with "
                    "warnings; 2 = the file rejected as a whole (a folder: the worst of its files); "
                    "3 = nothing checked (no such file, unknown province, bad date). Click's own usage "
                    "errors (an unknown option) also exit 2.")
def check(
    path: Annotated[Path, typer.Argument(help="A register file, or a folder of them (e.g. an inbox laid out DIR/<province code>/<file>).")],
    province: Annotated[Optional[str], typer.Option("--province", help="2025 province code, e.g. 01 (default: the file's folder name when it is one).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where report.xlsx and report.json are written (a folder: one sub-folder per file).")] = Path("ocop-check"),
    snapshot_date: Annotated[Optional[str], typer.Option("--snapshot-date", help="Snapshot date YYYY-MM-DD, instead of the one the file's title or name gives.")] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", help="text (Vietnamese summary) or json.")] = CheckFormat.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Check a register before sending it: parsed and validated exactly as a run would do,
    report.xlsx and report.json written under --out, a summary printed (in Vietnamese).
    Nothing is landed, loaded or mailed, and no warehouse is opened."""
    import json

    from ocop import pipeline
    from ocop.pipeline import _safe_stem
    from ocop.reference.provinces import PROVINCES
    from ocop.report.check_text import check_summary_vi

    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if snapshot_date is not None:
        try:
            snapshot_date = dt.date.fromisoformat(snapshot_date).isoformat()
        except ValueError:
            _check_error(f"--snapshot-date không phải là ngày YYYY-MM-DD: {snapshot_date}")
    if province is not None:
        province = province.strip().zfill(2)
        if province not in PROVINCES:
            _check_error(f"--province {province}: không phải mã tỉnh/thành (2025), ví dụ 01 (Hà Nội), 79 (TP. Hồ Chí Minh).")
    if not path.exists():
        _check_error(f"không có tệp hay thư mục {path}")
    files = _check_targets(path, out)
    if not files:
        _check_error(f"thư mục {path} không có tệp nào để kiểm tra")
    codes = {f: _province_of(f, province) for f in files}
    unknown = [f for f, c in codes.items() if c is None]
    if unknown:
        _check_error(f"không biết tệp {unknown[0]} của tỉnh/thành nào: ghi mã tỉnh bằng --province "
                     f"(ví dụ --province 01), hoặc đặt tệp trong thư mục mang mã tỉnh (…/01/{unknown[0].name}).")
    results, used = [], set()
    for f in files:
        folder = out if path.is_file() else out / codes[f] / _safe_stem(f.name.replace(".", "_"))
        while folder in used:  # the same name in two sub-folders
            folder = folder.with_name(folder.name + "_")
        used.add(folder)
        results.append(pipeline.check_file(f, codes[f], folder, snapshot_date=snapshot_date))
    worst = max(r["exit_code"] for r in results)
    if fmt is CheckFormat.json:
        typer.echo(json.dumps(results[0] if path.is_file() else {"exit_code": worst, "files": results},
                              ensure_ascii=False, indent=1))
    else:
        typer.echo("\n\n".join(check_summary_vi(r) for r in results))
        if len(results) > 1:
            typer.echo(f"\n{len(results)} tệp: {sum(r['exit_code'] == 0 for r in results)} không có lỗi, "
                       f"{sum(r['exit_code'] == 1 for r in results)} có dòng bị loại hoặc cảnh báo, "
                       f"{sum(r['exit_code'] == 2 for r in results)} bị loại cả tệp.")
    raise typer.Exit(worst)


@app.command()
def template(
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")] = Path("mau-danh-sach-ocop.xlsx"),
    province: Annotated[Optional[str], typer.Option("--province", help="2025 province code, e.g. 01: its name goes in the title.")] = None,
) -> None:
    """Write the register template (Vietnamese .xlsx): title with the province and snapshot date,
    the canonical header, drop-down lists, date columns, instructions."""
    from ocop.reference.provinces import PROVINCES
    from ocop.template import write_template

    if province is not None:
        province = province.strip().zfill(2)
        if province not in PROVINCES:
            raise typer.BadParameter(f"not a 2025 province code: {province}", param_hint="--province")
    typer.echo(f"template: {write_template(out, province)}")


def main() -> None:  # pragma: no cover - console entry point
    """``ocop``: the commands, then a prompt exit. Once a command has returned and its output
    and logs are flushed, nothing is left to do, but the interpreter would still free every
    object of a run one by one (about 0.6 s after ``ocop run`` on the national sample):
    ``os._exit`` skips that. Tests call ``app`` itself, which exits as usual."""
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
