"""A secret kept in a file of its own, readable by its owner only (mode 0600): the outbox key, the dashboard's
session key, the installation's signing key. Never in the database, so that a copy of the database or of a
backup holds none of them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def keep_new(path: Path, make: Callable[[], bytes]) -> bool:
    """Write `make()` to `path` when there is no such file yet (created with O_EXCL, mode 0600: two processes
    starting at once keep one secret, never half of each); True when it was written here. An OSError names
    the file when it cannot be made."""
    if path.exists():
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another process a moment ago
        return False
    with os.fdopen(handle, "wb") as out:
        out.write(make())
    return True
