"""Pipeline-level edge cases found while building the bad-input corpus (embedded SQLite
warehouse, in process, fast). The bugs they found are fixed and their tests, once strict xfails,
are plain tests; docs/reliability.md lists what each checks and which fix it needed."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


import bad_inputs as bi
from ocop import pipeline
from ocop.config import Settings
from ocop.ingest.landing import land


def _settings(tmp: Path, inbox: Path) -> Settings:
    return Settings(home=tmp, inbox=inbox, landing=tmp / "landing", reports=tmp / "reports", runs=tmp / "runs",
                    publications=tmp / "publications", warehouse_url=f"sqlite:///{tmp / 'warehouse.db'}",
                    settle_seconds=0)


def _process(tmp: Path, files: dict[str, bytes], code: str = "08") -> list[dict]:
    inbox = tmp / "inbox"
    (inbox / code).mkdir(parents=True)
    for name, data in files.items():
        (inbox / code / name).write_bytes(data)
    s = _settings(tmp, inbox)
    return [pipeline.process_submission(item, s, s.runs / "r") for item in pipeline.discover(s)]


def test_two_files_with_the_same_stem_keep_two_reports(tmp_path):
    rows = bi.register_rows("Tuyên Quang", "Cùng tên", 3)
    results = _process(tmp_path, {"ocop.xlsx": bi.xlsx_bytes(rows), "ocop.csv": bi.csv_bytes(rows[:2])})
    assert len(results) == 2
    assert len({r["report_dir"] for r in results}) == 2


def test_a_255_byte_name_of_four_byte_letters_is_processed(tmp_path):
    name = "\U00020000" * 62 + ".csv"
    assert len(name.encode()) <= 255
    results = _process(tmp_path, {name: bi.csv_bytes(bi.register_rows("Tuyên Quang", "Nôm", 3))})
    assert [r["file_outcome"] for r in results] == ["accepted"]


def test_first_run_with_only_rejected_files(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "08").mkdir(parents=True)
    (inbox / "08" / "trang_web.xls").write_bytes(b"<html><body>not a register</body></html>")
    summary = pipeline.run(_settings(tmp_path, inbox))
    assert [s["file_rule"] for s in summary["submissions"]] == ["F_UNREADABLE"]
    assert summary["consolidation"]["loaded"] == 1


def _land_many(args) -> str:
    src, root, barrier = args
    barrier.wait()
    return land(Path(src), "08", Path(root)).path


def test_two_processes_landing_the_same_file_at_once(tmp_path):
    """Two runs (a scheduled one and a person's ``ocop run``) landing the same new file at the
    same moment: one immutable copy, one metadata file, no error, no temporary file left."""
    src = tmp_path / "ocop.xlsx"
    src.write_bytes(bi.xlsx_bytes(bi.register_rows("Tuyên Quang", "Đồng thời", 3)))
    ctx = mp.get_context("fork")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        barrier = manager.Barrier(2)
        for i in range(15):
            root = tmp_path / f"landing{i}"
            paths = pool.map(_land_many, [(str(src), str(root), barrier)] * 2)
            assert paths[0] == paths[1]
            files = sorted(p.name for p in root.rglob("*") if p.is_file())
            assert {Path(f).suffix for f in files} == {".json", ".xlsx"} and len(files) == 2, files
