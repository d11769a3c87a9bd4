"""Delivering the outbox: claim a batch, render and send it over reused SMTP connections, record each
message as the server accepts it (SentRecorder) and the failures at the end of the batch; repeat until
nothing is due. A server that is down leaves the messages pending, to be retried with backoff; a 5xx
refusal puts a message on the dead-letter list (`cchc notify status`). A flush that stopped before
recording its batch (killed) leaves that batch leased for LEASE: the summary of the next run counts those
messages and says when they are taken again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Connection, Engine

from cchc.config.settings import Settings, get_settings
from cchc.flows.params import FlushParams
from cchc.flows.runtime import engine_for, now
from cchc.models.db import read_session, write_session
from cchc.notifications import mime
from cchc.notifications.outbox import (
    Claimed,
    Leased,
    Outcome,
    Status,
    claim,
    leased,
    mark_sent,
    message_id,
    record,
    status,
)
from cchc.notifications.render import render_each
from cchc.notifications.sealing import opened
from cchc.notifications.sender import Delivery, SmtpConfig, deliver


@dataclass
class FlushSummary:
    sent: int = 0
    retry: int = 0
    dead: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    leased: Leased = field(default_factory=Leased)  # left leased by another flush (one that stopped, or running)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_s,
        concurrency=settings.mail_concurrency,
    )


def compose_all(
    rows: Iterable[Claimed], settings: Settings, at: datetime, refused: list[tuple[int, str]]
) -> Iterator[tuple[int, mime.Mail]]:
    """The claimed rows as the bytes of their e-mails, one at a time (pure: template + data, but for the outbox
    key that opens the values sealed in the context, notifications/sealing.py). Consecutive rows of one
    content (same kind, language and context: the recipients of one step) are rendered once and addressed
    to each. A row that can never be built goes to `refused`, with why."""
    _, from_addr = mime.split_from(settings.mail_from)
    domain = from_addr.rpartition("@")[2] or "localhost"
    for (kind, lang, context), same in groupby(rows, key=lambda r: (r.kind, r.lang, r.context)):
        group = list(same)
        try:
            data: dict[str, Any] = opened(json.loads(context), settings)
            contents = render_each(kind, data, [r.to_name for r in group], lang=lang, timezone=settings.timezone)
        except (ValueError, KeyError) as exc:
            refused.extend((row.id, f"cannot be built: {exc}") for row in group)
            continue
        for row, content in zip(group, contents, strict=True):
            try:
                mail = mime.build(
                    from_header=settings.mail_from,
                    to_name=row.to_name,
                    to_addr=row.to_email,
                    subject=content.subject,
                    text=content.text,
                    html=content.html,
                    message_id=message_id(row.id, row.dedupe_key, domain),
                    date=at,
                )
            except (ValueError, KeyError) as exc:
                refused.append((row.id, f"cannot be built: {exc}"))
                continue
            yield row.id, mail


def compose(row: Claimed, settings: Settings, at: datetime) -> mime.Mail:
    """One claimed row as the bytes of its e-mail; raises ValueError when it cannot be built."""
    refused: list[tuple[int, str]] = []
    for _, mail in compose_all([row], settings, at, refused):
        return mail
    raise ValueError(refused[0][1])


RECORD_WINDOW_S = 0.005  # an accepted message waits at most this long for its commit to start


class SentRecorder:
    """Records each message the SMTP server accepted as sent, as soon as it can, from its own thread, so
    that sending does not wait for each commit. A crash loses the record of the messages accepted since the
    last commit: they are *in doubt*, and are sent again with the same Message-ID (mail programs show them
    once). Exactly once is not possible over SMTP; the bound is:

    - sending pauses whenever `limit` accepted messages are not recorded yet, so a crash leaves at most
      `limit` in doubt, plus the replies on their way in at that instant (one per connection);
    - a commit starts when `limit` messages wait for it, or when the first of them has waited `window`
      seconds, whichever comes first, so a message is recorded at most `window` plus two commits after
      the server accepted it.

    Committing the whole `limit` at once, while the sending pauses, is the fastest here (bench/mail.py):
    committing at half of it keeps the connections busy but makes twice the commits, and each costs two
    switches of threads besides its SQL. The commits go through one connection held for the recorder's
    life and one compiled statement (a session and a pool check-out per commit cost 4 times the commit
    itself on PostgreSQL)."""

    def __init__(
        self, engine: Engine, at: datetime, max_attempts: int, limit: int, window: float = RECORD_WINDOW_S
    ) -> None:
        self.engine, self.at, self.max_attempts = engine, at, max_attempts
        self.limit, self.window = limit, window
        self.room = threading.Semaphore(limit)
        self.waiting: list[int] = []
        self.first = 0.0  # when the first of `waiting` was accepted (time.monotonic)
        self.changed = threading.Condition()
        self.closing = False
        self.idle = False  # the recorder waits for a first accepted message
        self.commits = 0
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)

    def accepted(self, delivery: Delivery) -> None:
        if delivery.outcome == "sent":
            self.room.acquire()  # blocks the sending while `limit` accepted messages wait for their record
            with self.changed:
                self.waiting.append(delivery.key)
                if len(self.waiting) == 1:
                    self.first = time.monotonic()
                # wake the recorder only when it has something to do: each wake-up is a switch of threads
                if (self.idle and len(self.waiting) == 1) or len(self.waiting) == self.limit:
                    self.changed.notify()

    def _take(self) -> tuple[list[int], bool]:
        """The accepted messages to commit now (`limit` of them, or once the first waited the window), and
        whether it is the last commit."""
        with self.changed:
            while not self.closing and len(self.waiting) < self.limit:
                if not self.waiting:
                    self.idle = True
                    self.changed.wait()
                    self.idle = False
                    continue
                left = self.first + self.window - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            keys, self.waiting = self.waiting, []
            return keys, self.closing

    def _commit(self, connection: Connection, keys: list[int]) -> None:
        with connection.begin():
            mark_sent(connection, keys, self.at)
        self.commits += 1

    def _run(self) -> None:
        connection: Connection | None = None
        try:
            done = False
            while not done:
                keys, done = self._take()
                try:
                    if keys and self.failure is None:
                        if connection is None:
                            connection = self.engine.execution_options(cchc_write=True).connect()
                        self._commit(connection, keys)
                except BaseException as exc:  # noqa: BLE001 - raised again in the flow's thread
                    self.failure = exc
                finally:
                    if keys:
                        self.room.release(len(keys))
        finally:
            if connection is not None:
                connection.close()

    def __enter__(self) -> SentRecorder:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify()
        self.thread.join()
        if self.failure is not None:  # not recorded: those messages stay leased and are sent again later
            raise self.failure


@task(name="flush-outbox-batch")
def flush_batch(database_url: str | None, at: datetime | None, batch: int) -> tuple[int, int, int, list[str]]:
    """Claim, send and record one batch; returns (sent, retry, dead, first errors)."""
    settings = get_settings()
    engine = engine_for(database_url)
    moment = at or now()
    with write_session(engine) as session:
        claimed = claim(session, moment, batch)
    if not claimed:
        return 0, 0, 0, []
    outcome = Outcome()
    attempts = {row.id: row.attempts for row in claimed}
    mails = compose_all(claimed, settings, moment, outcome.dead)  # built as connections free up
    with SentRecorder(engine, moment, settings.mail_max_attempts, settings.mail_concurrency) as recorder:
        deliveries: list[Delivery] = deliver(smtp_config(settings), mails, recorder.accepted, count=len(claimed))
    sent = 0
    for d in deliveries:
        if d.outcome == "sent":
            sent += 1
        elif d.outcome == "retry":
            outcome.retry.append((d.key, attempts[d.key], d.error))
        else:
            outcome.dead.append((d.key, d.error))
    with write_session(engine) as session:
        record(session, outcome, moment, settings.mail_max_attempts)
    errors = sorted({e for _, _, e in outcome.retry} | {e for _, e in outcome.dead})[:5]
    return sent, len(outcome.retry), len(outcome.dead), errors


@task(name="outbox-leases")
def leases_left(database_url: str | None, at: datetime | None) -> Leased:
    """The messages another flush still holds: its lease runs, it recorded nothing yet."""
    with read_session(engine_for(database_url)) as session:
        return leased(session, at or now())


@flow(name="flush-outbox")
def flush_flow(params: FlushParams) -> FlushSummary:
    """Send every message that is due now; stop at a batch where nothing could be sent. Then count the
    messages that another flush still holds (its own are all recorded by then)."""
    summary = FlushSummary()
    for _ in range(params.max_batches):
        sent, retry, dead, errors = flush_batch(params.database_url, params.at, params.batch)
        if not (sent or retry or dead):
            break
        summary.batches += 1
        summary.sent += sent
        summary.retry += retry
        summary.dead += dead
        summary.errors = sorted(set(summary.errors) | set(errors))[:5]
        if retry and not sent:  # the server is not taking anything: try again later, not in a loop
            break
    summary.leased = leases_left(params.database_url, params.at)
    get_run_logger().info(
        "outbox: %s sent, %s to retry, %s dead, %s leased by another flush until %s",
        summary.sent,
        summary.retry,
        summary.dead,
        summary.leased.count,
        summary.leased.until,
    )
    return summary


def outbox_status(database_url: str | None, at: datetime | None = None) -> Status:
    """The outbox as `cchc notify status` shows it, with the messages still leased at `at` (now)."""
    with read_session(engine_for(database_url)) as session:
        return status(session, now=at or now())
