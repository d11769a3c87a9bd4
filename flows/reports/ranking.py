"""The published ranking as the reports show it: the ranking report of a publication, each unit's field
results, who published, and a unit's row of values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import cycle_of
from cchc.flows.ranking import GroupReport, RankedUnit, RankingReport, ranking_report
from cchc.flows.runtime import engine_for
from cchc.models.db import read_session
from cchc.models.formats import local_time
from cchc.models.tables import Cycle, FieldResult, OrgUnit, Person, Publication, Result
from cchc.models.text import natural_key


@dataclass
class RankingDocument:
    """A publication as the report shows it: the ranking, each unit's field results, who published."""

    report: RankingReport
    fields: dict[str, dict[str, Decimal | None]]  # unit code → field code → % of the field (None: not applicable)
    publisher: str
    timezone: str

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.report.published_at)


def field_percentages(session: Session, cycle: Cycle, version: int) -> dict[str, dict[str, Decimal | None]]:
    """Each unit's published share of each field in one publication version (one query)."""
    rows = session.execute(
        select(col(OrgUnit.code), col(FieldResult.field_code), col(FieldResult.pct), col(FieldResult.max_points))
        .select_from(FieldResult)
        .join(Publication, col(Publication.id) == col(FieldResult.publication_id))
        .join(
            Result,
            and_(
                col(Result.publication_id) == col(FieldResult.publication_id),
                col(Result.assessment_id) == col(FieldResult.assessment_id),
            ),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Publication.cycle_id) == cycle.id, col(Publication.version) == version)
    ).tuples()
    found: dict[str, dict[str, Decimal | None]] = {}
    for unit, code, pct, maximum in rows:
        found.setdefault(unit, {})[code] = pct if maximum > 0 else None
    return found


def _person_label(session: Session, code: str) -> str:
    """A person as "Full name (code)"; the code alone for the system or someone no longer listed."""
    name = session.execute(select(col(Person.full_name)).where(col(Person.code) == code)).scalar_one_or_none()
    return f"{name} ({code})" if name else code


def read_ranking_document(database_url: str | None, year: int | None, version: int | None = None) -> RankingDocument:
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        report = ranking_report(session, cycle, version)
        return RankingDocument(
            report=report,
            fields=field_percentages(session, cycle, report.version),
            publisher=_person_label(session, report.published_by),
            timezone=get_settings().timezone,
        )


def group_fields(group: GroupReport, fields: dict[str, dict[str, Decimal | None]]) -> list[tuple[str, str]]:
    """The fields of a group's framework in order, as (code, name); for a cycle taken in from paper,
    the fields its results name."""
    if group.field_names:
        return list(group.field_names.items())
    codes = set(group.stats.field_averages) | {c for u in group.units for c in fields.get(u.unit, {})}
    return [(code, "") for code in sorted(codes, key=natural_key)]


def ranking_values(u: RankedUnit) -> list[Any]:
    """A unit's row of the ranking, in RANKING_COLUMNS order, as values (each reader formats them)."""
    return [
        u.rank,
        u.unit,
        u.name,
        u.index,
        u.class_name,
        u.appraised_total,
        u.bonus,
        u.penalty,
        u.applicable_max,
        u.on_time,
        u.prev_index,
        u.index_change,
        u.prev_rank,
        u.rank_change,
    ]


def ranking_title(doc: RankingDocument) -> tuple[str, str]:
    """The report's title and its line about the publication (version, date, who, why)."""
    report = doc.report
    line = (
        f"Công bố lần {report.version} ngày {local_time(doc.published_at, doc.timezone, with_time=False)}, "
        f"người công bố: {doc.publisher}"
    )
    if report.reason:
        line += f"; lý do: {report.reason}"
    return f"Chỉ số cải cách hành chính năm {report.year}", line
