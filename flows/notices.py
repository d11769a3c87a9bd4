"""Messages that a change causes, written to the outbox in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.links import TASK_OF_MESSAGE, unit_link
from cchc.models.directory import Directory, Recipient
from cchc.models.tables import Cycle, OrgUnit, OutboxMessage
from cchc.notifications.outbox import Queued, queue
from cchc.notifications.render import DIGEST

UNIT_PEOPLE = ("focal", "head")
_KEYS_AT_ONCE = 500  # dedupe keys asked of the outbox in one query


def notify_units(
    session: Session,
    cycle: Cycle,
    kind: str,
    key: str,
    units: Iterable[tuple[int, str, str]],
    at: datetime,
    *,
    context: Mapping[str, Mapping[str, Any]] | None = None,
    roles: tuple[str, ...] = UNIT_PEOPLE,
    directory: Directory | None = None,
) -> int:
    """Queue a message of `kind` to the people of each unit (id, code, name); `key` makes it unique per
    cause (e.g. "publication:2021:v1"), so the same cause never queues it twice: a message already queued
    for the cause is not queued again. Returns how many were queued.

    A unit with none of `roles` falls back to the coordinators. A coordinator that several such units fall
    back to gets one digest listing them, with their links (key "{key}:digest:{person}"), not one notice per
    unit; a coordinator that only one unit falls back to gets that unit's notice, as a unit's people do
    ("{key}:{unit}:{person}")."""
    settings = get_settings()
    directory = directory or Directory(session)
    authority = session.get(OrgUnit, cycle.authority_id)
    authority_name = authority.name if authority else ""
    lang = settings.mail_lang
    messages: list[Queued] = []
    fallen: dict[str, tuple[Recipient, list[tuple[str, dict[str, Any]]]]] = {}  # person → the units

    def notice(code: str, person: Recipient, base: dict[str, Any]) -> Queued:
        return Queued(
            dedupe_key=f"{key}:{code}:{person.code}",
            kind=kind,
            to_email=person.email,
            to_name=person.name,
            lang=lang,
            unit_code=code,
            cycle_year=cycle.year,
            context=base,
        )

    for unit_id, code, name in units:
        base = {
            "unit_name": name,
            "unit_code": code,
            "year": cycle.year,
            "authority": authority_name,
            "link": unit_link(settings.public_url, code, cycle.year, TASK_OF_MESSAGE.get(kind, "")),
            **(context or {}).get(code, {}),
        }
        people = directory.resolve(unit_id, roles)
        messages.extend(notice(code, person, base) for person in people)
        if not people:
            for person in directory.coordinators:
                fallen.setdefault(person.code, (person, []))[1].append((code, base))
    for person, notices in fallen.values():
        if len(notices) == 1:
            code, base = notices[0]
            messages.append(notice(code, person, base))
            continue
        messages.append(
            Queued(
                dedupe_key=f"{key}:digest:{person.code}",
                kind=DIGEST,
                to_email=person.email,
                to_name=person.name,
                lang=lang,
                cycle_year=cycle.year,
                context={
                    "notice": kind,
                    "year": cycle.year,
                    "authority": authority_name,
                    "units": [base for _, base in notices],
                },
            )
        )
    queued = _queued(session, [m.dedupe_key for m in messages])
    return queue(session, (m for m in messages if m.dedupe_key not in queued), at)


def _queued(session: Session, keys: list[str]) -> set[str]:
    """The keys among `keys` that the outbox already holds."""
    found: set[str] = set()
    for start in range(0, len(keys), _KEYS_AT_ONCE):
        chunk = keys[start : start + _KEYS_AT_ONCE]
        found.update(
            session.execute(select(col(OutboxMessage.dedupe_key)).where(col(OutboxMessage.dedupe_key).in_(chunk)))
            .scalars()
            .all()
        )
    return found
