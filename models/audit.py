"""The audit trail: append-only events, hash-chained so that an edited or deleted event is detected.

Each event's hash is SHA-256 over the previous hash and the canonical JSON of the event. The chain's
head (last seq and hash) is kept in `audit_head`, updated with a compare-and-swap in the same
transaction as the events: two writers can never fork the chain, and a deleted last event is caught.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.bulk import insert_rows
from cchc.models.errors import UserError
from cchc.models.tables import AuditEvent, AuditHead, table_of
from cchc.models.text import canonical

GENESIS = "0" * 64
EVENT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "kind",
    "trigger",
    "cycle_year",
    "unit_code",
    "from_state",
    "to_state",
    "reason",
    "payload",
    "prev_hash",
    "hash",
)
HASHED_COLUMNS = EVENT_COLUMNS[1:-2]  # what an event's hash covers besides its seq and the previous hash


class Event(StrEnum):
    """What the audit trail records besides the moves of the state machines (an event of a move is named by
    the move's trigger): each has its words in cchc.states.labels."""

    org_load = "org_load"  # the organisation file taken in
    set_login = "set_login"  # a person's dashboard password set
    invitation_sent = "invitation_sent"  # a single-use link to choose a password sent (an invitation or a reset)
    invitation_used = "invitation_used"  # one used: the person chose their password
    import_results = "import_results"  # a past year's published results taken in
    open = "open"  # a cycle opened (or a unit added to it)
    draft = "draft"  # a head's commitment drafted
    plan_received = "plan_received"  # a unit's own plan recorded
    extend = "extend"  # an extension granted
    self_assessment_import = "self_assessment_import"  # self-scores taken in
    appraiser_scores = "appraiser_scores"  # an appraiser's own scores and comments saved (inputs of appraisal)
    add_file = "add_file"  # an evidence file kept
    document_file = "document_file"  # the file of a unit's own plan, remediation plan or breakthrough registration
    remind = "remind"  # a reminder before a deadline
    escalate = "escalate"  # a step of the escalation ladder after a deadline
    sweep = "sweep"  # a person ran the deadline sweep
    adjust = "adjust"  # a bonus or penalty item granted
    revoke_adjustment = "revoke_adjustment"  # one taken back
    publish = "publish"  # a publication version written
    propose_award = "propose_award"  # an award proposal recorded
    require = "require"  # a remediation plan or a breakthrough registration required (the follow-up is born)
    assign = "assign"  # sub-criteria assigned to a team or commune (the contribution is born)
    renew_link = "renew_link"  # a commitment's signing link sent again (the older one stops working)
    revoke_link = "revoke_link"  # a commitment's signing link revoked
    login_failed = "login_failed"  # a failed login (a wrong password, or refused while locked): never the password
    revoke_sessions = "revoke_sessions"  # a person's dashboard sessions ended by a coordinator


class AuditConflict(UserError, RuntimeError):
    """Another transaction appended to the audit trail at the same moment; nothing was written."""


@dataclass
class EventDraft:
    """An event about to be appended."""

    kind: str
    trigger: str
    actor: str
    at: datetime
    cycle_year: int | None = None
    unit_code: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(prev_hash: str, seq: int | str, row: dict[str, Any]) -> dict[str, Any]:
    """What an event's hash covers: every stored column but the hash itself."""
    return {
        "seq": seq,
        "at": _stamp(row["at"]),
        "actor": row["actor"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "cycle_year": row["cycle_year"],
        "unit_code": row["unit_code"],
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "reason": row["reason"],
        "payload": row["payload"],
        "prev_hash": prev_hash,
    }


def event_hash(prev_hash: str, seq: int, row: dict[str, Any]) -> str:
    """The hash of an event given the previous hash: covers every stored column but the hash itself."""
    return hashlib.sha256(canonical(_body(prev_hash, seq, row)).encode("utf-8")).hexdigest()


def _hashed_around(row: dict[str, Any]) -> tuple[str, str, str]:
    """An event's canonical text cut where the previous hash and the sequence number go (text before the
    hash, between it and the number, after the number): PostgreSQL fills them in under the head's lock."""
    mark = uuid.uuid4().hex
    text = canonical(_body(f"@{mark}p", f"@{mark}s", row))
    before, _, rest = text.partition(f"@{mark}p")
    between, _, after = rest.partition(f'"@{mark}s"')  # the number is written bare, without its quotes
    return before, between, after


# One event on PostgreSQL, in one statement: the head locked, the event hashed onto it (sha256() of the
# same canonical text Python hashes; `audit verify` recomputes it in Python), written, and the head moved.
_APPEND_ONE = f"""
WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM audit_head WHERE id = 1 FOR UPDATE),
event AS (
    SELECT seq, prev, encode(sha256(convert_to(%(before)s || prev || %(between)s || seq::text || %(after)s, 'UTF8')),
        'hex') AS hash
    FROM head
),
written AS (
    INSERT INTO audit_event ({", ".join(EVENT_COLUMNS)})
    SELECT seq, %(at)s, %(actor)s, %(kind)s, %(trigger)s, %(cycle_year)s, %(unit_code)s, %(from_state)s,
        %(to_state)s, %(reason)s, %(payload)s, prev, hash
    FROM event
    RETURNING seq, hash
)
UPDATE audit_head SET seq = written.seq, hash = written.hash FROM written WHERE audit_head.id = 1
RETURNING written.seq
"""


def _lock_head(session: Session) -> tuple[int, str]:
    """The chain's head (seq, hash), locked until the caller's transaction ends (made at the first event)."""
    head = table_of(AuditHead)
    row = session.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()).first()
    if row is None:
        session.execute(insert(head).values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(row[0]), str(row[1])


def append(session: Session, drafts: Sequence[EventDraft]) -> int:
    """Append events in order, in the caller's transaction. Returns the last sequence number.

    The chain's head is one row that every writer locks, so its lock is held from here to the commit: the
    events are prepared first, then the head is locked, hashed onto and moved in plain SQL (no ORM object;
    one statement for one event on PostgreSQL), and a caller appends last, just before its commit (the
    deadline-day rush saves ~100 rows a second, each with its event)."""
    prepared = [
        {
            "at": d.at.astimezone(UTC).replace(microsecond=d.at.microsecond),
            "actor": d.actor,
            "kind": d.kind,
            "trigger": d.trigger,
            "cycle_year": d.cycle_year,
            "unit_code": d.unit_code,
            "from_state": d.from_state,
            "to_state": d.to_state,
            "reason": d.reason,
            "payload": canonical(d.payload),
        }
        for d in drafts
    ]
    if len(prepared) == 1 and session.get_bind().dialect.name == "postgresql":
        row = prepared[0]
        before, between, after = _hashed_around(row)
        done = (
            session.connection()
            .exec_driver_sql(_APPEND_ONE, {**row, "before": before, "between": between, "after": after})
            .scalar()
        )
        if done is not None:
            return int(done)
        # no head yet: the first event of the trail makes it, below
    start_seq, prev = _lock_head(session)
    if not prepared:
        return start_seq
    seq = start_seq
    for row in prepared:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, seq, row)
    insert_rows(session, "audit_event", EVENT_COLUMNS, ([row[c] for c in EVENT_COLUMNS] for row in prepared))
    head = table_of(AuditHead)
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(head).where(head.c.id == 1, head.c.seq == start_seq).values(seq=seq, hash=prev),
        ),
    )
    if moved.rowcount != 1:
        raise AuditConflict("the audit trail moved while these events were written; try again")
    return seq


