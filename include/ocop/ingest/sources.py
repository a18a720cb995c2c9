"""Where submissions come from, behind one small interface.

A source lists :class:`Incoming` files, each already attributed to the submitting province by
where it was found (the drop folder ``<inbox>/<code>/``, never the file's content), and can put
a local copy of one in a given folder. ``FolderSource`` is the default (a local or mounted drop
folder); ``SftpSource`` and ``HttpSource`` fetch from a province's server, and ``load_sources``
builds the configured set from a YAML file (format: ``docs/sources.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import json
import logging
import os
import posixpath
import re
import ssl
import stat
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import parse_qsl, quote, unquote, urljoin, urlsplit

import yaml

from ocop.config import Limits
from ocop.reference.provinces import PROVINCES

log = logging.getLogger("ocop.ingest")
_CODE_RE = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class Incoming:
    province_code: str
    name: str          # the file name as the province sent it
    size: int
    mtime: float
    location: str      # where the source found it (path or URL)
    source: str        # "folder", "sftp", "http"


class Source(Protocol):
    name: str

    def list_files(self) -> Iterator[Incoming]: ...

    def local_path(self, item: Incoming, workdir: Path) -> Path: ...


def _skippable(name: str) -> bool:
    """Hidden files, Office lock files (``~$x.xlsx``) and partial uploads are never submissions."""
    return name.startswith((".", "~$")) or name.endswith((".part", ".tmp", ".crdownload", ".filepart"))


class FolderSource:
    """``<inbox>/<province code>/<any file name>``. Files still being written (modified within
    ``settle_seconds``) are left for the next run; symlinks are not followed."""

    name = "folder"

    def __init__(self, inbox: Path, settle_seconds: float = 5.0):
        self.inbox = Path(inbox)
        self.settle_seconds = settle_seconds
        self.unsettled: set[str] = set()  # province codes with a file left for the next run

    def list_files(self) -> Iterator[Incoming]:
        self.unsettled = set()
        if not self.inbox.is_dir():
            return
        now = time.time()
        for folder in sorted(self.inbox.iterdir()):
            if not folder.is_dir() or folder.is_symlink() or folder.name.startswith("."):
                continue  # dot folders are ours (``.arrivals/``: the arrival markers)
            code = folder.name
            if not _CODE_RE.match(code) or code not in PROVINCES:
                log.warning("inbox folder %s is not a 2025 province code: ignored", folder)
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if _skippable(entry.name):
                    continue
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    log.warning("%s is a symbolic link: not followed, not processed", entry.path)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if now - st.st_mtime < self.settle_seconds:
                    log.info("%s is still being written: left for the next run", entry.path)
                    self.unsettled.add(code)
                    continue
                yield Incoming(code, entry.name, st.st_size, st.st_mtime, entry.path, self.name)

    def local_path(self, item: Incoming, workdir: Path) -> Path:
        return Path(item.location)


ARRIVALS_DIR = ".arrivals"


def arrival_marker(inbox: Path, province_code: str) -> Path:
    """``<inbox>/.arrivals/<code>.ready``: the empty file that says "a file of this province is
    complete in the inbox" (docs/sources.md, the arrival contract). The Airflow triggerer watches
    these markers, never the registers: its file trigger deletes what it matches."""
    return Path(inbox) / ARRIVALS_DIR / f"{province_code}.ready"


def mark_arrival(inbox: Path, province_code: str) -> Path:
    """Write the arrival marker of a province (atomically: the watcher never sees half of it)."""
    if province_code not in PROVINCES:
        raise ValueError(f"{province_code!r} is not a 2025 province code")
    marker = arrival_marker(inbox, province_code)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    tmp.write_bytes(b"")
    os.replace(tmp, marker)
    return marker


# --------------------------------------------------------------------------- remote sources

_CHUNK = 1 << 16
_MAX_INDEX_BYTES = 10 * 1024 * 1024
_MAX_NAME_CHARS = 200
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


class SourceError(OSError):
    """A remote source could not be read as expected; the file is tried again on the next run."""


class DownloadTooLarge(SourceError):
    """A remote file is over the byte limit: it is not fetched (never beyond the limit)."""


class SourceConfigError(ValueError):
    """The sources configuration (or a connection it names) is unusable."""


def safe_name(name: str) -> str:
    """``name`` reduced to a plain file name that stays inside the folder it is written to.

    Only the last component survives (``/`` and ``\\`` both separate, so ``../../x.xlsx`` and
    ``..\\..\\x.xlsx`` give ``x.xlsx``); control and Windows-reserved characters become ``_``,
    trailing dots and spaces go, and an over-long name is shortened keeping its extension."""
    base = _UNSAFE_CHARS.sub("_", re.split(r"[/\\]", name)[-1]).strip().rstrip(". ")
    if not base:
        return "unnamed"
    if len(base) > _MAX_NAME_CHARS:
        suffix = Path(base).suffix[:9]
        base = base[: _MAX_NAME_CHARS - len(suffix)] + suffix
    return base


def _check_codes(codes: Iterable[Any]) -> None:
    """Every code must be a quoted 2025 province code (YAML turns an unquoted 01 into 1)."""
    for code in codes:
        if not isinstance(code, str) or code not in PROVINCES:
            raise ValueError(f"{code!r} is not a 2025 province code (write codes quoted: \"01\")")


def _refuse_oversize(size: int, max_bytes: int, label: str) -> None:
    if size > max_bytes:
        raise DownloadTooLarge(f"{label}: {size} bytes, over the limit of {max_bytes}")


def _download_target(item: Incoming, workdir: Path) -> Path:
    """``workdir/<province>/<safe name>`` for a remote item, its folder created."""
    if not _CODE_RE.match(item.province_code):
        raise ValueError(f"not a province code: {item.province_code!r}")
    folder = Path(workdir) / item.province_code
    folder.mkdir(parents=True, exist_ok=True)
    return folder / safe_name(item.name)


class _Download:
    """Bytes streamed into a temporary file beside ``target`` and renamed onto it only when the
    block exits cleanly: ``target`` never holds a partial file."""

    def __init__(self, target: Path, max_bytes: int):
        self.target = target
        self.max_bytes = max_bytes
        self.size = 0

    def __enter__(self) -> "_Download":
        fd, self._tmp = tempfile.mkstemp(dir=self.target.parent, prefix=".download-")
        self._fh = os.fdopen(fd, "wb")
        return self

    def write(self, block: bytes) -> None:
        self.size += len(block)
        _refuse_oversize(self.size, self.max_bytes, self.target.name)
        self._fh.write(block)

    def expect(self, listed_size: int) -> None:
        """Fail if the listed size (``-1``: unknown) is not what arrived: the file changed."""
        if listed_size >= 0 and listed_size != self.size:
            raise SourceError(f"{self.target.name}: listed with {listed_size} bytes, {self.size} arrived "
                              "(changed since it was listed)")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._fh.close()
        if exc_type is None:
            os.replace(self._tmp, self.target)
        else:
            os.unlink(self._tmp)


# --------------------------------------------------------------------------- Airflow connections

@dataclass(frozen=True)
class Connection:
    """The parts of an Airflow connection a source uses (parsed here, Airflow is not imported)."""

    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def airflow_connection(conn_id: str, environ: Mapping[str, str] | None = None) -> Connection:
    """Connection ``conn_id`` from ``AIRFLOW_CONN_<CONN_ID>``, in Airflow's URI or JSON form."""
    environ = os.environ if environ is None else environ
    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = environ.get(var)
    if not value:
        raise SourceConfigError(f"connection {conn_id!r} not found: set {var}")
    return _connection_from_json(value) if value.lstrip().startswith("{") else _connection_from_uri(value)


