"""Where submissions come from, behind one small interface.

A source lists :class:`Incoming` files, each already attributed to the submitting province by
where it was found (the drop folder ``<inbox>/<code>/``, never the file's content), and can put
a local copy of one in a given folder. ``FolderSource`` is the default (a local or mounted drop
folder).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

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

    def list_files(self) -> Iterator[Incoming]:
        if not self.inbox.is_dir():
            return
        now = time.time()
        for folder in sorted(self.inbox.iterdir()):
            if not folder.is_dir() or folder.is_symlink():
                continue
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
                    continue
                yield Incoming(code, entry.name, st.st_size, st.st_mtime, entry.path, self.name)

    def local_path(self, item: Incoming, workdir: Path) -> Path:
        return Path(item.location)
