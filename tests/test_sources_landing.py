"""Acceptance: resubmitting the same file via several sources lands it once.

The same bytes are offered by the drop folder, a real SFTP server and a real web server (all on
127.0.0.1, started here); each is listed and fetched through the configured sources and landed;
the landing zone ends up with one copy, the later arrivals marked ``already_landed``."""

from __future__ import annotations

import json

from test_sources_http import put as put_http
from test_sources_http import running_http_server
from test_sources_sftp import PASSWORD, USER, running_sftp_server
from test_sources_sftp import put as put_sftp

from ocop.ingest.landing import land, sha256_of
from ocop.ingest.sources import load_sources, source_for

REGISTER = b"PK\x03\x04 the Quang Nam register, 30/06/2025"


def test_same_file_via_three_sources_lands_once(tmp_path, monkeypatch):
    inbox, landing, work = tmp_path / "inbox", tmp_path / "landing", tmp_path / "work"
    put_sftp(inbox, "48/DS OCOP 30-06-2025.xlsx", REGISTER)
    put_sftp(tmp_path / "sftp", "outgoing/48/ocop_48.xlsx", REGISTER)
    put_http(tmp_path / "site", "exports/48/register.xlsx", REGISTER)
    (tmp_path / "site/48").mkdir()
    (tmp_path / "site/48/index.json").write_text(json.dumps(
        [{"name": "Danh sách OCOP.xlsx", "url": "../exports/48/register.xlsx", "size": len(REGISTER)}]))

    with running_sftp_server(tmp_path / "sftp") as sftp, running_http_server(tmp_path / "site") as base:
        monkeypatch.setenv("AIRFLOW_CONN_OCOP_SFTP_QN", f"sftp://{USER}:{PASSWORD}@127.0.0.1:{sftp.port}")
        config = tmp_path / "sources.yaml"
        config.write_text(f"""
sources:
  - type: folder
  - type: sftp
    conn_id: ocop_sftp_qn
    root: /outgoing
    verify_host_key: false
  - type: http
    provinces: ["48"]
    index_url: {base}/{{province}}/index.json
""")
        sources = load_sources(config, inbox, settle_seconds=0)
        items = [item for source in sources for item in source.list_files()]
        assert [i.source for i in items] == ["folder", "sftp", "http"]
        # as in the pipeline: the item travels alone, the fetching task finds its source again
        landed = []
        for item in items:
            local = source_for(item, sources).local_path(item, work / item.source)
            landed.append(land(local, item.province_code, landing, source=item.source,
                               original_name=item.name, sha256=sha256_of(local)))

    assert [entry.already_landed for entry in landed] == [False, True, True]
    assert {entry.path for entry in landed} == {landed[0].path}
    assert landed[0].source == "folder" and landed[0].original_name == "DS OCOP 30-06-2025.xlsx"
    copies = [p for p in landing.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert len(copies) == 1 and copies[0].read_bytes() == REGISTER
