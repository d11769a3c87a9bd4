"""Awards (thi đua, khen thưởng) from the published index only; idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from prefect import flow, task
from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for, current_publication, cycle_of, document_ref
from cchc.flows.notices import notify_units
from cchc.flows.params import AwardsParams
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.awards import AwardRules, Proposal, PublishedUnit, load_rules, propose_awards
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.tables import Award, Cycle, OrgUnit, Person, PersonRole, Result
from cchc.models.text import collapse_lines
from cchc.states.assessment import AssessmentState
from cchc.states.award import AwardState, award_machine
from cchc.states.cycle import CyclePhase
from cchc.states.guards import AwardFacts
from cchc.states.workflow import Change, fire_assessments, fire_cycle, fire_records, load_facts


@dataclass
class AwardRow:
    unit: str
    name: str
    group: str
    rule: str
    kind: str
    outcome: str
    person: str | None
    status: str


@dataclass
class AwardsSummary:
    year: int
    publication_version: int
    added: int = 0
    awards: list[AwardRow] = field(default_factory=list)


def published_units(session: Session, cycle: Cycle) -> tuple[int, int, list[PublishedUnit]]:
    """The current publication's results: the only input of the award rules."""
    publication = current_publication(session, cycle)
    if publication is None:
        raise UserError(f"the {cycle.year} results are not published yet: awards come from published results only")
    rows = session.execute(
        select(
            col(Result.assessment_id),
            col(OrgUnit.code),
            col(Result.group_code),
            col(Result.class_code),
            col(Result.rank),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Result.publication_id) == publication.id)
    ).all()
    assert publication.id is not None
    return publication.id, publication.version, [PublishedUnit(*row) for row in rows]


def _heads(session: Session, unit_codes: list[str]) -> dict[str, int]:
    rows = (
        session.execute(
            select(col(OrgUnit.code), col(Person.id))
            .join(Person, and_(col(Person.unit_id) == col(OrgUnit.id), col(Person.active).is_(True)))
            .join(PersonRole, and_(col(PersonRole.person_id) == col(Person.id), col(PersonRole.role) == "head"))
            .where(col(OrgUnit.code).in_(unit_codes))
        )
        .tuples()
        .all()
    )
    return cast("dict[str, int]", dict(rows))  # stored people have ids


@task(name="awards")
def awards(params: AwardsParams) -> AwardsSummary:
    """Record award proposals by the rules, move published units to `awarded`, open the awards phase."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    rules = load_rules(Path(params.rules_path) if params.rules_path else get_settings().config_dir / "awards.yaml")
    with write_session(engine) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor, task="awards")
        publication_id, version, units = published_units(session, cycle)
        proposals = propose_awards(units, rules)
        existing = {
            (a, r)
            for a, r in session.execute(
                select(col(Award.assessment_id), col(Award.rule)).where(col(Award.cycle_id) == cycle.id)
            )
        }
        new = [p for p in proposals if (p.assessment_id, p.rule) not in existing]
        heads = _heads(session, sorted({p.unit for p in new if p.kind == "head"}))
        if new:
            session.execute(
                insert(Award),
                [
                    {
                        "cycle_id": cycle.id,
                        "publication_id": publication_id,
                        "assessment_id": p.assessment_id,
                        "rule": p.rule,
                        "kind": p.kind,
                        "outcome": p.outcome,
                        "person_id": heads.get(p.unit) if p.kind == "head" else None,
                        "status": AwardState.proposed,
                    }
                    for p in new
                ],
            )
            append(session, [_event(p, actor.code, at, cycle.year, version) for p in new])
            _notify(session, cycle, rules, [p for p in new if p.kind == "collective"], at)
        if cycle.phase == CyclePhase.published:
            fire_cycle(session, cycle, "begin_awards", actor, at)
        ready = load_facts(session, cycle, states=[AssessmentState.published])
        fired = fire_assessments(
            session,
            "award",
            ready,
            actor,
            at,
            payloads={
                f.assessment_id: {"proposals": [p.rule for p in proposals if p.assessment_id == f.assessment_id]}
                for f in ready
            },
        )
        if fired.refused:
            raise UserError(str(fired.refused[0]))
        summary = AwardsSummary(year=cycle.year, publication_version=version, added=len(new))
        summary.awards = list_awards(session, cycle)
        return summary


def _notify(session: Session, cycle: Cycle, rules: AwardRules, proposals: list[Proposal], at: datetime) -> None:
    """An award notice to each unit proposed for a collective award, per rule."""
    names = {r.rule: r.name for r in rules.collective}
    rows = session.execute(
        select(col(OrgUnit.code), col(OrgUnit.id), col(OrgUnit.name)).where(
            col(OrgUnit.code).in_([p.unit for p in proposals])
        )
    ).tuples()
    ids = {code: (int(uid or 0), name) for code, uid, name in rows}
    for rule in sorted({p.rule for p in proposals}):
        units = [(ids[p.unit][0], p.unit, ids[p.unit][1]) for p in proposals if p.rule == rule]
        notify_units(
            session,
            cycle,
            "award_notice",
            f"award:{cycle.year}:{rule}",
            units,
            at,
            context={code: {"award_name": names.get(rule, rule)} for _, code, _ in units},
        )


def _event(p: Proposal, actor: str, at: datetime, year: int, version: int) -> EventDraft:
    return EventDraft(
        kind="award",
        trigger=Event.propose_award,
        actor=actor,
        at=at,
        cycle_year=year,
        unit_code=p.unit,
        payload={"rule": p.rule, "kind": p.kind, "outcome": p.outcome, "publication_version": version},
    )


def list_awards(session: Session, cycle: Cycle) -> list[AwardRow]:
    rows = session.execute(
        select(Award, col(OrgUnit.code), col(OrgUnit.name), col(Result.group_code), col(Person.code))
        .join(
            Result,
            and_(
                col(Result.publication_id) == col(Award.publication_id),
                col(Result.assessment_id) == col(Award.assessment_id),
            ),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .outerjoin(Person, col(Person.id) == col(Award.person_id))
        .where(col(Award.cycle_id) == cycle.id)
        .order_by(col(Result.group_code), col(Result.rank), col(OrgUnit.code), col(Award.rule))
    ).all()
    return [
        AwardRow(code, name, group, a.rule, a.kind, a.outcome, person, a.status)
        for a, code, name, group, person in rows
    ]


@flow(name="awards")
def awards_flow(params: AwardsParams) -> AwardsSummary:
    """Propose awards and decide heads' standing from the published results."""
    return awards(params)


