"""Values of a message that must not rest in clear in the outbox (a single-use link to choose a password):
sealed with Fernet (AES-128-CBC and HMAC-SHA256, `cryptography`) under the outbox key when the message is
queued, opened by the flush when it composes the message.

The outbox key is a file of its own, never in the database: `outbox-secret.key` beside the store directory
(`var/outbox-secret.key` on a laptop, next to the dashboard's `dashboard-secret.key`), readable by its owner
only. The first process that seals a value makes it; the flush only reads it, so a message sealed with a
key the flush does not have is refused for good (a dead letter saying why), never sent with a wrong link.
Every process that queues or sends such messages must share the file (as they share the store).

A context holds its sealed values under "sealed" ({"sealed": {"link": "gAAAA…"}}); `opened` puts them back
beside the others, in clear, only in the memory of the process composing the message.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from cchc.config.settings import Settings
from cchc.models.secretfile import keep_new

KEY_FILE = "outbox-secret.key"
SEALED = "sealed"


def key_file(settings: Settings) -> Path:
    return settings.store_dir.parent / KEY_FILE


def outbox_key(settings: Settings, *, create: bool = False) -> bytes:
    """The outbox key; with `create`, a new one is made and kept (mode 0600) when there is none yet."""
    path = key_file(settings)
    if create:
        try:
            keep_new(path, lambda: Fernet.generate_key() + b"\n")
        except OSError as exc:
            raise OSError(exc.errno, f"cannot keep the outbox key: {exc.strerror}", str(path)) from None
    return _read(path, path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=4)
def _read(path: Path, _version: int) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        raise ValueError(f"there is no outbox key in {path}: the message was sealed by another machine") from None
    except OSError as exc:
        raise ValueError(f"cannot read the outbox key {path}: {exc.strerror}") from None
    try:
        Fernet(key)
    except ValueError:
        raise ValueError(f"{path} is not an outbox key (or it is still being written)") from None
    return key


def seal(values: dict[str, str], key: bytes) -> dict[str, dict[str, str]]:
    """The part of a context that holds `values` sealed: {"sealed": {name: token}}."""
    box = Fernet(key)
    return {SEALED: {name: box.encrypt(value.encode("utf-8")).decode("ascii") for name, value in values.items()}}


def opened(context: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The context with its sealed values opened (itself when it has none); a ValueError when they cannot be
    opened with this machine's outbox key."""
    sealed = context.get(SEALED)
    if not sealed:
        return context
    box = Fernet(outbox_key(settings))
    try:
        values = {name: box.decrypt(token.encode("ascii")).decode("utf-8") for name, token in sealed.items()}
    except (InvalidToken, AttributeError, UnicodeError):
        raise ValueError(f"its sealed values do not open with the outbox key of {key_file(settings)}") from None
    return {**{k: v for k, v in context.items() if k != SEALED}, **values}
