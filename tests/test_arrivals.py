"""The arrival contract (docs/sources.md): a province's complete file, then its marker
``<inbox>/.arrivals/<code>.ready``; the triggerer's watcher fires on the marker and deletes the
marker only; a file still being written is left and its marker written again."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from ingest_files import write_xlsx
from ocop import pipeline
from ocop.config import Settings
from ocop.ingest.sources import FolderSource, arrival_marker, mark_arrival


def test_marker_is_written_atomically_for_a_province_only(tmp_path):
    marker = mark_arrival(tmp_path, "01")
    assert marker == tmp_path / ".arrivals" / "01.ready" == arrival_marker(tmp_path, "01")
    assert marker.read_bytes() == b"" and os.listdir(marker.parent) == ["01.ready"]   # no temporary left
    assert mark_arrival(tmp_path, "01") == marker                                     # again: still one
    with pytest.raises(ValueError, match="not a 2025 province code"):
        mark_arrival(tmp_path, "99")


def test_the_markers_folder_is_not_a_province_and_fresh_files_are_left(tmp_path, caplog):
    write_xlsx((tmp_path / "01").mkdir() or tmp_path / "01" / "ds.xlsx")
    write_xlsx((tmp_path / "79").mkdir() or tmp_path / "79" / "ds.xlsx")
    old = time.time() - 60
    os.utime(tmp_path / "01" / "ds.xlsx", (old, old))
    mark_arrival(tmp_path, "01")
    source = FolderSource(tmp_path, settle_seconds=30)
    with caplog.at_level("WARNING"):
        listed = list(source.list_files())
    assert [(i.province_code, i.name) for i in listed] == [("01", "ds.xlsx")]
    assert source.unsettled == {"79"}
    assert ".arrivals" not in caplog.text           # ours: ignored without a warning


def test_discover_marks_again_a_province_whose_file_is_still_being_written(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "79").mkdir(parents=True)
    write_xlsx(inbox / "79" / "ds.xlsx")            # just written: not settled
    settings = Settings.from_env(inbox=inbox, landing=tmp_path / "landing", runs=tmp_path / "runs",
                                 reports=tmp_path / "reports", publications=tmp_path / "pub",
                                 warehouse_url=f"sqlite:///{tmp_path / 'wh.db'}")
    assert pipeline.discover(settings, settle_seconds=30) == []
    assert arrival_marker(inbox, "79").exists()      # the watcher will start the next run
    old = time.time() - 60
    os.utime(inbox / "79" / "ds.xlsx", (old, old))
    arrival_marker(inbox, "79").unlink()
    assert [i["name"] for i in pipeline.discover(settings, settle_seconds=30)] == ["ds.xlsx"]
    assert not arrival_marker(inbox, "79").exists()


def test_the_airflow_trigger_fires_on_the_marker_and_deletes_only_the_marker(tmp_path):
    from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger

    register = tmp_path / "01" / "ds.xlsx"
    register.parent.mkdir()
    write_xlsx(register)
    trigger = DirectoryFileDeleteTrigger(directory=str(tmp_path / ".arrivals"), filename="01.ready",
                                         poke_interval=0.05)

    async def first_event():
        events = trigger.run()
        task = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.3)
        assert not task.done()                      # nothing arrived yet: no event
        mark_arrival(tmp_path, "79")                # another province's marker: not this watcher's
        await asyncio.sleep(0.3)
        assert not task.done()
        mark_arrival(tmp_path, "01")
        return await asyncio.wait_for(task, 5)

    event = asyncio.run(first_event())
    assert event.payload == {"filepath": str(tmp_path / ".arrivals" / "01.ready")}
    assert not arrival_marker(tmp_path, "01").exists()     # the marker is consumed...
    assert arrival_marker(tmp_path, "79").exists()         # ...only its own
    assert register.exists() and register.stat().st_size > 0   # the register is never touched
