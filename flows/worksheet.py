"""The self-assessment grid (Phụ lục IV as a page) and the appraiser's grid: what a unit, a contributor or an
appraiser sees of one assessment, row by row, and the saves of their rows.

A unit's rows are saved through the very reader and writer of the workbook import (`take_rows`): one
validation, one message per problem, for the file and for the page. Every save locks the assessment's row
and checks its state in the writing transaction, so a row can never change under a submission; each save
that changes something is one audit event naming the person.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import actor_for, cycle_of, stored_framework, unit_assessment
from cchc.flows.runtime import engine_for, now
from cchc.flows.selfassessment import S, take_rows, unit_slots
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.evidence import BadReference, parse_references
from cchc.models.framework import FrameworkDef, SubCriterion
from cchc.models.i18n import N_, tr
from cchc.models.people import Actor
from cchc.models.scoresheet import SheetError, Table, UnitSlot, appraiser_points
from cchc.models.scoring import appraise_sub
from cchc.models.tables import (
    Assessment,
    AuditEvent,
    Contribution,
    Criterion,
    Cycle,
    Evidence,
    EvidenceFile,
    OrgUnit,
    Score,
    table_of,
)
from cchc.models.text import nfc
from cchc.models.workbook import RULE_NAMES, method_text
from cchc.states.assessment import assessment_machine
from cchc.states.guards import Context
from cchc.states.labels import state_word
from cchc.states.machine import TransitionNotAllowed
from cchc.states.workflow import hold, load_facts

APPRAISAL_WORDS = {"score": N_("appraised score"), "note": N_("comment")}
FORM_KEYS = ("unit", "criterion", "score", "metric", "evidence", "note", "not_applicable", "explanation")
APPRAISABLE = (S.submitted, S.appraised, S.supplemented)


@dataclass
class StoredFile:
    name: str
    sha256: str
    size: int
    added_at: datetime
    added_by: str
    suffix: str


@dataclass
class Document:
    """A document the row cites, with every version of its file."""

    symbol: str
    issued_on: date
    title: str
    files: list[StoredFile] = field(default_factory=list)


@dataclass
class Heading:
    """A field or criterion of the framework, above its sub-criteria."""

    code: str
    name: str
    level: str  # field | criterion
    max_points: Decimal


@dataclass
class GridRow:
    """A sub-criterion: the framework's words and the stored values, and whether this person may edit it."""

    code: str
    name: str
    max_points: Decimal
    method: str
    evidence_required: bool
    metric_label: str = ""
    metric_kind: str = ""
    self_points: Decimal | None = None
    not_applicable: bool = False
    metric: str = ""
    evidence: str = ""
    note: str = ""
    explanation: str = ""
    supplied_by: str = ""
    appraised_points: Decimal | None = None
    appraiser_points: Decimal | None = None
    appraisal_note: str = ""
    rule_points: Decimal | None = None  # what the rules give now (the appraiser's grid)
    rule: str = ""
    documents: list[Document] = field(default_factory=list)
    editable: bool = False
    requested: bool = False  # named by the supplement request
    changed: bool = False  # the unit changed it since the last appraisal (the appraiser's grid)

    @property
    def filled(self) -> bool:
        return self.not_applicable or self.self_points is not None

    @property
    def measured(self) -> bool:
        return bool(self.metric_kind)

    @property
    def changes_on_reappraisal(self) -> bool:
        """The rules now give something else than the appraisal on record (after a correction or supplement)."""
        return self.rule != "" and self.rule_points != self.appraised_points


@dataclass
class Grid:
    year: int
    unit_code: str
    unit_name: str
    state: str
    framework: str
    lines: list[Heading | GridRow]
    refusal: str | None  # why this person may not edit any row now (None: some rows are theirs)
    contributor: str | None = None  # the team or commune this person supplies rows for
    supplement_note: str = ""
    supplement_criteria: tuple[str, ...] = ()
    supplement_due: datetime | None = None
    submitted_at: datetime | None = None
    appraisal_version: int = 0
    moves: dict[str, str | None] = field(default_factory=dict)  # trigger → why refused (None: allowed)

    @property
    def rows(self) -> list[GridRow]:
        return [line for line in self.lines if isinstance(line, GridRow)]

    @property
    def filled(self) -> int:
        return sum(1 for r in self.rows if r.filled)

    @property
    def total(self) -> int:
        return len(self.rows)


