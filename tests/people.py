"""Plain factories of actors for the pure tests of the machines (no database)."""

from __future__ import annotations

from cchc.models.people import Actor


def actor(code: str = "gd", *roles: str, unit: str | None = "CAT", own_units: tuple[str, ...] = ()) -> Actor:
    return Actor(
        code=code,
        name=f"Cán bộ {code}",
        roles=frozenset(roles),
        unit_code=unit,
        own_units=frozenset(own_units),
        authority_code="CAT",
    )


def director() -> Actor:
    """The authority's head who is also a coordinator and an appraiser: every 'who' guard lets them through."""
    return actor("gd", "head", "coordinator", "appraiser")


def coordinator() -> Actor:
    return actor("pv01.coord1", "coordinator", unit="PV01-PCQLKH", own_units=("PV01-PCQLKH", "PV01"))


def appraiser(*own_units: str) -> Actor:
    return actor("pv01.appr1", "appraiser", unit="PV01-PCQLKH", own_units=own_units or ("PV01-PCQLKH", "PV01"))


def unit_officer(role: str, unit: str) -> Actor:
    return actor(f"{unit.lower()}.{role}", role, unit=unit, own_units=(unit,))
