"""One big submission: read+parse of a 100,000-row workbook against a bare python_calamine
read of the same file (target: ≥ 0.6× its throughput), and the validation of that submission
with its peak memory (target: under 1 GB).

    .venv/bin/python bench/big_submission.py [--rows 100000]

Builds the workbook (cached in bench/cache/) from the national sample's Hà Nội register, times
the bare read and parse alternately (``--repeat`` runs each; ratios of the medians and of the
fastest runs), then validates once in a fresh child process and reports that process's peak RSS.
``--repeated-rows`` uses exact copies of the register instead of copies with their own names."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

import openpyxl
import python_calamine as pc

from ocop.generate import generate
from ocop.ingest.header import find_header
from ocop.ingest.parse import cyclic_gc_paused, parse_file
from ocop.ingest.readers import Sheet

CACHE = Path(__file__).resolve().parent / "cache"


def workbook(rows: int, repeat: bool = False) -> Path:
    """The Hà Nội register's rows, copied until there are ``rows``. Each copy after the first
    gets its own product names and owners (``... (2)``), as a register of that size would have;
    ``repeat``: exact copies (the workbook this bench used first; values then repeat every
    ~1,650 rows, which flatters any work done once per distinct value)."""
    path = CACHE / (f"parse-{rows}-repeat.xlsx" if repeat else f"parse-{rows}-unique.xlsx")
    if path.exists():
        return path
    sample = CACHE / "seed2025-scale1"
    if not (sample / "truth.json").exists():
        generate(sample, seed=2025, scale=1.0)
    src = sorted((sample / "inbox" / "01").glob("*.xlsx"))[-1]
    grid = pc.CalamineWorkbook.from_path(str(src)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    head = next(i for i, r in enumerate(grid) if any(isinstance(v, str) and "sản phẩm" in v.lower() for v in r))
    data = [r for r in grid[head + 1:] if sum(v not in ("", None) for v in r) >= 5]
    fields = find_header([Sheet("DS", grid)]).fields
    unique = [fields[f] for f in ("product_name", "owner")]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("DS")
    for r in grid[: head + 1]:
        ws.append(r)
    for i in range(rows):
        row, copy = list(data[i % len(data)]), i // len(data)
        if copy and not repeat:
            for c in unique:
                row[c] = f"{row[c]} ({copy + 1})"
        ws.append(row)
    CACHE.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def bare_read(path: Path) -> list:
    return pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def parse_once(path: Path):
    return parse_file(path, province_code="01", file_name=path.name, sha256="0" * 64, submission_id="bench",
                      arrived_at=dt.datetime.now(dt.timezone.utc))


def _paused(fn, *args):
    with cyclic_gc_paused():
        return fn(*args)


def _seconds(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (CPU: of every thread of this process)."""
    t, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - cpu


def side_by_side(bare, parse, repeat: int) -> dict[str, tuple[float, float]]:
    """``repeat`` interleaved runs of each (bare, parse, bare, parse, ...): the median and the
    fastest run of each side. On this shared 2-core VM the same bare read takes 1.6 to 2.8 s
    from one run to the next, so single pairs mean little; noise only ever adds time, so the
    fastest runs are the steadiest estimate (as ``timeit`` takes the minimum) and the medians
    are shown beside them."""
    runs = [(_seconds(bare), _seconds(parse)) for _ in range(repeat)]
    pairs = [(b[0], p[0]) for b, p in runs]
    cpu = [(b[1], p[1]) for b, p in runs]
    return {"median": (statistics.median(b for b, _ in pairs), statistics.median(p for _, p in pairs)),
            "fastest": (min(b for b, _ in pairs), min(p for _, p in pairs)),
            "median CPU": (statistics.median(b for b, _ in cpu), statistics.median(p for _, p in cpu))}


def _report(label: str, runs: dict[str, tuple[float, float]]) -> str:
    return f"{label}: " + "; ".join(f"{k} bare {b:.2f} s, parse_file {p:.2f} s, ratio {b / p:.2f}"
                                     for k, (b, p) in runs.items())


def _validate(path: Path, out) -> None:
    import ocop.validate.suite  # noqa: F401  (Great Expectations imported before the clock starts, as before)
    from ocop.validate.run import validate

    parsed = parse_file(path, province_code="01", file_name=path.name, sha256="0" * 64, submission_id="bench",
                        arrived_at=dt.datetime.now(dt.timezone.utc))
    t = time.perf_counter()
    v = validate(parsed)
    out.put((time.perf_counter() - t, v.counts["rejected"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7, help="interleaved runs of each side")
    ap.add_argument("--repeated-rows", action="store_true",
                    help="exact copies of the register (names repeat every ~1,650 rows) instead of unique names")
    ap.add_argument("--validate-only", action="store_true", help="only the validation of the workbook")
    args = ap.parse_args()
    path = workbook(args.rows, repeat=args.repeated_rows)
    if not args.validate_only:
        _compare(path, args)
    print(validate_line(path, args.rows))


def validate_line(path: Path, rows: int) -> str:
    """Validate the workbook once in a fresh child process: seconds and that process's peak RSS."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_validate, args=(path, out))
    child.start()
    seconds, rejected, peak_mb = out.get()
    child.join()
    return (f"{rows:,} rows: validate {seconds:.2f} s ({rejected} rows rejected), "
            f"peak RSS of the process (parse + validate) {peak_mb:.0f} MB (targets <= 3 s, < 1024 MB)")


def _compare(path: Path, args) -> None:
    runs = side_by_side(lambda: bare_read(path), lambda: parse_once(path), args.repeat)
    print(_report(f"{args.rows:,} rows ({path.name}), {args.repeat} runs each (target: ratio >= 0.6)", runs))
    # The target is on wall time. parse_file also works on a second core (the archive check
    # during the read, the raw-record JSON's Arrow kernels): its CPU time, all threads counted,
    # is shown as "median CPU" for comparison.
    # parse_file pauses the cyclic GC while it works (ocop.ingest.parse.cyclic_gc_paused); for
    # transparency, the same comparison against a bare read that pauses it too:
    runs = side_by_side(lambda: _paused(bare_read, path), lambda: parse_once(path), args.repeat)
    print(_report("  the same against a bare read with the cyclic GC paused as well", runs))


if __name__ == "__main__":
    main()
