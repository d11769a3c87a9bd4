"""Opening a cycle and moving it through its phases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for, find_cycle, framework_document
from cchc.flows.params import AdvanceParams, OpenCycleParams
from cchc.flows.remediation import require_follow_ups, rules_path
from cchc.flows.runtime import engine_for, local_tz, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.calendar import CycleCalendar, calendar_path, carried_forward, load_calendar, parse_calendar
from cchc.models.datafile import read_yaml
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.framework import FrameworkDef, framework_path, load_framework
from cchc.models.people import Actor
from cchc.models.remediation import load_rules as load_remediation_rules
from cchc.models.tables import Assessment, Criterion, Cycle, CycleGroup, Deadline, Framework, OrgUnit
from cchc.models.text import canonical
from cchc.states.assessment import AssessmentState
from cchc.states.cycle import NEXT_TRIGGER, CyclePhase
from cchc.states.permissions import Action, authorize
from cchc.states.workflow import fire_assessments, fire_cycle, load_facts


@dataclass
class CycleInputs:
    calendar: CycleCalendar
    frameworks: dict[str, FrameworkDef]  # group → framework


@dataclass
class OpenSummary:
    year: int
    created: bool
    assessments_added: list[str] = field(default_factory=list)
    assessments: int = 0
    frameworks: dict[str, str] = field(default_factory=dict)  # group → "code v1 (91 sub-criteria)"
    phase: str = CyclePhase.planning


@task(name="read-cycle-config")
def read_cycle_inputs(year: int, path: str | None, from_year: int | None = None) -> CycleInputs:
    """Read and validate the cycle's calendar and the framework file of each group; with `from_year`,
    the calendar is that year's carried forward (see models.calendar.carried_forward)."""
    settings = get_settings()
    if from_year is not None:
        if from_year >= year:
            raise UserError(f"--from {from_year}: a cycle is carried forward from an earlier year than {year}")
        source = Path(path) if path else calendar_path(settings.config_dir, from_year)
        document = carried_forward(
            read_yaml(source), from_year, year, lambda code: framework_path(settings.config_dir, code).is_file()
        )
        calendar = parse_calendar(document, local_tz(), path=f"{source} (carried forward to {year})")
    else:
        cal_path = Path(path) if path else calendar_path(settings.config_dir, year)
        calendar = load_calendar(cal_path, local_tz())
        if calendar.year != year:
            raise UserError(f"{cal_path}: is the calendar of {calendar.year}, not {year}")
    frameworks: dict[str, FrameworkDef] = {}
    for group, code in calendar.frameworks.items():
        framework = load_framework(framework_path(settings.config_dir, code))
        if framework.group != group:
            raise UserError(f"{framework.path}: is the framework of group {framework.group!r}, not {group!r}")
        frameworks[group] = framework
    return CycleInputs(calendar, frameworks)


def _store_framework(session: Session, framework: FrameworkDef) -> int:
    """The id of the stored framework; stored now if new. A changed file must carry a new version."""
    row = session.execute(
        select(Framework).where(col(Framework.code) == framework.code, col(Framework.version) == framework.version)
    ).scalar_one_or_none()
    document = framework_document(framework)
    if row is not None:
        if row.document != document:
            raise UserError(
                f"{framework.path}: framework {framework.code} version {framework.version} is already in use "
                "with different content; give the changed file a new version number"
            )
        assert row.id is not None
        return row.id
    framework_id = session.execute(
        insert(Framework)
        .values(
            code=framework.code,
            version=framework.version,
            year=framework.year,
            group_code=framework.group,
            title=framework.title,
            total_points=framework.total_points,
            illustrative=framework.illustrative,
            sha256=framework.sha256,
            document=document,
        )
        .returning(col(Framework.id))
    ).scalar_one()
    rows = []
    position = 0
    for f in framework.fields:
        position += 1
        rows.append(
            {
                "code": f.code,
                "level": "field",
                "parent_code": None,
                "field_code": f.code,
                "name": f.name,
                "max_points": f.max_points,
                "tags": ",".join(f.tags),
                "position": position,
            }
        )
        for c in f.criteria:
            position += 1
            rows.append(
                {
                    "code": c.code,
                    "level": "criterion",
                    "parent_code": f.code,
                    "field_code": f.code,
                    "name": c.name,
                    "max_points": c.max_points,
                    "position": position,
                }
            )
            for s in c.subcriteria:
                position += 1
                rows.append(
                    {
                        "code": s.code,
                        "level": "sub",
                        "parent_code": c.code,
                        "field_code": f.code,
                        "name": s.name,
                        "max_points": s.max_points,
                        "evidence_required": s.evidence_required,
                        "method": s.method,
                        "metric": canonical(s.metric.as_dict()) if s.metric else None,
                        "position": position,
                    }
                )
    defaults = {"evidence_required": True, "method": "judged", "metric": None, "tags": ""}
    session.execute(insert(Criterion), [{**defaults, **r, "framework_id": framework_id} for r in rows])
    assert framework_id is not None
    return int(framework_id)


