"""SftpSource against a real asyncssh SFTP server on 127.0.0.1, started by the tests themselves.

The server runs in a background thread with its own event loop, a throw-away host key, password
authentication and an SFTP root chrooted at a temporary folder."""

from __future__ import annotations

import asyncio
import functools
import os
import posixpath
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import asyncssh
import pytest

from ocop.ingest.sources import DownloadTooLarge, SftpSource, load_sources

USER, PASSWORD = "ocop", "s3cret-pw"


@dataclass(frozen=True)
class SftpServer:
    port: int
    host_key: asyncssh.SSHKey
    root: Path

    def source(self, **options) -> SftpSource:
        """A source for this server (host key not checked unless ``known_hosts`` is given)."""
        options.setdefault("verify_host_key", "known_hosts" in options)
        options.setdefault("settle_seconds", 0)
        return SftpSource("127.0.0.1", port=self.port, username=USER, password=PASSWORD, **options)

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.export_public_key().decode().strip()}\n"


class _PasswordServer(asyncssh.SSHServer):
    """Accepts exactly one user name and password."""

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


@contextmanager
def running_sftp_server(root: Path, client_key: asyncssh.SSHKey | None = None):
    """An SFTP server on a free 127.0.0.1 port serving ``root`` as ``/``, for the block's duration;
    it accepts the test password and, if given, ``client_key``."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    host_key = asyncssh.generate_private_key("ssh-ed25519")

    def call(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode()) if client_key else None

    async def start():
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=_PasswordServer,
            authorized_client_keys=authorized,
            sftp_factory=functools.partial(asyncssh.SFTPServer, chroot=str(root)), allow_scp=False)

    async def stop(server):
        server.close()
        await server.wait_closed()

    server = call(start())
    try:
        yield SftpServer(server.sockets[0].getsockname()[1], host_key, root)
    finally:
        call(stop(server))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def sftp_server(tmp_path):
    root = tmp_path / "sftp-root"
    root.mkdir()
    with running_sftp_server(root) as server:
        yield server


def put(root: Path, relative: str, data: bytes, age: float = 60.0) -> Path:
    """Write a file under the server root with an mtime ``age`` seconds in the past."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_lists_province_folders_and_downloads(sftp_server, tmp_path):
    root = sftp_server.root
    put(root, "outgoing/01/Danh sách OCOP 2025.xlsx", b"hanoi-bytes")
    put(root, "outgoing/79/hcm #1.csv", b"hcm-bytes")
    for ignored in ("01/.hidden.xlsx", "01/~$lock.xlsx", "01/upload.xlsx.part", "99/x.xlsx", "notes/x.xlsx"):
        put(root, f"outgoing/{ignored}", b"ignored")
    (root / "outgoing/01/sub").mkdir()
    os.symlink(root / "outgoing/79/hcm #1.csv", root / "outgoing/01/link.csv")

    items = list(sftp_server.source(root="/outgoing").list_files())

    assert [(i.province_code, i.name, i.size, i.source) for i in items] == [
        ("01", "Danh sách OCOP 2025.xlsx", 11, "sftp"), ("79", "hcm #1.csv", 9, "sftp")]
    assert items[0].location.startswith(f"sftp://127.0.0.1:{sftp_server.port}/outgoing/01/")
    source = sftp_server.source(root="/outgoing")
    local = [source.local_path(item, tmp_path / "work") for item in items]
    assert local == [tmp_path / "work/01/Danh sách OCOP 2025.xlsx", tmp_path / "work/79/hcm #1.csv"]
    assert [p.read_bytes() for p in local] == [b"hanoi-bytes", b"hcm-bytes"]


def test_provinces_filter_and_per_province_folders(sftp_server):
    put(sftp_server.root, "outgoing/01/a.xlsx", b"a")
    put(sftp_server.root, "outgoing/79/b.xlsx", b"b")
    put(sftp_server.root, "danang/export/c.xlsx", b"c")

    only_79 = sftp_server.source(root="/outgoing", provinces=["79", "48"])  # 48 has no folder: nothing
    assert [(i.province_code, i.name) for i in only_79.list_files()] == [("79", "b.xlsx")]
    mapped = sftp_server.source(folders={"48": "/danang/export"})
    assert [(i.province_code, i.name) for i in mapped.list_files()] == [("48", "c.xlsx")]


def test_file_still_being_uploaded_is_left_for_next_run(sftp_server, monkeypatch):
    """The settle rule, with the changes made between the two listings (no timing involved): a
    file is offered only when its size and mtime are the same in both."""
    root = sftp_server.root
    put(root, "01/done.xlsx", b"complete", age=600)
    growing = put(root, "01/growing.xlsx", b"start", age=600)
    touched = put(root, "01/touched.xlsx", b"same size", age=600)
    gone = put(root, "01/gone.xlsx", b"removed", age=600)
    source = sftp_server.source(root="/", settle_seconds=0.01)
    scans = []
    real_scan = SftpSource._scan

    async def scan_then_change(self, sftp):
        found = await real_scan(self, sftp)
        if not scans:  # after the first listing: an upload goes on, a file is rewritten, one deleted
            with growing.open("ab") as fh:
                fh.write(b"more")
            os.utime(growing, (time.time() - 600, time.time() - 600))  # even with its old mtime
            then = touched.stat().st_mtime + 7
            os.utime(touched, (then, then))  # same size, new mtime
            gone.unlink()
        scans.append(sorted(posixpath.basename(p) for p in found))
        return found

    monkeypatch.setattr(SftpSource, "_scan", scan_then_change)
    names = [i.name for i in source.list_files()]
    assert scans == [["done.xlsx", "gone.xlsx", "growing.xlsx", "touched.xlsx"],
                     ["done.xlsx", "growing.xlsx", "touched.xlsx"]]
    assert names == ["done.xlsx"]
    # Next run, nothing changes between the listings: all three are offered.
    assert [i.name for i in source.list_files()] == ["done.xlsx", "growing.xlsx", "touched.xlsx"]