def _connection_from_uri(uri: str) -> Connection:
    """``type://login:password@host:port/schema?key=value`` with percent-encoded parts; query
    parameters are the extras (or ``__extra__`` holds them as JSON)."""
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    extra = json.loads(query["__extra__"]) if "__extra__" in query else query
    return Connection(
        conn_type=parts.scheme.replace("-", "_") or None,
        host=unquote(parts.hostname) if parts.hostname else None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        extra=extra,
    )


def _connection_from_json(text: str) -> Connection:
    """``{"conn_type", "host", "port", "login", "password", "extra"}`` (``extra`` a dict or JSON text)."""
    data = json.loads(text)
    extra = data.get("extra") or {}
    port = data.get("port")
    return Connection(
        conn_type=data.get("conn_type"),
        host=data.get("host"),
        port=int(port) if port not in (None, "") else None,
        login=data.get("login"),
        password=data.get("password"),
        extra=json.loads(extra) if isinstance(extra, str) else extra,
    )


# --------------------------------------------------------------------------- SFTP

class SftpSource:
    """Files on a province's SFTP server: ``<root>/<province code>/<file>`` (every code folder
    found under ``root``, or only ``provinces``), or one remote folder per province (``folders``).

    A file is offered only if its size and mtime are unchanged when the folders are listed again
    ``settle_seconds`` later (an upload in progress grows in between); the rest waits for the next
    run. Symbolic links, folders, hidden, Office lock and partial-upload files are ignored. Host
    keys are checked against ``known_hosts`` (default ``~/.ssh/known_hosts``); only
    ``verify_host_key=False`` turns the check off (tests). Credentials are the ones given here:
    no SSH agent, default keys or ``~/.ssh/config`` are used. ``Incoming.location`` is
    ``sftp://host:port/<percent-encoded absolute path>``. Methods drive the asyncssh client with
    ``asyncio.run``: call them from synchronous code (an Airflow task), not from a running loop.
    """

    name = "sftp"

    def __init__(self, host: str, *, username: str, port: int = 22, password: str | None = None,
                 key_file: Path | None = None, passphrase: str | None = None, root: str = ".",
                 provinces: Sequence[str] | None = None, folders: Mapping[str, str] | None = None,
                 known_hosts: Path | None = None, verify_host_key: bool = True,
                 settle_seconds: float = 5.0, max_bytes: int = Limits().max_bytes, timeout: float = 30.0):
        if provinces and folders:
            raise ValueError("give provinces (folders under root) or folders, not both")
        _check_codes([*(provinces or ()), *(folders or {})])
        self.host, self.port, self.username = host, port, username
        self.password, self.key_file, self.passphrase = password, key_file, passphrase
        self.root, self.provinces, self.folders = root, list(provinces or ()), dict(folders or {})
        self.known_hosts, self.verify_host_key = known_hosts, verify_host_key
        self.settle_seconds, self.max_bytes, self.timeout = settle_seconds, max_bytes, timeout
        self.url = f"sftp://{host}:{port}"
        if not verify_host_key:
            log.warning("%s: host key NOT verified (verify_host_key is off)", self.url)

    def list_files(self) -> Iterator[Incoming]:
        """The settled files of every covered province (one connection, two listings)."""
        return iter(asyncio.run(self._list()))

    def local_path(self, item: Incoming, workdir: Path) -> Path:
        """Download ``item`` to ``workdir/<province>/<safe name>``, streamed, at most ``max_bytes``."""
        _refuse_oversize(item.size, self.max_bytes, item.location)
        path = self._remote_path(item)
        target = _download_target(item, workdir)
        asyncio.run(self._fetch(path, target, item.size))
        return target

    def owns(self, item: Incoming) -> bool:
        """Whether ``item`` was listed on this server."""
        return item.source == self.name and item.location.startswith(self.url + "/")

    def _remote_path(self, item: Incoming) -> str:
        if not self.owns(item):
            raise ValueError(f"{item.location} is not on {self.url}")
        return unquote(item.location[len(self.url):])

    @contextlib.asynccontextmanager
    async def _session(self):
        """An SFTP client on a fresh connection, closed on exit."""
        import asyncssh  # only SFTP needs it

        async with asyncssh.connect(
            self.host, port=self.port, username=self.username, password=self.password,
            client_keys=[str(self.key_file)] if self.key_file else None, passphrase=self.passphrase,
            agent_path=None, config=[], connect_timeout=self.timeout, known_hosts=self._known_hosts_option(),
        ) as conn, conn.start_sftp_client() as sftp:
            yield sftp

    def _known_hosts_option(self):
        """asyncssh's ``known_hosts``: None disables the check, () means ``~/.ssh/known_hosts``."""
        if not self.verify_host_key:
            return None
        return str(self.known_hosts) if self.known_hosts else ()

    async def _list(self) -> list[Incoming]:
        async with self._session() as sftp:
            first = await self._scan(sftp)
            second = first
            if first and self.settle_seconds > 0:
                await asyncio.sleep(self.settle_seconds)
                second = await self._scan(sftp)
        return [Incoming(code, safe_name(posixpath.basename(path)), attrs.size, float(attrs.mtime),
                         self.url + quote(path), self.name)
                for path, (code, attrs) in sorted(first.items()) if self._settled(path, attrs, second)]

    def _settled(self, path: str, attrs, second: dict) -> bool:
        """Whether the second listing shows ``path`` with the same size and mtime."""
        again = second.get(path)
        if again is None or (again[1].size, again[1].mtime) != (attrs.size, attrs.mtime):
            log.info("%s%s is still being written: left for the next run", self.url, path)
            return False
        return True

    async def _scan(self, sftp) -> dict[str, tuple[str, Any]]:
        """``{absolute remote path: (province code, attributes)}`` of the candidate files."""
        import asyncssh

        found = {}
        for code, folder in await self._province_folders(sftp):
            try:
                folder = await sftp.realpath(folder)
                entries = [entry async for entry in sftp.scandir(folder)]
            except asyncssh.SFTPNoSuchFile:
                log.info("%s%s does not exist: nothing from province %s", self.url, folder, code)
                continue
            for entry in entries:
                path = posixpath.join(folder, entry.filename)
                if self._candidate(entry, path):
                    found[path] = (code, entry.attrs)
        return found

    def _candidate(self, entry, path: str) -> bool:
        """A regular file that may be a submission (links are reported, never followed)."""
        import asyncssh

        if entry.attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
            log.warning("%s%s is a symbolic link: not followed, not processed", self.url, path)
        return entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR and not _skippable(safe_name(entry.filename))

    async def _province_folders(self, sftp) -> list[tuple[str, str]]:
        """``(code, remote folder)`` for every province this source covers."""
        import asyncssh

        if self.folders:
            return sorted(self.folders.items())
        if self.provinces:
            return [(code, posixpath.join(self.root, code)) for code in self.provinces]
        return sorted([(e.filename, posixpath.join(self.root, e.filename)) async for e in sftp.scandir(self.root)
                       if e.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY and e.filename in PROVINCES])

    async def _fetch(self, path: str, target: Path, listed_size: int) -> None:
        async with self._session() as sftp, sftp.open(path, "rb") as remote:
            with _Download(target, self.max_bytes) as sink:
                while block := await remote.read(_CHUNK):
                    sink.write(block)
                sink.expect(listed_size)


