"""Appraisal (thẩm định): deterministic and idempotent. The same inputs give the same scores and no new
event; changed inputs (a supplement, an appraiser's correction) give a new appraisal version whose diff
(criterion, before, after, rule, by whom) is in the audit trail. Also: bonus and penalty adjustments.

On a Prefect server with workers, appraisal can be shared out by unit group (`appraise_by_group_flow`):
one child run per group, each one transaction over its group's units."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect import flow, task
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.fanout import start_group_runs, wait_for_group_runs
from cchc.flows.lookup import (
    Deadlines,
    actor_for,
    check_group,
    cycle_groups,
    cycle_of,
    shown,
    stored_framework,
    unit_assessment,
)
from cchc.flows.params import AppraiseByGroupParams, AppraiseParams
from cchc.flows.runtime import engine_for, now
from cchc.flows.selfassessment import sub_slots
from cchc.models.audit import Event, EventDraft, append
from cchc.models.bulk import bulk_work, staged_update
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.framework import FrameworkDef
from cchc.models.people import Actor
from cchc.models.scoresheet import SheetError, UnitSlot, read_appraiser_scores
from cchc.models.scoring import Appraised, appraise_sub, is_on_time
from cchc.models.tables import Adjustment, Assessment, Cycle, Score, table_of
from cchc.models.types import from_hundredths, to_hundredths
from cchc.states.assessment import AssessmentState, assessment_machine
from cchc.states.guards import AssessmentFacts, Context
from cchc.states.machine import TransitionNotAllowed
from cchc.states.permissions import Action, authorize
from cchc.states.workflow import fire_assessments, hold, load_facts

S = AssessmentState
APPRAISABLE = (S.submitted, S.appraised, S.supplemented)


@dataclass
class AppraiseSummary:
    year: int
    appraised: list[str] = field(default_factory=list)  # first appraisal
    reappraised: list[str] = field(default_factory=list)  # a new version with changes
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    changed_scores: int = 0


@dataclass
class _Proposal:
    facts: AssessmentFacts
    trigger: str
    payload: dict[str, Any]
    updated: int = 0
    total: int = 0  # hundredths


def _trigger_for(state: str) -> str:
    return "appraise" if state == S.submitted else "reappraise"


def _check(facts: AssessmentFacts, actor: Actor, at: datetime) -> str | None:
    """Why this actor may not (re)appraise this unit now, or None."""
    try:
        assessment_machine().fire(
            _trigger_for(facts.state),
            facts.state,
            Context(actor=actor, at=at, facts=facts),
            subject=facts.unit_code,
        )
    except TransitionNotAllowed as refusal:
        return str(refusal)
    return None


SCORES_SQL = (
    "SELECT s.assessment_id, s.criterion_id, c.code, s.self_points, s.not_applicable, s.evidence, s.metric, "
    "s.appraiser_points, s.appraised_points FROM score s JOIN criterion c ON c.id = s.criterion_id "
    "WHERE s.assessment_id IN ({ids}) ORDER BY s.assessment_id, c.position"
)
CHUNK_UNITS = 500


def appraise_scores(
    session: Session,
    facts: Sequence[AssessmentFacts],
    frameworks: dict[int, FrameworkDef],
) -> list[_Proposal]:
    """Appraise every applicable sub-criterion of these assessments by the pure rules, 500 units at a time,
    writing the scores that change; each proposal says what changed (the payload of its event)."""
    proposals = {f.assessment_id: _Proposal(f, _trigger_for(f.state), {"changed": {}}) for f in facts}
    points = _PointsCache()
    ids = sorted(proposals)
    connection = session.connection()
    with staged_update(session, "score", ("assessment_id", "criterion_id"), ("appraised_points",)) as write:
        for start in range(0, len(ids), CHUNK_UNITS):
            _appraise_chunk(connection, ids[start : start + CHUNK_UNITS], proposals, frameworks, points, write)
    return [proposals[f.assessment_id] for f in facts]


def _appraise_chunk(
    connection: Any,
    chunk: list[int],
    proposals: dict[int, _Proposal],
    frameworks: dict[int, FrameworkDef],
    points: _PointsCache,
    write: Callable[[list[tuple[int, int, int | None]]], int],
) -> None:
    """One part of the appraisal: its units' rows read, appraised by the rules, the changed points given to
    `write`."""
    updates: list[tuple[int, int, int | None]] = []
    rows = connection.exec_driver_sql(SCORES_SQL.format(ids=",".join(str(int(i)) for i in chunk)))
    for aid, cid, code, self_raw, na, evidence, metric, appraiser_raw, stored in rows:
        proposal = proposals[aid]
        sub = frameworks[proposal.facts.framework_id].sub(code)
        assert sub is not None, f"{code} missing from framework {proposal.facts.framework_id}"
        result: Appraised = appraise_sub(
            sub,
            self_points=points.decimal(self_raw),
            not_applicable=bool(na),
            evidence=evidence,
            metric=metric,
            appraiser_points=points.decimal(appraiser_raw),
        )
        new = points.raw(result.points)
        if new is not None:
            proposal.total += new
        if new != stored:
            updates.append((aid, cid, new))
            proposal.updated += 1
        if proposal.trigger == "appraise":
            if new != self_raw:
                proposal.payload["changed"][code] = {
                    "self": _pts(self_raw),
                    "appraised": _pts(new),
                    "rule": result.rule,
                }
        elif new != stored:
            proposal.payload["changed"][code] = {"before": _pts(stored), "after": _pts(new), "rule": result.rule}
    write(updates)


class _PointsCache:
    """Hundredths ↔ Decimal for the few distinct values a table of scores holds (no per-row arithmetic)."""

    def __init__(self) -> None:
        self._decimals: dict[int, Decimal] = {}

    def decimal(self, raw: int | None) -> Decimal | None:
        if raw is None:
            return None
        value = self._decimals.get(raw)
        if value is None:
            value = self._decimals[raw] = from_hundredths(raw)
        return value

    @staticmethod
    def raw(value: Decimal | None) -> int | None:
        return None if value is None else to_hundredths(value)


def _pts(raw: int | None) -> str | None:
    return None if raw is None else str(from_hundredths(raw))


@task(name="appraise")
def appraise(params: AppraiseParams) -> AppraiseSummary:
    """(Re)appraise the units waiting for it, in one transaction."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    with write_session(engine) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor)
        if params.group is not None:
            check_group(session, cycle, params.group)
        facts = load_facts(session, cycle, unit_codes=params.units or None, states=None, group=params.group)
        known = {f.unit_code for f in facts}
        missing = sorted(set(params.units) - known)
        if missing:
            of = f"group {params.group} of the {cycle.year} cycle" if params.group else f"the {cycle.year} cycle"
            raise UserError(f"not a unit of {of}: {', '.join(map(shown, missing))}")
        summary = AppraiseSummary(year=cycle.year)
        waiting = [f for f in facts if f.state in APPRAISABLE]
        for f in facts:
            if params.units and f.state not in APPRAISABLE:
                summary.refused.append(f"{f.unit_code}: is in state {f.state!r}, not waiting for appraisal")
        allowed: list[AssessmentFacts] = []
        refusals: dict[str, str] = {}
        for f in waiting:
            reason = _check(f, actor, at)
            if reason:
                refusals[f.unit_code] = reason
            else:
                allowed.append(f)
        summary.refused += list(refusals.values())
        frameworks = {fid: stored_framework(session, fid) for fid in {f.framework_id for f in waiting}}
        if params.scores_path:
            _take_appraiser_scores(session, cycle, Path(params.scores_path), waiting, refusals, frameworks, actor, at)
        with bulk_work():
            proposals = appraise_scores(session, allowed, frameworks)
        version_bump = {"appraisal_version": table_of(Assessment).c.appraisal_version + 1, "appraised_at": at}
        first = [p for p in proposals if p.trigger == "appraise"]
        again = [p for p in proposals if p.trigger == "reappraise" and p.updated]
        summary.unchanged = [p.facts.unit_code for p in proposals if p.trigger == "reappraise" and not p.updated]
        for group, trigger in ((first, "appraise"), (again, "reappraise")):
            if not group:
                continue
            payloads = {p.facts.assessment_id: {**p.payload, "total": _pts(p.total)} for p in group}
            fired = fire_assessments(
                session, trigger, [p.facts for p in group], actor, at, values=version_bump, payloads=payloads
            )
            assert not fired.refused, fired.refused  # checked above with the same facts
            summary.changed_scores += sum(p.updated for p in group)
            (summary.appraised if trigger == "appraise" else summary.reappraised).extend(
                p.facts.unit_code for p in group
            )
        return summary


