"""Who acts: a person resolved with their roles and the units they belong to, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
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


def _chain_statement() -> Select[tuple[str, str]]:
    """A unit and the units above it, nearest first, in one recursive query (not the whole tree)."""
    up = (
        select(col(OrgUnit.id), col(OrgUnit.code), col(OrgUnit.kind), col(OrgUnit.parent_id), literal(0).label("depth"))
        .where(col(OrgUnit.id) == bindparam("unit_id"))
        .cte("up", recursive=True)
    )
    parent = aliased(OrgUnit)
    up = up.union_all(
        select(col(parent.id), col(parent.code), col(parent.kind), col(parent.parent_id), up.c.depth + 1)
        .join(up, col(parent.id) == up.c.parent_id)
        .where(up.c.depth < 64)
    )
    return select(up.c.code, up.c.kind).order_by(up.c.depth)


# Built once: every page asks who is logged in, and building a statement costs more than running it.
_PERSON = select(col(Person.id), col(Person.code), col(Person.full_name), col(Person.unit_id)).where(
    col(Person.active).is_(True),
    or_(col(Person.code) == bindparam("code"), func.lower(col(Person.email)) == bindparam("email")),
)
_ROLES = select(col(PersonRole.role)).where(col(PersonRole.person_id) == bindparam("person_id"))
_CHAIN = _chain_statement()


def resolve_actor(session: Session, ident: str) -> Actor:
    """The person whose code or e-mail is `ident`, with roles and the chain of units above them."""
    ident = ident.strip()
    found = session.execute(_PERSON, {"code": ident, "email": ident.lower()}).first()
    if found is None:
        raise UnknownActor(f"nobody with the code or e-mail {ident!r} (see the organisation file)")
    person_id, person_code, full_name, unit_id = found
    roles = session.execute(_ROLES, {"person_id": person_id}).scalars().all()
    chain = session.execute(_CHAIN, {"unit_id": unit_id}).all()
    return Actor(
        code=person_code,
        name=full_name,
        roles=frozenset(roles),
        unit_code=chain[0][0] if chain else None,
        own_units=frozenset(code for code, kind in chain if kind != "authority"),
        authority_code=chain[-1][0] if chain else None,
        person_id=person_id,
    )