def read_awards(database_url: str | None, year: int | None) -> list[AwardRow]:
    engine = engine_for(database_url)
    with read_session(engine) as session:
        return list_awards(session, cycle_of(session, year))


DECISIONS = (AwardState.approved, AwardState.rejected)


def decide_award(
    database_url: str | None,
    year: int | None,
    unit: str,
    rule: str,
    decision: str,
    ref: str,
    note: str,
    actor_ident: str | None,
    at: datetime | None = None,
    rules_path: str | None = None,
) -> bool:
    """Record the authority's decision on one proposal (approved or rejected, with the decision's number
    and date, e.g. "125/QĐ-CAT ngày 30/9/2021"); audited, and the unit is told. True if it changed."""

    if decision not in DECISIONS:
        raise UserError(f"unknown decision {decision!r} (expected one of {', '.join(DECISIONS)})")
    document = str(document_ref(ref))
    when = at or now()
    rules = load_rules(Path(rules_path) if rules_path else get_settings().config_dir / "awards.yaml")
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        row = session.execute(
            select(Award, col(OrgUnit.id), col(OrgUnit.name))
            .join(Result, col(Result.assessment_id) == col(Award.assessment_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
            .where(col(Award.cycle_id) == cycle.id, col(OrgUnit.code) == unit, col(Award.rule) == rule)
            .limit(1)
        ).first()
        if row is None:
            raise UserError(f"{unit} has no {rule!r} proposal in the {cycle.year} cycle (see `cchc awards`)")
        award, unit_id, unit_name = row
        if award.status == decision and award.decision_ref == document:
            return False
        assert award.id is not None
        facts = AwardFacts(award.id, unit, rule, award.status)
        values = {"decision_ref": document, "decided_by": actor.code, "decided_at": when, "note": collapse_lines(note)}
        payload = {"rule": rule, "decision": decision, "ref": document, "before": award.status}
        change = Change(award.id, award.status, facts, values, payload, collapse_lines(note))
        trigger = "approve_award" if decision == AwardState.approved else "reject_award"
        fire_records(
            session,
            award_machine(),
            Award,
            trigger,
            [change],
            actor,
            when,
            kind="award",
            cycle_year=cycle.year,
            state_column="status",
        )
        names = {r.rule: r.name for r in rules.collective} | ({rules.head.rule: rules.head.name} if rules.head else {})
        notify_units(
            session,
            cycle,
            "award_decision",
            f"award-decision:{cycle.year}:{rule}:{decision}:{document}",
            [(int(unit_id or 0), unit, unit_name)],
            at=when,
            context={
                unit: {
                    "award_name": names.get(rule, rule),
                    "approved": decision == "approved",
                    "decision_ref": document,
                    "note": collapse_lines(note),
                }
            },
        )
        return True
