"""The published ranking (bảng xếp hạng): a publication, the current one or a superseded version, as each
group's ranking with classes, statistics and the change against last year. Read-only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import class_bands, cycle_of, stored_framework
from cchc.flows.runtime import engine_for
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.framework import ClassBand
from cchc.models.scoring import (
    GroupStats,
    UnitOutcome,
    UnitTotals,
    group_statistics,
)
from cchc.models.tables import (
    Cycle,
    CycleGroup,
    FieldResult,
    OrgUnit,
    Publication,
    Result,
    UnitGroup,
)


@dataclass
class RankedUnit:
    rank: int
    unit: str
    name: str
    index: Decimal
    class_code: str
    class_name: str
    appraised_total: Decimal
    bonus: Decimal
    penalty: Decimal
    applicable_max: Decimal
    on_time: bool
    prev_index: Decimal | None
    prev_rank: int | None
    index_change: Decimal | None
    rank_change: int | None


@dataclass
class GroupReport:
    group: str
    name: str
    stats: GroupStats
    class_names: dict[str, str]
    field_names: dict[str, str]
    units: list[RankedUnit] = field(default_factory=list)


@dataclass
class RankingReport:
    year: int
    version: int
    published_at: str
    published_by: str
    reason: str
    digest: str
    groups: list[GroupReport] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def ranking_report(session: Session, cycle: Cycle, version: int | None = None) -> RankingReport:
    """A publication (the current one by default) as a ranking per group with its statistics."""
    query = select(Publication).where(col(Publication.cycle_id) == cycle.id)
    query = (
        query.where(col(Publication.version) == version) if version else query.where(col(Publication.current).is_(True))
    )
    publication = session.execute(query).scalar_one_or_none()
    if publication is None:
        raise UserError(
            f"the {cycle.year} cycle has {'no version ' + str(version) if version else 'not been published'}"
        )
    rows = session.execute(
        select(Result, col(OrgUnit.code), col(OrgUnit.name))
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Result.publication_id) == publication.id)
    ).all()
    field_rows: dict[int, dict[str, tuple[Decimal, Decimal]]] = {}
    for fr in session.execute(select(FieldResult).where(col(FieldResult.publication_id) == publication.id)).scalars():
        field_rows.setdefault(fr.assessment_id, {})[fr.field_code] = (fr.points, fr.max_points)
    bands = class_bands(session, cycle) if not cycle.imported else {}
    group_rows = (
        session.execute(select(col(UnitGroup.code), col(UnitGroup.name)).order_by(col(UnitGroup.position)))
        .tuples()
        .all()
    )
    group_names = dict(group_rows)
    order = [code for code, _ in group_rows]
    frameworks = dict(
        session.execute(
            select(col(CycleGroup.group_code), col(CycleGroup.framework_id)).where(col(CycleGroup.cycle_id) == cycle.id)
        )
        .tuples()
        .all()
    )
    by_group: dict[str, list[UnitOutcome]] = {}
    for result, code, name in rows:
        totals = UnitTotals(
            assessment_id=result.assessment_id,
            unit_code=code,
            unit_name=name,
            group=result.group_code,
            self_total=result.self_total,
            appraised_total=result.appraised_total,
            applicable_max=result.applicable_max,
            bonus=result.bonus,
            penalty=result.penalty,
            on_time=result.on_time,
            fields=field_rows.get(result.assessment_id, {}),
        )
        band_names = {b.code: b.name for b in bands.get(result.group_code, ())}
        by_group.setdefault(result.group_code, []).append(
            UnitOutcome(
                totals=totals,
                index=result.index_pct,
                class_code=result.class_code,
                class_name=band_names.get(result.class_code, result.class_code),
                rank=result.rank,
                prev_index=result.prev_index_pct,
                prev_rank=result.prev_rank,
            )
        )
    report = RankingReport(
        year=cycle.year,
        version=publication.version,
        published_at=publication.published_at.isoformat(),
        published_by=publication.published_by,
        reason=publication.reason,
        digest=publication.digest,
    )
    for group in sorted(by_group, key=lambda g: order.index(g) if g in order else len(order)):
        members = sorted(by_group[group], key=lambda o: (o.rank, o.totals.unit_code))
        group_bands = bands.get(group) or tuple(
            ClassBand(code=c, name=c, min=Decimal(0)) for c in sorted({m.class_code for m in members})
        )
        fw = stored_framework(session, fid) if (fid := frameworks.get(group)) else None
        report.groups.append(
            GroupReport(
                group=group,
                name=group_names.get(group, group),
                stats=group_statistics(members, group_bands),
                class_names={b.code: b.name for b in group_bands},
                field_names={f.code: f.name for f in fw.fields} if fw else {},
                units=[
                    RankedUnit(
                        rank=m.rank,
                        unit=m.totals.unit_code,
                        name=m.totals.unit_name,
                        index=m.index,
                        class_code=m.class_code,
                        class_name=m.class_name,
                        appraised_total=m.totals.appraised_total,
                        bonus=m.totals.bonus,
                        penalty=m.totals.penalty,
                        applicable_max=m.totals.applicable_max,
                        on_time=m.totals.on_time,
                        prev_index=m.prev_index,
                        prev_rank=m.prev_rank,
                        index_change=m.index_change,
                        rank_change=m.rank_change,
                    )
                    for m in members
                ],
            )
        )
    return report


def read_ranking(database_url: str | None, year: int | None, version: int | None = None) -> RankingReport:
    engine = engine_for(database_url)
    with read_session(engine) as session:
        return ranking_report(session, cycle_of(session, year), version)
