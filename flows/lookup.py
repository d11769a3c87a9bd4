"""Lookups every flow needs, turning "not found" into a UserError that says what to do."""

from __future__ import annotations

import json
from datetime import datetime
from typing import NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.errors import UserError
from cchc.models.evidence import BadReference, EvidenceRef, parse_reference
from cchc.models.framework import ClassBand, FrameworkDef, parse_framework
from cchc.models.people import Actor, UnknownActor, resolve_actor, system_actor
from cchc.models.tables import Assessment, Cycle, CycleGroup, Deadline, Framework, OrgUnit, Publication, UnitGroup
from cchc.models.text import canonical
from cchc.states.guards import AssessmentFacts, Context, is_unit_member_or_coordinator

_CYCLE = select(Cycle).where(col(Cycle.year) == bindparam("year"))  # built once: every page and save asks


def find_cycle(session: Session, year: int) -> Cycle:
    cycles = list(session.execute(_CYCLE, {"year": year}).scalars())
    if not cycles:
        raise UserError(f"there is no {year} cycle: open it with `cchc cycle open --year {year}`")
    if len(cycles) > 1:
        raise UserError(f"more than one authority runs a {year} cycle; this database should hold one authority")
    return cycles[0]


def cycle_of(session: Session, year: int | None) -> Cycle:
    """The cycle of a year, or the newest one run here when no year is given."""
    return find_cycle(session, year if year is not None else latest_cycle_year(session))


def latest_cycle_year(session: Session) -> int:
    year = (
        session.execute(select(col(Cycle.year)).where(col(Cycle.imported).is_(False)).order_by(col(Cycle.year).desc()))
        .scalars()
        .first()
    )
    if year is None:
        raise UserError("no cycle is open yet: run `cchc cycle open --year YYYY`")
    return year


def cycle_groups(session: Session, cycle: Cycle) -> list[str]:
    """The codes of a cycle's unit groups (those it scores and those its assessments belong to), in the
    organisation's order: the parts a flow's work is split into."""
    codes = set(
        session.execute(select(col(CycleGroup.group_code)).where(col(CycleGroup.cycle_id) == cycle.id)).scalars()
    )
    codes |= set(
        session.execute(
            select(col(Assessment.group_code)).where(col(Assessment.cycle_id) == cycle.id).distinct()
        ).scalars()
    )
    positions = dict(session.execute(select(col(UnitGroup.code), col(UnitGroup.position))).tuples().all())
    return sorted(codes, key=lambda code: (positions.get(code, 0), code))


def check_group(session: Session, cycle: Cycle, group: str, *, other: str | None = None) -> None:
    """Refuse a group code the cycle does not have (naming those it has, and `other` if that part is allowed
    too), before any work."""
    groups = cycle_groups(session, cycle)
    if group != other and group not in groups:
        also = f", or {other}" if other else ""
        raise UserError(f"no group {group!r} in the {cycle.year} cycle (groups: {', '.join(groups)}{also})")


def unit_assessment(session: Session, cycle: Cycle, unit: str) -> tuple[Assessment, OrgUnit]:
    """A unit's assessment in a cycle, or a UserError naming the unit."""
    row = session.execute(
        select(Assessment, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id, col(OrgUnit.code) == unit)
    ).first()
    if row is None:
        raise UserError(f"not a unit of the {cycle.year} cycle: {shown(unit)}")
    assessment, org_unit = row
    return assessment, org_unit


def shown(code: str) -> str:
    """A code as a message shows it: as typed, or quoted where quotes tell more (empty, blanks around it,
    characters that do not print)."""
    return code if code and code == code.strip() and code.isprintable() else repr(code)


def member_refusal(cycle: Cycle, assessment: Assessment, org_unit: OrgUnit, actor: Actor, at: datetime) -> str | None:
    """Why the actor may not act for the unit (neither one of its people nor a coordinator), or None."""
    facts = AssessmentFacts(
        assessment.id or 0,
        org_unit.code,
        org_unit.name,
        assessment.group_code,
        assessment.state,
        assessment.version,
        cycle.year,
        cycle.phase,
    )
    return is_unit_member_or_coordinator(Context(actor=actor, at=at, facts=facts))


def acting_for_unit(
    session: Session, year: int | None, unit: str, actor_ident: str | None, at: datetime
) -> tuple[Cycle, Actor, Assessment, OrgUnit]:
    """The cycle, the person and the unit's assessment when the person may act for the unit (one of its
    people, or a coordinator); else a UserError saying why."""
    cycle = cycle_of(session, year)
    actor = actor_for(session, actor_ident)
    assessment, org_unit = unit_assessment(session, cycle, unit)
    refusal = member_refusal(cycle, assessment, org_unit, actor, at)
    if refusal:
        raise UserError(refusal)
    return cycle, actor, assessment, org_unit


