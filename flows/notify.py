"""Delivering the outbox: claim a batch, render and send it over reused SMTP connections, record each
message as the server accepts it (SentRecorder) and the failures at the end of the batch; repeat until
nothing is due. A server that is down leaves the messages pending, to be retried with backoff; a 5xx
refusal puts a message on the dead-letter list (`cchc notify status`). A flush that stopped before
recording its batch (killed) leaves that batch leased for LEASE: the summary of the next run counts those
messages and says when they are taken again."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Engine

from cchc.config.settings import Settings, get_settings
from cchc.flows.params import FlushParams
from cchc.flows.runtime import engine_for, now
from cchc.models.db import read_session, write_session
from cchc.notifications import mime
from cchc.notifications.outbox import Claimed, Leased, Outcome, Status, claim, leased, message_id, record, status
from cchc.notifications.render import render
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


def compose(row: Claimed, settings: Settings, at: datetime) -> mime.Mail:
    """A claimed outbox row as the bytes of its e-mail (pure: template + data, but for the outbox key that opens
    the values sealed in the context, notifications/sealing.py)."""
    context: dict[str, Any] = {**opened(json.loads(row.context), settings), "person_name": row.to_name}
    rendered = render(row.kind, context, lang=row.lang, timezone=settings.timezone)
    _, from_addr = mime.split_from(settings.mail_from)
    domain = from_addr.rpartition("@")[2] or "localhost"
    return mime.build(
        from_header=settings.mail_from,
        to_name=row.to_name,
        to_addr=row.to_email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(row.id, row.dedupe_key, domain),
        date=at,
    )


class SentRecorder:
    """Records each message the SMTP server accepted as sent, as soon as it can, from its own thread:
    every commit takes all that were accepted while the one before it ran (a group commit), so sending
    does not wait for each commit. A crash loses the record of the messages accepted since the last
    commit: they are *in doubt*, and are sent again with the same Message-ID (mail programs show them
    once). Exactly once is not possible over SMTP; sending pauses whenever `limit` accepted messages
    are not recorded yet, so a crash leaves at most `limit` in doubt, plus the replies on their way in
    at that instant (one per connection)."""

    def __init__(self, engine: Engine, at: datetime, max_attempts: int, limit: int) -> None:
        self.engine, self.at, self.max_attempts = engine, at, max_attempts
        self.queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.room = threading.Semaphore(limit)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)

    def accepted(self, delivery: Delivery) -> None:
        if delivery.outcome == "sent":
            self.room.acquire()  # blocks the sending while `limit` accepted messages wait for their record
            self.queue.put(delivery.key)

    def _run(self) -> None:
        done = False
        while not done:
            keys = [self.queue.get()]
            while not self.queue.empty():
                keys.append(self.queue.get())
            done = None in keys
            sent = [k for k in keys if k is not None]
            try:
                if sent and self.failure is None:
                    with write_session(self.engine) as session:
                        record(session, Outcome(sent=sent), self.at, self.max_attempts)
            except BaseException as exc:  # noqa: BLE001 - raised again in the flow's thread
                self.failure = exc
            finally:
                for _ in sent:
                    self.room.release()

    def __enter__(self) -> SentRecorder:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.queue.put(None)
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
    mails: list[tuple[int, mime.Mail]] = []
    attempts = {row.id: row.attempts for row in claimed}
    for row in claimed:
        try:
            mails.append((row.id, compose(row, settings, moment)))
        except (ValueError, KeyError) as exc:  # a message that can never be built: dead, with why
            outcome.dead.append((row.id, f"cannot be built: {exc}"))
    with SentRecorder(engine, moment, settings.mail_max_attempts, settings.mail_concurrency) as recorder:
        deliveries: list[Delivery] = deliver(smtp_config(settings), mails, recorder.accepted)
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
