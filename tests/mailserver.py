"""A real SMTP server on loopback (aiosmtpd) for the tests: it keeps what it receives, can refuse some
recipients for good (550) or for now (451), and can be stopped in the middle of a batch."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class MailServer:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # 550: refused for good
    defer: set[str] = field(default_factory=set)  # 451: try again later
    stop_before: int | None = None  # stop the server when the n-th message (1-based) starts
    _controller: Controller | None = None
    _started: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the aiosmtpd handler ---------------------------------------------------------------------
    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self._lock:
            self._started += 1
            stop = self.stop_before is not None and self._started >= self.stop_before
        if stop:
            self.stop_before = None
            threading.Thread(target=self.stop, daemon=True).start()
            await asyncio.sleep(3600)  # never answered: the stop cancels this session
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        if address in self.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    # --- control ----------------------------------------------------------------------------------
    def start(self) -> MailServer:
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

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]