def actor_for(session: Session, ident: str | None, *, task: str | None = None) -> Actor:
    """The person acting (by code or e-mail), or the system for automated work."""
    if ident is None:
        if task is not None:
            return system_actor(task)
        raise UserError("say who is acting: --as CODE-OR-EMAIL (or set CCHC_ACTOR)")
    try:
        return resolve_actor(session, ident)
    except UnknownActor as exc:
        raise UserError(str(exc)) from None


def stored_framework(session: Session, framework_id: int) -> FrameworkDef:
    """A framework exactly as it was stored when its cycle opened. Parsed once per process (~5 ms for 91
    sub-criteria, on every page otherwise): a stored framework never changes, and its code, version and
    SHA-256 name its document, so only they are read once it is known (once per transaction: a save asks for
    it twice)."""
    seen: dict[int, FrameworkDef] = session.info.setdefault("cchc.frameworks", {})
    if framework_id in seen:
        return seen[framework_id]
    row = session.execute(_FRAMEWORK_KEY, {"id": framework_id}).first()
    assert row is not None, f"framework #{framework_id} is missing"
    key = (str(row[0]), int(row[1]), str(row[2]))
    framework = _PARSED.get(key) if key[2] else None  # a framework made without a file has no SHA-256
    if framework is None:
        document = session.execute(
            select(col(Framework.document)).where(col(Framework.id) == framework_id)
        ).scalar_one()
        framework = parse_framework(json.loads(document), path=f"framework {key[0]} v{key[1]}", sha256=key[2])
        if key[2]:
            if len(_PARSED) >= 16:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = framework
    seen[framework_id] = framework
    return framework


_FRAMEWORK_KEY = select(col(Framework.code), col(Framework.version), col(Framework.sha256)).where(
    col(Framework.id) == bindparam("id")
)
# parsed frameworks by (code, version, SHA-256); FrameworkDef is frozen, so callers cannot change one
_PARSED: dict[tuple[str, int, str], FrameworkDef] = {}


def class_bands(session: Session, cycle: Cycle) -> dict[str, tuple[ClassBand, ...]]:
    """The classification bands of each group's framework, as the cycle stored it."""
    rows = session.execute(
        select(col(CycleGroup.group_code), col(CycleGroup.framework_id)).where(col(CycleGroup.cycle_id) == cycle.id)
    ).all()
    return {group: stored_framework(session, fid).classes for group, fid in rows if fid is not None}


def framework_document(framework: FrameworkDef) -> str:
    return canonical(framework.as_document())


def cycle_deadline(session: Session, cycle: Cycle, phase: str) -> datetime | None:
    return session.execute(
        select(col(Deadline.due_at)).where(
            col(Deadline.cycle_id) == cycle.id,
            col(Deadline.phase) == phase,
            col(Deadline.group_code).is_(None),
            col(Deadline.unit_id).is_(None),
        )
    ).scalar_one_or_none()


def current_publication(session: Session, cycle: Cycle) -> Publication | None:
    return session.execute(
        select(Publication).where(col(Publication.cycle_id) == cycle.id, col(Publication.current).is_(True))
    ).scalar_one_or_none()


class Deadlines:
    """A phase's deadline for each unit: a unit's own override, else its group's, else the cycle's."""

    def __init__(self, session: Session, cycle: Cycle, phase: str) -> None:
        rows = session.execute(
            select(col(Deadline.due_at), col(Deadline.group_code), col(Deadline.unit_id)).where(
                col(Deadline.cycle_id) == cycle.id, col(Deadline.phase) == phase
            )
        ).all()
        self.default: datetime | None = None
        self.by_group: dict[str, datetime] = {}
        self.by_unit: dict[int, datetime] = {}
        for due, group, unit_id in rows:
            if unit_id is not None:
                self.by_unit[unit_id] = due
            elif group is not None:
                self.by_group[group] = due
            else:
                self.default = due

    def due(self, unit_id: int, group: str) -> datetime | None:
        return self.by_unit.get(unit_id) or self.by_group.get(group) or self.default


REF_LENGTH = 120  # the longest reference kept whole (a unit's plan, an award decision, a follow-up document)


def document_ref(text: str, option: str = "--ref") -> EvidenceRef:
    """A document reference given on the command line (number/TYPE-ISSUER with its date), or a UserError
    naming the option."""
    try:
        ref = parse_reference(text)
    except BadReference as exc:
        raise UserError(f"{option}: {exc}") from None
    return ref if len(str(ref)) <= REF_LENGTH else _too_long(str(ref), option)


def kept_ref(text: str, option: str = "--ref") -> str:
    """A reference kept as written (on one line), or a UserError naming the option when it is too long."""
    return text if len(text) <= REF_LENGTH else _too_long(text, option)


def _too_long(text: str, option: str) -> NoReturn:
    raise UserError(
        f"{option}: {text[:40]!r}… has {len(text)} characters; a reference is kept in at most {REF_LENGTH} "
        "(the number, the date and a short title)"
    )