def _take_appraiser_scores(
    session: Session,
    cycle: Cycle,
    path: Path,
    waiting: Sequence[AssessmentFacts],
    refusals: dict[str, str],
    frameworks: dict[int, FrameworkDef],
    actor: Actor,
    at: datetime,
) -> None:
    """Store the appraiser's own scores (inputs of the appraisal), refusing the file if anything is wrong."""
    slots: dict[str, UnitSlot] = {}
    for f in waiting:
        slots[f.unit_code] = UnitSlot(f.assessment_id, f.framework_id, f.state, None, refusals.get(f.unit_code))
    subs = sub_slots(session, {s.framework_id for s in slots.values()})
    rows, problems, count = read_appraiser_scores(path, slots, subs)
    if count:
        raise SheetError(problems, count)
    table = table_of(Score)
    current = {
        (a, c): (p, n)
        for a, c, p, n in session.execute(
            select(
                col(Score.assessment_id),
                col(Score.criterion_id),
                col(Score.appraiser_points),
                col(Score.appraisal_note),
            ).where(col(Score.assessment_id).in_([r.assessment_id for r in rows]))
        )
    }
    changed = []
    for r in rows:
        old = current.get((r.assessment_id, r.criterion_id))
        if old is None:
            raise UserError(f"{path.name}: {r.unit} has no self-assessment row for {r.code}")
        if old != (from_hundredths(r.points), r.note):
            changed.append({"a": r.assessment_id, "c": r.criterion_id, "p": from_hundredths(r.points), "n": r.note})
    if changed:
        session.connection().execute(
            update(table)
            .where(table.c.assessment_id == bindparam("a"), table.c.criterion_id == bindparam("c"))
            .values(appraiser_points=bindparam("p"), appraisal_note=bindparam("n")),
            changed,
        )