# --------------------------------------------------------------------------- HTTP(S)

def _http_url(url: Any) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https")


def _epoch(value: Any) -> float:
    """An index ``mtime``: Unix seconds or ISO 8601 text (naive = UTC); 0.0 when absent."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    moment = dt.datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def _http_date(value: str | None) -> float:
    """A ``Last-Modified`` header as Unix seconds; 0.0 when absent or malformed."""
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 0.0


class HttpSource:
    """Files a province publishes over HTTP or HTTPS. ``listings`` maps each province code to
    either the URL of a JSON index returning ``[{"name", "url", "size", "mtime"}]`` (``url`` may be
    relative to the index; ``size`` and ``mtime`` optional, ``mtime`` in Unix seconds or ISO 8601)
    or an explicit list of file URLs (each asked with HEAD for its size and ``Last-Modified``).

    A file whose known mtime is less than ``settle_seconds`` old is left for the next run; a 404
    or 410 means "not there (yet)". Unknown sizes are -1, unknown mtimes 0.0. Only http and https
    URLs are followed. Basic-auth credentials, if given, go only to the hosts of the configured
    URLs; ``ca_file`` (e.g. a private CA) replaces the system CAs for HTTPS.
    """

    name = "http"

    def __init__(self, listings: Mapping[str, str | Sequence[str]], *, username: str | None = None,
                 password: str | None = None, ca_file: Path | None = None, settle_seconds: float = 5.0,
                 max_bytes: int = Limits().max_bytes, timeout: float = 30.0):
        _check_codes(listings)
        self.listings = {code: v if isinstance(v, str) else list(v) for code, v in listings.items()}
        bad = [url for url in self._configured_urls() if not _http_url(url)]
        if bad:
            raise ValueError(f"not http(s) URLs: {bad}")
        self.settle_seconds, self.max_bytes, self.timeout = settle_seconds, max_bytes, timeout
        self._opener = self._build_opener(username, password, ca_file)

    def list_files(self) -> Iterator[Incoming]:
        """The settled files of every configured province, read from its index or with HEAD."""
        now = time.time()
        for code, listing in sorted(self.listings.items()):
            found = self._from_index(code, listing) if isinstance(listing, str) else self._from_urls(code, listing)
            for item in found:
                if now - item.mtime < self.settle_seconds:
                    log.info("%s is still being written: left for the next run", item.location)
                    continue
                yield item

    def local_path(self, item: Incoming, workdir: Path) -> Path:
        """Download ``item`` to ``workdir/<province>/<safe name>``, streamed, at most ``max_bytes``."""
        if not _http_url(item.location):
            raise ValueError(f"not an http(s) URL: {item.location}")
        _refuse_oversize(item.size, self.max_bytes, item.location)
        target = _download_target(item, workdir)
        response = self._open(item.location)
        if response is None:
            raise SourceError(f"{item.location}: gone since it was listed")
        with response, _Download(target, self.max_bytes) as sink:
            _refuse_oversize(int(response.headers.get("Content-Length") or -1), self.max_bytes, item.location)
            while block := response.read(_CHUNK):
                sink.write(block)
            sink.expect(item.size)
        return target

    def owns(self, item: Incoming) -> bool:
        """Whether ``item`` belongs to a province this source lists."""
        return item.source == self.name and item.province_code in self.listings

    def _configured_urls(self) -> list[str]:
        return [url for v in self.listings.values() for url in ([v] if isinstance(v, str) else v)]

    def _build_opener(self, username: str | None, password: str | None, ca_file: Path | None):
        try:
            tls = ssl.create_default_context(cafile=ca_file)
        except OSError as exc:  # ssl.SSLError included
            raise ValueError(f"ca_file {ca_file}: {exc}") from exc
        handlers: list = [urllib.request.HTTPSHandler(context=tls)]
        if username is not None:
            passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
            for url in self._configured_urls():
                origin = urlsplit(url)
                passwords.add_password(None, f"{origin.scheme}://{origin.netloc}/", username, password or "",
                                       is_authenticated=True)
            handlers.append(urllib.request.HTTPBasicAuthHandler(passwords))
        return urllib.request.build_opener(*handlers)

    def _open(self, request: str | urllib.request.Request):
        """The response, or None when the server says the file is not there (404, 410)."""
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in (404, 410):
                raise
            exc.close()
            log.info("%s: not there (HTTP %d)", exc.url, exc.code)
            return None

    def _from_index(self, code: str, index_url: str) -> list[Incoming]:
        """The usable entries of a province's JSON index (none if it is not published yet)."""
        response = self._open(index_url)
        if response is None:
            return []
        with response:
            raw = response.read(_MAX_INDEX_BYTES + 1)
        if len(raw) > _MAX_INDEX_BYTES:
            raise SourceError(f"{index_url}: index over {_MAX_INDEX_BYTES} bytes")
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise SourceError(f"{index_url}: not a JSON index ({exc})") from exc
        if not isinstance(entries, list):
            raise SourceError(f"{index_url}: the index is not a JSON list")
        found = (self._index_entry(code, index_url, entry) for entry in entries)
        return [item for item in found if item is not None]

    def _index_entry(self, code: str, index_url: str, entry: Any) -> Incoming | None:
        try:
            url = urljoin(index_url, entry["url"])
            size = entry.get("size")
            item = Incoming(code, safe_name(entry["name"]), -1 if size is None else int(size),
                            _epoch(entry.get("mtime")), url, self.name)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            log.warning("%s: index entry %r ignored (%s)", index_url, entry, exc)
            return None
        return item if self._acceptable(item) else None

    def _from_urls(self, code: str, urls: list[str]) -> list[Incoming]:
        """The explicit file URLs that exist, with what HEAD says of their size and mtime."""
        found = []
        for url in urls:
            response = self._open(urllib.request.Request(url, method="HEAD"))
            if response is None:
                continue
            with response:
                size = int(response.headers.get("Content-Length") or -1)
                mtime = _http_date(response.headers.get("Last-Modified"))
            item = Incoming(code, safe_name(unquote(urlsplit(url).path)), size, mtime, url, self.name)
            if self._acceptable(item):
                found.append(item)
        return found

    def _acceptable(self, item: Incoming) -> bool:
        """An http(s) URL and a name that may be a submission (not hidden, lock or partial)."""
        if not _http_url(item.location):
            log.warning("%s: not an http(s) URL, ignored", item.location)
            return False
        return not _skippable(item.name)


