"""The sources file (``load_sources``), Airflow connections from the environment, and safe names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocop.ingest.sources import (
    FolderSource,
    HttpSource,
    SftpSource,
    SourceConfigError,
    airflow_connection,
    load_sources,
    safe_name,
)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, safe", [
    ("Danh sách OCOP 2025.xlsx", "Danh sách OCOP 2025.xlsx"),
    ("../../x.xlsx", "x.xlsx"),
    ("..\\..\\x.xlsx", "x.xlsx"),
    ("/etc/passwd", "passwd"),
    ("a\x00b:c?.xlsx", "a_b_c_.xlsx"),
    ("..", "unnamed"),
    ("dir/", "unnamed"),
    ("report.xlsx. ", "report.xlsx"),
])
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def test_safe_name_shortens_keeping_the_extension():
    shortened = safe_name("a" * 500 + ".xlsx")
    assert len(shortened) == 200 and shortened.endswith("a.xlsx")


def test_airflow_connection_uri_and_json_forms():
    environ = {
        "AIRFLOW_CONN_HANOI": "sftp://ocop%40hn:p%2Fw%3Ad@sftp.hanoi.example:2222/?key_file=%2Fkeys%2Fid&x=1",
        "AIRFLOW_CONN_DANANG": '{"conn_type": "sftp", "host": "h", "port": "22", "login": "u",'
                               ' "password": "p", "extra": "{\\"key_file\\": \\"/k\\"}"}',
        "AIRFLOW_CONN_EXTRA": 'sftp://u@h/?__extra__=%7B%22no_host_key_check%22%3A+true%7D',
    }
    hanoi = airflow_connection("hanoi", environ)
    assert (hanoi.conn_type, hanoi.host, hanoi.port, hanoi.login, hanoi.password) == (
        "sftp", "sftp.hanoi.example", 2222, "ocop@hn", "p/w:d")
    assert hanoi.extra == {"key_file": "/keys/id", "x": "1"}
    danang = airflow_connection("danang", environ)
    assert (danang.host, danang.port, danang.login, danang.password, danang.extra) == (
        "h", 22, "u", "p", {"key_file": "/k"})
    assert airflow_connection("extra", environ).extra == {"no_host_key_check": True}
    with pytest.raises(SourceConfigError, match="AIRFLOW_CONN_MISSING"):
        airflow_connection("missing", environ)


def test_no_file_means_the_inbox(tmp_path):
    (source,) = load_sources(tmp_path / "absent.yaml", tmp_path / "inbox", settle_seconds=3)
    assert isinstance(source, FolderSource) and source.inbox == tmp_path / "inbox" and source.settle_seconds == 3


def test_full_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OCOP_SFTP_HANOI", "sftp://hn:pw@sftp.hanoi.example:2222")
    monkeypatch.setenv("OCOP_HCM_PASSWORD", "from-env")
    monkeypatch.setenv("OCOP_MAX_BYTES", "12345")
    sources = load_sources(config(tmp_path, """
sources:
  - type: folder
  - type: folder
    path: /mnt/share/ocop
    settle_seconds: 30
  - type: sftp
    conn_id: ocop_sftp_hanoi
    root: /outgoing
    provinces: ["01"]
    known_hosts: ~/known_hosts
  - type: sftp
    host: sftp.hcm.example
    username: ocop
    password_env: OCOP_HCM_PASSWORD
    folders: {"79": /data/ocop}
    verify_host_key: false
    max_bytes: 999
  - type: http
    provinces: ["48", "51"]
    index_url: https://ocop.example.vn/{province}/index.json
    files: {"46": [https://hue.example.vn/ocop.xlsx]}
"""), tmp_path / "inbox", settle_seconds=5)

    folder, share, hanoi, hcm, http = sources
    assert (folder.inbox, folder.settle_seconds) == (tmp_path / "inbox", 5)
    assert (share.inbox, share.settle_seconds) == (Path("/mnt/share/ocop"), 30)
    assert isinstance(hanoi, SftpSource)
    assert (hanoi.host, hanoi.port, hanoi.username, hanoi.password, hanoi.root, hanoi.provinces) == (
        "sftp.hanoi.example", 2222, "hn", "pw", "/outgoing", ["01"])
    assert hanoi.known_hosts == Path.home() / "known_hosts" and hanoi.verify_host_key and hanoi.max_bytes == 12345
    assert (hcm.host, hcm.port, hcm.password, hcm.folders, hcm.verify_host_key, hcm.max_bytes) == (
        "sftp.hcm.example", 22, "from-env", {"79": "/data/ocop"}, False, 999)
    assert isinstance(http, HttpSource) and http.listings == {
        "46": ["https://hue.example.vn/ocop.xlsx"],
        "48": "https://ocop.example.vn/48/index.json", "51": "https://ocop.example.vn/51/index.json"}


@pytest.mark.parametrize("entry, message", [
    ("type: sftp\n    host: h\n    username: u\n    password: hunter2", "must not be written here"),
    ("type: http\n    files: {\"48\": [https://x/a.xlsx]}\n    token: abc", "must not be written here"),
    ("type: sftp\n    host: h\n    username: u\n    hots: x", "unknown key"),
    ("type: ftp", "unknown type"),
    ("type: sftp\n    host: h\n    username: u\n    provinces: [01]", "write codes quoted"),
    ("type: sftp\n    host: h\n    username: u\n    provinces: [\"99\"]", "not a 2025 province code"),
    ("type: sftp\n    host: h", "host and username are needed"),
    ("type: sftp\n    host: h\n    username: u\n    verify_host_key: \"no\"", "true or false"),
    ("type: sftp\n    host: h\n    username: u\n    password_env: OCOP_UNSET_VAR", "OCOP_UNSET_VAR is not set"),
    ("type: sftp\n    conn_id: nowhere", "AIRFLOW_CONN_NOWHERE"),
    ("type: http\n    provinces: [\"48\", \"51\"]\n    index_url: https://x/index.json", "exactly one province"),
    ("type: http\n    files: {\"48\": [file:///etc/passwd]}", r"not http\(s\) URLs"),
    ("type: http", "needs index_url"),
    ("type: http\n    files: {\"48\": [https://x/a.xlsx]}\n    ca_file: /nonexistent/ca.pem", "ca_file /nonexistent"),
])
def test_configuration_errors_name_the_entry(tmp_path, monkeypatch, entry, message):
    monkeypatch.delenv("OCOP_UNSET_VAR", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)
    path = config(tmp_path, f"sources:\n  - type: folder\n  - {entry}\n")
    with pytest.raises(SourceConfigError, match=message) as error:
        load_sources(path, tmp_path / "inbox", settle_seconds=5)
    assert "sources[1]" in str(error.value)


def test_a_document_without_a_sources_list_is_refused(tmp_path):
    with pytest.raises(SourceConfigError, match="'sources:' list"):
        load_sources(config(tmp_path, "- type: folder\n"), tmp_path / "inbox", settle_seconds=5)
