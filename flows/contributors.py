"""Contributors: a unit's teams and communes supply the sub-criteria within their function.

The unit's coordinator (its focal officer or head, or the authority's coordinator) assigns sub-criteria
to a team or commune below it, with an internal deadline before the unit's own; the sweep chases it. The
contributor enters its rows (its own workbook covers just those), and they land in the unit's
self-assessment marked with who supplied them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import Deadlines, acting_for_unit, cycle_of
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.formats import local_time
from cchc.models.people import Actor
from cchc.models.tables import Assessment, Contribution, Criterion, Cycle, OrgUnit, Score
from cchc.models.text import natural_key
from cchc.states.contribution import ContributionState, contribution_machine
from cchc.states.guards import ContributionFacts
from cchc.states.workflow import Change, fire_records

C = ContributionState


@dataclass
class ContributionLine:
    unit: str
    contributor: str
    contributor_name: str
    criteria: list[str]
    due: datetime
    state: str
    supplied: int  # rows supplied so far
    late: bool


def assign(
    database_url: str | None,
    year: int | None,
    unit: str,
    contributor: str,
    criteria: Sequence[str],
    due: datetime,
    actor_ident: str | None,
    at: datetime | None = None,
) -> ContributionLine:
    """Assign sub-criteria to a team or commune of the unit, with its internal deadline (audited)."""
    when = at or now()
    codes = sorted({c.strip() for c in criteria if c.strip()}, key=natural_key)
    if not codes:
        raise UserError("name the sub-criteria to assign (--criteria 3.3.1,3.3.2)")
    with write_session(engine_for(database_url)) as session:
        cycle, actor, assessment, org_unit = acting_for_unit(session, year, unit, actor_ident, when)
        assert assessment.id is not None and org_unit.id is not None
        member = _descendant(session, org_unit.id, contributor)
        known = set(
            session.execute(
                select(col(Criterion.code)).where(
                    col(Criterion.framework_id) == assessment.framework_id, col(Criterion.level) == "sub"
                )
            ).scalars()
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise UserError(f"not sub-criteria of {unit}'s framework: {', '.join(unknown)}")
        external = Deadlines(session, cycle, "submission").due(org_unit.id, assessment.group_code)
        if external is not None and due >= external:
            raise UserError(
                f"the internal deadline should come before {unit}'s own ({local_time(external)}), so that the "
                "unit can consolidate what its teams and communes supply"
            )
        current = session.execute(
            select(Contribution).where(
                col(Contribution.assessment_id) == assessment.id, col(Contribution.unit_id) == member.id
            )
        ).scalar_one_or_none()
        values = {"criteria": ",".join(codes), "due_at": due, "assigned_by": actor.code, "assigned_at": when}
        reason = f"{contributor}: {', '.join(codes)}"
        payload = {"contributor": contributor, "criteria": codes, "due": due}
        if current is None:
            session.execute(
                insert(Contribution).values(
                    cycle_id=cycle.id, assessment_id=assessment.id, unit_id=member.id, state=C.assigned, **values
                )
            )
            event = EventDraft(
                kind="contribution",
                trigger=Event.assign,
                actor=actor.code,
                at=when,
                cycle_year=cycle.year,
                unit_code=unit,
                to_state=C.assigned,
                reason=reason,
                payload=payload,
            )
            append(session, [event])
        elif (current.criteria, current.due_at) == (values["criteria"], due):
            return _line(session, cycle, unit, member, when)
        else:
            assert current.id is not None
            facts = ContributionFacts(current.id, unit, contributor, current.state)
            change = Change(current.id, current.state, facts, {**values, "supplied_at": None}, payload, reason)
            fire_records(
                session,
                contribution_machine(),
                Contribution,
                "assign",
                [change],
                actor,
                when,
                kind="contribution",
                cycle_year=cycle.year,
            )
        _mark_supplied(session, cycle, [assessment.id], when, actor)
        return _line(session, cycle, unit, member, when)


def _descendant(session: Session, unit_id: int, code: str) -> OrgUnit:
    """A team or commune below the unit (at any depth), by code."""
    unit = session.execute(select(OrgUnit).where(col(OrgUnit.code) == code)).scalar_one_or_none()
    probe = unit
    while probe is not None and probe.parent_id is not None:
        if probe.parent_id == unit_id:
            assert unit is not None
            return unit
        probe = session.get(OrgUnit, probe.parent_id)
    raise UserError(f"{code!r} is not a team or commune of this unit")


def _line(session: Session, cycle: Cycle, unit: str, member: OrgUnit, at: datetime) -> ContributionLine:
    lines = [line for line in contributions_of(session, cycle, unit, at) if line.contributor == member.code]
    return lines[0]


def contributions_of(session: Session, cycle: Cycle, unit: str | None, at: datetime) -> list[ContributionLine]:
    """Every assignment of the cycle (or of one unit), with how many rows each contributor supplied."""
    rows = session.execute(
        select(Contribution, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
        .where(col(Contribution.cycle_id) == cycle.id)
    ).all()
    assessed = _assessed_codes(session, cycle)
    supplied = _supplied_counts(session, [c.assessment_id for c, _ in rows])
    lines = []
    for contribution, member in rows:
        owner = assessed.get(contribution.assessment_id, "")
        if unit is not None and owner != unit:
            continue
        codes = [c for c in contribution.criteria.split(",") if c]
        count = supplied.get((contribution.assessment_id, member.code), 0)
        lines.append(
            ContributionLine(
                owner,
                member.code,
                member.name,
                codes,
                contribution.due_at,
                contribution.state,
                count,
                contribution.state != "supplied" and at >= contribution.due_at,
            )
        )
    return sorted(lines, key=lambda line: (line.unit, line.contributor))


def _assessed_codes(session: Session, cycle: Cycle) -> dict[int, str]:
    rows = session.execute(
        select(col(Assessment.id), col(OrgUnit.code))
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id)
    ).tuples()
    return {int(aid or 0): code for aid, code in rows}


def _supplied_counts(session: Session, assessment_ids: list[int]) -> dict[tuple[int, str], int]:
    if not assessment_ids:
        return {}
    rows = session.execute(
        select(col(Score.assessment_id), col(Score.supplied_by), func.count())
        .where(col(Score.assessment_id).in_(sorted(set(assessment_ids))))
        .group_by(col(Score.assessment_id), col(Score.supplied_by))
    ).tuples()
    return {(aid, by): int(n) for aid, by, n in rows}


def _mark_supplied(session: Session, cycle: Cycle, assessment_ids: list[int], at: datetime, actor: Actor) -> None:
    """A contribution whose every assigned sub-criterion now has its contributor's row is supplied: one query
    of the rows contributors supplied, one move of every contribution they complete."""
    rows = session.execute(
        select(Contribution, OrgUnit.code)  # type: ignore[call-overload]
        .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
        .where(col(Contribution.assessment_id).in_(assessment_ids), col(Contribution.state) == C.assigned)
    ).all()
    if not rows:
        return
    have: dict[tuple[int, str], set[str]] = {}
    for aid, by, code in session.execute(
        select(col(Score.assessment_id), col(Score.supplied_by), col(Criterion.code))
        .join(Criterion, col(Criterion.id) == col(Score.criterion_id))
        .where(col(Score.assessment_id).in_(sorted({c.assessment_id for c, _ in rows})), col(Score.supplied_by) != "")
    ).tuples():
        have.setdefault((aid, by), set()).add(code)
    owners = _assessed_codes(session, cycle)
    changes = []
    for contribution, code in rows:
        assigned = [c for c in contribution.criteria.split(",") if c]
        if assigned and set(assigned) <= have.get((contribution.assessment_id, code), set()):
            facts = ContributionFacts(contribution.id, owners[contribution.assessment_id], code, contribution.state)
            changes.append(
                Change(
                    contribution.id,
                    contribution.state,
                    facts,
                    {"supplied_at": at},
                    {"contributor": code, "criteria": assigned},
                    f"{code} supplied {', '.join(assigned)}",
                )
            )
    fire_records(
        session,
        contribution_machine(),
        Contribution,
        "supplied",
        changes,
        actor,
        at,
        kind="contribution",
        cycle_year=cycle.year,
    )


def mark_supplied(session: Session, cycle: Cycle, assessment_ids: list[int], at: datetime, actor: Actor) -> None:
    """After an import: the contributions it completed."""
    if assessment_ids:
        _mark_supplied(session, cycle, assessment_ids, at, actor)


def status(database_url: str | None, year: int | None, unit: str | None = None) -> list[ContributionLine]:
    with read_session(engine_for(database_url)) as session:
        return contributions_of(session, cycle_of(session, year), unit, now())
