""" "Việc của tôi": what a person owes in a cycle, for which unit, by when, and how far it has been chased.

Drawn from the sweep's own query (`sweep.chase_items`) and its record of the steps sent (`chase_step`), so
that the page and the sweep can never disagree about what is open, its deadline or its escalation; plus
the appraiser's queue (units waiting for appraisal that are not the appraiser's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from cchc.flows.lookup import actor_for, cycle_of
from cchc.flows.runtime import engine_for, now
from cchc.flows.sweep import chase_items, sent_steps
from cchc.models.chasing import days_late, days_left
from cchc.models.db import read_session
from cchc.models.org import Role
from cchc.models.people import Actor
from cchc.models.tables import Assessment, Contribution, OrgUnit
from cchc.states.assessment import AssessmentState

S = AssessmentState
UNIT_PEOPLE = {Role.head, Role.deputy, Role.focal}
WAITING_FOR_APPRAISAL = (S.submitted, S.supplemented)


@dataclass(frozen=True)
class Task:
    """One thing owed: its kind and phase, the unit it is for (and the assessed unit whose grid it is done
    in), its deadline, and the last reminder or escalation step the sweep sent for it."""

    kind: str  # assessment | commitment | contribution | follow_up | appraisal
    phase: str  # plan | submission | supplement | commitment | contribution | remediation | breakthrough | appraisal
    unit_code: str
    unit_name: str
    assessed_unit: str  # the unit whose pages the work is done on
    due_at: datetime | None
    days_left: int
    days_late: int
    last_step: str  # remind-3 | escalate-2 | "" (none yet)
    escalation: int  # the rung of the escalation ladder reached (0: none)
    mine: bool  # owed by this person's own unit (else: chased by this person, a coordinator)


def my_tasks(database_url: str | None, year: int | None, actor_ident: str, at: datetime | None = None) -> list[Task]:
    """Everything this person owes in the cycle, the most urgent first; for a coordinator or the authority's
    leadership, also every other unit's late item (what they chase); for an appraiser, the units waiting
    for appraisal that are not their own."""
    when = at or now()
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        items = chase_items(session, cycle)
        steps = sent_steps(session, cycle)
        parents = dict(
            session.execute(
                select(col(Contribution.id), col(OrgUnit.code))
                .join(Assessment, col(Assessment.id) == col(Contribution.assessment_id))
                .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
                .where(col(Contribution.cycle_id) == cycle.id)
            )
            .tuples()
            .all()
        )
        chases = actor.is_coordinator or actor.is_authority_leader
        tasks: list[Task] = []
        for item in items:
            mine = _owes(actor, item.kind, item.unit_code)
            late = when >= item.due_at
            if not (mine or (chases and late)):
                continue
            sent = steps.get((item.kind, item.item_id, item.phase, item.due_at), set())
            last = max(sent, key=_step_order, default="")
            tasks.append(
                Task(
                    item.kind,
                    item.phase,
                    item.unit_code,
                    item.unit_name,
                    parents.get(item.item_id, item.unit_code) if item.kind == "contribution" else item.unit_code,
                    item.due_at,
                    days_left(item.due_at, when),
                    days_late(item.due_at, when),
                    last,
                    _step_order(last)[1] if last.startswith("escalate") else 0,
                    mine,
                )
            )
        if Role.appraiser in actor.roles:
            for code, name in session.execute(
                select(col(OrgUnit.code), col(OrgUnit.name))
                .join(Assessment, col(Assessment.unit_id) == col(OrgUnit.id))
                .where(col(Assessment.cycle_id) == cycle.id, col(Assessment.state).in_(WAITING_FOR_APPRAISAL))
                .order_by(col(OrgUnit.code))
            ).tuples():
                if code not in actor.own_units:
                    tasks.append(Task("appraisal", "appraisal", code, name, code, None, 0, 0, "", 0, True))
    return sorted(tasks, key=lambda t: (not t.mine, t.due_at is None, t.due_at or when, t.unit_code))


def _owes(actor: Actor, kind: str, unit_code: str) -> bool:
    """The item is this person's own to do: a head's commitment (or an acting deputy's), or their unit's
    (or team's, commune's) plan, report, supplement, contribution or follow-up document."""
    if actor.unit_code != unit_code:
        return False
    if kind == "commitment":
        return bool(actor.roles & {Role.head, Role.deputy})
    return bool(actor.roles & UNIT_PEOPLE)


def _step_order(step: str) -> tuple[int, int]:
    """remind-7 < remind-3 < remind-1 < escalate-1 < escalate-2 …"""
    kind, _, number = step.partition("-")
    value = int(number) if number.isdigit() else 0
    return (1, value) if kind == "escalate" else (0, -value)
