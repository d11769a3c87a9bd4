"""Publication (công bố): the final index, class and rank in group of every unit, versioned.

A correction republishes as a new version with a reason; the superseded version stays readable.
Publishing again with nothing changed writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from prefect import flow, task
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows import progress
from cchc.flows.auditcheck import write_checkpoint
from cchc.flows.lookup import Deadlines, actor_for, class_bands, current_publication, cycle_of, stored_framework
from cchc.flows.notices import notify_units
from cchc.flows.params import PublishParams
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.bulk import insert_rows
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.proof import digest_of_lines
from cchc.models.scoring import (
    UnitOutcome,
    UnitTotals,
    apply_adjustments,
    is_on_time,
    outcomes,
    pct_hundredths,
)
from cchc.models.tables import (
    Adjustment,
    Assessment,
    Cycle,
    OrgUnit,
    Publication,
    Result,
    UnitGroup,
)
from cchc.models.types import from_hundredths, to_hundredths
from cchc.states.assessment import AssessmentState
from cchc.states.workflow import fire_assessments, fire_cycle, load_facts

S = AssessmentState


TOTALS_SQL = text(
    "SELECT s.assessment_id, c.field_code, "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE c.max_points END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.appraised_points, 0) END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.self_points, 0) END) "
    "FROM score s JOIN criterion c ON c.id = s.criterion_id JOIN assessment a ON a.id = s.assessment_id "
    "WHERE a.cycle_id = :cycle GROUP BY s.assessment_id, c.field_code"
)


def gather_totals(session: Session, cycle: Cycle) -> list[UnitTotals]:
    """Every assessment's appraised and self totals, applicable maximum, fields, bonus and penalty:
    two aggregate queries and one of adjustments, whatever the number of units."""
    units = session.execute(
        select(
            col(Assessment.id),
            col(OrgUnit.id),
            col(OrgUnit.code),
            col(OrgUnit.name),
            col(Assessment.group_code),
            col(Assessment.submitted_at),
            col(Assessment.framework_id),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
        .where(col(Assessment.cycle_id) == cycle.id)
    ).all()
    fields: dict[int, dict[str, tuple[int, int, int]]] = {}
    for aid, field_code, maximum, appraised, self_total in session.execute(TOTALS_SQL, {"cycle": cycle.id}):
        fields.setdefault(aid, {})[field_code] = (
            int(appraised or 0),
            int(maximum or 0),
            int(self_total or 0),
        )
    granted: dict[int, list[str]] = {}
    for aid, code in session.execute(
        select(col(Adjustment.assessment_id), col(Adjustment.item_code))
        .join(Assessment, col(Assessment.id) == col(Adjustment.assessment_id))
        .where(col(Assessment.cycle_id) == cycle.id, col(Adjustment.revoked).is_(False))
    ):
        granted.setdefault(aid, []).append(code)
    items = {fid: stored_framework(session, fid).adjustments for fid in {u[6] for u in units if u[6]}}
    deadlines = Deadlines(session, cycle, "submission")
    totals = []
    for aid, unit_id, code, name, group, submitted_at, fid in units:
        per_field = fields.get(aid, {})
        on_time = is_on_time(submitted_at, deadlines.due(unit_id, group))
        adjustments = apply_adjustments(items.get(fid, ()), granted.get(aid, ()), on_time=on_time)
        totals.append(
            UnitTotals(
                assessment_id=aid,
                unit_code=code,
                unit_name=name,
                group=group,
                self_total=from_hundredths(sum(v[2] for v in per_field.values())),
                appraised_total=from_hundredths(sum(v[0] for v in per_field.values())),
                applicable_max=from_hundredths(sum(v[1] for v in per_field.values())),
                bonus=adjustments.bonus,
                penalty=adjustments.penalty,
                on_time=on_time,
                fields={fc: (from_hundredths(v[0]), from_hundredths(v[1])) for fc, v in per_field.items()},
            )
        )
    return totals


def previous_results(session: Session, cycle: Cycle) -> dict[str, tuple[Decimal, int]]:
    """Last year's published index and rank of each unit (by unit code), if last year was published."""
    previous = session.execute(
        select(Cycle).where(col(Cycle.authority_id) == cycle.authority_id, col(Cycle.year) == cycle.year - 1)
    ).scalar_one_or_none()
    if previous is None:
        return {}
    publication = current_publication(session, previous)
    if publication is None:
        return {}
    rows = session.execute(
        select(col(OrgUnit.code), col(Result.index_pct), col(Result.rank))
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Result.publication_id) == publication.id)
    ).all()
    return {code: (index, rank) for code, index, rank in rows}


