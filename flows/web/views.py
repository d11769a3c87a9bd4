"""What several pages share: the years of the cycles, how many rows of a long table a page shows."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from cchc.models.db import get_engine, read_session
from cchc.models.tables import Cycle

SHOWN = 200  # rows of a long table shown on a page (its export has them all)


def cycle_years(database_url: str | None) -> list[int]:
    """The years of the cycles run here, newest first (for the year menu)."""
    with read_session(get_engine(database_url)) as session:
        return list(
            session.execute(
                select(col(Cycle.year)).where(col(Cycle.imported).is_(False)).order_by(col(Cycle.year).desc())
            ).scalars()
        )
