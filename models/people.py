"""Who acts: a person resolved with their roles and the units they belong to, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.org import Role
from cchc.models.tables import OrgUnit, Person, PersonRole


class UnknownActor(LookupError):
    """Nobody with that code or e-mail (or the person is no longer active)."""


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger. `own_units` are every unit the person belongs to, up to the authority."""

    code: str
    name: str
    roles: frozenset[str] = frozenset()
    unit_code: str | None = None
    own_units: frozenset[str] = field(default_factory=frozenset)
    authority_code: str | None = None
    person_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.code.startswith("system:")

    @property
    def is_authority_leader(self) -> bool:
        """Head or deputy of the authority itself (the Director and deputies)."""
        return self.unit_code == self.authority_code and bool(self.roles & {Role.head, Role.deputy})

    @property
    def is_coordinator(self) -> bool:
        return Role.coordinator in self.roles

    @property
    def acts_for_authority(self) -> bool:
        """Decides for the authority: its coordinators and its leadership."""
        return self.is_coordinator or self.is_authority_leader

    @property
    def is_authority_staff(self) -> bool:
        """Works for the authority: its leaders, coordinators and appraisers."""
        return self.acts_for_authority or Role.appraiser in self.roles

    def label(self) -> str:
        return self.code if self.is_system else f"{self.name} ({self.code})"


def system_actor(task: str) -> Actor:
    """The orchestrator acting by itself (a sweep, a scheduled flow)."""
    return Actor(code=f"system:{task}", name=f"cchc {task}")


def resolve_actor(session: Session, ident: str) -> Actor:
    """The person whose code or e-mail is `ident`, with roles and the chain of units above them."""
    ident = ident.strip()
    person = (
        session.execute(
            select(Person).where(
                col(Person.active).is_(True),
                or_(col(Person.code) == ident, func.lower(col(Person.email)) == ident.lower()),
            )
        )
        .scalars()
        .first()
    )
    if person is None:
        raise UnknownActor(f"nobody with the code or e-mail {ident!r} (see the organisation file)")
    roles = session.execute(select(col(PersonRole.role)).where(col(PersonRole.person_id) == person.id)).scalars().all()
    chain: list[OrgUnit] = []
    unit = session.get(OrgUnit, person.unit_id)
    while unit is not None and len(chain) < 64:  # the person's own chain of parents, not the whole tree
        chain.append(unit)
        unit = session.get(OrgUnit, unit.parent_id) if unit.parent_id is not None else None
    return Actor(
        code=person.code,
        name=person.full_name,
        roles=frozenset(roles),
        unit_code=chain[0].code if chain else None,
        own_units=frozenset(u.code for u in chain if u.kind != "authority"),
        authority_code=chain[-1].code if chain else None,
        person_id=person.id,
    )
