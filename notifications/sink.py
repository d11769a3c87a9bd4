"""A mailbox on loopback (aiosmtpd) that keeps what it receives: the demo's mail server, and the base of
the tests' SMTP server. Only 127.0.0.1, never a real network."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackMailbox:
    """An SMTP server on 127.0.0.1 that accepts every message; with `directory`, each is saved as .eml."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.directory = directory
        self.count = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
            number = self.count
        self.keep(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), number)
        return "250 Message accepted"

    def keep(self, sender: str, recipients: list[str], data: bytes, number: int) -> None:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{number:05d}.eml").write_bytes(data)

    def start(self) -> LoopbackMailbox:
        for _ in range(50):
            try:
                self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
                self._controller.start()
                return self
            except (OSError, RuntimeError):  # the port is still closing
                time.sleep(0.1)
        raise RuntimeError(f"cannot listen on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None
