"""Loading the organisation (units, groups, people, roles) from its data file, set-based and idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.models.audit import Event, EventDraft, append
from cchc.models.org import OrgDef, load_org
from cchc.models.people import Actor
from cchc.models.tables import OrgUnit, Person, PersonRole, UnitGroup


@dataclass
class OrgLoadSummary:
    path: str
    units_added: list[str] = field(default_factory=list)
    units_changed: list[str] = field(default_factory=list)
    units_deactivated: list[str] = field(default_factory=list)
    people_added: list[str] = field(default_factory=list)
    people_changed: list[str] = field(default_factory=list)
    people_deactivated: list[str] = field(default_factory=list)
    units: int = 0
    people: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.units_added,
                self.units_changed,
                self.units_deactivated,
                self.people_added,
                self.people_changed,
                self.people_deactivated,
            )
        )


def read_org(path: Path) -> OrgDef:
    """Read and validate an organisation file (DataFileError names the entry at fault)."""
    return load_org(path)


def write_org(session: Session, org: OrgDef, actor: Actor, at: datetime, path: str) -> OrgLoadSummary:
    """Make the database's organisation match the file: add, update, deactivate (never delete: history
    refers to units and people). One audit event when anything changed; nothing when nothing did."""
    summary = OrgLoadSummary(path=path, units=len(org.units), people=len(org.people))
    existing_groups = {g.code: g for g in session.execute(select(UnitGroup)).scalars()}
    for position, group in enumerate(org.groups, 1):
        if group.code not in existing_groups:
            session.execute(insert(UnitGroup).values(code=group.code, name=group.name, position=position))
        elif (existing_groups[group.code].name, existing_groups[group.code].position) != (
            group.name,
            position,
        ):
            session.execute(
                update(UnitGroup).where(col(UnitGroup.code) == group.code).values(name=group.name, position=position)
            )

    units = {u.code: u for u in session.execute(select(OrgUnit)).scalars()}
    ids = {code: u.id for code, u in units.items()}
    # Parents come before children in the file's order: insert level by level, one executemany each.
    pending = [u for u in org.units if u.code not in units]
    while pending:
        ready = [u for u in pending if u.parent is None or u.parent in ids]
        session.execute(
            insert(OrgUnit),
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "kind": u.kind,
                    "group_code": u.group,
                    "parent_id": ids[u.parent] if u.parent else None,
                    "active": True,
                }
                for u in ready
            ],
        )
        rows = (
            session.execute(
                select(col(OrgUnit.code), col(OrgUnit.id)).where(col(OrgUnit.code).in_([u.code for u in ready]))
            )
            .tuples()
            .all()
        )
        ids.update(dict(rows))
        summary.units_added += [u.code for u in ready]
        pending = [u for u in pending if u.code not in ids]
    changes = []
    for u in org.units:
        row = units.get(u.code)
        if row is None:
            continue
        wanted = {
            "name": u.name,
            "kind": u.kind,
            "group_code": u.group,
            "parent_id": ids[u.parent] if u.parent else None,
            "active": True,
        }
        if any(getattr(row, k) != v for k, v in wanted.items()):
            changes.append({"_id": row.id, **wanted})
            summary.units_changed.append(u.code)
    for change in changes:
        unit_id = change.pop("_id")
        session.execute(update(OrgUnit).where(col(OrgUnit.id) == unit_id).values(**change))
    in_file = {u.code for u in org.units}
    gone = [code for code, row in units.items() if code not in in_file and row.active]
    if gone:
        session.execute(update(OrgUnit).where(col(OrgUnit.code).in_(gone)).values(active=False))
        summary.units_deactivated = sorted(gone)

    people = {p.code: p for p in session.execute(select(Person)).scalars()}
    roles: dict[int, set[str]] = {}
    for person_id, role in session.execute(select(col(PersonRole.person_id), col(PersonRole.role))):
        roles.setdefault(person_id, set()).add(role)
    new_people = [p for p in org.people if p.code not in people]
    # Free the e-mails of people who leave or change address first (e-mail is unique).
    for p in org.people:
        prow = people.get(p.code)
        if prow is not None and prow.email != p.email:
            session.execute(
                update(Person).where(col(Person.id) == prow.id).values(email=f"{prow.email}#moved{prow.id}")
            )
    gone_people = [code for code, row in people.items() if code not in {p.code for p in org.people} and row.active]
    if gone_people:
        session.execute(update(Person).where(col(Person.code).in_(gone_people)).values(active=False))
        summary.people_deactivated = sorted(gone_people)
    if new_people:
        session.execute(
            insert(Person),
            [
                {
                    "code": p.code,
                    "full_name": p.name,
                    "email": p.email,
                    "unit_id": ids[p.unit],
                    "active": True,
                }
                for p in new_people
            ],
        )
        summary.people_added = [p.code for p in new_people]
    person_ids = cast(
        "dict[str, int]",  # stored people have ids
        dict(session.execute(select(col(Person.code), col(Person.id))).tuples().all()),
    )
    role_rows = []
    for p in org.people:
        prow = people.get(p.code)
        pid = person_ids[p.code]
        if prow is not None:
            wanted = {"full_name": p.name, "email": p.email, "unit_id": ids[p.unit], "active": True}
            if any(getattr(prow, k) != v for k, v in wanted.items()) or roles.get(pid, set()) != set(p.roles):
                session.execute(update(Person).where(col(Person.id) == pid).values(**wanted))
                summary.people_changed.append(p.code)
            else:
                continue
        session.execute(delete(PersonRole).where(col(PersonRole.person_id) == pid))
        role_rows += [{"person_id": pid, "role": r} for r in sorted(set(p.roles))]
    if role_rows:
        session.execute(insert(PersonRole), role_rows)
    if summary.changed:
        append(
            session,
            [
                EventDraft(
                    kind="org",
                    trigger=Event.org_load,
                    actor=actor.code,
                    at=at,
                    reason=f"organisation file {path}",
                    payload={k: v for k, v in summary.__dict__.items() if isinstance(v, list) and v},
                )
            ],
        )
    return summary
