"""A content-addressed file store: each file is kept under its SHA-256, every version, never overwritten.

Names from outside never become paths: a file's place is derived from its hash alone, so nothing a user
types can escape the store's directory.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20  # a stream is copied a mebibyte at a time: never held whole in memory

_HASH = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


class StoreError(ValueError):
    """A hash or suffix that cannot name a stored file."""


class TooLarge(ValueError):
    """A stream longer than the store was told to accept (nothing was kept)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class Stored:
    sha256: str
    path: Path
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str, suffix: str) -> Path:
        if not _HASH.match(sha256):
            raise StoreError(f"{sha256!r} is not a SHA-256")
        if suffix and not _SUFFIX.match(suffix):
            raise StoreError(f"{suffix!r} is not a file suffix")
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str = "") -> Stored:
        """Keep bytes (once: the same bytes are the same file) and say where."""
        return self.put_stream(io.BytesIO(data), suffix)

    def put_stream(self, stream: BinaryIO, suffix: str = "", max_bytes: int | None = None) -> Stored:
        """Keep what a stream holds, copied and hashed a mebibyte at a time into a temporary file of the
        store, then moved under its hash (atomically: a reader never sees half a file). More than
        `max_bytes` raises TooLarge and keeps nothing."""
        self._path("0" * 64, suffix)  # refuse a bad suffix before reading anything
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            sha256 = digest.hexdigest()
            path = self._path(sha256, suffix)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return Stored(sha256, path, size)

    def open(self, sha256: str, suffix: str = "") -> BinaryIO:
        """A stored file to read as a stream (for a download: the caller streams it out)."""
        return self._path(sha256, suffix).open("rb")

    def read(self, sha256: str, suffix: str = "") -> bytes:
        """The bytes of a stored file, checked against their hash."""
        data = self._path(sha256, suffix).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"stored file {sha256}{suffix} does not match its hash: it was altered")
        return data

    def has(self, sha256: str, suffix: str = "") -> bool:
        return self._path(sha256, suffix).exists()
