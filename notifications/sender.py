"""Delivering mail with aiosmtplib: a few persistent connections at once, each reused for many messages.

The sender only reports what happened to each message, as soon as it happens (`on_delivery`), and the
outbox decides what to do next:
- sent: the server accepted it (250);
- retry: the server is down or said "try later" (connection errors, timeouts, 4xx);
- dead: the server refused it for good (5xx).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import aiosmtplib

from cchc.notifications.mime import Mail


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    concurrency: int = 8


@dataclass(frozen=True)
class Delivery:
    key: int  # the outbox id
    outcome: str  # sent | retry | dead
    error: str = ""


def _client(config: SmtpConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.security == "tls",
        start_tls=True if config.security == "starttls" else False,
        username=config.username,
        password=config.password,
        timeout=config.timeout,
    )


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, error) for a failure: 5xx replies are permanent, everything else is worth a retry."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return ("dead" if codes and all(c >= 500 for c in codes) else "retry"), f"recipient refused: {text}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        outcome = "dead" if exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPConnectResponseError) else "retry"
        return outcome, f"{exc.code} {exc.message}"
    return "retry", f"{type(exc).__name__}: {exc}".strip()


OnDelivery = Callable[[Delivery], None]
# A message is three commands (MAIL, RCPT, DATA), each allowed `timeout`: one deadline for the three costs
# a timer, where aiosmtplib's own timeout per command costs a task for each reply (a tenth of the sending).
_COMMANDS = 3


async def _worker(config: SmtpConfig, mails: Iterator[tuple[int, Mail]], report: OnDelivery) -> None:
    smtp: aiosmtplib.SMTP | None = None
    try:
        for key, mail in mails:  # shared by the workers: each takes the next message when it is free
            try:
                if smtp is None or not smtp.is_connected:
                    smtp = _client(config)
                    await smtp.connect()
                async with asyncio.timeout(_COMMANDS * config.timeout):
                    await smtp.sendmail(mail.sender, [mail.recipient], mail.data, timeout=None)
                report(Delivery(key, "sent"))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                outcome, error = classify(exc)
                report(Delivery(key, outcome, error))
                if not isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPDataError):
                    await _drop(smtp)
                    smtp = None
    finally:
        await _drop(smtp)


async def _drop(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is not None and smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()


async def send_all(
    config: SmtpConfig,
    mails: Iterable[tuple[int, Mail]],
    on_delivery: OnDelivery | None = None,
    *,
    count: int | None = None,
) -> list[Delivery]:
    """Send every (key, mail) over at most `config.concurrency` reused connections. `on_delivery` hears of
    each message the moment its outcome is known (synchronously, before the next SMTP command), so that
    the outbox can record an accepted message before anything else happens. `mails` may be a generator
    that builds each message when a connection is free for it (then `count` says how many at most):
    building one overlaps the server's work on the others."""
    if count is None:
        count = len(mails) if isinstance(mails, Sequence) else config.concurrency
    items = iter(mails)
    out: list[Delivery] = []

    def report(delivery: Delivery) -> None:
        out.append(delivery)
        if on_delivery is not None:
            on_delivery(delivery)

    workers = max(1, min(config.concurrency, count))
    await asyncio.gather(*(_worker(config, items, report) for _ in range(workers)))
    return out


def deliver(
    config: SmtpConfig,
    mails: Iterable[tuple[int, Mail]],
    on_delivery: OnDelivery | None = None,
    *,
    count: int | None = None,
) -> list[Delivery]:
    """Blocking wrapper of `send_all` for a synchronous flow task."""
    if count == 0 or (isinstance(mails, Sequence) and not mails):
        return []
    return asyncio.run(send_all(config, mails, on_delivery, count=count))