def _overrides(session: Session, calendar: CycleCalendar, cycle_id: int, at: datetime) -> list[dict[str, object]]:
    """Deadline rows of the calendar's overrides for a group or a unit (unknown codes are refused)."""
    units = dict(session.execute(select(col(OrgUnit.code), col(OrgUnit.id))).tuples().all())
    groups = set(calendar.frameworks)
    rows: list[dict[str, object]] = []
    for o in calendar.overrides:
        if o.unit is not None and o.unit not in units:
            raise UserError(f"{calendar.path}: override for unknown unit {o.unit!r}")
        if o.group is not None and o.group not in groups:
            raise UserError(f"{calendar.path}: override for group {o.group!r}, which has no framework in this cycle")
        rows.append(
            {
                "cycle_id": cycle_id,
                "phase": o.phase,
                "due_at": o.due_at,
                "group_code": o.group,
                "unit_id": units.get(o.unit) if o.unit else None,
                "reason": o.reason or "calendar",
                "granted_by": "calendar",
                "granted_at": at,
            }
        )
    return rows


@task(name="write-cycle")
def write_cycle(params: OpenCycleParams, inputs: CycleInputs) -> OpenSummary:
    """In one transaction: store the frameworks, create the cycle and its deadlines, and an assessment in
    state `plan` for every assessed unit not yet in it. Running it again adds nothing."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    calendar = inputs.calendar
    with write_session(engine) as session:
        actor = actor_for(session, params.actor, task="open-cycle")
        authority = session.execute(select(OrgUnit).where(col(OrgUnit.code) == calendar.authority)).scalar_one_or_none()
        if authority is None:
            raise UserError(
                f"{calendar.path}: authority {calendar.authority!r} is not in the organisation: run `cchc org load`"
            )
        authorize(Action.open_cycle, actor, at)
        framework_ids = {group: _store_framework(session, fw) for group, fw in inputs.frameworks.items()}
        cycle = session.execute(
            select(Cycle).where(col(Cycle.authority_id) == authority.id, col(Cycle.year) == params.year)
        ).scalar_one_or_none()
        created = cycle is None
        if cycle is None:
            cycle_id = session.execute(
                insert(Cycle)
                .values(
                    year=params.year,
                    authority_id=authority.id,
                    title=calendar.title,
                    phase=CyclePhase.planning,
                    evidence_from=calendar.evidence_from,
                    evidence_to=calendar.evidence_to,
                    opened_at=at,
                    config_sha256=calendar.sha256,
                    chase_policy=canonical(calendar.chase.as_dict()),
                    commitment_policy=canonical(calendar.commitments.as_dict()),
                    version=1,
                    imported=False,
                )
                .returning(col(Cycle.id))
            ).scalar_one()
            assert cycle_id is not None
            session.execute(
                insert(CycleGroup),
                [{"cycle_id": cycle_id, "group_code": g, "framework_id": fid} for g, fid in framework_ids.items()],
            )
            session.execute(
                insert(Deadline),
                [
                    *(
                        {"cycle_id": cycle_id, "phase": phase, "due_at": due}
                        for phase, due in calendar.deadlines.items()
                    ),
                    *_overrides(session, calendar, cycle_id, at),
                ],
            )
            append(
                session,
                [
                    EventDraft(
                        kind="cycle",
                        trigger=Event.open,
                        actor=actor.code,
                        at=at,
                        cycle_year=params.year,
                        to_state=CyclePhase.planning,
                        reason=calendar.title,
                        payload={
                            "calendar": calendar.path,
                            "calendar_sha256": calendar.sha256,
                            "frameworks": {
                                g: f"{fw.code} v{fw.version} {fw.sha256}" for g, fw in inputs.frameworks.items()
                            },
                            "deadlines": calendar.deadlines,
                        },
                    )
                ],
            )
            cycle = session.get(Cycle, cycle_id)
            assert cycle is not None
        elif cycle.imported:
            raise UserError(f"the {params.year} results were imported from paper; that year cannot be run here")
        elif cycle.config_sha256 != calendar.sha256:
            raise UserError(
                f"{calendar.path}: the {params.year} cycle is already open with a different calendar; "
                "deadlines of an open cycle change by extensions, not by editing its file"
            )
        existing = {
            row[0]: row[1]
            for row in session.execute(
                select(col(CycleGroup.group_code), col(CycleGroup.framework_id)).where(
                    col(CycleGroup.cycle_id) == cycle.id
                )
            )
        }
        if existing != framework_ids:
            raise UserError(f"{calendar.path}: the {params.year} cycle was opened with other frameworks")
        new_units = session.execute(
            select(col(OrgUnit.id), col(OrgUnit.code), col(OrgUnit.group_code))
            .where(
                col(OrgUnit.active).is_(True),
                col(OrgUnit.parent_id) == authority.id,
                col(OrgUnit.group_code).is_not(None),
                ~select(col(Assessment.id))
                .where(col(Assessment.cycle_id) == cycle.id, col(Assessment.unit_id) == col(OrgUnit.id))
                .exists(),
            )
            .order_by(col(OrgUnit.code))
        ).all()
        unknown_groups = sorted({g for _, _, g in new_units if g not in framework_ids})
        if unknown_groups:
            raise UserError(f"{calendar.path}: no framework is named for group(s) {', '.join(unknown_groups)}")
        if new_units:
            session.execute(
                insert(Assessment),
                [
                    {
                        "cycle_id": cycle.id,
                        "unit_id": uid,
                        "group_code": group,
                        "framework_id": framework_ids[group],
                        "state": AssessmentState.plan,
                        "version": 1,
                        "appraisal_version": 0,
                        "updated_at": at,
                        "supplement_note": "",
                        "supplement_criteria": "",
                    }
                    for uid, _, group in new_units
                ],
            )
            append(
                session,
                [
                    EventDraft(
                        kind="transition",
                        trigger=Event.open,
                        actor=actor.code,
                        at=at,
                        cycle_year=params.year,
                        unit_code=code,
                        to_state=AssessmentState.plan,
                        payload={"group": group, "framework": inputs.frameworks[group].code},
                    )
                    for _, code, group in new_units
                ],
            )
        total = session.execute(select(col(Assessment.id)).where(col(Assessment.cycle_id) == cycle.id)).all()
        return OpenSummary(
            year=params.year,
            created=created,
            assessments_added=[code for _, code, _ in new_units],
            assessments=len(total),
            frameworks={
                g: f"{fw.code} v{fw.version} ({len(fw.fields)} fields, {len(fw.criteria)} criteria, "
                f"{len(fw.subcriteria)} sub-criteria, {fw.total_points} points)"
                for g, fw in inputs.frameworks.items()
            },
            phase=cycle.phase,
        )


@flow(name="open-cycle")
def open_cycle_flow(params: OpenCycleParams) -> OpenSummary:
    """Open (or complete) a year's cycle: frameworks, calendar, one assessment per assessed unit."""
    inputs = read_cycle_inputs(params.year, params.calendar_path, params.from_year)
    summary = write_cycle(params, inputs)
    get_run_logger().info(
        "cycle %s: %s assessments (%s new)", params.year, summary.assessments, len(summary.assessments_added)
    )
    return summary


