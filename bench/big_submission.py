"""One big submission: read+parse of a 100,000-row workbook against a bare python_calamine
read of the same file (target: ≥ 0.6× its throughput), and the validation of that submission
with its peak memory (target: under 1 GB).

    .venv/bin/python bench/big_submission.py [--rows 100000]

Builds the workbook (cached in bench/cache/) from the national sample's Hà Nội register, times
parse and the bare read three times each, side by side (medians), then validates once in a
fresh child process and reports that process's peak RSS."""

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
from ocop.ingest.parse import parse_file

CACHE = Path(__file__).resolve().parent / "cache"


def workbook(rows: int) -> Path:
    path = CACHE / f"parse-{rows}.xlsx"
    if path.exists():
        return path
    sample = CACHE / "seed2025-scale1"
    if not (sample / "truth.json").exists():
        generate(sample, seed=2025, scale=1.0)
    src = sorted((sample / "inbox" / "01").glob("*.xlsx"))[-1]
    grid = pc.CalamineWorkbook.from_path(str(src)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    head = next(i for i, r in enumerate(grid) if any(isinstance(v, str) and "sản phẩm" in v.lower() for v in r))
    data = [r for r in grid[head + 1:] if sum(v not in ("", None) for v in r) >= 5]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("DS")
    for r in grid[: head + 1]:
        ws.append(r)
    for i in range(rows):
        ws.append(data[i % len(data)])
    CACHE.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def median_time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _validate(path: Path, out) -> None:
    from ocop.validate.run import validate

    parsed = parse_file(path, province_code="01", file_name=path.name, sha256="0" * 64, submission_id="bench",
                        arrived_at=dt.datetime.now(dt.timezone.utc))
    t = time.perf_counter()
    v = validate(parsed)
    out.put((time.perf_counter() - t, v.counts["rejected"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    path = workbook(args.rows)
    bare = median_time(lambda: pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python())
    parse = median_time(lambda: parse_file(path, province_code="01", file_name=path.name, sha256="0" * 64,
                                           submission_id="bench", arrived_at=dt.datetime.now(dt.timezone.utc)))
    print(f"{args.rows:,} rows: bare calamine {bare:.2f} s, parse_file {parse:.2f} s, "
          f"throughput ratio {bare / parse:.2f} (target >= 0.6)")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_validate, args=(path, out))
    child.start()
    seconds, rejected, peak_mb = out.get()
    child.join()
    print(f"{args.rows:,} rows: validate {seconds:.2f} s ({rejected} rows rejected), "
          f"peak RSS of the process (parse + validate) {peak_mb:.0f} MB (target < 1024 MB)")


if __name__ == "__main__":
    main()
