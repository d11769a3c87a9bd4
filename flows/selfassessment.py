"""Self-assessment: importing the units' score tables, submitting, withdrawing, and supplements."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import cast

from prefect import flow, task
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows import progress
from cchc.flows.contributors import mark_supplied
from cchc.flows.lookup import actor_for, cycle_of, stored_framework
from cchc.flows.params import ImportParams
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.bulk import analyze, bulk_work, insert_rows, update_rows
from cchc.models.db import write_session
from cchc.models.formats import local_time
from cchc.models.i18n import tr
from cchc.models.people import Actor
from cchc.models.scoresheet import (
    ScoreRow,
    Sheet,
    SheetError,
    SubSlot,
    Table,
    UnitSlot,
    iter_self_assessment,
    open_table,
)
from cchc.models.tables import Assessment, Contribution, Criterion, Cycle, Evidence, OrgUnit, table_of
from cchc.models.types import from_hundredths
from cchc.states.assessment import AssessmentState
from cchc.states.cycle import CyclePhase
from cchc.states.guards import AssessmentFacts, Context, has_signed_commitment, is_unit_member_or_coordinator
from cchc.states.labels import state_word
from cchc.states.workflow import commitment_gate, hold

S = AssessmentState


@dataclass
class ImportSummary:
    path: str
    sha256: str
    rows: int
    units: int
    changed_rows: int
    changed_units: list[str] = field(default_factory=list)


def sub_slots(session: Session, framework_ids: set[int]) -> dict[int, dict[str, SubSlot]]:
    """For each framework, its sub-criteria by code with their stored ids."""
    result: dict[int, dict[str, SubSlot]] = {}
    for fid in framework_ids:
        framework = stored_framework(session, fid)
        ids = cast(
            "dict[str, int]",  # stored criteria have ids
            dict(
                session.execute(
                    select(col(Criterion.code), col(Criterion.id)).where(
                        col(Criterion.framework_id) == fid, col(Criterion.level) == "sub"
                    )
                )
                .tuples()
                .all()
            ),
        )
        result[fid] = {s.code: SubSlot(ids[s.code], s) for s in framework.subcriteria}
    return result


def unit_slots(
    session: Session, cycle: Cycle, actor: Actor, at: datetime, *, unit: str | None = None, lock: bool = True
) -> dict[str, UnitSlot]:
    """What the actor may enter now, per unit of the cycle (or for one `unit`, whose assessment row is then
    locked until the transaction ends: a submission cannot slip between this check and the write; a page
    that only shows the grid passes `lock=False`)."""
    query = (
        select(
            col(OrgUnit.code),
            col(OrgUnit.name),
            col(Assessment.id),
            col(Assessment.framework_id),
            col(Assessment.state),
            col(Assessment.supplement_criteria),
            col(Assessment.group_code),
            col(Assessment.version),
            col(Assessment.unit_id),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id)
    )
    if unit is not None:
        query = query.where(col(OrgUnit.code) == unit)
        if lock:
            query = query.with_for_update(of=table_of(Assessment))
    rows = session.execute(query).all()
    required, signed = commitment_gate(session, cycle, [row[8] for row in rows] if unit is not None else None)
    assigned = _assigned_to(session, cycle, actor, unit)
    slots: dict[str, UnitSlot] = {}
    for code, name, aid, fid, state, requested, group, version, unit_id in rows:
        facts = AssessmentFacts(
            aid,
            code,
            name,
            group,
            state,
            version,
            cycle.year,
            cycle.phase,
            commitment_required=required,
            commitment_signed=unit_id in signed,
        )
        context = Context(actor=actor, at=at, facts=facts)
        refusal = is_unit_member_or_coordinator(context) or has_signed_commitment(context)
        open_criteria = None
        supplied_by = code
        if aid in assigned and refusal is not None and refusal == is_unit_member_or_coordinator(context):
            # a team or commune supplies the sub-criteria its unit assigned to it, and only those, by its due date
            (open_criteria, due) = assigned[aid]
            refusal = has_signed_commitment(context)
            supplied_by = actor.unit_code or code
            if refusal is None and state != S.self_assess:
                refusal = tr(
                    "{unit} is in state {state!r}: its contributors' rows are entered during self-assessment",
                    unit=code,
                    state=state_word(state),
                )
            elif refusal is None and at >= due:
                refusal = tr(
                    "{member}'s rows for {unit} were due before {due}: ask {unit} to enter them",
                    member=supplied_by,
                    unit=code,
                    due=local_time(due),
                )
        elif refusal is None and state == S.supplement_requested:
            named = [c for c in requested.split(",") if c]
            open_criteria = frozenset(named) if named else None
        elif refusal is None and state != S.self_assess:
            refusal = (
                tr(
                    "{unit} is in state {state!r}: scores are entered in self_assess (withdraw the submission first)",
                    unit=code,
                    state=state_word(state),
                )
                if state == S.submitted and cycle.phase == CyclePhase.self_assessment  # withdrawing is still possible
                else tr(
                    "{unit} is in state {state!r}: scores are entered in self_assess",
                    unit=code,
                    state=state_word(state),
                )
            )
        slots[code] = UnitSlot(aid, fid, state, open_criteria, refusal, supplied_by)
    return slots


def _assigned_to(
    session: Session, cycle: Cycle, actor: Actor, unit: str | None = None
) -> dict[int, tuple[frozenset[str], datetime]]:
    """The sub-criteria assigned to the actor's own team or commune, and their due date, by assessment (for
    its head, deputy or focal officer)."""
    if actor.unit_code is None or not actor.roles & {"head", "deputy", "focal"}:
        return {}
    if unit is not None and actor.unit_code == unit:
        return {}  # a unit's own people are not its contributors
    rows = session.execute(
        select(col(Contribution.assessment_id), col(Contribution.criteria), col(Contribution.due_at))
        .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
        .where(col(Contribution.cycle_id) == cycle.id, col(OrgUnit.code) == actor.unit_code)
    ).tuples()
    return {aid: (frozenset(c for c in criteria.split(",") if c), due) for aid, criteria, due in rows}


# points (hundredths), n/a, metric, evidence, note, supplied by, explanation
_Stored = tuple[int | None, bool, str | None, str, str, str, str]


def _shown(points: int | None, na: bool, metric: str | None) -> str:
    if na:
        return "KAD"
    value = "" if points is None else str(from_hundredths(points))
    return f"{value} ({metric})" if metric else value


@dataclass
class _UnitLog:
    rows: int = 0
    added: int = 0
    changes: dict[str, list[str]] = field(default_factory=dict)


SCORE_COLUMNS = (
    "assessment_id",
    "criterion_id",
    "self_points",
    "not_applicable",
    "metric",
    "evidence",
    "note",
    "supplied_by",
    "explanation",
)


EVIDENCE_COLUMNS = (
    "cycle_id",
    "assessment_id",
    "symbol",
    "number",
    "doc_type",
    "issuer",
    "issued_on",
    "title",
    "cited_by",
    "first_cited_at",
)


CHUNK_ROWS = 20_000


@task(name="import-self-assessment")
def import_self_assessment(params: ImportParams) -> ImportSummary:
    """Check the whole table and write the changed scores with one audit event per changed unit, in one
    transaction. Rows are written in chunks while the file is read; the first problem stops the writing
    and, at the end, rolls everything back: a table with any problem writes nothing."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    path = Path(params.path)
    with write_session(engine) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor)
        units = unit_slots(session, cycle, actor, at)
        with bulk_work():
            progress.step(f"{path.name}: kiểm tra và ghi", _line_count(path))
            taken = take_rows(session, cycle, actor, units, open_table(path), at, report=True)
        with path.open("rb") as handle:  # read a buffer at a time, never the whole file at once
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        events = taken.events(cycle, actor, at, path.name, {"source": path.name, "sha256": digest})
        append(session, events)
        if taken.changed:
            analyze(session, "score")
        return ImportSummary(
            path=path.name,
            sha256=digest,
            rows=taken.rows,
            units=len(taken.logs),
            changed_rows=taken.changed,
            changed_units=[e.unit_code or "" for e in events],
        )


