"""Who to write to: the people of a unit by role, its superior head, the coordinators, the leadership.

Loaded once per transaction (one query of people and roles, one of units) and answered from memory,
so a sweep over thousands of units resolves its recipients without a query per unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Recipient:
    code: str
    name: str
    email: str


class Directory:
    def __init__(self, session: Session) -> None:
        self.parent: dict[int, int | None] = {}
        self.kind: dict[int, str] = {}
        self.code: dict[int, str] = {}
        connection = session.connection()
        for uid, code, parent, kind in connection.exec_driver_sql("SELECT id, code, parent_id, kind FROM unit"):
            self.parent[uid], self.kind[uid], self.code[uid] = parent, kind, code
        self.by_role: dict[tuple[int, str], list[Recipient]] = {}
        self.coordinators: list[Recipient] = []
        rows = connection.exec_driver_sql(
            "SELECT p.code, p.full_name, p.email, p.unit_id, r.role FROM person p "
            "JOIN person_role r ON r.person_id = p.id WHERE p.active ORDER BY p.code"
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