@dataclass
class Verification:
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)


def _rows(session: Session, after: int = 0) -> Iterator[Any]:
    """The trail's rows after `after`, in order, as plain rows (not ORM objects: verifying the publication of
    10,000 units reads 70,000 of them)."""
    columns = [col(getattr(AuditEvent, c)) for c in ("seq", "prev_hash", "hash", *HASHED_COLUMNS)]
    query = select(*columns).where(col(AuditEvent.seq) > after).order_by(col(AuditEvent.seq))
    yield from session.execute(query.execution_options(yield_per=5000)).mappings()


def verify(session: Session, *, max_problems: int = 20, since: tuple[int, str] | None = None) -> Verification:
    """Recompute the chain from the first event: edits, deletions and insertions are reported by seq.
    `since` = (seq, hash) of an event already proved (a trusted checkpoint's): the chain is recomputed from
    the event after it, once the trail is found to hold that event with that hash; `events` still counts
    every event of the trail."""
    head = session.execute(select(AuditHead).where(col(AuditHead.id) == 1)).scalar_one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    if since is not None and since[0] > 0:
        stored = session.execute(select(col(AuditEvent.hash)).where(col(AuditEvent.seq) == since[0])).scalar()
        before = session.execute(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.seq) <= since[0])
        ).scalar_one()
        if stored != since[1] or before != since[0]:
            problems.append(f"event #{since[0]} is not the one proved before (deleted or rewritten since)")
            return Verification(False, int(before), head_seq, head_hash, problems)
        expected_seq, prev, count = since[0] + 1, since[1], since[0]
    for row in _rows(session, expected_seq - 1):
        count += 1
        seq, prev_hash, hash_ = row["seq"], row["prev_hash"], row["hash"]
        if seq != expected_seq:
            missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}–#{seq - 1}"
            problems.append(f"event {missing} is missing: deleted from the trail")
        if prev_hash != prev:
            problems.append(f"event #{seq} does not follow the event before it (its link was broken)")
        if event_hash(prev_hash, seq, row) != hash_:
            problems.append(f"event #{seq} was changed after it was written (its hash does not match)")
        prev, expected_seq = hash_, seq + 1
        if len(problems) >= max_problems:
            break
    else:
        last_seq = expected_seq - 1
        if last_seq < head_seq:
            problems.append(f"events #{last_seq + 1}–#{head_seq} are missing: the end of the trail was deleted")
        elif last_seq > head_seq:
            problems.append(f"events after #{head_seq} were added outside the trail")
        elif prev != head_hash:
            problems.append(f"the last event #{last_seq} does not match the chain's recorded head")
    return Verification(ok=not problems, events=count, head_seq=head_seq, head_hash=head_hash, problems=problems)


def timeline(session: Session, unit_code: str, cycle_year: int | None = None) -> list[AuditEvent]:
    """A unit's events, oldest first (optionally of one cycle)."""
    query = select(AuditEvent).where(col(AuditEvent.unit_code) == unit_code)
    if cycle_year is not None:
        query = query.where(col(AuditEvent.cycle_year) == cycle_year)
    return list(session.execute(query.order_by(col(AuditEvent.seq))).scalars())


def drafts_for(kind: str, trigger: str, actor: str, at: datetime, items: Iterable[dict[str, Any]]) -> list[EventDraft]:
    """Drafts of one kind and trigger for many units (each item gives unit_code, states, payload...)."""
    return [EventDraft(kind=kind, trigger=trigger, actor=actor, at=at, **item) for item in items]
