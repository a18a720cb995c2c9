"""The landing zone: an immutable copy of every file received.

``landing/<province>/<yyyy>/<sha256>.<ext>`` holds the bytes exactly as received, read-only,
with ``<sha256>.json`` beside it (source, original name, size, arrival time). A file whose
sha256 was already landed for that province is not copied again; nothing here is ever modified
or deleted by the pipeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

_EXT_RE = re.compile(r"^\.[a-z0-9]{1,8}$")


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def safe_extension(name: str) -> str:
    ext = Path(name).suffix.lower()
    return ext if _EXT_RE.match(ext) else ".bin"


@dataclass(frozen=True)
class Landed:
    province_code: str
    sha256: str
    path: str            # the immutable copy
    original_name: str
    size: int
    source: str
    arrived_at: str      # ISO datetime (UTC)
    already_landed: bool = False


def landing_facts(src, province_code: str, original_name: str | None, arrived_at: dt.datetime | None,
                  sha256: str | None) -> tuple[Path, str, dt.datetime, str]:
    """``(src, sha256, arrival in UTC, original name)`` of a file to land, the province code checked."""
    if not re.fullmatch(r"\d{2}", province_code):
        raise ValueError(f"not a province code: {province_code!r}")
    src = Path(src)
    digest = sha256 or sha256_of(src)
    arrived = (arrived_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return src, digest, arrived, original_name or src.name


def land(src: Path, province_code: str, landing_root: Path, *, source: str = "folder",
         original_name: str | None = None, arrived_at: dt.datetime | None = None,
         sha256: str | None = None) -> Landed:
    """Copy ``src`` into the landing zone unless its sha256 is already there.

    ``landing_root`` may be a store path (``ocop.storage``, an Airflow ``ObjectStoragePath``):
    the same contract there (:func:`ocop.storage.land`), ``Landed.path`` then being its URL."""
    from ocop import storage

    if storage.is_store_path(landing_root):
        return storage.land(src, province_code, landing_root, source=source, original_name=original_name,
                            arrived_at=arrived_at, sha256=sha256)
    src, digest, arrived, name = landing_facts(src, province_code, original_name, arrived_at, sha256)
    root = Path(landing_root).resolve()
    existing = next(root.glob(f"{province_code}/*/{digest}.json"), None) if root.exists() else None
    if existing is not None:
        meta = json.loads(existing.read_text(encoding="utf-8"))
        return Landed(**{**meta, "already_landed": True})
    folder = root / province_code / f"{arrived.year:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{safe_extension(name)}"
    # Copy to a temporary name, check the digest, then rename into place: never a partial file.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        if sha256_of(Path(tmp)) != digest:
            raise OSError(f"{src} changed while it was being landed")
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    landed = Landed(province_code, digest, str(target), name, target.stat().st_size, source, arrived.isoformat())
    meta_path = folder / f"{digest}.json"
    # A temporary name of its own: two runs landing the same file at once must not share one.
    fd, meta_tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({k: v for k, v in asdict(landed).items() if k != "already_landed"},
                                ensure_ascii=False, indent=1))
        os.chmod(meta_tmp, 0o444)
        os.replace(meta_tmp, meta_path)
    finally:
        if os.path.exists(meta_tmp):
            os.unlink(meta_tmp)
    return landed
