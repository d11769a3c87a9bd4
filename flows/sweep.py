"""The deadline sweep: every plan, submission, supplement, head's commitment, contributor's share,
remediation plan and breakthrough registration whose deadline is near or past gets the reminder or
escalation step that is due, written once, with its e-mails in the same transaction.

Set-based: one query for the items, one for the steps already sent, one for the units and one for the
people that the steps due go to (not every person of the organisation); then one bulk write of steps,
messages and audit events. Running it again (or after a crash) sends nothing twice: each (item, phase,
deadline, step) is recorded once (a unique key), and sweeps are serialised.

On a Prefect server with workers, the sweep can be shared out by unit group (`sweep_by_group_flow`): each
item belongs to exactly one part (`item_group`), one child run sweeps each part, and sweeps of different
parts run at once while two sweeps of one part (or a whole-cycle sweep) still wait for each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import flow, task
from sqlalchemy import ColumnElement, false, select, text, true
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows import progress
from cchc.flows.fanout import start_group_runs, wait_for_group_runs
from cchc.flows.links import unit_link
from cchc.flows.lookup import Deadlines, actor_for, check_group, cycle_groups, cycle_of
from cchc.flows.params import NO_GROUP, Listing, SweepByGroupParams, SweepParams
from cchc.flows.remediation import follow_up_due as follow_up_deadlines
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.bulk import bulk_work, insert_rows
from cchc.models.calendar import ChasePolicy
from cchc.models.chasing import Step, days_late, days_left, policy_from, steps_due
from cchc.models.db import read_session, write_session
from cchc.models.directory import Directory, Recipient
from cchc.models.errors import UserError
from cchc.models.tables import Assessment, ChaseStep, Commitment, Contribution, Cycle, FollowUp, OrgUnit
from cchc.models.text import canonical
from cchc.notifications.outbox import Queued, queue
from cchc.states.assessment import AssessmentState
from cchc.states.commitment import CommitmentState
from cchc.states.cycle import CyclePhase
from cchc.states.labels import task_phrase
from cchc.states.permissions import Action, authorize

S = AssessmentState
NOT_SUBMITTED = (S.plan, S.self_assess)
PLAN_PHASES = (CyclePhase.planning, CyclePhase.self_assessment)
SWEEP_LOCK = 4_201_021  # PostgreSQL advisory lock id: a whole sweep alone, sweeps of parts side by side


@dataclass(frozen=True)
class ChaseItem:
    kind: str  # assessment | commitment | contribution | follow_up
    item_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    phase: str
    due_at: datetime


Sent = dict[tuple[str, int, str, datetime], set[str]]  # the keys of the steps sent, by (kind, id, phase, deadline)


@dataclass
class SweepLine:
    unit: str
    phase: str
    step: str
    due_at: datetime
    to: list[str]
    fallback: bool = False


@dataclass
class SweepSummary:
    year: int
    as_of: datetime
    items: int = 0
    lines: Listing[SweepLine] = field(default_factory=Listing)
    messages: int = 0


def chase_items(session: Session, cycle: Cycle, part: str | None = None) -> list[ChaseItem]:
    """Everything of a cycle that has a deadline and is not done yet (one query per kind of item); with
    `part`, only the items of that part of the cycle (a group's code, or NO_GROUP: see `item_group`)."""
    groups = cycle_groups(session, cycle) if part is not None else []
    # assessments, contributions and follow-ups belong to their assessment's group, always one of the cycle's
    in_part: ColumnElement[bool] = (
        true() if part is None else false() if part == NO_GROUP else col(Assessment.group_code) == part
    )
    rows = session.execute(
        select(
            col(Assessment.id),
            col(Assessment.state),
            col(Assessment.plan_received_at),
            col(Assessment.supplement_due_at),
            col(Assessment.group_code),
            col(OrgUnit.id),
            col(OrgUnit.code),
            col(OrgUnit.name),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id, in_part)
    ).tuples()
    plan, submission, supplement = (Deadlines(session, cycle, p) for p in ("plan", "submission", "supplement"))
    items: list[ChaseItem] = []
    for aid, state, plan_received, supplement_due, group, uid, code, name in rows:
        assert aid is not None and uid is not None
        if state in NOT_SUBMITTED:
            if cycle.phase in PLAN_PHASES and plan_received is None and (due := plan.due(uid, group)):
                items.append(ChaseItem("assessment", aid, uid, code, name, "plan", due))
            if due := submission.due(uid, group):
                items.append(ChaseItem("assessment", aid, uid, code, name, "submission", due))
        elif state == S.supplement_requested and (due := supplement_due or supplement.due(uid, group)):
            items.append(ChaseItem("assessment", aid, uid, code, name, "supplement", due))
    commitment = Deadlines(session, cycle, "commitment")
    group_of_unit = units_groups(session) if part is not None else {}
    for cid, uid, code, name, unit_group in session.execute(
        select(col(Commitment.id), col(OrgUnit.id), col(OrgUnit.code), col(OrgUnit.name), col(OrgUnit.group_code))
        .join(OrgUnit, col(OrgUnit.id) == col(Commitment.unit_id))
        .where(col(Commitment.cycle_id) == cycle.id, col(Commitment.state) == CommitmentState.sent)
    ).tuples():
        assert cid is not None and uid is not None
        if part is not None and item_group(group_of_unit.get(uid), groups) != part:
            continue
        if due := commitment.due(uid, unit_group or ""):
            items.append(ChaseItem("commitment", cid, uid, code, name, "commitment", due))
    for cid, uid, code, name, due in session.execute(
        select(col(Contribution.id), col(OrgUnit.id), col(OrgUnit.code), col(OrgUnit.name), col(Contribution.due_at))
        .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
        .join(Assessment, col(Assessment.id) == col(Contribution.assessment_id))
        .where(col(Contribution.cycle_id) == cycle.id, col(Contribution.state) == "assigned", in_part)
    ).tuples():
        assert cid is not None and uid is not None
        items.append(ChaseItem("contribution", cid, uid, code, name, "contribution", due))
    follow_up_due = follow_up_deadlines(session, cycle)
    for fid, kind, uid, code, name, group in session.execute(
        select(
            col(FollowUp.id),
            col(FollowUp.kind),
            col(OrgUnit.id),
            col(OrgUnit.code),
            col(OrgUnit.name),
            col(Assessment.group_code),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(FollowUp.unit_id))
        .join(Assessment, col(Assessment.id) == col(FollowUp.assessment_id))
        .where(col(FollowUp.cycle_id) == cycle.id, col(FollowUp.state) == "required", in_part)
    ).tuples():
        assert fid is not None and uid is not None
        if due := follow_up_due[kind].due(uid, group):
            items.append(ChaseItem("follow_up", fid, uid, code, name, kind, due))
    return items


def units_groups(session: Session) -> dict[int, str | None]:
    """Each unit's group: its own, or else its nearest ancestor's (a team or commune belongs to the group of
    the assessed unit above it); None above the assessed units (one query over the unit tree)."""
    parent: dict[int, int | None] = {}
    found: dict[int, str | None] = {}
    for uid, parent_id, code in session.execute(
        select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.group_code))
    ).tuples():
        assert uid is not None
        parent[uid] = parent_id
        if code is not None:
            found[uid] = code
    for uid in parent:
        path: list[int] = []
        node: int | None = uid
        while node is not None and node not in found and node not in path:
            path.append(node)
            node = parent.get(node)
        group = found.get(node) if node is not None else None
        found.update(dict.fromkeys(path, group))
    return found


