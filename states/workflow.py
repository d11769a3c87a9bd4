"""The workflow: takes records and an actor, fires a trigger on the record's shared machine, and writes the
new states together with their audit events in the caller's transaction. It is the only code that writes
a state: `assessment.state`, `cycle.phase`, and the state of a commitment, a follow-up, a contribution
and an award.

Work on many records is set-based: facts come from a few queries, guards run in memory, and the moves
are written with one executemany and one audit append. A move whose row changed meanwhile (it is no longer
in the state, or the version, it was read in) aborts the whole transaction with ConcurrentChange.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from cchc.models.audit import EventDraft, append
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.people import Actor
from cchc.models.proof import score_digests
from cchc.models.tables import Assessment, Commitment, Criterion, Cycle, Deadline, OrgUnit, Score, table_of
from cchc.states.assessment import assessment_machine
from cchc.states.cycle import cycle_machine
from cchc.states.guards import AssessmentFacts, Context, CycleFacts, RecordFacts
from cchc.states.labels import state_word
from cchc.states.machine import StateMachine, TransitionNotAllowed

# The moves after which a part of the scores may not change until the next such move: a submission (the
# self-assessment a head signed), an appraisal (the appraised points), and the end of a supplement (what the
# unit changed while it was asked for one). Their events carry the digests of the rows (models/proof.py).
# Moves that change no score (asking for a supplement, skipping one, publishing) carry none: the digest of
# the move before them still holds, and a national cycle does not hash 910,000 rows again for nothing.
DIGESTED = frozenset({"submit", "appraise", "reappraise", "submit_supplement", "close_supplement"})


class ConcurrentChange(UserError, RuntimeError):
    """Someone else changed the record since it was read: nothing was written."""


@dataclass
class Fired:
    moved: list[tuple[AssessmentFacts, str]] = field(default_factory=list)  # (facts before, new state)
    refused: list[TransitionNotAllowed] = field(default_factory=list)


# --- facts ----------------------------------------------------------------------------------------


def load_facts(
    session: Session,
    cycle: Cycle,
    *,
    unit_codes: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
    with_scores: bool = False,
    group: str | None = None,
) -> list[AssessmentFacts]:
    """Facts of a cycle's assessments (optionally some units, states or one unit group), in unit-code order."""
    assert cycle.id is not None
    query = (
        select(
            col(Assessment.id),
            col(Assessment.state),
            col(Assessment.version),
            col(Assessment.group_code),
            col(Assessment.submitted_at),
            col(OrgUnit.code),
            col(OrgUnit.name),
            col(Assessment.framework_id),
            col(Assessment.unit_id),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id)
    )
    if unit_codes is not None:
        query = query.where(col(OrgUnit.code).in_(list(unit_codes)))
    if states is not None:
        query = query.where(col(Assessment.state).in_(list(states)))
    if group is not None:
        query = query.where(col(Assessment.group_code) == group)
    rows = session.execute(query.order_by(col(OrgUnit.code))).all()
    unscored: dict[int, list[str]] = {}
    out_of_range: dict[int, list[str]] = {}
    required, signed = (
        commitment_gate(session, cycle, [row[8] for row in rows] if unit_codes is not None else None)
        if rows
        else (False, set())
    )
    if with_scores and rows:
        scope = [col(Assessment.cycle_id) == cycle.id]
        if states is not None:
            scope.append(col(Assessment.state).in_(list(states)))
        if group is not None:
            scope.append(col(Assessment.group_code) == group)
        if unit_codes is not None:  # the named units' rows only, not the whole cycle's (a unit's grid, a submit)
            scope.append(col(Assessment.id).in_([row[0] for row in rows]))
        unscored_row = or_(
            col(Score.assessment_id).is_(None),
            and_(col(Score.not_applicable).is_(False), col(Score.self_points).is_(None)),
        )
        out_of_range_row = and_(
            col(Score.not_applicable).is_(False),
            or_(col(Score.self_points) < 0, col(Score.self_points) > col(Criterion.max_points)),
        )
        # one pass over the cycle's assessments × sub-criteria finds both kinds of row
        checked = (
            select(col(Assessment.id), col(Criterion.code), case((unscored_row, True), else_=False))
            .join(
                Criterion,
                and_(col(Criterion.framework_id) == col(Assessment.framework_id), col(Criterion.level) == "sub"),
            )
            .outerjoin(
                Score,
                and_(col(Score.assessment_id) == col(Assessment.id), col(Score.criterion_id) == col(Criterion.id)),
            )
            .where(*scope, or_(unscored_row, out_of_range_row))
            .order_by(col(Assessment.id), col(Criterion.position))
        )
        for aid, code, is_unscored in session.execute(checked):
            (unscored if is_unscored else out_of_range).setdefault(aid, []).append(code)
    return [
        AssessmentFacts(
            assessment_id=aid,
            unit_code=code,
            unit_name=name,
            group=group,
            state=state,
            version=version,
            cycle_year=cycle.year,
            cycle_phase=cycle.phase,
            unscored=tuple(unscored.get(aid, ())),
            out_of_range=tuple(out_of_range.get(aid, ())),
            submitted_at=submitted_at,
            framework_id=framework_id or 0,
            commitment_required=required,
            commitment_signed=unit_id in signed,
        )
        for aid, state, version, group, submitted_at, code, name, framework_id, unit_id in rows
    ]