def digest_of(results: list[UnitOutcome]) -> str:
    """The SHA-256 of everything a publication says, one line per unit in code order (codes have no
    whitespace, so tab-separated lines are unambiguous)."""
    return digest_of_lines(
        (
            t.unit_code,
            t.group,
            t.self_total,
            t.appraised_total,
            t.bonus,
            t.penalty,
            t.applicable_max,
            o.index,
            o.class_code,
            o.rank,
            t.on_time,
            t.fields,
            o.prev_index,
            o.prev_rank,
        )
        for o, t in ((o, o.totals) for o in results)
    )


@dataclass
class PublishSummary:
    year: int
    version: int
    new_version: bool
    digest: str
    units_published: list[str] = field(default_factory=list)
    checkpoint: str = ""  # the signed checkpoint written after a new version
    checkpoint_problem: str = ""  # why it could not be written


@task(name="publish")
def publish(params: PublishParams) -> PublishSummary:
    """Compute every unit's result; store a new publication version if anything differs from the
    current one; move ready units to `published`. One transaction."""
    engine = engine_for(params.database_url)
    at = params.at or now()
    with write_session(engine) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor)
        progress.step("Công bố: tính, lưu, chuyển trạng thái, thông báo", 4)
        totals = gather_totals(session, cycle)
        results = outcomes(totals, class_bands(session, cycle), previous_results(session, cycle))
        digest = digest_of(results)
        current = current_publication(session, cycle)
        ready = load_facts(session, cycle, states=[S.supplemented])
        if current is not None and current.digest == digest and not ready:
            return PublishSummary(cycle.year, current.version, False, digest)
        fire_cycle(session, cycle, "publish", actor, at, reason=params.reason)
        version = current.version if current is not None else 0
        new_version = current is None or current.digest != digest
        if new_version:
            if current is not None and not params.reason.strip():
                raise UserError(
                    f"version {current.version} of the {cycle.year} results is published; a correction "
                    "republishes with a reason (--reason)"
                )
            version += 1
            before = _published(session, current)
            progress.advance()
            _store(session, cycle, results, version, digest, actor.code, at, params.reason, current)
            progress.advance()
            _notify(session, cycle, results, version, before, at)
            progress.advance()
        by_unit = {o.totals.unit_code: o for o in results}
        fired = fire_assessments(
            session,
            "publish",
            ready,
            actor,
            at,
            reason=params.reason,
            payloads={
                f.assessment_id: {
                    "version": version,
                    "index": str(by_unit[f.unit_code].index),
                    "class": by_unit[f.unit_code].class_code,
                    "rank": by_unit[f.unit_code].rank,
                }
                for f in ready
            },
        )
        if fired.refused:
            raise UserError(str(fired.refused[0]))
        progress.advance()
        return PublishSummary(cycle.year, version, new_version, digest, [f.unit_code for f, _ in fired.moved])


RESULT_COLUMNS = (
    "publication_id",
    "assessment_id",
    "unit_id",
    "group_code",
    "self_total",
    "appraised_total",
    "bonus",
    "penalty",
    "applicable_max",
    "index_pct",
    "class_code",
    "rank",
    "on_time",
    "prev_index_pct",
    "prev_rank",
)


