"""Who to write to: the people of a unit by role, its superior head, the coordinators, the leadership.

Loaded once per transaction and answered from memory, so a sweep over thousands of units resolves its
recipients without a query per unit: every unit and every person (one query of units, one of people and
roles), or with `units` only what those units can be answered from — the units and the units above them
(one recursive query) and their people with the coordinators (one query), however many units are asked.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Recipient:
    code: str
    name: str
    email: str


_PEOPLE = (
    "SELECT p.code, p.full_name, p.email, p.unit_id, r.role FROM person p "
    "JOIN person_role r ON r.person_id = p.id WHERE p.active"
)


def _id_list(dialect: str) -> str:
    """A set of ids passed as one parameter (a JSON array): one statement whatever the number of ids."""
    if dialect == "postgresql":
        return "SELECT CAST(json_array_elements_text(CAST(:ids AS json)) AS bigint)"
    return "SELECT value FROM json_each(:ids)"


def _chain(dialect: str) -> str:
    """The units of :ids and every unit above them, each once (UNION stops on a loop in the tree)."""
    return (
        f"WITH RECURSIVE up(id) AS (SELECT id FROM unit WHERE id IN ({_id_list(dialect)}) "
        "UNION SELECT u.parent_id FROM unit u JOIN up ON u.id = up.id WHERE u.parent_id IS NOT NULL) "
        "SELECT u.id, u.code, u.parent_id, u.kind FROM unit u JOIN up ON u.id = up.id"
    )


class Directory:
    def __init__(self, session: Session, units: Collection[int] | None = None) -> None:
        """Every unit and person; with `units`, only what answers for those units (their own people, the
        heads and deputies above them, the coordinators): `resolve` gives the same for them as the whole."""
        self.parent: dict[int, int | None] = {}
        self.kind: dict[int, str] = {}
        self.code: dict[int, str] = {}
        self.by_role: dict[tuple[int, str], list[Recipient]] = {}
        self.coordinators: list[Recipient] = []
        connection = session.connection()
        if units is None:
            unit_rows = connection.exec_driver_sql("SELECT id, code, parent_id, kind FROM unit")
        else:
            dialect = connection.dialect.name
            unit_rows = connection.execute(text(_chain(dialect)), {"ids": json.dumps(sorted(units))})
        for uid, code, parent, kind in unit_rows:
            self.parent[uid], self.kind[uid], self.code[uid] = parent, kind, code
        if units is None:
            rows = connection.exec_driver_sql(f"{_PEOPLE} ORDER BY p.code")
        else:  # the people of these units and of the units above them, and the coordinators wherever they are
            rows = connection.execute(
                text(f"{_PEOPLE} AND (p.unit_id IN ({_id_list(dialect)}) OR r.role = 'coordinator') ORDER BY p.code"),
                {"ids": json.dumps(sorted(self.parent))},
            )
        for code, name, email, unit_id, role in rows:
            person = Recipient(code, name, email)
            self.by_role.setdefault((unit_id, role), []).append(person)
            if role == "coordinator":
                self.coordinators.append(person)

    def authority_of(self, unit_id: int) -> int:
        seen = 0
        while (parent := self.parent.get(unit_id)) is not None and seen < 64:
            unit_id, seen = parent, seen + 1
        return unit_id

    def people(self, unit_id: int, role: str) -> list[Recipient]:
        return self.by_role.get((unit_id, role), [])

    def head_or_acting(self, unit_id: int) -> list[Recipient]:
        """The head, or where a unit has none, its deputies (who may act for the head)."""
        return self.people(unit_id, "head") or self.people(unit_id, "deputy")

    def resolve(self, unit_id: int, roles: Iterable[str]) -> list[Recipient]:
        """The people of these roles for a unit, each once, in the order of the roles."""
        found: list[Recipient] = []
        for role in roles:
            if role in ("focal", "head", "deputy"):
                found += self.people(unit_id, role)
            elif role == "signer":  # who signs for the unit: its head, or its deputies when it has none
                found += self.head_or_acting(unit_id)
            elif role == "superior_head":
                parent = self.parent.get(unit_id)
                found += self.head_or_acting(parent) if parent is not None else []
            elif role == "coordinator":
                found += self.coordinators
            elif role == "authority_leadership":
                authority = self.authority_of(unit_id)
                found += self.people(authority, "head") + self.people(authority, "deputy")
        unique: dict[str, Recipient] = {}
        for person in found:
            unique.setdefault(person.code, person)
        return list(unique.values())