def commitment_gate(session: Session, cycle: Cycle, unit_ids: Sequence[int] | None = None) -> tuple[bool, set[int]]:
    """Whether the cycle makes self-assessment wait for the head's commitment, and the units whose
    head has signed (among `unit_ids` when given: one unit's page need not read the whole country's)."""
    if not json.loads(cycle.commitment_policy or "{}").get("block_self_assessment"):
        return False, set()
    query = select(col(Commitment.unit_id)).where(
        col(Commitment.cycle_id) == cycle.id, col(Commitment.state) == "signed"
    )
    if unit_ids is not None:
        query = query.where(col(Commitment.unit_id).in_(list(unit_ids)))
    return True, set(session.execute(query).scalars())


def cycle_facts(session: Session, cycle: Cycle) -> CycleFacts:
    assert cycle.id is not None
    counts = dict(
        session.execute(
            select(col(Assessment.state), func.count())
            .where(col(Assessment.cycle_id) == cycle.id)
            .group_by(col(Assessment.state))
        )
        .tuples()
        .all()
    )
    due = session.execute(
        select(col(Deadline.due_at)).where(
            col(Deadline.cycle_id) == cycle.id,
            col(Deadline.phase) == "submission",
            col(Deadline.group_code).is_(None),
            col(Deadline.unit_id).is_(None),
        )
    ).scalar_one_or_none()
    return CycleFacts(
        cycle_id=cycle.id,
        year=cycle.year,
        phase=cycle.phase,
        version=cycle.version,
        counts=counts,
        submission_due=due,
    )


# --- firing ---------------------------------------------------------------------------------------


def fire_assessments(
    session: Session,
    trigger: str,
    facts: Sequence[AssessmentFacts],
    actor: Actor,
    at: datetime,
    *,
    reason: str = "",
    criteria: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
    payloads: Mapping[int, dict[str, Any]] | None = None,
) -> Fired:
    """Fire `trigger` on each assessment; write the moves that pass (state, version, `values`) and their
    events. Refusals are returned, not raised: the caller decides whether one refusal stops the rest."""
    machine = assessment_machine()
    fired = Fired()
    for f in facts:
        ctx = Context(actor=actor, at=at, facts=f, reason=reason, criteria=tuple(criteria))
        try:
            fired.moved.append((f, machine.fire(trigger, f.state, ctx, subject=f.unit_code)))
        except TransitionNotAllowed as refusal:
            fired.refused.append(refusal)
    if not fired.moved:
        return fired
    rows = [_Row(f.assessment_id, f.state, f.version, to, {}) for f, to in fired.moved]
    _write(session, Assessment, "state", rows, at, shared=values or {})
    payloads = payloads or {}
    if trigger in DIGESTED:  # what the move freezes, for `cchc audit verify` to compare the rows with
        digests = score_digests(session, [f.assessment_id for f, _ in fired.moved])
        payloads = {
            f.assessment_id: {**payloads.get(f.assessment_id, {}), "scores": digests[f.assessment_id]}
            for f, _ in fired.moved
        }
    append(
        session,
        [
            EventDraft(
                kind="transition",
                trigger=trigger,
                actor=actor.code,
                at=at,
                cycle_year=f.cycle_year,
                unit_code=f.unit_code,
                from_state=f.state,
                to_state=to,
                reason=reason,
                payload={
                    **({"criteria": list(criteria)} if criteria else {}),
                    **payloads.get(f.assessment_id, {}),
                },
            )
            for f, to in fired.moved
        ],
    )
    return fired


@dataclass(frozen=True)
class Change:
    """One record to move through its machine: its row, the state (and version) it was read in, the facts
    its guards read, what the move writes besides the state, and what its audit event says."""

    record_id: int
    state: str
    facts: RecordFacts
    values: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    version: int | None = None  # checked and counted up where the table keeps one


def fire_records(
    session: Session,
    machine: StateMachine,
    model: type[SQLModel],
    trigger: str,
    changes: Sequence[Change],
    actor: Actor,
    at: datetime,
    *,
    kind: str,
    cycle_year: int,
    state_column: str = "state",
) -> list[str]:
    """Fire `trigger` on each record (a refusal raises TransitionNotAllowed, and nothing is written), then
    write every move at once, each only if its row is still as it was read, with their audit events; the
    new states, in order."""
    new_states = [
        machine.fire(
            trigger, c.state, Context(actor=actor, at=at, facts=c.facts, reason=c.reason), subject=c.facts.unit_code
        )
        for c in changes
    ]
    if not changes:
        return new_states
    _write(
        session,
        model,
        state_column,
        [_Row(c.record_id, c.state, c.version, to, c.values) for c, to in zip(changes, new_states, strict=True)],
        at,
    )
    append(
        session,
        [
            EventDraft(
                kind=kind,
                trigger=trigger,
                actor=actor.code,
                at=at,
                cycle_year=cycle_year,
                unit_code=c.facts.unit_code,
                from_state=c.state,
                to_state=to,
                reason=c.reason,
                payload=dict(c.payload),
            )
            for c, to in zip(changes, new_states, strict=True)
        ],
    )
    return new_states


