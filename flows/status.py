"""Where a cycle stands: phase, deadlines, units per state per group, who is late."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from cchc.flows.lookup import Deadlines, current_publication, cycle_of
from cchc.flows.runtime import engine_for, now
from cchc.models.db import read_session
from cchc.models.scoring import is_on_time
from cchc.models.tables import Assessment, Commitment, Deadline, OrgUnit, UnitGroup
from cchc.states.assessment import AssessmentState

S = AssessmentState
NOT_SUBMITTED = (S.plan, S.self_assess)


@dataclass
class CycleStatus:
    year: int
    title: str
    phase: str
    as_of: datetime
    deadlines: dict[str, datetime]
    groups: dict[str, str]  # code → name
    counts: dict[str, dict[str, int]]  # group → state → n
    total: int
    overdue: list[str] = field(default_factory=list)  # not submitted, deadline passed
    late: list[str] = field(default_factory=list)  # submitted after the deadline
    published_version: int | None = None
    commitments: dict[str, int] = field(default_factory=dict)  # state → how many
    unsigned_commitments: int = 0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["deadlines"] = {k: v.isoformat() for k, v in self.deadlines.items()}
        return data


def cycle_status(database_url: str | None, year: int | None, at: datetime | None = None) -> CycleStatus:
    engine = engine_for(database_url)
    as_of = at or now()
    with read_session(engine) as session:
        cycle = cycle_of(session, year)
        deadlines = dict(
            session.execute(
                select(col(Deadline.phase), col(Deadline.due_at))
                .where(
                    col(Deadline.cycle_id) == cycle.id,
                    col(Deadline.group_code).is_(None),
                    col(Deadline.unit_id).is_(None),
                )
                .order_by(col(Deadline.due_at))
            )
            .tuples()
            .all()
        )
        submission = Deadlines(session, cycle, "submission")
        rows = session.execute(
            select(
                col(OrgUnit.id),
                col(OrgUnit.code),
                col(Assessment.group_code),
                col(Assessment.state),
                col(Assessment.submitted_at),
            )
            .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
            .where(col(Assessment.cycle_id) == cycle.id)
            .order_by(col(OrgUnit.code))
        ).all()
        groups = dict(
            session.execute(select(col(UnitGroup.code), col(UnitGroup.name)).order_by(col(UnitGroup.position)))
            .tuples()
            .all()
        )
        status = CycleStatus(
            year=cycle.year,
            title=cycle.title,
            phase=cycle.phase,
            as_of=as_of,
            deadlines=deadlines,
            groups={},
            counts={},
            total=len(rows),
        )
        present = {row[2] for row in rows}
        for code, name in groups.items():
            if code in present:
                status.groups[code] = name
                status.counts[code] = {s.value: 0 for s in S}
        for unit_id, code, group, state, submitted_at in rows:
            status.groups.setdefault(group, groups.get(group, group))
            by_state = status.counts.setdefault(group, {s.value: 0 for s in S})
            by_state[state] += 1
            due = submission.due(unit_id, group)
            if state in NOT_SUBMITTED:
                if due is not None and as_of >= due:
                    status.overdue.append(code)
            elif submitted_at is not None and submitted_at <= as_of and not is_on_time(submitted_at, due):
                status.late.append(code)
        status.commitments = {
            str(state): int(n)
            for state, n in session.execute(
                select(col(Commitment.state), func.count())
                .where(col(Commitment.cycle_id) == cycle.id)
                .group_by(col(Commitment.state))
            ).tuples()
        }
        status.unsigned_commitments = sum(n for state, n in status.commitments.items() if state != "signed")
        publication = current_publication(session, cycle)
        status.published_version = publication.version if publication else None
        return status