def item_group(group: str | None, groups: Sequence[str]) -> str:
    """The part of the cycle an item is swept in: its group if the cycle has it, else NO_GROUP (the
    authority's own commitment). Every item is in exactly one part."""
    return group if group is not None and group in groups else NO_GROUP


def recipients_of(item: ChaseItem, step: Step) -> tuple[str, ...]:
    """The roles a step goes to; for a commitment, "head" means whoever signs (a deputy acting for a
    missing head)."""
    if item.kind in ("commitment", "contribution"):
        return tuple("signer" if role == "head" else role for role in step.to)
    return step.to


def sent_steps(session: Session, cycle: Cycle) -> Sent:
    """The steps already sent, by (item kind, item id, phase, deadline)."""
    sent: Sent = {}
    for kind, item_id, phase, due, step in session.execute(
        select(
            col(ChaseStep.item_kind),
            col(ChaseStep.item_id),
            col(ChaseStep.phase),
            col(ChaseStep.due_at),
            col(ChaseStep.step),
        ).where(col(ChaseStep.cycle_id) == cycle.id)
    ):
        sent.setdefault((kind, item_id, phase, due), set()).add(step)
    return sent


def steps_to_send(
    policy: ChasePolicy, items: Sequence[ChaseItem], sent: Sent, as_of: datetime
) -> list[tuple[ChaseItem, list[Step]]]:
    """The items that have a step to send as of `as_of`, each with its steps, in the items' order."""
    known: dict[tuple[datetime, frozenset[str]], list[Step]] = {}  # thousands of items share a few deadlines
    due: list[tuple[ChaseItem, list[Step]]] = []
    for item in items:
        done = frozenset(sent.get((item.kind, item.item_id, item.phase, item.due_at), ()))
        found = known.get((item.due_at, done))
        if found is None:
            found = known[item.due_at, done] = steps_due(policy, item.due_at, as_of, done)
        if found:
            due.append((item, found))
    return due