def test_no_settle_window_means_one_listing(sftp_server, monkeypatch):
    put(sftp_server.root, "01/a.xlsx", b"a")
    calls = []
    real_scan = SftpSource._scan

    async def counted(self, sftp):
        calls.append(1)
        return await real_scan(self, sftp)

    monkeypatch.setattr(SftpSource, "_scan", counted)
    assert [i.name for i in sftp_server.source(root="/", settle_seconds=0).list_files()] == ["a.xlsx"]
    assert len(calls) == 1


def test_remote_names_cannot_escape_the_workdir(sftp_server, tmp_path):
    put(sftp_server.root, "01/..\\..\\evil.xlsx", b"payload")  # a legal file name on the server
    source = sftp_server.source(root="/")
    (item,) = source.list_files()
    assert item.name == "evil.xlsx"

    work = tmp_path / "a" / "work"
    assert source.local_path(item, work) == work / "01" / "evil.xlsx"
    forged = replace(item, name="../../evil.xlsx")  # e.g. an item rebuilt from XCom
    assert source.local_path(forged, work) == work / "01" / "evil.xlsx"
    assert sorted(p.name for p in tmp_path.rglob("evil.xlsx")) == ["evil.xlsx"]
    with pytest.raises(ValueError):
        source.local_path(replace(item, province_code=".."), work)


def test_byte_limit_leaves_no_partial_file(sftp_server, tmp_path):
    put(sftp_server.root, "01/big.xlsx", b"x" * 5000)
    source = sftp_server.source(root="/", max_bytes=1000)
    (item,) = source.list_files()
    with pytest.raises(DownloadTooLarge):
        source.local_path(item, tmp_path / "work")
    understated = replace(item, size=10)  # the listing lied or the file grew: stop at the limit
    with pytest.raises(DownloadTooLarge):
        source.local_path(understated, tmp_path / "work")
    assert list((tmp_path / "work").rglob("*")) == [tmp_path / "work" / "01"]


def test_host_key_is_checked_against_known_hosts(sftp_server, tmp_path):
    put(sftp_server.root, "01/a.xlsx", b"a")
    good = tmp_path / "known_hosts"
    good.write_text(sftp_server.known_hosts_line())
    assert [i.name for i in sftp_server.source(root="/", known_hosts=good).list_files()] == ["a.xlsx"]

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    wrong = tmp_path / "known_hosts_wrong"
    wrong.write_text(f"[127.0.0.1]:{sftp_server.port} {other}")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        list(sftp_server.source(root="/", known_hosts=wrong).list_files())


def test_wrong_password_is_refused(sftp_server):
    source = SftpSource("127.0.0.1", port=sftp_server.port, username=USER, password="nope",
                        verify_host_key=False, settle_seconds=0)
    with pytest.raises(asyncssh.PermissionDenied):
        list(source.list_files())


def test_private_key_with_passphrase(tmp_path):
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    client_key.write_private_key(key_file, "pkcs8-pem", passphrase="key-pass")  # no bcrypt needed
    put(tmp_path / "root", "01/a.xlsx", b"by-key")
    with running_sftp_server(tmp_path / "root", client_key) as server:
        source = SftpSource("127.0.0.1", port=server.port, username=USER, key_file=key_file,
                            passphrase="key-pass", verify_host_key=False, settle_seconds=0)
        (item,) = source.list_files()
        assert source.local_path(item, tmp_path / "work").read_bytes() == b"by-key"


def test_configured_from_yaml_and_airflow_connection(sftp_server, tmp_path, monkeypatch):
    put(sftp_server.root, "outgoing/01/a.xlsx", b"a")
    monkeypatch.setenv("AIRFLOW_CONN_OCOP_SFTP_TEST", f"sftp://{USER}:{PASSWORD}@127.0.0.1:{sftp_server.port}")
    config = tmp_path / "sources.yaml"
    config.write_text(f"""
sources:
  - type: sftp
    conn_id: ocop_sftp_test
    root: /outgoing
    provinces: ["01"]
    known_hosts: {tmp_path / 'known_hosts'}
""")
    (tmp_path / "known_hosts").write_text(sftp_server.known_hosts_line())

    (source,) = load_sources(config, tmp_path / "inbox", settle_seconds=0)
    (item,) = source.list_files()
    assert source.local_path(item, tmp_path / "work").read_bytes() == b"a"