@flow(name="appraise")
def appraise_flow(params: AppraiseParams) -> AppraiseSummary:
    """Appraise submitted units and re-appraise corrected or supplemented ones; only changes are written."""
    return appraise(params)


# --- shared out by group, on a Prefect server with workers ---------------------------------------


@task(name="split-appraisal")
def split_appraisal(params: AppraiseParams) -> dict[str, dict[str, Any]]:
    """The parameters of each group's appraisal: the cycle's groups (only those of `units` when some are
    named), all of the same cycle by the same person at the same moment."""
    if params.group is not None:
        raise UserError("an appraisal by group appraises every group: leave `group` empty (or run the group's)")
    if params.scores_path:
        raise UserError("an appraisal by group takes no scores file: take it in with `cchc appraise --scores FILE`")
    with read_session(engine_for(params.database_url)) as session:
        cycle = cycle_of(session, params.year)
        year, groups = cycle.year, cycle_groups(session, cycle)
        units: dict[str, list[str]] = {}
        if params.units:
            facts = load_facts(session, cycle, unit_codes=params.units)
            missing = sorted(set(params.units) - {f.unit_code for f in facts})
            if missing:
                raise UserError(f"not a unit of the {cycle.year} cycle: {', '.join(map(shown, missing))}")
            for f in facts:
                units.setdefault(f.group, []).append(f.unit_code)
            groups = [g for g in groups if g in units]
    base = AppraiseParams(database_url=params.database_url, actor=params.actor, at=params.at or now(), year=year)
    return {g: base.model_copy(update={"group": g, "units": units.get(g, [])}).model_dump(mode="json") for g in groups}


def merge_appraisals(summaries: Sequence[AppraiseSummary]) -> AppraiseSummary:
    """One summary of the groups' appraisals (each list sorted)."""
    merged = AppraiseSummary(year=summaries[0].year)
    for part in summaries:
        merged.appraised += part.appraised
        merged.reappraised += part.reappraised
        merged.unchanged += part.unchanged
        merged.refused += part.refused
        merged.changed_scores += part.changed_scores
    for units in (merged.appraised, merged.reappraised, merged.unchanged, merged.refused):
        units.sort()
    return merged


@flow(name="appraise-group", persist_result=True)
def appraise_group_flow(params: AppraiseParams) -> AppraiseSummary:
    """One group's appraisal (a child run of appraise-by-group); its summary is kept as the run's result for
    the parent."""
    if params.group is None:
        raise UserError("a group's appraisal needs its `group` (a unit group's code)")
    return appraise.with_options(persist_result=False)(params)