def _store(
    session: Session,
    cycle: Cycle,
    results: list[UnitOutcome],
    version: int,
    digest: str,
    actor: str,
    at: Any,
    reason: str,
    current: Publication | None,
) -> None:
    if current is not None:
        session.execute(update(Publication).where(col(Publication.id) == current.id).values(current=False))
    publication_id = session.execute(
        insert(Publication)
        .values(
            cycle_id=cycle.id,
            version=version,
            published_at=at,
            published_by=actor,
            reason=reason,
            digest=digest,
            current=True,
        )
        .returning(col(Publication.id))
    ).scalar_one()
    unit_ids = dict(
        session.execute(select(col(Assessment.id), col(Assessment.unit_id)).where(col(Assessment.cycle_id) == cycle.id))
        .tuples()
        .all()
    )

    def raw(value: Decimal | None) -> int | None:
        return None if value is None else to_hundredths(value)

    insert_rows(
        session,
        "result",
        RESULT_COLUMNS,
        (
            (
                publication_id,
                o.totals.assessment_id,
                unit_ids[o.totals.assessment_id],
                o.totals.group,
                raw(o.totals.self_total),
                raw(o.totals.appraised_total),
                raw(o.totals.bonus),
                raw(o.totals.penalty),
                raw(o.totals.applicable_max),
                raw(o.index),
                o.class_code,
                o.rank,
                o.totals.on_time,
                raw(o.prev_index),
                o.prev_rank,
            )
            for o in results
        ),
    )
    insert_rows(
        session,
        "field_result",
        ("publication_id", "assessment_id", "field_code", "points", "max_points", "pct"),
        (
            (publication_id, o.totals.assessment_id, code, p, m, pct_hundredths(p, m))
            for o in results
            for code, (p, m) in ((c, (to_hundredths(v[0]), to_hundredths(v[1]))) for c, v in o.totals.fields.items())
        ),
    )
    append(
        session,
        [
            EventDraft(
                kind="publication",
                trigger=Event.publish,
                actor=actor,
                at=at,
                cycle_year=cycle.year,
                reason=reason,
                payload={
                    "version": version,
                    "digest": digest,
                    "units": len(results),
                    **({"supersedes": current.version} if current is not None else {}),
                },
            )
        ],
    )


def _published(session: Session, publication: Publication | None) -> dict[int, tuple[Decimal, str, int]]:
    """The (index, class, rank) of each assessment in a publication (nothing for none)."""
    if publication is None:
        return {}
    rows = session.execute(
        select(col(Result.assessment_id), col(Result.index_pct), col(Result.class_code), col(Result.rank)).where(
            col(Result.publication_id) == publication.id
        )
    ).tuples()
    return {aid: (index, cls, rank) for aid, index, cls, rank in rows}


def _notify(
    session: Session,
    cycle: Cycle,
    results: list[UnitOutcome],
    version: int,
    before: dict[int, tuple[Decimal, str, int]],
    at: datetime,
) -> None:
    """A publication notice to each unit whose published result is new or changed by this version."""
    groups = dict(session.execute(select(col(UnitGroup.code), col(UnitGroup.name))).tuples().all())
    sizes: dict[str, int] = {}
    for o in results:
        sizes[o.totals.group] = sizes.get(o.totals.group, 0) + 1
    changed = [o for o in results if before.get(o.totals.assessment_id) != (o.index, o.class_code, o.rank)]
    unit_ids = dict(
        session.execute(select(col(Assessment.id), col(Assessment.unit_id)).where(col(Assessment.cycle_id) == cycle.id))
        .tuples()
        .all()
    )
    notify_units(
        session,
        cycle,
        "publication_notice",
        f"publication:{cycle.year}:v{version}",
        [(unit_ids[o.totals.assessment_id], o.totals.unit_code, o.totals.unit_name) for o in changed],
        at,
        context={
            o.totals.unit_code: {
                "index": str(o.index),
                "class_name": o.class_name,
                "rank": o.rank,
                "version": version,
                "group_name": groups.get(o.totals.group, o.totals.group),
                "group_size": sizes[o.totals.group],
            }
            for o in changed
        },
    )


@flow(name="publish")
def publish_flow(params: PublishParams) -> PublishSummary:
    """Publish the cycle's results (or a corrected version of them); a new version is followed by a signed
    checkpoint of the audit trail's head, kept outside the database (flows/auditcheck.py)."""
    summary = publish(params)
    if summary.new_version:
        try:
            summary.checkpoint = str(
                write_checkpoint(
                    params.database_url, f"publication {summary.version} of {summary.year}", params.at
                ).path
            )
        except UserError as exc:  # the results are published; the operator is told the checkpoint is missing
            summary.checkpoint_problem = str(exc)
    return summary
