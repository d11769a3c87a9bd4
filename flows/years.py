"""Results across years: each unit's published index, rank in group and class, year by year."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cchc.flows.lookup import class_bands
from cchc.flows.runtime import engine_for
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.tables import Cycle, OrgUnit, Publication, Result


@dataclass(frozen=True)
class YearResult:
    index: Decimal
    rank: int
    class_code: str
    class_name: str
    group: str


@dataclass
class UnitYears:
    unit: str
    name: str
    years: dict[int, YearResult] = field(default_factory=dict)

    def change(self, before: int, after: int) -> tuple[Decimal | None, int | None]:
        """Index change and places gained (positive: moved up) from one year to another."""
        a, b = self.years.get(before), self.years.get(after)
        if a is None or b is None:
            return None, None
        return b.index - a.index, (a.rank - b.rank if a.group == b.group else None)


@dataclass
class Comparison:
    years: list[int]
    units: list[UnitYears]

    def as_json(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "units": [
                {
                    "unit": u.unit,
                    "name": u.name,
                    "years": {str(y): {k: str(v) for k, v in asdict(r).items()} for y, r in sorted(u.years.items())},
                }
                for u in self.units
            ],
        }


def compare_years(database_url: str | None, years: list[int] | None = None, unit: str | None = None) -> Comparison:
    """The current publication of each requested year (every published year by default), per unit."""

    with read_session(engine_for(database_url)) as session:
        query = (
            select(
                col(Cycle.year),
                col(OrgUnit.code),
                col(OrgUnit.name),
                col(Result.group_code),
                col(Result.index_pct),
                col(Result.rank),
                col(Result.class_code),
            )
            .join(Publication, col(Publication.id) == col(Result.publication_id))
            .join(Cycle, col(Cycle.id) == col(Publication.cycle_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
            .where(col(Publication.current).is_(True))
            .order_by(col(OrgUnit.code), col(Cycle.year))
        )
        if years:
            query = query.where(col(Cycle.year).in_(years))
        if unit:
            query = query.where(col(OrgUnit.code) == unit)
        rows = session.execute(query).tuples().all()
        found = sorted({r[0] for r in rows})
        if years and (missing := sorted(set(years) - set(found))):
            raise UserError(f"no published results for {', '.join(map(str, missing))}")
        if not rows:
            raise UserError(f"no published results{' for ' + unit if unit else ''} yet")
        names: dict[int, dict[str, str]] = {}
        for cycle in session.execute(select(Cycle).where(col(Cycle.year).in_(found))).scalars():
            names[cycle.year] = {b.code: b.name for bands in class_bands(session, cycle).values() for b in bands}
    known = {code: name for year_names in names.values() for code, name in year_names.items()}  # for imported years
    by_unit: dict[str, UnitYears] = {}
    for year, code, name, group, index, rank, class_code in rows:
        entry = by_unit.setdefault(code, UnitYears(code, name))
        class_name = names.get(year, {}).get(class_code) or known.get(class_code, class_code)
        entry.years[year] = YearResult(index, rank, class_code, class_name, group)
    return Comparison(found, list(by_unit.values()))
