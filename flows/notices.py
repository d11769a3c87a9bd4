"""Messages that a change causes, written to the outbox in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cchc.config.settings import get_settings
from cchc.flows.links import TASK_OF_MESSAGE, unit_link
from cchc.models.directory import Directory
from cchc.models.tables import Cycle, OrgUnit
from cchc.notifications.outbox import Queued, queue

UNIT_PEOPLE = ("focal", "head")


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
    cause (e.g. "publication:2021:v1"), so the same cause never queues it twice."""
    settings = get_settings()
    directory = directory or Directory(session)
    authority = session.get(OrgUnit, cycle.authority_id)
    lang = settings.mail_lang
    messages = []
    for unit_id, code, name in units:
        base = {
            "unit_name": name,
            "unit_code": code,
            "year": cycle.year,
            "authority": authority.name if authority else "",
            "link": unit_link(settings.public_url, code, cycle.year, TASK_OF_MESSAGE.get(kind, "")),
            **(context or {}).get(code, {}),
        }
        for person in directory.resolve(unit_id, roles) or directory.coordinators:
            messages.append(
                Queued(
                    dedupe_key=f"{key}:{code}:{person.code}",
                    kind=kind,
                    to_email=person.email,
                    to_name=person.name,
                    lang=lang,
                    unit_code=code,
                    cycle_year=cycle.year,
                    context=base,
                )
            )
    return queue(session, messages, at)
