"""Reading the audit trail: a unit's timeline, and verification of the whole chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from flows.runtime import UserError, engine_for
from models.audit import Verification, timeline, verify
from models.db import read_session
from models.tables import OrgUnit


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str
    cycle_year: int | None
    from_state: str | None
    to_state: str | None
    reason: str
    payload: dict[str, Any]


def unit_timeline(database_url: str | None, unit: str, year: int | None = None) -> list[TimelineEntry]:
    engine = engine_for(database_url)
    with read_session(engine) as session:
        if session.execute(select(col(OrgUnit.id)).where(col(OrgUnit.code) == unit)).first() is None:
            raise UserError(f"no unit with the code {unit!r}")
        return [
            TimelineEntry(
                e.seq,
                e.at,
                e.actor,
                e.kind,
                e.trigger,
                e.cycle_year,
                e.from_state,
                e.to_state,
                e.reason,
                json.loads(e.payload),
            )
            for e in timeline(session, unit, year)
        ]


def verify_chain(database_url: str | None) -> Verification:
    engine = engine_for(database_url)
    with read_session(engine) as session:
        return verify(session)
