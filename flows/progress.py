"""Progress of long work (imports, sweeps, publication) for whoever watches (the CLI draws bars: flows.display).

A flow reports what it is doing with `step(...)` and `advance(...)`; nothing listens unless a command
installed a watcher with `watching(...)` (the CLI does, on a terminal). Flows run in this process, in
Prefect's worker threads too, so the watcher is process-wide, not a context variable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Watcher(Protocol):
    def step(self, label: str, total: int | None) -> None:
        """A new stage of the work begins (`total` units of it, if known)."""

    def advance(self, amount: int) -> None:
        """`amount` more units of the current stage are done."""


_lock = threading.Lock()
_watcher: Watcher | None = None


def step(label: str, total: int | None = None) -> None:
    watcher = _watcher
    if watcher is not None:
        with _lock:
            watcher.step(label, total)


def advance(amount: int = 1) -> None:
    watcher = _watcher
    if watcher is not None and amount:
        with _lock:
            watcher.advance(amount)


@contextmanager
def watching(watcher: Watcher) -> Iterator[Watcher]:
    global _watcher
    previous, _watcher = _watcher, watcher
    try:
        yield watcher
    finally:
        _watcher = previous
