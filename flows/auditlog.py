"""Reading the audit trail: a unit's timeline, and verification of the whole chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cchc.flows.runtime import engine_for
from cchc.models.audit import Verification, timeline, verify
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.tables import OrgUnit


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


def describe_change(code: str, value: Any, shown: Callable[[Any], str] = str) -> str:
    """One changed criterion of an event's payload, e.g. "1.1.1 0.50→0.95 (no_evidence)"; `shown`
    writes the points (as stored, or the Vietnamese way on a page)."""
    if isinstance(value, list) and len(value) == 2:
        return f"{code} {shown(value[0])}→{shown(value[1])}"
    if isinstance(value, dict):
        before = value.get("before", value.get("self"))
        after = value.get("after", value.get("appraised"))
        rule = f" ({value['rule']})" if value.get("rule") else ""
        return f"{code} {shown(before)}→{shown(after)}{rule}"
    return code