@dataclass
class AdvanceSummary:
    year: int
    from_phase: str
    to_phase: str
    units_moved: int = 0
    follow_ups: dict[str, int] = field(default_factory=dict)  # kind → units that now owe it


ADVANCED_BY_FLOW = {"publish": "cchc publish", "begin_awards": "cchc awards"}
REMEDIATE = "begin_remediation"  # entering remediation records what each unit owes (flows/remediation.py)


@task(name="advance-cycle")
def advance_cycle(params: AdvanceParams) -> AdvanceSummary:
    """Fire the cycle's next phase trigger, with the unit moves it implies, in one transaction."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    with write_session(engine) as session:
        cycle = find_cycle(session, params.year)
        actor = actor_for(session, params.actor, task="advance-cycle")
        trigger = NEXT_TRIGGER.get(cycle.phase)
        if trigger is None:
            raise UserError(f"the {cycle.year} cycle is closed")
        if trigger in ADVANCED_BY_FLOW:
            raise UserError(f"the {cycle.year} cycle moves on from {cycle.phase!r} with `{ADVANCED_BY_FLOW[trigger]}`")
        before = cycle.phase
        rules = load_remediation_rules(rules_path(params.remediation_rules_path)) if trigger == REMEDIATE else None
        moved = _advance(session, cycle, trigger, actor, at, params.reason)
        summary = AdvanceSummary(year=cycle.year, from_phase=before, to_phase=cycle.phase, units_moved=moved)
        if rules is not None:
            owed = require_follow_ups(session, cycle, actor, at, rules)
            summary.follow_ups = {kind: len(units) for kind, units in owed.required.items()}
        return summary


def _advance(session: Session, cycle: Cycle, trigger: str, actor: Actor, at: datetime, reason: str) -> int:
    fire_cycle(session, cycle, trigger, actor, at, reason=reason)
    if trigger != "begin_self_assessment":
        return 0
    facts = load_facts(session, cycle, states=[AssessmentState.plan])
    fired = fire_assessments(session, "begin_self_assessment", facts, actor, at, reason=reason)
    if fired.refused:
        raise UserError(str(fired.refused[0]))
    return len(fired.moved)


@flow(name="advance-cycle")
def advance_cycle_flow(params: AdvanceParams) -> AdvanceSummary:
    """Move a cycle to its next phase (plans in → self-assessment → appraisal; awards → remediation → closed)."""
    return advance_cycle(params)
