"""After publication: remediation plans from weak units and next year's breakthrough work from every unit.

When the cycle enters its remediation phase, the current publication decides who owes what (rules in
config/remediation.yaml); each obligation is a `follow_up` row with its reasons, chased by the deadline
sweep until the unit's document is recorded. Requiring again after a corrected publication adds what the
new version requires, updates the reasons, and waives what it no longer requires; nothing else changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import (
    Deadlines,
    actor_for,
    class_bands,
    current_publication,
    cycle_of,
    document_ref,
    stored_framework,
)
from cchc.flows.notices import notify_units
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.people import Actor
from cchc.models.remediation import RemediationRules, fields_of, load_rules, remediation_reasons
from cchc.models.tables import Assessment, Cycle, CycleGroup, FieldResult, FollowUp, OrgUnit, Result
from cchc.models.text import collapse_lines
from cchc.states.cycle import CyclePhase
from cchc.states.followup import FollowUpState, follow_up_machine
from cchc.states.guards import Context, FollowUpFacts
from cchc.states.permissions import Action, authorize
from cchc.states.workflow import Change, fire_records

F = FollowUpState
KINDS = ("remediation", "breakthrough")
MESSAGE_OF = {"remediation": "remediation_request", "breakthrough": "breakthrough_request"}


@dataclass
class RequireSummary:
    year: int
    publication_version: int
    required: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})  # kind → units
    updated: list[str] = field(default_factory=list)
    waived: list[str] = field(default_factory=list)


@dataclass
class FollowUpRow:
    unit: str
    name: str
    group: str
    kind: str
    state: str
    due_at: datetime | None
    reasons: list[str]
    publication_version: int
    ref: str
    received_at: datetime | None
    received_by: str


def rules_path(path: str | None) -> Path:
    return Path(path) if path else get_settings().config_dir / "remediation.yaml"


def follow_up_due(session: Session, cycle: Cycle) -> dict[str, Deadlines]:
    """The deadline of each kind: breakthrough work falls back on the remediation deadline."""
    remediation = Deadlines(session, cycle, "remediation")
    breakthrough = Deadlines(session, cycle, "breakthrough")
    if breakthrough.default is None:
        breakthrough.default = remediation.default
    return {"remediation": remediation, "breakthrough": breakthrough}


def _published_fields(session: Session, publication_id: int) -> dict[int, dict[str, tuple[Decimal, Decimal]]]:
    rows = session.execute(
        select(
            col(FieldResult.assessment_id),
            col(FieldResult.field_code),
            col(FieldResult.points),
            col(FieldResult.max_points),
        ).where(col(FieldResult.publication_id) == publication_id)
    ).tuples()
    fields: dict[int, dict[str, tuple[Decimal, Decimal]]] = {}
    for aid, code, points, maximum in rows:
        fields.setdefault(aid, {})[code] = (points, maximum)
    return fields


def require_follow_ups(
    session: Session, cycle: Cycle, actor: Actor, at: datetime, rules: RemediationRules
) -> RequireSummary:
    """Record what each unit owes by the current publication; idempotent; one bulk write of each kind."""

    publication = current_publication(session, cycle)
    if publication is None or publication.id is None:
        raise UserError(f"the {cycle.year} results are not published yet: remediation follows publication")
    due = follow_up_due(session, cycle)
    if due["remediation"].default is None:
        raise UserError(f"the {cycle.year} calendar has no remediation deadline (deadlines › remediation)")
    bands = {g: {b.code: b.name for b in bs} for g, bs in class_bands(session, cycle).items()}
    field_names: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    for group, fid in session.execute(
        select(col(CycleGroup.group_code), col(CycleGroup.framework_id)).where(col(CycleGroup.cycle_id) == cycle.id)
    ).tuples():
        if fid is not None:
            field_names[group] = {f.code: (f.name, f.tags) for f in stored_framework(session, fid).fields}
    published_fields = _published_fields(session, publication.id)
    existing = {
        (uid, kind): (int(fid or 0), state, reasons)
        for fid, uid, kind, state, reasons in session.execute(
            select(
                col(FollowUp.id), col(FollowUp.unit_id), col(FollowUp.kind), col(FollowUp.state), col(FollowUp.reasons)
            ).where(col(FollowUp.cycle_id) == cycle.id)
        ).tuples()
    }
    summary = RequireSummary(cycle.year, publication.version)
    new_rows: list[dict[str, object]] = []
    events: list[EventDraft] = []  # of the rows born required; the moves of the others are the workflow's
    moves: dict[tuple[str, str], list[Change]] = {}  # (trigger, kind) → the follow-ups it moves
    notices: dict[str, list[tuple[int, str, str]]] = {k: [] for k in KINDS}
    contexts: dict[str, dict[str, dict[str, object]]] = {k: {} for k in KINDS}  # kind → unit → message context
    for aid, uid, code, name, group, class_code in session.execute(
        select(
            col(Result.assessment_id),
            col(Result.unit_id),
            col(OrgUnit.code),
            col(OrgUnit.name),
            col(Result.group_code),
            col(Result.class_code),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Result.publication_id) == publication.id)
        .order_by(col(OrgUnit.code))
    ).tuples():
        owed: dict[str, list[str]] = {}
        reasons = remediation_reasons(
            class_code,
            bands.get(group, {}).get(class_code, class_code),
            fields_of(published_fields.get(aid, {}), field_names.get(group, {})),
            rules,
        )
        if reasons:
            owed["remediation"] = reasons
        if rules.breakthrough:
            owed["breakthrough"] = []
        for kind in KINDS:
            before = existing.get((uid, kind))
            text = json.dumps(owed.get(kind, []), ensure_ascii=False)
            if before is None:
                if kind in owed:
                    new_rows.append(
                        {
                            "cycle_id": cycle.id,
                            "assessment_id": aid,
                            "unit_id": uid,
                            "kind": kind,
                            "reasons": text,
                            "publication_version": publication.version,
                            "state": F.required,
                            "required_at": at,
                        }
                    )
                    summary.required[kind].append(code)
                    notices[kind].append((uid, code, name))
                    contexts[kind][code] = {"reasons": owed[kind], "due": (due[kind].due(uid, group) or at).isoformat()}
                    reason, payload = _why(owed[kind], publication.version)
                    events.append(
                        EventDraft(
                            kind=kind,
                            trigger=Event.require,
                            actor=actor.code,
                            at=at,
                            cycle_year=cycle.year,
                            unit_code=code,
                            to_state=F.required,
                            reason=reason,
                            payload=payload,
                        )
                    )
                continue
            follow_up_id, state, stored = before
            facts = FollowUpFacts(follow_up_id, code, kind, state, publication.version)
            if kind in owed and (state == F.waived or (state == F.required and stored != text)):
                reason, payload = _why(owed[kind], publication.version)
                values = {"reasons": text, "publication_version": publication.version}
                change = Change(follow_up_id, state, facts, values, payload, reason)
                moves.setdefault(("require", kind), []).append(change)
                summary.updated.append(code)
            elif kind not in owed and state == F.required:
                reason, payload = _why([], publication.version, waived=True)
                values = {"publication_version": publication.version}
                moves.setdefault(("waive", kind), []).append(
                    Change(follow_up_id, state, facts, values, payload, reason)
                )
                summary.waived.append(code)
    if new_rows:
        session.execute(insert(FollowUp), new_rows)
    append(session, events)
    for (trigger, kind), changes in moves.items():
        fire_records(
            session, follow_up_machine(), FollowUp, trigger, changes, actor, at, kind=kind, cycle_year=cycle.year
        )
    for kind, units in notices.items():
        notify_units(
            session,
            cycle,
            MESSAGE_OF[kind],
            f"{kind}:{cycle.year}:v{publication.version}",
            units,
            at,
            context=contexts[kind],
        )
    return summary


def _why(reasons: list[str], version: int, *, waived: bool = False) -> tuple[str, dict[str, object]]:
    """The reason and the payload of a follow-up's event: why it is owed (or by which publication it is
    waived), and the publication that decided it."""
    reason = "; ".join(reasons) if reasons else (f"publication v{version}" if waived else "")
    return reason, {"publication_version": version, **({"reasons": reasons} if reasons else {})}


def require_again(
    database_url: str | None, year: int | None, actor_ident: str | None, path: str | None, at: datetime | None = None
) -> RequireSummary:
    """After a corrected publication, bring the follow-ups in line with the current version."""
    rules = load_rules(rules_path(path))
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        authorize(Action.require_follow_ups, actor, when)
        if cycle.phase != CyclePhase.remediation:
            raise UserError(f"the {cycle.year} cycle is in its {cycle.phase} phase, not remediation")
        return require_follow_ups(session, cycle, actor, when, rules)


def receive_follow_up(
    database_url: str | None,
    year: int | None,
    unit: str,
    kind: str,
    ref: str,
    note: str,
    actor_ident: str | None,
    at: datetime | None = None,
) -> bool:
    """Record the unit's remediation plan or breakthrough registration (a dated document reference,
    e.g. "12/KH-CAH ngày 05/4/2022"); True if new, False if the same document was already recorded."""
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    document = str(document_ref(ref))
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        row = session.execute(
            select(FollowUp, Assessment, OrgUnit)
            .join(Assessment, col(Assessment.id) == col(FollowUp.assessment_id))
            .join(OrgUnit, col(OrgUnit.id) == col(FollowUp.unit_id))
            .where(col(FollowUp.cycle_id) == cycle.id, col(OrgUnit.code) == unit, col(FollowUp.kind) == kind)
        ).first()
        if row is None:
            raise UserError(f"{unit} owes no {kind} document in the {cycle.year} cycle")
        follow_up, _, org_unit = row
        assert follow_up.id is not None
        facts = FollowUpFacts(follow_up.id, org_unit.code, kind, follow_up.state, follow_up.publication_version)
        if follow_up.state == F.received and follow_up.ref == document:  # the same document again: nothing to do,
            follow_up_machine().fire("receive", follow_up.state, Context(actor, when, facts), subject=unit)  # if theirs
            return False
        values = {"ref": document, "note": collapse_lines(note), "received_at": when, "received_by": actor.code}
        payload = {"ref": document, **({"replaces": follow_up.ref} if follow_up.ref else {})}
        change = Change(follow_up.id, follow_up.state, facts, values, payload, reason=document)
        fire_records(
            session, follow_up_machine(), FollowUp, "receive", [change], actor, when, kind=kind, cycle_year=cycle.year
        )
        return True


def list_follow_ups(session: Session, cycle: Cycle) -> list[FollowUpRow]:
    due = follow_up_due(session, cycle)
    rows = session.execute(
        select(FollowUp, col(OrgUnit.code), col(OrgUnit.name), col(Assessment.group_code))
        .join(OrgUnit, col(OrgUnit.id) == col(FollowUp.unit_id))
        .join(Assessment, and_(col(Assessment.id) == col(FollowUp.assessment_id)))
        .where(col(FollowUp.cycle_id) == cycle.id)
        .order_by(col(FollowUp.kind).desc(), col(Assessment.group_code), col(OrgUnit.code))
    ).all()
    return [
        FollowUpRow(
            code,
            name,
            group,
            f.kind,
            f.state,
            due[f.kind].due(f.unit_id, group),
            json.loads(f.reasons or "[]"),
            f.publication_version,
            f.ref,
            f.received_at,
            f.received_by,
        )
        for f, code, name, group in rows
    ]


def read_follow_ups(database_url: str | None, year: int | None) -> list[FollowUpRow]:
    with read_session(engine_for(database_url)) as session:
        return list_follow_ups(session, cycle_of(session, year))
