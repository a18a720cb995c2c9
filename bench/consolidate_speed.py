"""Time ``ocop.warehouse.consolidate`` alone on kept bundles, and dump the warehouse it leaves.

    python bench/consolidate_speed.py national --bundles /tmp/cons_h1/runs --db /tmp/x.db [--dump out.txt]
    python bench/consolidate_speed.py province --bundles /tmp/cons_h1/runs --db /tmp/x.db [--dump out.txt]
    python bench/consolidate_speed.py compare --base SRC --new SRC --bundles DIR [--repeat 5]

``--db postgresql://postgres@127.0.0.1:5432/postgres`` runs a case on a scratch PostgreSQL
database instead (created on that server, dropped afterwards).

``national``: every bundle of ``--bundles`` (``runs/<run id>/<submission id>/`` as ``ocop run``
leaves them) consolidated at once into a fresh, migrated SQLite file (the first run of a day).
``province``: every bundle but province 01's consolidated first (not timed), then province 01's
alone (timed): one hourly province run into a warehouse that holds history.
Each prints one JSON line: wall and CPU seconds of the timed ``consolidate`` call and its phases.
``--dump``: every warehouse table afterwards, rows sorted on all columns, wall-clock columns
(when a row was processed or created) replaced by ``<time>``; diff two dumps for equality.

``compare`` runs both cases in child processes, alternating the source trees ``--base`` and
``--new`` (an ``include`` directory each: ``PYTHONPATH``) in each repeat so both see the same
machine load, and prints the median of each.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WALL_CLOCK = {("submission", "processed_at"), ("product", "created_at"), ("dq_run", "started_at"),
              ("dq_run", "finished_at"), ("dedupe_override", "created_at")}


def _bundles(root: str):
    from ocop.pipeline import load_bundle

    dirs = sorted(glob.glob(os.path.join(root, "*", "*", "")))
    return [load_bundle(Path(d)) for d in dirs if os.path.exists(os.path.join(d, "meta.json"))]


def _fresh(db: str):
    """A migrated, empty warehouse: the SQLite file ``db``, or, for a ``postgresql://`` server
    URL, a scratch database on that server (dropped by :func:`_drop`)."""
    from ocop.warehouse import make_engine, upgrade

    if db.startswith("postgresql://"):
        import sqlalchemy as sa

        name = f"ocop_cons_speed_{os.getpid()}"
        with sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url = db.rsplit("/", 1)[0] + "/" + name
    else:
        if os.path.exists(db):
            os.remove(db)
        url = f"sqlite:///{db}"
    upgrade(url)
    return make_engine(url)


def _drop(engine, db: str) -> None:
    engine.dispose()
    if db.startswith("postgresql://"):
        import sqlalchemy as sa

        with sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {engine.url.database}")


def _timed(engine, bundles, run_id: str) -> dict:
    from ocop.warehouse import consolidate

    wall, cpu = time.perf_counter(), time.process_time()
    result = consolidate(engine, bundles, run_id)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "loaded": len(result.loaded), "phases": {k: round(v, 3) for k, v in result.timings.items()}}


def dump(engine, out: str) -> None:
    import sqlalchemy as sa

    meta = sa.MetaData()
    meta.reflect(engine, views=False)
    with engine.connect() as conn, open(out, "w", encoding="utf-8") as f:
        for name in sorted(meta.tables):
            table = meta.tables[name]
            cols = list(table.c)
            rows = conn.execute(sa.select(*cols).order_by(*cols)).all()
            f.write(f"## {name} ({len(rows)} rows)\n")
            for row in rows:
                values = ["<time>" if (name, c.name) in WALL_CLOCK else repr(v) for c, v in zip(cols, row)]
                f.write("\t".join(values) + "\n")


def run_case(case: str, bundles_dir: str, db: str, dump_to: str | None) -> dict:
    bundles = _bundles(bundles_dir)
    engine = _fresh(db)
    if case == "national":
        figures = _timed(engine, bundles, "p1")
    else:
        from ocop.warehouse import consolidate

        consolidate(engine, [b for b in bundles if b.meta["province_code"] != "01"], "p1")
        figures = _timed(engine, [b for b in bundles if b.meta["province_code"] == "01"], "p2")
    if dump_to:
        dump(engine, dump_to)
    _drop(engine, db)
    return figures


def compare(base: str, new: str, bundles_dir: str, repeat: int) -> None:
    seen: dict[tuple[str, str], list[dict]] = {}
    for i in range(repeat):
        for case in ("national", "province"):
            for label, src in (("base", base), ("new", new)) if i % 2 == 0 else (("new", new), ("base", base)):
                env = {**os.environ, "PYTHONPATH": os.path.join(src, "include")}
                out = subprocess.run([sys.executable, __file__, case, "--bundles", bundles_dir,
                                      "--db", f"/tmp/cons_cmp_{label}.db"],
                                     env=env, check=True, capture_output=True, text=True).stdout
                seen.setdefault((case, label), []).append(json.loads(out.strip().splitlines()[-1]))
    for (case, label), runs in sorted(seen.items()):
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        print(f"{case:9s} {label:5s} wall {wall:6.3f} s  cpu {cpu:6.3f} s  (n={len(runs)}; "
              f"walls {' '.join('%.2f' % r['wall'] for r in runs)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["national", "province", "compare"])
    ap.add_argument("--bundles", default="/tmp/cons_h1/runs")
    ap.add_argument("--db", default="/tmp/cons_speed.db")
    ap.add_argument("--dump")
    ap.add_argument("--base")
    ap.add_argument("--new")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if args.case == "compare":
        compare(args.base, args.new, args.bundles, args.repeat)
    else:
        print(json.dumps(run_case(args.case, args.bundles, args.db, args.dump)))


if __name__ == "__main__":
    main()
