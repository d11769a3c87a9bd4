"""The moves of named units through the assessment machine: submit (report to the authority, lateness
recorded), withdraw (rút lại), supplements (request, submit, skip, close) and reopen; one transaction each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import flow, task
from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import Deadlines, actor_for, cycle_of, shown
from cchc.flows.notices import notify_units
from cchc.flows.params import SubmitParams
from cchc.flows.runtime import engine_for, now
from cchc.flows.selfassessment import S
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.people import Actor
from cchc.models.scoring import is_on_time
from cchc.models.tables import Assessment, Criterion, Cycle, OrgUnit
from cchc.states.guards import AssessmentFacts
from cchc.states.workflow import Fired, fire_assessments, load_facts


@dataclass
class MoveSummary:
    trigger: str
    year: int
    moved: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)


def _summary(trigger: str, cycle: Cycle, fired: Fired) -> MoveSummary:
    return MoveSummary(
        trigger=trigger,
        year=cycle.year,
        moved=[f.unit_code for f, _ in fired.moved],
        refused=[str(r) for r in fired.refused],
    )


def move_units(
    session: Session,
    cycle: Cycle,
    trigger: str,
    units: Sequence[str],
    actor: Actor,
    at: datetime,
    *,
    states: Sequence[str] | None = None,
    reason: str = "",
    criteria: Sequence[str] = (),
    values: dict[str, object] | None = None,
    with_scores: bool = False,
) -> tuple[list[AssessmentFacts], Fired]:
    """Fire a trigger on named units (each must exist) or, with no names, on every unit in `states`."""
    if not units and states is None:
        raise UserError(f"name the units to {trigger.replace('_', ' ')} (--unit CODE)")
    facts = load_facts(
        session,
        cycle,
        unit_codes=list(units) or None,
        states=None if units else states,
        with_scores=with_scores,
    )
    missing = sorted(set(units) - {f.unit_code for f in facts})
    if missing:
        raise UserError(f"not a unit of the {cycle.year} cycle: {', '.join(map(shown, missing))}")
    return facts, fire_assessments(session, trigger, facts, actor, at, reason=reason, criteria=criteria, values=values)


@task(name="submit")
def submit(params: SubmitParams) -> MoveSummary:
    """Submit self-assessments (named units, or every unit in self_assess); lateness is recorded."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    with write_session(engine) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor)
        deadlines = Deadlines(session, cycle, "submission")
        facts, fired = move_units(
            session,
            cycle,
            "submit",
            params.units,
            actor,
            at,
            states=[S.self_assess],
            values={"submitted_at": at},
            with_scores=True,
        )
        summary = _summary("submit", cycle, fired)
        unit_ids = _unit_ids(session, summary.moved)
        summary.late = [
            f.unit_code for f, _ in fired.moved if not is_on_time(at, deadlines.due(unit_ids[f.unit_code], f.group))
        ]
        return summary


@flow(name="submit")
def submit_flow(params: SubmitParams) -> MoveSummary:
    """Units report their self-assessment to the authority."""
    return submit(params)


def change_units(
    database_url: str | None,
    year: int | None,
    trigger: str,
    units: Sequence[str],
    actor_ident: str | None,
    at: datetime | None,
    *,
    states: Sequence[str] | None = None,
    reason: str = "",
    criteria: Sequence[str] = (),
    values: dict[str, object] | None = None,
    due: datetime | None = None,
) -> MoveSummary:
    """One workflow move for named units (or every unit in `states`), in one transaction. A supplement
    request sets its deadline (`due`, else the cycle's supplement deadline, else three days) and tells the
    unit's focal officer and head, in the same transaction."""
    engine = engine_for(database_url)
    when = at or now()
    with write_session(engine) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        if trigger == "request_supplement":
            due = due or _supplement_due(session, cycle, when)
            values = {"supplement_note": reason, "supplement_criteria": ",".join(criteria), "supplement_due_at": due}
            _check_criteria(session, cycle, units, criteria)
        _, fired = move_units(
            session,
            cycle,
            trigger,
            units,
            actor,
            when,
            states=states,
            reason=reason,
            criteria=criteria,
            values=values,
        )
        if trigger == "request_supplement" and fired.moved:
            unit_ids = _unit_ids(session, [f.unit_code for f, _ in fired.moved])
            notify_units(
                session,
                cycle,
                "supplement_request",
                f"supplement:{cycle.year}:{when.isoformat()}",
                [(unit_ids[f.unit_code], f.unit_code, f.unit_name) for f, _ in fired.moved],
                when,
                context={
                    f.unit_code: {"note": reason, "criteria": list(criteria), "due": due.isoformat() if due else ""}
                    for f, _ in fired.moved
                },
            )
        return _summary(trigger, cycle, fired)


def _unit_ids(session: Session, codes: Sequence[str]) -> dict[str, int]:
    rows = session.execute(select(col(OrgUnit.code), col(OrgUnit.id)).where(col(OrgUnit.code).in_(list(codes))))
    return {code: int(uid) for code, uid in rows.tuples() if uid is not None}


def _supplement_due(session: Session, cycle: Cycle, when: datetime) -> datetime:
    """The cycle's supplement deadline if it is still ahead, else three days from the request."""
    cycle_due = Deadlines(session, cycle, "supplement").default
    return cycle_due if cycle_due is not None and cycle_due > when else when + timedelta(days=3)


def _check_criteria(session: Session, cycle: Cycle, units: Sequence[str], criteria: Sequence[str]) -> None:
    if not criteria:
        return
    rows = session.execute(
        select(col(OrgUnit.code), col(Criterion.code))
        .join(Assessment, col(Assessment.unit_id) == col(OrgUnit.id))
        .join(
            Criterion, and_(col(Criterion.framework_id) == col(Assessment.framework_id), col(Criterion.level) == "sub")
        )
        .where(col(Assessment.cycle_id) == cycle.id, col(OrgUnit.code).in_(list(units)))
    ).all()
    known: dict[str, set[str]] = {}
    for unit, code in rows:
        known.setdefault(unit, set()).add(code)
    for unit in units:
        unknown = [c for c in criteria if c not in known.get(unit, set())]
        if unknown:
            raise UserError(f"{unit}: not sub-criteria of its framework: {', '.join(unknown)}")