@flow(name="appraise-by-group")
def appraise_by_group_flow(params: AppraiseByGroupParams) -> AppraiseSummary:
    """Appraisal shared out by unit group: one run of the child deployment per group, taken by any worker of
    its pool; fails, naming them, if any group's appraisal did not complete."""
    children = split_appraisal(params)
    if not children:
        raise UserError("the cycle has no group to appraise")
    runs = start_group_runs(params.deployment, children, "appraise")
    return merge_appraisals(wait_for_group_runs(runs, params.poll_s, params.timeout_s))


# --- adjustments ----------------------------------------------------------------------------------


@dataclass
class AdjustSummary:
    unit: str
    item: str
    done: bool
    message: str


ADJUSTABLE = (S.appraised, S.supplement_requested, S.supplemented)


def adjust(
    database_url: str | None,
    year: int | None,
    unit: str,
    item_code: str,
    reason: str,
    actor_ident: str | None,
    at: datetime | None,
    *,
    revoke: bool = False,
) -> AdjustSummary:
    """Grant (or revoke) a bonus or penalty item to a unit, with its reason, audited. Granting twice is a
    no-op; a bonus that requires on-time reporting is refused for a late submission."""
    engine = engine_for(database_url)
    when = at or now()
    if not reason.strip():
        raise UserError("a reason is required for a bonus or a penalty")
    with write_session(engine) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        authorize(Action.adjust, actor, when)
        assessment, org_unit = unit_assessment(session, cycle, unit)
        if unit in actor.own_units:
            raise UserError(f"{actor.label()} belongs to {unit} and cannot adjust their own unit's result")
        if assessment.state not in ADJUSTABLE:
            raise UserError(
                f"{unit} is in state {assessment.state!r}: adjustments are made after appraisal and "
                "before publication (reopen a published result first)"
            )
        framework = stored_framework(session, assessment.framework_id or 0)
        item = framework.adjustment(item_code)
        if item is None:
            codes = ", ".join(f"{a.code} ({a.kind} {a.points})" for a in framework.adjustments)
            raise UserError(f"{item_code!r} is not a bonus or penalty item of {framework.code} (items: {codes})")
        existing = session.execute(
            select(Adjustment).where(
                col(Adjustment.assessment_id) == assessment.id, col(Adjustment.item_code) == item.code
            )
        ).scalar_one_or_none()
        if revoke:
            if existing is None or existing.revoked:
                return AdjustSummary(unit, item.code, False, f"{unit} does not have {item.code}; nothing to revoke")
            session.execute(update(Adjustment).where(col(Adjustment.id) == existing.id).values(revoked=True))
        else:
            if item.requires == "on_time":
                due = Deadlines(session, cycle, "submission").due(org_unit.id or 0, assessment.group_code)
                if not is_on_time(assessment.submitted_at, due):
                    raise UserError(f"{item.code} requires reporting on time, and {unit} submitted after the deadline")
            if existing is not None and not existing.revoked:
                return AdjustSummary(unit, item.code, False, f"{unit} already has {item.code}")
            values = {
                "kind": item.kind,
                "points": item.points,
                "reason": reason,
                "actor": actor.code,
                "at": when,
                "revoked": False,
            }
            if existing is None:
                session.execute(insert(Adjustment).values(assessment_id=assessment.id, item_code=item.code, **values))
            else:
                session.execute(update(Adjustment).where(col(Adjustment.id) == existing.id).values(**values))
        hold(session, {assessment.id or 0: (unit, assessment.state)})  # a publication racing it cannot miss it
        sign = "+" if item.kind == "bonus" else "−"
        append(
            session,
            [
                EventDraft(
                    kind="adjustment",
                    trigger=Event.revoke_adjustment if revoke else Event.adjust,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    reason=reason,
                    payload={
                        "item": item.code,
                        "kind": item.kind,
                        "points": f"{sign}{item.points}",
                        "name": item.name,
                    },
                )
            ],
        )
        verb = "revoked" if revoke else "granted"
        return AdjustSummary(unit, item.code, True, f"{item.code} ({item.kind} {sign}{item.points}) {verb} to {unit}")
