"""The bad-input corpus (tests/bad_inputs.py) through the real DAG path, in one run.

One ``ocop_ingest`` ``dag.test()`` over an inbox holding every hostile case plus two good
provinces, with low limits (``OCOP_MAX_ROWS`` ...) and a settle time, on a fresh PostgreSQL
warehouse (production's engine: NUL characters, for one, only fail there). Then: every mapped
task succeeded, each case ended in its documented outcome (docs/reliability.md), the good
provinces' counts are exactly theirs, no report.xlsx holds a formula, submitted text reached
the warehouse verbatim, and nothing was written outside the data folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

import bad_inputs as bi
from airflow_helpers import airflow_env, run_dags

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.xdist_group("airflow")]

PG_SERVER = os.environ.get("OCOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CASES = {c.id: c for c in bi.cases()}
PROCESSED = [c for c in CASES.values() if c.outcome in ("rejected", "accepted")]


@dataclass
class CorpusRun:
    tmp: Path
    inbox: Path
    data: Path
    url: str
    code: int
    result: dict
    out: str
    reports: dict          # (province, file name) -> report.json content
    report_dirs: dict      # (province, file name) -> folder
    before: dict           # path -> sha256 of everything outside data/ and airflow_home/ before the run
    seconds: float


def _tree(root: Path, skip: tuple[str, ...]) -> dict[str, str]:
    """Relative path -> sha256 (or the kind of entry) of everything under ``root`` except ``skip``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts and rel_dir.parts[0] in skip:
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(rel_dir / n)
            if rel.split(os.sep)[0] in skip:
                continue
            if p.is_symlink():
                out[rel] = "symlink:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "special"
    return out


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    import time

    import psycopg

    tmp = tmp_path_factory.mktemp("corpus")
    name = f"ocop_rel_corpus_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    try:
        inbox = tmp / "inbox"
        bi.build_corpus(inbox, tmp / "outside")
        before = _tree(tmp, skip=("data", "airflow_home"))
        env = airflow_env(tmp, OCOP_INBOX=str(inbox), OCOP_WAREHOUSE_URL=url, **bi.LIMITS_ENV, **bi.SETTLE_ENV)
        t0 = time.monotonic()
        code, result, out = run_dags(env, "ocop_ingest", timeout=600)
        seconds = time.monotonic() - t0
        data = tmp / "data"
        reports, dirs = {}, {}
        for path in (data / "reports").glob("*/*/report.json"):
            rep = json.loads(path.read_text(encoding="utf-8"))
            key = (rep["province_code"], rep["file_name"])
            assert key not in reports, f"two reports for {key}"
            reports[key], dirs[key] = rep, path.parent
        print(f"corpus DAG run: {seconds:.1f} s for {len(PROCESSED) + len(bi.GOOD)} submissions")
        yield CorpusRun(tmp, inbox, data, url, code, result, out, reports, dirs, before, seconds)
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _engine(run: CorpusRun):
    from ocop.warehouse import make_engine

    return make_engine(run.url)


def _query(run: CorpusRun, sql: str, **params) -> list:
    engine = _engine(run)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def test_every_task_succeeds_every_new_file_in_one_batch(corpus_run):
    run = corpus_run
    assert run.code == 0, run.out[-6000:]
    ingest = run.result["ocop_ingest"]
    assert ingest["state"] == "success"
    assert all(s == "success" for s in ingest["tasks"].values()), ingest["tasks"]
    # Each mapped parse task names its batch "<n> file(s): <provinces>" in the Grid.
    batched = sum(int(label.split(" ", 1)[0]) for k, label in ingest["map_labels"].items() if k.startswith("parse["))
    assert batched == len(PROCESSED) + len(bi.GOOD)
    assert len(CASES) >= 30


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_case_ends_in_its_documented_outcome(corpus_run, case_id):
    run, case = corpus_run, CASES[case_id]
    key = (case.province, case.name)
    subs = _query(run, "SELECT outcome, file_rule, rows_received, rows_rejected, sha256 FROM submission "
                       "WHERE province_code = :p AND file_name = :n", p=case.province, n=case.name)
    landed = [json.loads(p.read_text(encoding="utf-8")) for p in (run.data / "landing").glob("*/*/*.json")]
    landed_names = {(m["province_code"], m["original_name"]) for m in landed}
    if case.outcome in ("ignored", "duplicate"):
        assert key not in run.reports, f"{case.id}: a report was written"
        assert subs == [], f"{case.id}: loaded as a submission"
        assert key not in landed_names, f"{case.id}: landed"
        if case.outcome == "duplicate":
            data = (run.inbox / case.province / case.name).read_bytes()
            twin = _query(run, "SELECT file_name FROM submission WHERE province_code = :p AND sha256 = :s",
                          p=case.province, s=hashlib.sha256(data).hexdigest())
            assert len(twin) == 1, twin        # the same bytes are one submission, under the first name
        return

    rep = run.reports.get(key)
    assert rep is not None, f"{case.id}: no report.json (reports for {sorted(k for k in run.reports if k[0] == case.province)})"
    assert (run.report_dirs[key] / "report.xlsx").is_file()
    assert key in landed_names
    assert len(subs) == 1, subs
    outcome, rule, received, rejected, _sha = subs[0]
    assert rep["file_outcome"] == outcome == case.outcome, (rep["file_outcome"], rep.get("file_detail"))
    if case.outcome == "rejected":
        assert rep["file_rule"] == rule == case.rule, rep.get("file_detail")
        n_records = _query(run, "SELECT count(*) FROM source_record r JOIN submission s USING (submission_id) "
                                "WHERE s.province_code = :p AND s.file_name = :n AND r.outcome != 'rejected'",
                           p=case.province, n=case.name)[0][0]
        assert n_records == 0, "a rejected file has loaded rows"
    else:
        assert rule is None
    assert rep["counts"]["rejected"] == rejected == case.rows_rejected, rep["counts"]
    if case.row_rules:
        hit = {i["rule"] for r in rep["rows"] for i in r["issues"]
               if r["outcome"] == "rejected" and i["severity"] != "warning"}
        assert hit and hit <= case.row_rules, hit
    for text in case.texts:
        found = _query(run, "SELECT count(*) FROM source_record r JOIN submission s USING (submission_id) "
                            "WHERE s.province_code = :p AND s.file_name = :n AND "
                            "(r.product_name = :t OR r.owner = :t OR r.notes = :t)", p=case.province, n=case.name, t=text)
        assert found[0][0] >= 1, f"{case.id}: {text[:60]!r} not stored verbatim"


