"""report.xlsx writers side by side: the direct SpreadsheetML writer (the one reports use),
XlsxWriter and openpyxl (write-only) on the real reports of a generated sample (two sheets,
highlighted cells, comments).

    .venv/bin/python bench/report_writers.py [--scale 1] [--repeat 3] [--office]

Parses and validates the sample once, lays every report out once (``ocop.report.xlsx.sheets``),
then writes all of them with each writer, interleaved, ``--repeat`` times; prints the medians,
the ratio, and whether the files read back the same (``tests/report_readback.py``).
``--office`` also opens every direct and XlsxWriter report in LibreOffice Calc (headless, saved
again as xlsx: what an office suite that is not ours reads) and says whether Calc read the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def sample(scale: float, seed: int, out: Path) -> list:
    from ocop.generate import generate
    from ocop.ingest.parse import parse_file
    from ocop.ingest.readers import FileRejected
    from ocop.validate.run import validate_many

    generate(out, seed=seed, scale=scale)
    parsed = []
    for f in sorted((out / "inbox").glob("*/*")):
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        try:
            parsed.append(parse_file(f, province_code=f.parent.name, file_name=f.name, sha256=sha,
                                     submission_id=f"{f.parent.name}-{sha[:16]}",
                                     arrived_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)))
        except FileRejected:  # a file-level rejection's report has no data sheet: not what is measured
            pass
    return validate_many(parsed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--office", action="store_true", help="compare what LibreOffice Calc reads, too")
    args = ap.parse_args()
    from ocop.report import xlsx
    from report_readback import xlsx_content

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        validated = sample(args.scale, args.seed, tmp / "sample")
        rows = sum(len(v.records) for v in validated)
        comments = sum(len(v.issues) for v in validated)
        t = time.perf_counter()
        laid = [xlsx.sheets(v) for v in validated]
        layout_s = time.perf_counter() - t
        writers = {"direct": xlsx._write_direct, "openpyxl": xlsx._write_openpyxl,
                   "xlsxwriter": xlsx._write_xlsxwriter}
        times = {n: [] for n in writers}
        cpu = {n: [] for n in writers}
        for n in writers:
            (tmp / n).mkdir()
        for _ in range(args.repeat):  # interleaved report by report: both see the same machine load
            wall, proc = dict.fromkeys(writers, 0.0), dict.fromkeys(writers, 0.0)
            for i, sheets in enumerate(laid):
                for name, write in writers.items():
                    t, c = time.perf_counter(), time.process_time()
                    write(sheets, tmp / name / f"{i}.xlsx")
                    wall[name] += time.perf_counter() - t
                    proc[name] += time.process_time() - c
            for n in writers:
                times[n].append(wall[n])
                cpu[n].append(proc[n])
        same = all(xlsx_content(tmp / "openpyxl" / f"{i}.xlsx") == xlsx_content(tmp / "xlsxwriter" / f"{i}.xlsx")
                   for i in range(len(laid)))
        same_direct = all(xlsx_content(tmp / "direct" / f"{i}.xlsx") == xlsx_content(tmp / "xlsxwriter" / f"{i}.xlsx")
                          for i in range(len(laid)))
        office = None
        if args.office:
            from test_report_writers import office_suite_reading

            n = range(len(laid))
            office = (office_suite_reading([tmp / "direct" / f"{i}.xlsx" for i in n], tmp / "lo-direct")
                      == office_suite_reading([tmp / "xlsxwriter" / f"{i}.xlsx" for i in n], tmp / "lo-xlsxwriter"))
        size = {n: sum(p.stat().st_size for p in (tmp / n).glob("*.xlsx")) for n in writers}
    med = {n: statistics.median(v) for n, v in times.items()}
    med_cpu = {n: statistics.median(v) for n, v in cpu.items()}
    print(f"{len(laid)} reports, {rows} data rows, {comments} issues; layout (shared) {layout_s:.2f} s")
    for n in writers:
        print(f"{n:>10}: median {med[n]:.2f} s of {args.repeat} ({', '.join(f'{x:.2f}' for x in times[n])}); "
              f"{size[n] / 1e6:.1f} MB; CPU median {med_cpu[n]:.2f} s")
    print(f"openpyxl / xlsxwriter: wall {med['openpyxl'] / med['xlsxwriter']:.2f}x, "
          f"CPU {med_cpu['openpyxl'] / med_cpu['xlsxwriter']:.2f}x; same content read back: {same}")
    print(f"xlsxwriter / direct: wall {med['xlsxwriter'] / med['direct']:.2f}x, "
          f"CPU {med_cpu['xlsxwriter'] / med_cpu['direct']:.2f}x; same content read back: {same_direct}")
    if office is not None:
        print(f"LibreOffice Calc reads the direct reports as it reads XlsxWriter's: {office}")


if __name__ == "__main__":
    main()