def _lock(session: Session, group: str | None) -> None:
    """Serialise sweeps: on PostgreSQL an advisory lock held until commit, exclusive for a whole sweep and
    shared for a sweep of one part (parts hold no item in common; `_lock_part` serialises two sweeps of the
    same part). SQLite's writing transaction (BEGIN IMMEDIATE) already holds the database's write lock."""
    if session.get_bind().dialect.name == "postgresql":
        mode = "pg_advisory_xact_lock" if group is None else "pg_advisory_xact_lock_shared"
        session.connection().exec_driver_sql(f"SELECT {mode}({SWEEP_LOCK})")


def _lock_part(session: Session, cycle: Cycle, group: str) -> None:
    """One sweep at a time of a part of a cycle (PostgreSQL; a hash collision only makes two parts wait)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"cchc-sweep:{cycle.id}:{group}"},
        )


@task(name="sweep")
def sweep(params: SweepParams) -> SweepSummary:
    """Queue every reminder and escalation step that is due as of `params.at`, once, in one transaction."""
    settings = get_settings()
    engine = engine_for(params.database_url)
    as_of = params.at or now()
    # the cyclic collector paused (bulk_work): tens of thousands of short-lived objects, none in a cycle
    with write_session(engine) as session, bulk_work():
        _lock(session, params.group)
        cycle = cycle_of(session, params.year)
        runner = actor_for(session, params.actor) if params.actor else None  # a person ran it (else the schedule)
        if runner is not None:
            authorize(Action.run_sweep, runner, as_of)
        if params.group is not None:
            check_group(session, cycle, params.group, other=NO_GROUP)
            _lock_part(session, cycle, params.group)
        summary = SweepSummary(year=cycle.year, as_of=as_of)
        if cycle.imported or cycle.phase == CyclePhase.closed:
            return summary
        assert cycle.id is not None
        policy = policy_from(json.loads(cycle.chase_policy or "{}"))
        items = chase_items(session, cycle, params.group)
        summary.items = len(items)
        progress.step("Rà soát hạn", len(items))
        due = steps_to_send(policy, items, sent_steps(session, cycle), as_of)
        progress.advance(len(items) - len(due))
        # only the people of the units with a step to send, of the units above them and the coordinators
        directory = Directory(session, units={item.unit_id for item, _ in due})
        authority = session.get(OrgUnit, cycle.authority_id)
        authority_name = authority.name if authority else ""
        steps: list[tuple[object, ...]] = []
        messages: list[Queued] = []
        events: list[EventDraft] = []
        for item, item_steps in due:
            progress.advance()
            for step in item_steps:
                people = directory.resolve(item.unit_id, recipients_of(item, step))
                fallback = not people
                if fallback:  # an escalation nobody would read is an escalation that never fired
                    people = directory.coordinators
                line = SweepLine(item.unit_code, item.phase, step.key, item.due_at, [p.code for p in people], fallback)
                summary.lines.append(line)
                steps.append(
                    (
                        cycle.id,
                        item.kind,
                        item.item_id,
                        item.unit_code,
                        item.phase,
                        item.due_at,
                        step.key,
                        as_of,
                        len(people),
                    )
                )
                messages += _messages(
                    settings.mail_lang, settings.public_url, cycle, item, step, people, directory, authority_name, as_of
                )
                events.append(
                    EventDraft(
                        kind="deadline",
                        trigger=Event.remind if step.kind == "reminder" else Event.escalate,
                        actor="system:sweep",
                        at=as_of,
                        cycle_year=cycle.year,
                        unit_code=item.unit_code,
                        reason=f"{item.phase}: {step.key}",
                        payload={
                            "phase": item.phase,
                            "step": step.key,
                            "due": item.due_at,
                            "to": line.to,
                            **({"fallback": "coordinators"} if fallback else {}),
                        },
                    )
                )
        insert_rows(
            session,
            "chase_step",
            ("cycle_id", "item_kind", "item_id", "unit_code", "phase", "due_at", "step", "fired_at", "recipients"),
            steps,
        )
        summary.messages = queue(session, messages, as_of)
        if runner is not None:  # who ran it, whatever the edge (the CLI, the dashboard, a deployment's parameter)
            ran = {"as_of": as_of, "items": summary.items, "steps": len(summary.lines), "messages": summary.messages}
            events.append(
                EventDraft(
                    kind="deadline",
                    trigger=Event.sweep,
                    actor=runner.code,
                    at=as_of,
                    cycle_year=cycle.year,
                    payload={**ran, **({"group": params.group} if params.group is not None else {})},
                )
            )
        append(session, events)
        summary.lines.sort(key=lambda x: (x.due_at, x.unit, x.step))
        return summary


def _messages(
    lang: str,
    public_url: str,
    cycle: Cycle,
    item: ChaseItem,
    step: Step,
    people: list[Recipient],
    directory: Directory,
    authority: str,
    as_of: datetime,
) -> list[Queued]:
    base = {
        "unit_name": item.unit_name,
        "unit_code": item.unit_code,
        "phase_label": task_phrase(item.phase, lang),
        "due": item.due_at.isoformat(),
        "year": cycle.year,
        "authority": authority,
        "link": unit_link(public_url, item.unit_code, cycle.year, item.phase),
    }
    extra: dict[str, object]
    if step.kind == "reminder":
        kind, extra = "reminder", {"days_left": days_left(item.due_at, as_of)}
    else:
        responsible = [p.name for p in directory.resolve(item.unit_id, ("focal", "head"))]
        kind, extra = (
            "escalation",
            {"days_late": days_late(item.due_at, as_of), "step": step.number, "responsible": responsible},
        )
    key = f"chase:{item.kind}:{item.item_id}:{item.phase}:{item.due_at.isoformat()}:{step.key}"
    shared = canonical({**base, **extra})  # one context for every recipient of the step
    return [Queued(f"{key}:{p.code}", kind, p.email, p.name, shared, lang, item.unit_code, cycle.year) for p in people]


@flow(name="deadline-sweep")
def sweep_flow(params: SweepParams) -> SweepSummary:
    """The daily deadline sweep (also run on demand: `cchc sweep --as-of`)."""
    return sweep(params)


# --- shared out by group, on a Prefect server with workers ---------------------------------------


@task(name="split-sweep")
def split_sweep(params: SweepParams) -> dict[str, dict[str, Any]]:
    """The parameters of each part's sweep: one per group of the cycle and one for the items of no group,
    all of the same cycle as of the same moment."""
    if params.group is not None:
        raise UserError("a sweep by group sweeps every group: leave `group` empty (or run the group's sweep)")
    with read_session(engine_for(params.database_url)) as session:
        cycle = cycle_of(session, params.year)
        year, parts = cycle.year, [*cycle_groups(session, cycle), NO_GROUP]
    base = SweepParams(database_url=params.database_url, actor=params.actor, at=params.at or now(), year=year)
    return {group: base.model_copy(update={"group": group}).model_dump(mode="json") for group in parts}


def merge_sweeps(summaries: Sequence[SweepSummary]) -> SweepSummary:
    """One summary of the parts' sweeps, as the whole cycle's sweep would give it."""
    merged = SweepSummary(year=summaries[0].year, as_of=summaries[0].as_of)
    for part in summaries:
        merged.items += part.items
        merged.messages += part.messages
        merged.lines.extend(part.lines)
    merged.lines.sort(key=lambda x: (x.due_at, x.unit, x.step))
    return merged


@flow(name="deadline-sweep-group", persist_result=True)
def sweep_group_flow(params: SweepParams) -> SweepSummary:
    """One part of the deadline sweep (a child run of deadline-sweep-by-group); its summary is kept as the
    run's result for the parent."""
    if params.group is None:
        raise UserError("a group's sweep needs its `group` (a group's code, or '-' for the items of no group)")
    return sweep.with_options(persist_result=False)(params)


@flow(name="deadline-sweep-by-group")
def sweep_by_group_flow(params: SweepByGroupParams) -> SweepSummary:
    """The deadline sweep shared out by unit group: one run of the child deployment per group, taken by any
    worker of its pool; fails, naming them, if any group's sweep did not complete."""
    children = split_sweep(params)
    runs = start_group_runs(params.deployment, children, "sweep")
    return merge_sweeps(wait_for_group_runs(runs, params.poll_s, params.timeout_s))