@dataclass(frozen=True)
class _Row:
    record_id: int
    state: str
    version: int | None
    to: str
    values: Mapping[str, Any]


def _write(
    session: Session,
    model: type[SQLModel],
    state_column: str,
    rows: Sequence[_Row],
    at: datetime,
    *,
    shared: Mapping[str, Any] | None = None,
) -> None:
    """The moves in one executemany per set of columns written: the new state and each row's values, the
    `shared` values (the same for every row: a value or an SQL expression), the version counted up and the
    time of change where the table keeps them; each row only if it is still in the state (and the version)
    it was read in."""
    table = table_of(model)
    versioned = "version" in table.c
    checks = [table.c.id == bindparam("_id"), table.c[state_column] == bindparam("_from")]
    if versioned:
        checks.append(table.c.version == bindparam("_version"))
    for columns, group in groupby(sorted(rows, key=lambda r: sorted(r.values)), key=lambda r: sorted(r.values)):
        sets: dict[str, Any] = {
            state_column: bindparam("_to"),
            **(shared or {}),
            **{c: bindparam(f"_v_{c}") for c in columns},
        }
        if versioned:
            sets["version"] = table.c.version + 1
        if "updated_at" in table.c and "updated_at" not in sets:
            sets["updated_at"] = at
        params = [
            {
                "_id": r.record_id,
                "_from": r.state,
                "_to": r.to,
                **({"_version": r.version} if versioned else {}),
                **{f"_v_{c}": r.values[c] for c in columns},
            }
            for r in group
        ]
        result = session.connection().execute(update(table).where(*checks).values(sets), params)
        _check_rowcount(session, result.rowcount, len(params), table.name)


def hold(session: Session, read: Mapping[int, tuple[str, str]]) -> None:
    """Keep the assessments a write depends on in the states they were read in, at write time: each row is
    counted up (`version + 1`, its row locked until the transaction ends) only if it is still in that state.
    A move that read the old version (a submission racing an import, a publication racing an adjustment)
    then fails with ConcurrentChange instead of writing over the change; and this write fails in the same
    way when a move got there first. `read` is {assessment id: (unit code, state read)}; one UPDATE per
    state read, so the row counts are exact on every driver."""
    if not read:
        return
    table = table_of(Assessment)
    by_state: dict[str, list[int]] = {}
    for aid, (_, state) in read.items():
        by_state.setdefault(state, []).append(aid)
    connection = session.connection()
    stale: list[int] = []
    for state, ids in sorted(by_state.items()):
        for start in range(0, len(ids), 5_000):
            chunk = ids[start : start + 5_000]
            done = connection.execute(
                update(table)
                .where(table.c.id.in_(chunk), table.c.state == state)
                .values(version=table.c.version + 1)
                .returning(table.c.id)
            )
            moved = set(chunk) - {row[0] for row in done}
            stale.extend(sorted(moved))
    if stale:
        now_in = dict(
            session.execute(select(table.c.id, table.c.state).where(table.c.id.in_(stale[:20]))).tuples().all()
        )
        moved_text = ", ".join(
            tr("{unit} (now {state})", unit=read[aid][0], state=state_word(now_in.get(aid, "?"))) for aid in stale[:20]
        )
        raise ConcurrentChange(
            tr(
                "{units} changed state while this was being done: nothing was written — look again and retry",
                units=moved_text,
            )
        )


def _check_rowcount(session: Session, rowcount: int, expected: int, what: str) -> None:
    dialect = session.get_bind().dialect
    if expected > 1 and not dialect.supports_sane_multi_rowcount:
        return
    if rowcount != expected:
        raise ConcurrentChange(
            f"{expected - rowcount} {what} record(s) changed while this was being done; nothing was written — "
            "look again and retry"
        )


def fire_cycle(
    session: Session,
    cycle: Cycle,
    trigger: str,
    actor: Actor,
    at: datetime,
    *,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> str:
    """Move the cycle's phase (or raise TransitionNotAllowed), with its audit event."""
    assert cycle.id is not None
    facts = cycle_facts(session, cycle)
    ctx = Context(actor=actor, at=at, facts=facts, reason=reason)
    new_phase = cycle_machine().fire(trigger, cycle.phase, ctx, subject=f"cycle {cycle.year}")
    _write(session, Cycle, "phase", [_Row(cycle.id, cycle.phase, cycle.version, new_phase, {})], at)
    append(
        session,
        [
            EventDraft(
                kind="cycle",
                trigger=trigger,
                actor=actor.code,
                at=at,
                cycle_year=cycle.year,
                from_state=cycle.phase,
                to_state=new_phase,
                reason=reason,
                payload=payload or {},
            )
        ],
    )
    session.expire(cycle)
    return new_phase