def contributed_unit(session: Session, cycle_id: int, assessment_id: int, actor: Actor) -> str | None:
    """The team or commune of the actor that contributes to this assessment (for its head, deputy or focal
    officer), if any."""
    if actor.unit_code is None or not actor.roles & {"head", "deputy", "focal"}:
        return None
    found = session.execute(
        select(col(OrgUnit.code))
        .join(Contribution, col(Contribution.unit_id) == col(OrgUnit.id))
        .where(
            col(Contribution.cycle_id) == cycle_id,
            col(Contribution.assessment_id) == assessment_id,
            col(OrgUnit.code) == actor.unit_code,
        )
    ).scalar()
    return str(found) if found is not None else None


def read_grid(
    database_url: str | None,
    year: int | None,
    unit: str,
    actor_ident: str | Actor,
    at: datetime | None = None,
    *,
    appraiser: bool = False,
) -> Grid:
    """A unit's grid as this person may see it: a contributor sees only the rows assigned to its team or
    commune; the appraiser's grid adds what the rules give and why. Refuses (UserError) a person who neither
    belongs to the unit, contributes to it, nor works for the authority. `actor_ident` is a person's code or
    e-mail, or the Actor a page already resolved for this request."""
    when = at or now()
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_ident if isinstance(actor_ident, Actor) else actor_for(session, actor_ident)
        assessment, org_unit = unit_assessment(session, cycle, unit)
        assert assessment.id is not None and cycle.id is not None and assessment.framework_id is not None
        contributor = contributed_unit(session, cycle.id, assessment.id, actor)
        if not (actor.is_authority_staff or actor.unit_code == unit or contributor):
            raise UserError(
                f"{actor.name} ({actor.code}) không thuộc {unit} và không được xem bảng điểm của đơn vị này"
            )
        slot = unit_slots(session, cycle, actor, when, unit=unit, lock=False)[unit]
        framework = stored_framework(session, assessment.framework_id)
        stored = _stored_by_code(session, assessment.id)
        documents = _documents(session, assessment.id)
        requested = tuple(c for c in assessment.supplement_criteria.split(",") if c)
        shown = slot.open_criteria if contributor and slot.supplied_by == contributor else None
        lines = _lines(framework, stored, documents, shown, slot.open_criteria, slot.refusal is None, requested)
        if appraiser:
            _rules(framework, lines)
            if assessment.appraised_at is not None:
                since = _changed_since(session, cycle.year, unit, assessment.appraised_at)
                for line in lines:
                    if isinstance(line, GridRow):
                        line.changed = line.code in since
        grid = Grid(
            cycle.year,
            unit,
            org_unit.name,
            assessment.state,
            framework.title,
            lines,
            slot.refusal,
            contributor,
            assessment.supplement_note,
            requested,
            assessment.supplement_due_at,
            assessment.submitted_at,
            assessment.appraisal_version,
        )
        grid.moves = _moves(session, cycle, unit, actor, when, assessment.state)
        return grid


OFFERED: dict[str, tuple[str, ...]] = {  # the moves a grid offers from each state
    S.self_assess: ("submit",),
    S.submitted: ("withdraw", "appraise"),
    S.appraised: ("reappraise", "request_supplement", "skip_supplement"),
    S.supplement_requested: ("submit_supplement",),
    S.supplemented: ("reappraise",),
}


