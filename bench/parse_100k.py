"""Read+parse of one 100,000-row workbook against a bare python_calamine read of the same file.

    .venv/bin/python bench/parse_100k.py [--rows 100000]

Builds the workbook (cached in bench/cache/) from the national sample's Hà Nội register, then
times each side three times, side by side, and prints the medians and the throughput ratio
(the issue's target: parse ≥ 0.6× calamine)."""

from __future__ import annotations

import argparse
import datetime as dt
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


if __name__ == "__main__":
    main()
