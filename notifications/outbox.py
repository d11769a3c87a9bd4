"""The transactional outbox: messages are written in the transaction of the change that causes them,
then claimed, sent and recorded by the flush flow. Nothing is lost while the SMTP server is down, and a
message is sent again only if it was never recorded as sent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.bulk import insert_rows
from cchc.models.tables import OutboxMessage
from cchc.models.text import canonical


class MessageStatus(StrEnum):
    """Where a message of the outbox is: waiting, being sent (leased), accepted by the server, or refused for
    good (the dead letters)."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    dead = "dead"


# Seconds to wait before attempt n+1 after n failed attempts (then the last value again).
BACKOFF_S = (30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600)
LEASE = timedelta(minutes=10)
COLUMNS = (
    "dedupe_key",
    "created_at",
    "kind",
    "lang",
    "to_email",
    "to_name",
    "unit_code",
    "cycle_year",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
)


@dataclass(slots=True)
class Queued:
    """A message to write to the outbox. `context` is the template's data (the recipient's name is added
    at rendering from `to_name`), as a dict or as its canonical JSON when many messages share it."""

    dedupe_key: str
    kind: str
    to_email: str
    to_name: str
    context: dict[str, Any] | str
    lang: str = "vi"
    unit_code: str | None = None
    cycle_year: int | None = None


def queue(session: Session, messages: Iterable[Queued], at: datetime) -> int:
    """Write messages to the outbox in the caller's transaction; returns how many."""
    return insert_rows(
        session,
        "outbox",
        COLUMNS,
        (
            (
                m.dedupe_key,
                at,
                m.kind,
                m.lang,
                m.to_email,
                m.to_name,
                m.unit_code,
                m.cycle_year,
                m.context if isinstance(m.context, str) else canonical(m.context),
                "pending",
                0,
                at,
                "",
            )
            for m in messages
        ),
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    dedupe_key: str
    kind: str
    lang: str
    to_email: str
    to_name: str
    context: str
    attempts: int


def claim(session: Session, now: datetime, limit: int) -> list[Claimed]:
    """Take up to `limit` messages that are due (pending, or sending with an expired lease) and lease them
    to this sender, so that a second sender running at the same time does not take them too."""
    due = ((col(OutboxMessage.status) == "pending") & (col(OutboxMessage.next_attempt_at) <= now)) | (
        (col(OutboxMessage.status) == "sending") & (col(OutboxMessage.lease_until) < now)
    )
    query = select(col(OutboxMessage.id)).where(due).order_by(col(OutboxMessage.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .values(status="sending", lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(
            col(OutboxMessage.id),
            col(OutboxMessage.dedupe_key),
            col(OutboxMessage.kind),
            col(OutboxMessage.lang),
            col(OutboxMessage.to_email),
            col(OutboxMessage.to_name),
            col(OutboxMessage.context),
            col(OutboxMessage.attempts),
        )
        .where(col(OutboxMessage.id).in_(ids))
        .order_by(col(OutboxMessage.id))
    ).tuples()
    return [Claimed(cast(int, row[0]), *row[1:]) for row in rows]


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    retry: list[tuple[int, int, str]] = field(default_factory=list)  # (id, attempts so far, error)
    dead: list[tuple[int, str]] = field(default_factory=list)


# Accepted by the server: one compiled statement for any number of ids (an expanding IN), executed by the
# flush's recorder on its own connection as each message is accepted, and by `record`.
MARK_SENT = (
    update(OutboxMessage)
    .where(col(OutboxMessage.id).in_(bindparam("ids", expanding=True)))
    .values(
        status="sent",
        sent_at=bindparam("at"),
        lease_until=None,
        attempts=col(OutboxMessage.attempts) + 1,
        last_error="",
    )
    .execution_options(synchronize_session=False)
)


def mark_sent(connection: Connection | Session, ids: Sequence[int], now: datetime) -> None:
    """Record messages as accepted by the server at `now`, in the caller's transaction."""
    for start in range(0, len(ids), 5000):
        connection.execute(MARK_SENT, {"ids": list(ids[start : start + 5000]), "at": now})


def record(session: Session, outcome: Outcome, now: datetime, max_attempts: int) -> None:
    """Write what happened: sent, retry later (with backoff), or dead (permanent, or out of attempts)."""
    if outcome.sent:
        mark_sent(session, outcome.sent, now)
    for message_id, attempts, error in outcome.retry:
        tried = attempts + 1
        if tried >= max_attempts:
            outcome.dead.append((message_id, f"gave up after {tried} attempts: {error}"))
            continue
        wait = BACKOFF_S[min(tried - 1, len(BACKOFF_S) - 1)]
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(
                status="pending",
                attempts=tried,
                next_attempt_at=now + timedelta(seconds=wait),
                lease_until=None,
                last_error=error[:2000],
            )
            .execution_options(synchronize_session=False)
        )
    for message_id, error in outcome.dead:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status="dead", attempts=col(OutboxMessage.attempts) + 1, lease_until=None, last_error=error[:2000])
            .execution_options(synchronize_session=False)
        )


def message_id(row_id: int, dedupe_key: str, domain: str) -> str:
    """A Message-ID that stays the same however often the message is attempted (receivers can
    recognise a repeat)."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:16]
    return f"<cchc.{row_id}.{digest}@{domain}>"


@dataclass(frozen=True)
class Leased:
    """Messages leased to a sender that has not recorded what became of them: a flush that stopped (killed,
    its machine lost) or one still sending. Nobody takes them before their lease ends; after `until`, the
    end of the last lease, the next flush takes them all again."""

    count: int = 0
    until: datetime | None = None


def leased(session: Session, now: datetime) -> Leased:
    """The messages whose lease still runs at `now`."""
    count, until = session.execute(
        select(func.count(), func.max(col(OutboxMessage.lease_until))).where(
            (col(OutboxMessage.status) == "sending") & (col(OutboxMessage.lease_until) >= now)
        )
    ).one()
    return Leased(int(count), until)


@dataclass
class Status:
    counts: dict[str, int]
    dead: list[dict[str, Any]]
    oldest_pending: datetime | None
    leased: Leased = field(default_factory=Leased)


def status(session: Session, dead_limit: int = 50, now: datetime | None = None) -> Status:
    """The outbox by status, its first dead letters and its oldest waiting message; with `now`, also the
    messages still leased then."""
    counts = dict(
        session.execute(select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status)))
        .tuples()
        .all()
    )
    dead = [
        {
            "id": r.id,
            "to": r.to_email,
            "kind": r.kind,
            "unit": r.unit_code,
            "attempts": r.attempts,
            "error": r.last_error,
            "created_at": r.created_at.isoformat(),
        }
        for r in session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.status) == "dead")
            .order_by(col(OutboxMessage.id))
            .limit(dead_limit)
        ).scalars()
    ]
    oldest = session.execute(
        select(func.min(col(OutboxMessage.created_at))).where(col(OutboxMessage.status).in_(["pending", "sending"]))
    ).scalar_one_or_none()
    return Status(
        counts={k: int(v) for k, v in counts.items()},
        dead=dead,
        oldest_pending=oldest,
        leased=leased(session, now) if now is not None else Leased(),
    )


def ids_of(claimed: Sequence[Claimed]) -> list[int]:
    return [c.id for c in claimed]
