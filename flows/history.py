"""Taking in a past year's published results (from paper), so that this year compares against them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import col

from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.proof import imported_digest
from cchc.models.scoresheet import Sheet, SheetError, cell_of, open_table
from cchc.models.scoring import competition_ranks
from cchc.models.tables import Assessment, Cycle, OrgUnit, Publication, Result
from cchc.models.text import parse_decimal
from cchc.states.assessment import AssessmentState
from cchc.states.permissions import Action, authorize

HISTORY_ALIASES = {
    "unit": ("unit", "đơn vị", "mã đơn vị"),
    "index": ("index", "chỉ số", "chỉ số cchc"),
    "class": ("class", "xếp loại"),
}


@dataclass
class HistorySummary:
    year: int
    units: int
    created: bool


def import_results(
    database_url: str | None, year: int, path: Path, actor_ident: str | None, at: datetime | None = None
) -> HistorySummary:
    """Store a past year's published index per unit (CSV: unit, index[, class]) as that year's
    publication; ranks are computed per group. Importing the same file again changes nothing."""
    engine = engine_for(database_url)
    when = at or now()
    table = open_table(path, HISTORY_ALIASES, ("unit", "index"), ("class",))
    sheet = Sheet()  # the first problems and how many: a file of millions of bad lines keeps no more
    entries: dict[str, tuple[Decimal, str]] = {}
    for line, record in table.rows:
        if not any(c.strip() for c in record):
            continue
        unit = cell_of(record, table.columns, "unit")
        index_text = cell_of(record, table.columns, "index")
        try:
            value = parse_decimal(index_text)
        except ValueError:
            sheet.problem(f"{table.at(line, 'index')}: {index_text!r} is not a number")
            continue
        if value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
            sheet.problem(f"{table.at(line, 'index')}: {index_text} is not an index (0..100, two decimals)")
            continue
        if unit in entries:
            sheet.problem(f"{table.at(line)}: unit {unit} appears a second time")
            continue
        entries[unit] = (value, cell_of(record, table.columns, "class"))
    with write_session(engine) as session:
        actor = actor_for(session, actor_ident)
        authorize(Action.import_results, actor, when)
        units = {
            code: (uid, group, parent)
            for code, uid, group, parent in session.execute(
                select(col(OrgUnit.code), col(OrgUnit.id), col(OrgUnit.group_code), col(OrgUnit.parent_id))
            )
        }
        for code in entries:
            if code not in units or units[code][1] is None:
                sheet.problem(f"{path.name}: {code!r} is not an assessed unit of the organisation")
        if sheet.problem_count:
            raise SheetError(sheet.problems, sheet.problem_count)
        authority_id = next(iter({units[c][2] for c in entries}))
        existing = session.execute(
            select(Cycle).where(col(Cycle.authority_id) == authority_id, col(Cycle.year) == year)
        ).scalar_one_or_none()
        digest = imported_digest((k, v[0], v[1]) for k, v in entries.items())
        if existing is not None:
            if existing.imported and existing.config_sha256 == digest:
                return HistorySummary(year, len(entries), False)
            raise UserError(
                f"the {year} cycle is already in the database; results are imported once, for a past year run on paper"
            )
        cycle_id = session.execute(
            insert(Cycle)
            .values(
                year=year,
                authority_id=authority_id,
                title=f"Kết quả Chỉ số CCHC năm {year} (nhập từ văn bản)",
                phase="closed",
                imported=True,
                opened_at=when,
                config_sha256=digest,
                version=1,
            )
            .returning(col(Cycle.id))
        ).scalar_one()
        session.execute(
            insert(Assessment),
            [
                {
                    "cycle_id": cycle_id,
                    "unit_id": units[c][0],
                    "group_code": units[c][1],
                    "framework_id": None,
                    "state": AssessmentState.awarded,
                    "version": 1,
                    "appraisal_version": 0,
                    "updated_at": when,
                    "supplement_note": "",
                    "supplement_criteria": "",
                }
                for c in sorted(entries)
            ],
        )
        aids = dict(
            session.execute(
                select(col(Assessment.unit_id), col(Assessment.id)).where(col(Assessment.cycle_id) == cycle_id)
            )
            .tuples()
            .all()
        )
        publication_id = session.execute(
            insert(Publication)
            .values(
                cycle_id=cycle_id,
                version=1,
                published_at=when,
                published_by=actor.code,
                reason=f"imported from {path.name}",
                digest=digest,
                current=True,
            )
            .returning(col(Publication.id))
        ).scalar_one()
        by_group: dict[str, list[str]] = {}
        for code in sorted(entries):
            by_group.setdefault(units[code][1], []).append(code)
        rows = []
        for members in by_group.values():
            ranks = competition_ranks([entries[c][0] for c in members])
            for code, rank in zip(members, ranks, strict=True):
                index, class_code = entries[code]
                uid, group, _ = units[code]
                rows.append(
                    {
                        "publication_id": publication_id,
                        "assessment_id": aids[uid],
                        "unit_id": uid,
                        "group_code": group,
                        "self_total": Decimal(0),
                        "appraised_total": index,
                        "bonus": Decimal(0),
                        "penalty": Decimal(0),
                        "applicable_max": Decimal(100),
                        "index_pct": index,
                        "class_code": class_code,
                        "rank": rank,
                        "on_time": True,
                    }
                )
        session.execute(insert(Result), rows)
        append(
            session,
            [
                EventDraft(
                    kind="publication",
                    trigger=Event.import_results,
                    actor=actor.code,
                    at=when,
                    cycle_year=year,
                    reason=f"imported from {path.name}",
                    payload={"units": len(rows), "digest": digest},
                )
            ],
        )
        return HistorySummary(year, len(rows), True)
