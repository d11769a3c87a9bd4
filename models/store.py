"""A content-addressed file store: each file is kept under its SHA-256, every version, never overwritten.

Names from outside never become paths: a file's place is derived from its hash alone, so nothing a user
types can escape the store's directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_HASH = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


class StoreError(ValueError):
    """A hash or suffix that cannot name a stored file."""


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
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return Stored(sha256, path, len(data))

    def read(self, sha256: str, suffix: str = "") -> bytes:
        """The bytes of a stored file, checked against their hash."""
        data = self._path(sha256, suffix).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"stored file {sha256}{suffix} does not match its hash: it was altered")
        return data

    def has(self, sha256: str, suffix: str = "") -> bool:
        return self._path(sha256, suffix).exists()