def _moves(session: Session, cycle: Cycle, unit: str, actor: Actor, at: datetime, state: str) -> dict[str, str | None]:
    """The moves the page may offer from this state, each with the machine's refusal (None: allowed), asked
    of the machine itself with the unit's facts (nothing is written)."""
    offered = OFFERED.get(state, ())
    if not offered:
        return {}
    (facts,) = load_facts(session, cycle, unit_codes=[unit], with_scores="submit" in offered)
    moves: dict[str, str | None] = {}
    for trigger in offered:
        try:
            assessment_machine().fire(
                trigger, facts.state, Context(actor=actor, at=at, facts=facts, reason="?"), subject=unit
            )
            moves[trigger] = None
        except TransitionNotAllowed as refusal:
            moves[trigger] = str(refusal)
    return moves


def _changed_since(session: Session, year: int, unit: str, since: datetime) -> set[str]:
    """The sub-criteria the unit changed after a moment (from the audit trail's self-assessment events)."""
    codes: set[str] = set()
    for (payload,) in session.execute(
        select(col(AuditEvent.payload)).where(
            col(AuditEvent.unit_code) == unit,
            col(AuditEvent.cycle_year) == year,
            col(AuditEvent.trigger) == Event.self_assessment_import,
            col(AuditEvent.at) > since,
        )
    ).tuples():
        codes.update(json.loads(payload).get("changed", {}))
    return codes


def _documents(session: Session, assessment_id: int) -> dict[tuple[str, date], Document]:
    documents = {
        d.id: Document(d.symbol, d.issued_on, d.title)
        for d in session.execute(select(Evidence).where(col(Evidence.assessment_id) == assessment_id)).scalars()
    }
    for f in session.execute(
        select(EvidenceFile).where(col(EvidenceFile.evidence_id).in_(list(documents))).order_by(col(EvidenceFile.id))
    ).scalars():
        documents[f.evidence_id].files.append(
            StoredFile(f.file_name, f.sha256, f.size, f.added_at, f.added_by, f.suffix)
        )
    return {(d.symbol, d.issued_on): d for d in documents.values()}


def _lines(
    framework: FrameworkDef,
    stored: Mapping[str, Score],
    documents: Mapping[tuple[str, date], Document],
    shown: frozenset[str] | None,
    open_criteria: frozenset[str] | None,
    may_edit: bool,
    requested: tuple[str, ...],
) -> list[Heading | GridRow]:
    lines: list[Heading | GridRow] = []
    for f in framework.fields:
        criteria = [c for c in f.criteria if shown is None or any(s.code in shown for s in c.subcriteria)]
        if not criteria:
            continue
        lines.append(Heading(f.code, f.name, "field", f.max_points))
        for c in criteria:
            lines.append(Heading(c.code, c.name, "criterion", c.max_points))
            for sub in c.subcriteria:
                if shown is not None and sub.code not in shown:
                    continue
                row = _row(sub)
                score = stored.get(sub.code)
                if score is not None:
                    _fill(row, score, documents)
                row.editable = may_edit and (open_criteria is None or sub.code in open_criteria)
                row.requested = sub.code in requested
                lines.append(row)
    return lines


def _row(sub: SubCriterion) -> GridRow:
    metric = sub.metric
    return GridRow(
        sub.code,
        sub.name,
        sub.max_points,
        method_text(sub),
        sub.evidence_required,
        metric_label=(metric.label if metric else "") if sub.measured else "",
        metric_kind=(metric.kind if metric else "") if sub.measured else "",
    )


def _fill(row: GridRow, score: Score, documents: Mapping[tuple[str, date], Document]) -> None:
    row.self_points = score.self_points
    row.not_applicable = score.not_applicable
    row.metric = score.metric or ""
    row.evidence = score.evidence
    row.note = score.note
    row.explanation = score.explanation
    row.supplied_by = score.supplied_by
    row.appraised_points = score.appraised_points
    row.appraiser_points = score.appraiser_points
    row.appraisal_note = score.appraisal_note
    try:
        refs = parse_references(score.evidence) if score.evidence.strip() else ()
    except BadReference:
        refs = ()
    row.documents = [d for ref in refs if (d := documents.get((ref.symbol, ref.issued_on))) is not None]