def test_good_provinces_counts_are_exactly_theirs(corpus_run):
    from ocop.warehouse import counts_as_of

    engine = _engine(corpus_run)
    try:
        c = counts_as_of(engine, bi.snapshot_date())
    finally:
        engine.dispose()
    got = {r.province_code: {"3": r.stars_3, "4": r.stars_4, "potential-5": r.potential_5, "5": r.stars_5}
           for r in c.by_province_class.itertuples()}
    for code, expected in bi.GOOD_COUNTS.items():
        assert got[code] == expected, code
    # The warehouse tables the SQL-looking text named are all still there.
    assert _query(corpus_run, "SELECT count(*) FROM submission")[0][0] == len(PROCESSED) + len(bi.GOOD)
    assert _query(corpus_run, "SELECT count(*) FROM product")[0][0] > 0


def test_no_report_xlsx_holds_a_formula(corpus_run):
    books = list((corpus_run.data / "reports").glob("*/*/report.xlsx"))
    assert len(books) == len(PROCESSED) + len(bi.GOOD)
    injected = 0
    for book in books:
        with zipfile.ZipFile(book) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    xml = zf.read(name).decode("utf-8")
                    assert "<f>" not in xml and "<f " not in xml, f"formula in {book}:{name}"
                    injected += xml.count("HYPERLINK")
                elif name == "xl/sharedStrings.xml":  # text cells stored once in the shared table
                    injected += zf.read(name).decode("utf-8").count("HYPERLINK")
    assert injected >= 2, "the injection cases' text is not in their reports at all"
    import openpyxl

    for case_id in ("formula_injection", "formula_injection_xlsx"):
        case = CASES[case_id]
        wb = openpyxl.load_workbook(corpus_run.report_dirs[(case.province, case.name)] / "report.xlsx")
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert all(c.data_type != "f" for c in cells)
        assert {t for t in case.texts} <= {c.value for c in cells}, case_id


def test_nothing_written_outside_the_data_folder(corpus_run):
    run = corpus_run
    after = _tree(run.tmp, skip=("data", "airflow_home"))
    # The one write into the inbox: the arrival marker of the province whose file was still being
    # written, so that the watcher starts the next run once it settles (docs/sources.md).
    marker = f"inbox/.arrivals/{CASES['being_written'].province}.ready"
    assert after.pop(marker, None) == hashlib.sha256(b"").hexdigest() and after.pop("inbox/.arrivals") == "dir"
    assert after == run.before, {k: (run.before.get(k), after.get(k)) for k in set(after) ^ set(run.before)
                                 | {k for k in after if after.get(k) != run.before.get(k)}}
    reports = (run.data / "reports").resolve()
    for folder in run.report_dirs.values():
        rel = folder.resolve().relative_to(reports)
        assert len(rel.parts) == 2 and rel.parts[0] in CASES_PROVINCES | set(bi.GOOD), rel
        assert all(len(part.encode()) <= 255 for part in rel.parts)
    for p in (run.data / "landing").rglob("*"):
        assert p.resolve().is_relative_to((run.data / "landing").resolve())
    # Only the known top-level folders exist in the data folder.
    assert {p.name for p in run.data.iterdir()} <= {"landing", "reports", "runs", "publications"}, list(run.data.iterdir())


CASES_PROVINCES = {c.province for c in CASES.values()}


def test_symlinked_files_were_never_read(corpus_run):
    secret = hashlib.sha256((corpus_run.tmp / "outside" / "secret.xlsx").read_bytes()).hexdigest()
    other = hashlib.sha256((corpus_run.tmp / "outside" / "province" / "ocop.xlsx").read_bytes()).hexdigest()
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    landed = {p.name.split(".")[0] for p in (corpus_run.data / "landing").glob("*/*/*")}
    assert not {secret, other, passwd} & landed
    rows = _query(corpus_run, "SELECT count(*) FROM source_record WHERE product_name LIKE '%Bí mật%' "
                              "OR product_name LIKE '%Ngoài%' OR raw_json LIKE '%root:%'")
    assert rows[0][0] == 0


def test_file_still_being_written_is_left_for_the_next_run(corpus_run):
    from ocop import pipeline
    from ocop.config import Settings

    case = CASES["being_written"]
    assert (corpus_run.inbox / case.province / case.name).is_file()
    d = corpus_run.data
    settings = Settings(home=d, inbox=corpus_run.inbox, landing=d / "landing", reports=d / "reports", runs=d / "runs",
                        publications=d / "publications", warehouse_url=corpus_run.url)
    # Once settled, it is the only new file: everything else (the duplicate too) is known.
    items = pipeline.discover(settings, settle_seconds=0)
    assert [(i["province_code"], i["name"]) for i in items] == [(case.province, case.name)]
