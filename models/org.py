"""The organisation as data: a tree of units of any depth, groups of assessed units, people and roles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cchc.models.datafile import DataFileError, Entry, as_code, read_yaml

UNIT_KINDS = ("authority", "department", "district", "team", "commune", "unit")


class Role(StrEnum):
    """What a person does in the cycle (the organisation file's `roles:`)."""

    head = "head"  # the unit's head (thủ trưởng)
    deputy = "deputy"  # a deputy head (cấp phó)
    focal = "focal"  # the unit's focal officer for the PAR index (cán bộ đầu mối)
    coordinator = "coordinator"  # the authority's coordination office (bộ phận điều phối)
    appraiser = "appraiser"  # appraises other units (thẩm định)


ROLES = tuple(Role)
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


@dataclass(frozen=True)
class UnitDef:
    code: str
    name: str
    kind: str
    parent: str | None
    group: str | None

    @property
    def assessed(self) -> bool:
        return self.group is not None


@dataclass(frozen=True)
class PersonDef:
    code: str
    name: str
    email: str
    unit: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class GroupDef:
    code: str
    name: str


@dataclass(frozen=True)
class OrgDef:
    code: str
    name: str
    groups: tuple[GroupDef, ...]
    units: tuple[UnitDef, ...]  # parents before children
    people: tuple[PersonDef, ...]

    @property
    def authority(self) -> UnitDef:
        return self.units[0]


def as_email(value: Any) -> str:
    text = as_code(value).lower()
    if not _EMAIL.match(text):
        raise ValueError(f"{text!r} is not an e-mail address")
    return text


def parse_org(data: Any, *, path: str = "<organisation>") -> OrgDef:
    """A validated organisation from parsed data, or DataFileError listing every problem."""
    problems: list[str] = []
    top = Entry(data, "", problems, ("code", "name", "groups", "units"))
    if not top.ok:
        raise DataFileError(path, problems)
    groups: list[GroupDef] = []
    for i, raw in enumerate(top.items("groups"), 1):
        entry = Entry(raw, f"group #{i}", problems, ("code", "name"))
        group = GroupDef(entry.get("code", as_code, default=f"?{i}"), entry.line("name"))
        if any(g.code == group.code for g in groups):
            entry.problem(f"duplicate group code {group.code!r}")
        groups.append(group)
    group_codes = {g.code for g in groups}

    units: list[UnitDef] = []
    people: list[PersonDef] = []
    unit_where: dict[str, str] = {}
    person_where: dict[str, str] = {}
    email_where: dict[str, str] = {}

    def walk(raw: Any, where: str, parent: UnitDef | None, depth: int) -> None:
        entry = Entry(raw, where, problems, ("code", "name", "kind", "group", "people", "children"))
        if not entry.ok:
            return
        code = entry.get("code", as_code, default=where)
        entry.where = f"unit {code}"
        if code in unit_where:
            entry.problem(f"duplicate unit code (also at {unit_where[code]})")
        unit_where[code] = where
        kind = entry.get("kind", as_code, default="unit")
        if kind not in UNIT_KINDS:
            entry.problem(f"unknown kind {kind!r} (expected one of {', '.join(UNIT_KINDS)})")
        group = entry.get("group", as_code, required=False, default=None)
        if group is not None:
            if group not in group_codes:
                entry.problem(f"unknown group {group!r} (the file's groups: {', '.join(sorted(group_codes))})")
            if depth != 1:
                entry.problem("only the authority's direct units are assessed and belong to a group")
        if parent is None and kind != "authority":
            entry.problem("the top unit should be of kind 'authority'")
        unit = UnitDef(
            code=code, name=entry.line("name"), kind=kind, parent=parent.code if parent else None, group=group
        )
        units.append(unit)
        for pi, praw in enumerate(entry.items("people", required=False), 1):
            pentry = Entry(praw, f"unit {code} › person #{pi}", problems, ("code", "name", "email", "roles"))
            pcode = pentry.get("code", as_code, default=f"?{code}{pi}")
            pentry.where = f"unit {code} › person {pcode}"
            email = pentry.get("email", as_email, default="")
            roles: tuple[str, ...] = tuple(pentry.get("roles", _roles, default=()))
            if pcode in person_where:
                pentry.problem(f"duplicate person code (also in {person_where[pcode]})")
            person_where[pcode] = f"unit {code}"
            if email and email in email_where:
                pentry.problem(f"e-mail {email} is already used by person {email_where[email]}")
            email_where[email] = pcode
            people.append(PersonDef(code=pcode, name=pentry.line("name"), email=email, unit=code, roles=roles))
        for ci, craw in enumerate(entry.items("children", required=False), 1):
            walk(craw, f"unit {code} › child #{ci}", unit, depth + 1)

    raw_units = top.items("units")
    if len(raw_units) != 1:
        top.problem("'units' should hold exactly one unit: the authority, with the others as its children")
    for i, raw in enumerate(raw_units, 1):
        walk(raw, f"units #{i}", None, 0)

    by_unit: dict[str, list[PersonDef]] = {}
    for person in people:
        by_unit.setdefault(person.unit, []).append(person)
    for unit in units:
        heads = [p.code for p in by_unit.get(unit.code, []) if "head" in p.roles]
        if len(heads) > 1:
            problems.append(f"unit {unit.code}: has {len(heads)} heads ({', '.join(heads)}); a unit has one head")
    if problems:
        raise DataFileError(path, problems)
    return OrgDef(
        code=top.get("code", as_code, default=""),
        name=top.line("name"),
        groups=tuple(groups),
        units=tuple(units),
        people=tuple(people),
    )


def _roles(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("should be a non-empty list of roles")
    roles = tuple(as_code(v) for v in value)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r} (expected one of {', '.join(ROLES)})")
    return roles


def load_org(path: Path) -> OrgDef:
    return parse_org(read_yaml(path), path=str(path))