@dataclass
class Taken:
    """What a table of self-assessment rows changed: per unit, its rows, additions and changes."""

    logs: dict[str, _UnitLog]
    rows: int
    changed: int

    def events(
        self, cycle: Cycle, actor: Actor, at: datetime, reason: str, source: dict[str, object]
    ) -> list[EventDraft]:
        """One audit event per unit whose rows changed."""
        return [
            EventDraft(
                kind="score",
                trigger=Event.self_assessment_import,
                actor=actor.code,
                at=at,
                cycle_year=cycle.year,
                unit_code=unit,
                reason=reason,
                payload={
                    **source,
                    "rows": log.rows,
                    "added": log.added,
                    **({"changed": log.changes} if log.changes else {}),
                },
            )
            for unit, log in sorted(self.logs.items())
            if log.added or log.changes
        ]


def take_rows(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    units: dict[str, UnitSlot],
    table: Table,
    at: datetime,
    *,
    report: bool = False,
) -> Taken:
    """Check every row of a table (a file, or a page's form: one validation for both) and write the changed
    ones, chunk by chunk while it is read; any problem raises SheetError, naming every place, and the
    caller's transaction then rolls back whatever was written."""
    subs = sub_slots(session, {u.framework_id for u in units.values()})
    sheet = Sheet()
    logs: dict[str, _UnitLog] = {}
    buffer: list[ScoreRow] = []
    changed = total = 0
    window = (cycle.evidence_from, cycle.evidence_to)
    for row in iter_self_assessment(table, units, subs, sheet, window):
        total += 1
        if report and total % PROGRESS_EVERY == 0:
            progress.advance(PROGRESS_EVERY)
        if sheet.problem_count:
            continue  # keep checking, to report every problem; nothing more is written
        buffer.append(row)
        if len(buffer) >= CHUNK_ROWS:
            changed += _write_chunk(session, cycle, buffer, logs, at)
            buffer = []
    if sheet.problem_count:
        raise SheetError(sheet.problems, sheet.problem_count)
    changed += _write_chunk(session, cycle, buffer, logs, at)
    # At write time, every unit written is still in the state it was read in (its row is held until the
    # end): an import that read a unit in self-assessment never writes after its head submitted.
    hold(session, {units[u].assessment_id: (u, units[u].state) for u, log in logs.items() if log.added or log.changes})
    contributed = sorted({u.assessment_id for code, u in units.items() if u.refusal is None and u.supplied_by != code})
    if contributed:  # the actor is a team or commune: its assignment may now be complete
        mark_supplied(session, cycle, contributed, at, actor)
    return Taken(logs, total, changed)