def _rules(framework: FrameworkDef, lines: Sequence[Heading | GridRow]) -> None:
    """What the rules give each row now, and why (no evidence → 0, the metric's points, …)."""
    for row in lines:
        if not isinstance(row, GridRow):
            continue
        sub = framework.sub(row.code)
        assert sub is not None
        result = appraise_sub(
            sub,
            self_points=row.self_points,
            not_applicable=row.not_applicable,
            evidence=row.evidence,
            metric=row.metric or None,
            appraiser_points=row.appraiser_points,
        )
        row.rule_points, row.rule = result.points, RULE_NAMES.get(result.rule, result.rule)


# --- saving a unit's rows ---------------------------------------------------------------------------


@dataclass
class Saved:
    unit: str
    changed: list[str]  # the sub-criteria whose stored values changed
    added: int = 0  # rows stored for the first time
    filled: int = 0  # the grid's progress after the save, as this person sees it (67 of 91)
    total: int = 0


def form_table(unit: str, entries: Sequence[Mapping[str, str]]) -> Table:
    """A page's rows as a table for the import's reader: its places read "1.1.2, điểm tự chấm"."""
    records: list[tuple[int, list[str]]] = []
    places: dict[int, str] = {}
    for number, entry in enumerate(entries, 1):
        code = nfc(str(entry.get("criterion", ""))).strip()
        places[number] = tr("Sub-criterion {code}", code=code) if code else tr("Row {n}", n=number)
        records.append((number, [unit, *(nfc(str(entry.get(key, ""))) for key in FORM_KEYS[1:])]))
    return Table("biểu mẫu", {key: i for i, key in enumerate(FORM_KEYS)}, iter(records), form_rows=places)


def save_rows(
    database_url: str | None,
    year: int | None,
    unit: str,
    entries: Sequence[Mapping[str, str]],
    actor_ident: str | Actor | Callable[[Session], Actor],
    at: datetime | None = None,
) -> Saved:
    """Save rows typed on the page: checked by the import's own rules (SheetError naming each problem,
    nothing written), written if anything changed, with one audit event naming the person. `actor_ident`
    is a person's code or e-mail, the Actor a page already resolved for this request, or how the page
    finds who is asking within this transaction (the autosave's case: no transaction of its own for that)."""
    if not entries:
        raise UserError(tr("there is no row to save"))
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        if isinstance(actor_ident, Actor):
            actor = actor_ident
        elif isinstance(actor_ident, str):
            actor = actor_for(session, actor_ident)
        else:
            actor = actor_ident(session)
        cycle = cycle_of(session, year)
        slots = unit_slots(session, cycle, actor, when, unit=unit)
        if unit not in slots:
            raise UserError(tr("{unit} is not a unit of the {year} cycle", unit=unit, year=cycle.year))
        taken = take_rows(session, cycle, actor, slots, form_table(unit, entries), when)
        log = taken.logs.get(unit)
        changed = sorted(log.changes) if log else []
        filled, total = _progress(session, slots[unit], unit)
        append(session, taken.events(cycle, actor, when, "nhập trên trang tự đánh giá", {"source": "web"}))  # last
        return Saved(unit, changed, log.added if log else 0, filled, total)


def _progress(session: Session, slot: UnitSlot, unit: str) -> tuple[int, int]:
    """How many of the rows this person sees are filled (scored or not applicable), of how many: the grid's
    count, asked of the database in one query rather than by reading the whole grid again."""
    shown = slot.open_criteria if slot.supplied_by != unit else None  # a contributor's own rows
    codes = (
        list(shown) if shown is not None else [s.code for s in stored_framework(session, slot.framework_id).subcriteria]
    )
    filled = session.execute(
        select(func.count())
        .select_from(Score)
        .join(Criterion, col(Criterion.id) == col(Score.criterion_id))
        .where(
            col(Score.assessment_id) == slot.assessment_id,
            or_(col(Score.self_points).is_not(None), col(Score.not_applicable)),
            *([col(Criterion.code).in_(list(shown))] if shown is not None else []),
        )
    ).scalar_one()
    return int(filled), len(codes)


