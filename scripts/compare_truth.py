"""Compare a warehouse loaded from a generated inbox with the generator's truth.json.

    python scripts/compare_truth.py --truth data/demo/truth.json --warehouse sqlite:///data/warehouse.db

Prints, per reference date, the province × class cells that differ; the expected vs reported
row issues (precision/recall per rule); and the deduplication's pairwise precision/recall.
Exit code 0 when everything matches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa


def compare(truth: dict, url: str) -> dict:
    from ocop.dedupe.evaluate import evaluate
    from ocop.warehouse import counts_as_of, make_engine, schema

    engine = make_engine(url)
    out: dict = {"counts": {}, "issues": {}, "dedupe": {}}
    for day, expected in truth["counts"].items():
        c = counts_as_of(engine, dt.date.fromisoformat(day))
        got = {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
               for r in c.by_province_class.itertuples()}
        out["counts"][day] = {p: {"got": got.get(p), "truth": e} for p, e in expected.items() if got.get(p) != e}

    sub, ri, sr, rl = schema.submission, schema.record_issue, schema.source_record, schema.record_link
    with engine.connect() as conn:
        issues = pd.DataFrame(conn.execute(
            sa.select(sub.c.province_code, sub.c.file_name, ri.c.excel_row, ri.c.rule)
            .join(sub, sub.c.submission_id == ri.c.submission_id)).mappings().all())
        links = pd.DataFrame(conn.execute(
            sa.select(sub.c.province_code, sub.c.file_name, sr.c.excel_row, rl.c.product_id)
            .join(sr, (sr.c.submission_id == rl.c.submission_id) & (sr.c.row_id == rl.c.row_id))
            .join(sub, sub.c.submission_id == rl.c.submission_id)).mappings().all())
        files = {(r.province_code, r.file_name): (r.outcome, r.file_rule)
                 for r in conn.execute(sa.select(sub.c.province_code, sub.c.file_name, sub.c.outcome, sub.c.file_rule))}
    accepted_files = {f["path"] for f in truth["files"] if f["file_outcome"] == "accepted"}
    out["files"] = {f["path"]: {"got": files.get(tuple(f["path"].split("/", 1))), "truth": [f["file_outcome"], f["file_rule"]]}
                    for f in truth["files"] if list(files.get(tuple(f["path"].split("/", 1)), ())) != [f["file_outcome"], f["file_rule"]]}
    got_issues = {(f"{r.province_code}/{r.file_name}", int(r.excel_row), r.rule) for r in issues.itertuples()} if len(issues) else set()
    got_issues = {i for i in got_issues if i[0] in accepted_files}
    exp_issues = {(i["file"], int(i["excel_row"]), i["rule"]) for i in truth["issues"]}
    for rule in sorted({i[2] for i in got_issues | exp_issues}):
        g = {i for i in got_issues if i[2] == rule}
        e = {i for i in exp_issues if i[2] == rule}
        if g != e:
            out["issues"][rule] = {"expected": len(e), "reported": len(g), "missed": sorted(e - g)[:5], "extra": sorted(g - e)[:5]}
    if len(links):
        links["key"] = links["province_code"] + "/" + links["file_name"] + "#" + links["excel_row"].astype(str)
        out["dedupe"] = evaluate(links.rename(columns={"key": "record"})[["record", "product_id"]], truth["clusters"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--warehouse", required=True)
    args = ap.parse_args()
    result = compare(json.loads(args.truth.read_text(encoding="utf-8")), args.warehouse)
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    ok = not any(result["counts"].values()) and not result["issues"] and not result["files"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