# --------------------------------------------------------------------------- configuration

def source_for(item: Incoming, sources: Iterable[Source]) -> Source:
    """The configured source that listed ``item``, to fetch it later (e.g. in another task)."""
    for source in sources:
        if source.name == item.source and _owns(source, item):
            return source
    raise LookupError(f"no configured {item.source} source holds {item.location}")


def _owns(source: Source, item: Incoming) -> bool:
    """Folder sources own the files under their folder; remote sources say themselves."""
    if isinstance(source, FolderSource):
        return Path(item.location).is_relative_to(source.inbox)
    return source.owns(item)


_COMMON_KEYS = {"type", "settle_seconds"}
_REMOTE_KEYS = _COMMON_KEYS | {"conn_id", "username", "password_env", "provinces", "max_bytes", "timeout"}
_KEYS = {
    "folder": _COMMON_KEYS | {"path"},
    "sftp": _REMOTE_KEYS | {"host", "port", "key_file", "passphrase_env", "root", "folders", "known_hosts",
                            "verify_host_key"},
    "http": _REMOTE_KEYS | {"index_url", "files", "ca_file"},
}
_SECRET_KEYS = {"password", "passphrase", "private_key", "token", "secret", "api_key"}


def load_sources(path: Path, inbox: Path, settle_seconds: float) -> list[Source]:
    """The sources configured in the YAML file ``path`` (no file: the inbox folder alone).

    Format (details and every option in ``docs/sources.md``)::

        sources:
          - type: folder                  # the drop folder; `path:` defaults to the inbox
          - type: sftp
            conn_id: ocop_sftp_hanoi      # AIRFLOW_CONN_OCOP_SFTP_HANOI, URI or JSON form
            host: sftp.example.vn         # else the connection's host
            port: 22
            root: /outgoing               # <root>/<code>/<file>
            provinces: ["01", "79"]       # default: every code folder under root
            known_hosts: /etc/ocop/known_hosts
          - type: http
            provinces: ["48"]
            index_url: https://ocop.example.vn/{province}/index.json

    Secrets never live in the file: passwords come from the connection named by ``conn_id``
    (``AIRFLOW_CONN_<CONN_ID>``) or from the environment variable named by ``password_env`` /
    ``passphrase_env``; keys such as ``password`` or ``token`` are refused, as is any unknown
    key. ``settle_seconds`` (per source) defaults to the argument; ``max_bytes`` to
    ``OCOP_MAX_BYTES``. Raises :class:`SourceConfigError` naming the entry at fault.
    """
    path = Path(path)
    if not path.exists():
        log.info("no sources file %s: the inbox folder only", path)
        return [FolderSource(inbox, settle_seconds)]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceConfigError(f"{path}: expected a top-level 'sources:' list")
    return [_build_source(f"{path}: sources[{i}]", entry, inbox, settle_seconds) for i, entry in enumerate(entries)]