# --- the appraiser's rows ---------------------------------------------------------------------------


def save_appraisal_rows(
    database_url: str | None,
    year: int | None,
    unit: str,
    entries: Sequence[Mapping[str, str]],
    actor_ident: str,
    at: datetime | None = None,
) -> Saved:
    """Save an appraiser's scores and comments for some rows of a unit waiting for appraisal (the inputs
    of the next appraisal run): the appraise guards are asked first (an appraiser, independent of the unit,
    while appraisal is open), in the writing transaction with the assessment's row locked."""
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        assessment, _ = unit_assessment(session, cycle, unit)
        session.execute(select(col(Assessment.id)).where(col(Assessment.id) == assessment.id).with_for_update()).all()
        (facts,) = load_facts(session, cycle, unit_codes=[unit])
        if facts.state not in APPRAISABLE:
            raise UserError(
                tr("{unit} is in state {state!r}, not waiting for appraisal", unit=unit, state=state_word(facts.state))
            )
        try:
            trigger = "appraise" if facts.state == S.submitted else "reappraise"
            assessment_machine().fire(trigger, facts.state, Context(actor=actor, at=when, facts=facts), subject=unit)
        except TransitionNotAllowed as refusal:
            raise UserError(str(refusal)) from None
        assert assessment.framework_id is not None and assessment.id is not None
        framework = stored_framework(session, assessment.framework_id)
        stored = _stored_by_code(session, assessment.id)
        problems: list[str] = []
        changes: list[dict[str, object]] = []
        payload: dict[str, list[str | None]] = {}
        for entry in entries:
            code = str(entry.get("criterion", "")).strip()
            sub = framework.sub(code)
            row = stored.get(code)
            if sub is None or row is None:
                problems.append(
                    tr("Sub-criterion {code}: is not a row of {unit}'s self-assessment", code=code, unit=unit)
                )
                continue
            note = " ".join(nfc(str(entry.get("note", ""))).split())
            points, problem = appraiser_points(
                partial(_appraisal_place, code), sub, nfc(str(entry.get("score", ""))), note
            )
            if problem:
                problems.append(problem)
                continue
            if (row.appraiser_points, row.appraisal_note) != (points, note):
                changes.append({"a": assessment.id, "c": row.criterion_id, "p": points, "n": note})
                payload[code] = [_text(row.appraiser_points), _text(points)]
        if problems:
            raise SheetError(problems)
        if changes:
            hold(session, {assessment.id: (unit, facts.state)})
            table = table_of(Score)
            session.connection().execute(
                update(table)
                .where(table.c.assessment_id == bindparam("a"), table.c.criterion_id == bindparam("c"))
                .values(appraiser_points=bindparam("p"), appraisal_note=bindparam("n")),
                changes,
            )
            append(
                session,
                [
                    EventDraft(
                        kind="score",
                        trigger=Event.appraiser_scores,
                        actor=actor.code,
                        at=when,
                        cycle_year=cycle.year,
                        unit_code=unit,
                        reason="trên trang thẩm định",
                        payload={"source": "web", "changed": payload},
                    )
                ],
            )
        return Saved(unit, sorted(payload))


def _appraisal_place(code: str, column: str) -> str:
    """Where a problem of the appraiser's page is: "Tiêu chí 1.1.2, điểm thẩm định"."""
    place = tr("Sub-criterion {code}", code=code)
    return f"{place}, {tr(APPRAISAL_WORDS[column])}"


def _stored_by_code(session: Session, assessment_id: int) -> dict[str, Score]:
    """An assessment's stored rows by sub-criterion code."""
    return {
        code: score
        for score, code in session.execute(
            select(Score, col(Criterion.code))
            .join(Criterion, col(Criterion.id) == col(Score.criterion_id))
            .where(col(Score.assessment_id) == assessment_id)
        ).tuples()
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
