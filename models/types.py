"""Column types: exact points stored as integer hundredths, and UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

HUNDREDTH = Decimal("0.01")


class InexactPoints(ValueError):
    """A value with more than two decimals was about to be stored as points."""


def to_hundredths(value: Decimal) -> int:
    """Exact integer hundredths of a Decimal, refusing anything finer than 0.01."""
    scaled = value.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise InexactPoints(f"{value} has more than two decimals")
    return int(scaled)


def from_hundredths(value: int) -> Decimal:
    """The Decimal for integer hundredths, always with two decimals (150 → 1.50)."""
    return Decimal(int(value)).scaleb(-2)


class Points(TypeDecorator[Decimal]):
    """Points and percentages as exact decimals with two places.

    SQLite has no decimal type (NUMERIC becomes a binary float there), so the value is stored as an
    integer number of hundredths on every backend: sums in SQL stay exact, and Python sees Decimal.
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_hundredths(value if isinstance(value, Decimal) else Decimal(str(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_hundredths(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC (naive on SQLite, timestamptz on PostgreSQL), read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
