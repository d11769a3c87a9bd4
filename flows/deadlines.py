"""Changing deadlines and recording plans: an extension granted to a unit (who, why, the new date) and
a unit's own plan received; both audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlmodel import col

from cchc.flows.lookup import Deadlines, acting_for_unit, actor_for, cycle_of, kept_ref, unit_assessment
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.formats import local_time
from cchc.models.tables import Assessment, Deadline
from cchc.models.text import collapse_lines
from cchc.states.assessment import AssessmentState
from cchc.states.permissions import Action, authorize

EXTENDABLE = ("plan", "submission", "supplement", "commitment", "remediation", "breakthrough")


@dataclass
class Extension:
    unit: str
    phase: str
    before: datetime | None
    after: datetime


def extend(
    database_url: str | None,
    year: int | None,
    unit: str,
    phase: str,
    until: datetime,
    reason: str,
    actor_ident: str | None,
    at: datetime | None = None,
) -> Extension:
    """Give one unit a later deadline for one phase, with the reason; the sweep chases the new date."""
    if phase not in EXTENDABLE:
        raise UserError(f"unknown phase {phase!r} (expected one of {', '.join(EXTENDABLE)})")
    if not reason.strip():
        raise UserError("an extension needs a reason (--reason)")
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        authorize(Action.grant_extension, actor, when)
        assessment, org_unit = unit_assessment(session, cycle, unit)
        assert org_unit.id is not None
        if phase == "supplement":
            if assessment.state != AssessmentState.supplement_requested:
                raise UserError(f"{unit} has no supplement request open (state {assessment.state!r})")
            before = assessment.supplement_due_at
        else:
            before = Deadlines(session, cycle, phase).due(org_unit.id, assessment.group_code)
        if before is not None and until <= before:
            raise UserError(f"{unit}'s {phase} deadline is already {local_time(before)}: an extension moves it later")
        if phase == "supplement":
            session.execute(
                update(Assessment).where(col(Assessment.id) == assessment.id).values(supplement_due_at=until)
            )
        else:
            own = session.execute(
                select(col(Deadline.id)).where(
                    col(Deadline.cycle_id) == cycle.id,
                    col(Deadline.phase) == phase,
                    col(Deadline.unit_id) == org_unit.id,
                )
            ).scalar_one_or_none()
            values = {"due_at": until, "reason": collapse_lines(reason), "granted_by": actor.code, "granted_at": when}
            if own is None:
                session.execute(insert(Deadline).values(cycle_id=cycle.id, phase=phase, unit_id=org_unit.id, **values))
            else:
                session.execute(update(Deadline).where(col(Deadline.id) == own).values(**values))
        append(
            session,
            [
                EventDraft(
                    kind="deadline",
                    trigger=Event.extend,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    reason=collapse_lines(reason),
                    payload={"phase": phase, "before": before, "after": until},
                )
            ],
        )
        return Extension(unit, phase, before, until)


def register_plan(
    database_url: str | None,
    year: int | None,
    unit: str,
    ref: str,
    actor_ident: str | None,
    at: datetime | None = None,
) -> bool:
    """Record that a unit sent its own plan (e.g. "91/KH-CAH ngày 30/6/2021"); True if it was new."""
    ref = kept_ref(collapse_lines(ref))
    if not ref:
        raise UserError("give the plan's reference, e.g. --ref '91/KH-CAH ngày 30/6/2021'")
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle, actor, assessment, _ = acting_for_unit(session, year, unit, actor_ident, when)
        if assessment.plan_ref == ref and assessment.plan_received_at is not None:
            return False
        session.execute(
            update(Assessment).where(col(Assessment.id) == assessment.id).values(plan_ref=ref, plan_received_at=when)
        )
        append(
            session,
            [
                EventDraft(
                    kind="plan",
                    trigger=Event.plan_received,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    reason=ref,
                    payload={"ref": ref},
                )
            ],
        )
        return True
