"""The audit trail: append-only events, hash-chained so that an edited or deleted event is detected.

Each event's hash is SHA-256 over the previous hash and the canonical JSON of the event. The chain's
head (last seq and hash) is kept in `audit_head`, updated with a compare-and-swap in the same
transaction as the events: two writers can never fork the chain, and a deleted last event is caught.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.bulk import insert_rows
from cchc.models.errors import UserError
from cchc.models.tables import AuditEvent, AuditHead
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
    remind = "remind"  # a reminder before a deadline
    escalate = "escalate"  # a step of the escalation ladder after a deadline
    sweep = "sweep"  # a person ran the deadline sweep
    adjust = "adjust"  # a bonus or penalty item granted
    revoke_adjustment = "revoke_adjustment"  # one taken back
    publish = "publish"  # a publication version written
    propose_award = "propose_award"  # an award proposal recorded
    require = "require"  # a remediation plan or a breakthrough registration required (the follow-up is born)
    assign = "assign"  # sub-criteria assigned to a team or commune (the contribution is born)


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


def event_hash(prev_hash: str, seq: int, row: dict[str, Any]) -> str:
    """The hash of an event given the previous hash: covers every stored column but the hash itself."""
    body = {
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
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def _ensure_head(session: Session) -> AuditHead:
    head = session.execute(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        head = session.execute(select(AuditHead).where(col(AuditHead.id) == 1)).scalar_one()
    return head


def append(session: Session, drafts: Sequence[EventDraft]) -> int:
    """Append events in order, in the caller's transaction. Returns the last sequence number."""
    head = _ensure_head(session)
    start_seq, prev = head.seq, head.hash
    if not drafts:
        return start_seq
    rows: list[dict[str, Any]] = []
    seq = start_seq
    for d in drafts:
        seq += 1
        at = d.at.astimezone(UTC).replace(microsecond=d.at.microsecond)
        row = {
            "seq": seq,
            "at": at,
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
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, seq, row)
        rows.append(row)
    insert_rows(session, "audit_event", EVENT_COLUMNS, ([row[c] for c in EVENT_COLUMNS] for row in rows))
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(AuditHead)
            .where(col(AuditHead.id) == 1, col(AuditHead.seq) == start_seq, col(AuditHead.hash) == head.hash)
            .values(seq=seq, hash=prev)
            .execution_options(synchronize_session=False)
        ),
    )
    if moved.rowcount != 1:
        raise AuditConflict("the audit trail moved while these events were written; try again")
    session.expire(head)
    return seq


@dataclass
class Verification:
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)


def _rows(session: Session) -> Iterator[AuditEvent]:
    result = session.execute(select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000))
    yield from result.scalars()


def verify(session: Session, *, max_problems: int = 20) -> Verification:
    """Recompute the chain from the first event: edits, deletions and insertions are reported by seq."""
    head = session.execute(select(AuditHead).where(col(AuditHead.id) == 1)).scalar_one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for event in _rows(session):
        count += 1
        row = {c: getattr(event, c) for c in HASHED_COLUMNS}
        if event.seq != expected_seq:
            missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq}–#{event.seq - 1}"
            problems.append(f"event {missing} is missing: deleted from the trail")
        if event.prev_hash != prev:
            problems.append(f"event #{event.seq} does not follow the event before it (its link was broken)")
        if event_hash(event.prev_hash, event.seq, row) != event.hash:
            problems.append(f"event #{event.seq} was changed after it was written (its hash does not match)")
        prev, expected_seq = event.hash, event.seq + 1
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
