"""The tests' SMTP server on loopback: the project's LoopbackMailbox, plus what tests need — it keeps
the messages in memory, refuses some recipients for good (550) or for now (451), and can stop itself
in the middle of a batch."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from cchc.notifications.sink import LoopbackMailbox


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class MailServer(LoopbackMailbox):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.refuse: set[str] = set()  # 550: refused for good
        self.defer: set[str] = set()  # 451: try again later
        self.stop_before: int | None = None  # stop the server when the n-th message (1-based) starts
        self._started = 0

    def keep(self, sender: str, recipients: list[str], data: bytes, number: int) -> None:
        self.received.append(Received(sender, recipients, data))

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

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]