def _build_source(where: str, entry: Any, inbox: Path, settle_seconds: float) -> Source:
    if not isinstance(entry, dict):
        raise SourceConfigError(f"{where}: expected a mapping")
    kind = entry.get("type", "folder")
    if kind not in _KEYS:
        raise SourceConfigError(f"{where}: unknown type {kind!r} (folder, sftp, http)")
    secrets = sorted(_SECRET_KEYS & entry.keys())
    if secrets:
        raise SourceConfigError(f"{where}: {secrets} must not be written here; use conn_id or *_env")
    unknown = sorted(entry.keys() - _KEYS[kind])
    if unknown:
        raise SourceConfigError(f"{where}: unknown key(s) {unknown} for type {kind}")
    options = {**entry, "settle_seconds": float(entry.get("settle_seconds", settle_seconds))}
    try:
        return _BUILDERS[kind](options, inbox)
    except (ValueError, TypeError) as exc:
        raise SourceConfigError(f"{where}: {exc}") from exc


def _folder_from(options: dict, inbox: Path) -> FolderSource:
    return FolderSource(Path(options.get("path") or inbox), options["settle_seconds"])


def _sftp_from(options: dict, inbox: Path) -> SftpSource:
    conn = _connection(options)
    host, username = options.get("host") or conn.host, options.get("username") or conn.login
    if not host or not username:
        raise SourceConfigError("host and username are needed, here or in the connection")
    verify = options.get("verify_host_key", True)
    if not isinstance(verify, bool):
        raise SourceConfigError("verify_host_key must be true or false")
    return SftpSource(
        host, username=username, port=int(options.get("port") or conn.port or 22),
        password=_env_secret(options, "password_env") or conn.password,
        key_file=_user_path(options.get("key_file") or conn.extra.get("key_file")),
        passphrase=_env_secret(options, "passphrase_env") or conn.extra.get("private_key_passphrase"),
        root=options.get("root", "."), provinces=options.get("provinces"), folders=options.get("folders"),
        known_hosts=_user_path(options.get("known_hosts")), verify_host_key=verify,
        settle_seconds=options["settle_seconds"], **_limits(options))