PROGRESS_EVERY = 2_000  # rows between two reports of progress


def _line_count(path: Path) -> int | None:
    """How many rows a CSV has, at most (its lines less the header): the length of the progress bar. A
    workbook's rows are only known once it is read."""
    if path.suffix.lower() != ".csv":
        return None
    try:
        with path.open("rb") as handle:
            return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)
    except OSError:
        return None  # open_table names the problem


def _write_chunk(
    session: Session, cycle: Cycle, rows: Sequence[ScoreRow], logs: dict[str, _UnitLog], at: datetime
) -> int:
    """Insert the new rows and update the changed ones of a chunk; register the documents they cite;
    record what changed per unit."""
    if not rows:
        return 0
    ids = sorted({r.assessment_id for r in rows})
    existing = _existing(session, ids)
    _register_evidence(session, cycle, rows, ids, at)
    new_rows: list[tuple[object, ...]] = []
    changed_rows: list[tuple[object, ...]] = []
    for r in rows:
        log = logs.get(r.unit)
        if log is None:
            log = logs[r.unit] = _UnitLog()
        log.rows += 1
        values = (r.points, r.not_applicable, r.metric, r.evidence, r.note, r.supplied_by, r.explanation)
        old = existing.get((r.assessment_id, r.criterion_id))
        if old is not None and old[:5] + old[6:] == values[:5] + values[6:]:
            continue  # unchanged (a row a contributor supplied stays theirs when the unit's workbook comes back)
        if old is None:
            new_rows.append((r.assessment_id, r.criterion_id, *values, ""))
            log.added += 1
        else:
            changed_rows.append((r.assessment_id, r.criterion_id, *values))
            log.changes[r.code] = [_shown(old[0], old[1], old[2]), _shown(r.points, r.not_applicable, r.metric)]
    insert_rows(session, "score", (*SCORE_COLUMNS, "appraisal_note"), new_rows)
    update_rows(session, "score", SCORE_COLUMNS[:2], SCORE_COLUMNS[2:], changed_rows)
    return len(new_rows) + len(changed_rows)


def _register_evidence(session: Session, cycle: Cycle, rows: Sequence[ScoreRow], ids: list[int], at: datetime) -> None:
    """Every document a chunk cites, added to the unit's evidence registry once."""
    if not any(r.refs for r in rows):
        return
    known = {
        (a, symbol, issued)
        for a, symbol, issued in session.execute(
            select(col(Evidence.assessment_id), col(Evidence.symbol), col(Evidence.issued_on)).where(
                col(Evidence.assessment_id).in_(ids)
            )
        ).tuples()
    }
    new: dict[tuple[int, str, date], tuple[object, ...]] = {}
    for r in rows:
        for ref in r.refs:
            key = (r.assessment_id, ref.symbol, ref.issued_on)
            if key not in known and key not in new:
                new[key] = (
                    cycle.id,
                    r.assessment_id,
                    ref.symbol,
                    ref.number,
                    ref.doc_type,
                    ref.issuer,
                    ref.issued_on,
                    ref.title,
                    r.supplied_by,
                    at,
                )
    insert_rows(session, "evidence", EVIDENCE_COLUMNS, new.values())


def _existing(session: Session, assessment_ids: list[int]) -> dict[tuple[int, int], _Stored]:
    """The stored self-assessment columns (points in raw hundredths) of some assessments."""
    if not assessment_ids:
        return {}
    rows = session.connection().exec_driver_sql(
        "SELECT assessment_id, criterion_id, self_points, not_applicable, metric, evidence, note, supplied_by, "
        f"explanation FROM score WHERE assessment_id IN ({','.join(str(int(i)) for i in assessment_ids)})"
    )
    return {(a, c): (p, bool(na), m, e, n, by, x) for a, c, p, na, m, e, n, by, x in rows}


@flow(name="import-self-assessment")
def import_self_assessment_flow(params: ImportParams) -> ImportSummary:
    """Take in a self-assessment table (CSV): all checked first, nothing written if anything is wrong."""
    return import_self_assessment(params)
