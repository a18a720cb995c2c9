"""HttpSource against a real ``http.server.ThreadingHTTPServer`` on 127.0.0.1 serving a temporary
folder (plain HTTP, HTTPS with a throw-away CA, and HTTP basic authentication)."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import json
import os
import ssl
import threading
import time
import urllib.error
from contextlib import contextmanager
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ocop.ingest.sources import DownloadTooLarge, HttpSource, SourceError, load_sources

OLD = time.time() - 3600


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the folder it is given, without logging every request to stderr."""

    def log_message(self, format, *args):
        pass


class BasicAuthHandler(QuietHandler):
    """Serves only to ``ocop`` / ``pw-48`` (HTTP basic authentication)."""

    expected = "Basic " + base64.b64encode(b"ocop:pw-48").decode()

    def send_head(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="ocop"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()


@contextmanager
def running_http_server(root: Path, handler=QuietHandler, tls: ssl.SSLContext | None = None):
    """A web server on a free 127.0.0.1 port serving ``root``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def put(root: Path, relative: str, data: bytes, mtime: float = OLD) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def write_index(root: Path, relative: str, entries: list) -> None:
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_text(json.dumps(entries), encoding="utf-8")


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with running_http_server(root) as base:
        yield root, base


def test_json_index_listing_and_download(site, tmp_path):
    root, base = site
    put(root, "files/48/ds.xlsx", b"danang-2025")
    put(root, "files/48/e.xlsx", b"escape-attempt")
    put(root, "files/48/fresh.xlsx", b"being written")
    write_index(root, "48/index.json", [
        {"name": "Danh sách 2025.xlsx", "url": "../files/48/ds.xlsx", "size": 11, "mtime": OLD},
        {"name": "../../escape.xlsx", "url": f"{base}/files/48/e.xlsx", "mtime": "2025-06-30T08:00:00Z"},
        {"name": "fresh.xlsx", "url": "../files/48/fresh.xlsx", "mtime": time.time()},
        {"name": "~$ds.xlsx", "url": "../files/48/ds.xlsx"},
        {"name": "passwd", "url": "file:///etc/passwd"},
        {"name": "no url"},
        "not an object",
    ])
    source = HttpSource({"48": f"{base}/48/index.json", "01": f"{base}/01/index.json"}, settle_seconds=5)

    items = list(source.list_files())  # 01 has no index yet (404): nothing, no error

    assert [(i.province_code, i.name, i.size, i.source) for i in items] == [
        ("48", "Danh sách 2025.xlsx", 11, "http"), ("48", "escape.xlsx", -1, "http")]
    assert items[1].mtime == dt.datetime(2025, 6, 30, 8, tzinfo=dt.timezone.utc).timestamp()
    work = tmp_path / "work"
    paths = [source.local_path(item, work) for item in items]
    assert paths == [work / "48" / "Danh sách 2025.xlsx", work / "48" / "escape.xlsx"]
    assert [p.read_bytes() for p in paths] == [b"danang-2025", b"escape-attempt"]
    assert source.local_path(replace(items[0], name="../../../x.xlsx"), work) == work / "48" / "x.xlsx"


def test_explicit_url_list_uses_head(site):
    root, base = site
    put(root, "hcm/Báo cáo OCOP.xlsx", b"hcm-bytes")
    put(root, "hcm/new.xlsx", b"uploading", mtime=time.time())
    urls = [f"{base}/hcm/B%C3%A1o%20c%C3%A1o%20OCOP.xlsx", f"{base}/hcm/new.xlsx", f"{base}/hcm/missing.xlsx"]

    (item,) = HttpSource({"79": urls}, settle_seconds=5).list_files()

    assert (item.province_code, item.name, item.size, item.location) == ("79", "Báo cáo OCOP.xlsx", 9, urls[0])
    assert item.mtime == pytest.approx(OLD, abs=1)


def test_byte_limit_and_changed_file(site, tmp_path):
    root, base = site
    put(root, "48/big.xlsx", b"x" * 5000)
    source = HttpSource({"48": [f"{base}/48/big.xlsx"]}, settle_seconds=0, max_bytes=1000)
    (item,) = source.list_files()
    work = tmp_path / "work"
    with pytest.raises(DownloadTooLarge):
        source.local_path(item, work)
    with pytest.raises(DownloadTooLarge):  # size unknown: the Content-Length stops it
        source.local_path(replace(item, size=-1), work)
    roomy = HttpSource({"48": [f"{base}/48/big.xlsx"]}, settle_seconds=0)
    with pytest.raises(SourceError, match="changed since it was listed"):
        roomy.local_path(replace(item, size=4000), work)
    assert list(work.rglob("*")) == [work / "48"]


def test_https_with_configured_ca(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    root = tmp_path / "site"
    put(root, "48/ds.xlsx", b"over-tls")
    with running_http_server(root, tls=tls) as base:
        trusted = HttpSource({"48": [f"{base}/48/ds.xlsx"]}, ca_file=cert, settle_seconds=0)
        (item,) = trusted.list_files()
        assert trusted.local_path(item, tmp_path / "work").read_bytes() == b"over-tls"
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            list(HttpSource({"48": [f"{base}/48/ds.xlsx"]}, settle_seconds=0).list_files())


def test_basic_auth_from_airflow_connection(tmp_path, monkeypatch):
    root = tmp_path / "site"
    put(root, "files/ds.xlsx", b"secret-register")
    write_index(root, "48/index.json", [{"name": "ds.xlsx", "url": "/files/ds.xlsx", "mtime": OLD}])
    with running_http_server(root, handler=BasicAuthHandler) as base:
        monkeypatch.setenv("AIRFLOW_CONN_OCOP_HTTP_DANANG", json.dumps(
            {"conn_type": "http", "login": "ocop", "password": "pw-48"}))
        config = tmp_path / "sources.yaml"
        config.write_text(f"""
sources:
  - type: http
    conn_id: ocop_http_danang
    provinces: ["48"]
    index_url: {base}/{{province}}/index.json
""")
        (source,) = load_sources(config, tmp_path / "inbox", settle_seconds=5)
        (item,) = source.list_files()
        assert source.local_path(item, tmp_path / "work").read_bytes() == b"secret-register"
        with pytest.raises(urllib.error.HTTPError, match="401"):
            list(HttpSource({"48": f"{base}/48/index.json"}).list_files())


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