def _http_from(options: dict, inbox: Path) -> HttpSource:
    conn = _connection(options)
    return HttpSource(
        _http_listings(options), username=options.get("username") or conn.login,
        password=_env_secret(options, "password_env") or conn.password,
        ca_file=_user_path(options.get("ca_file")), settle_seconds=options["settle_seconds"], **_limits(options))


_BUILDERS = {"folder": _folder_from, "sftp": _sftp_from, "http": _http_from}


def _http_listings(options: dict) -> dict[str, str | list[str]]:
    """``files`` ({code: [urls]}) plus ``index_url`` for each of ``provinces`` (``{province}`` in
    the URL is replaced by the code; without it the URL serves exactly one province)."""
    listings = dict(options.get("files") or {})
    url, provinces = options.get("index_url"), options.get("provinces") or []
    _check_codes(provinces)
    if url and "{province}" not in url and len(provinces) != 1:
        raise SourceConfigError("an index_url without {province} serves exactly one province")
    if provinces and not url:
        raise SourceConfigError("provinces need an index_url")
    for code in provinces:
        if code in listings:
            raise SourceConfigError(f"province {code} has both files and an index_url")
        listings[code] = url.replace("{province}", code)
    if not listings:
        raise SourceConfigError("an http source needs index_url with provinces, or files")
    return listings


def _connection(options: dict) -> Connection:
    return airflow_connection(options["conn_id"]) if options.get("conn_id") else Connection()


def _env_secret(options: dict, key: str) -> str | None:
    """The value of the environment variable named by ``options[key]`` (None if no name given)."""
    name = options.get(key)
    if not name:
        return None
    if name not in os.environ:
        raise SourceConfigError(f"{key}: environment variable {name} is not set")
    return os.environ[name]


def _user_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _limits(options: dict) -> dict[str, Any]:
    return {"max_bytes": int(options.get("max_bytes") or Limits.from_env().max_bytes),
            "timeout": float(options.get("timeout", 30.0))}
