"""Passwords of the dashboard: checked (NFC, at least 10 characters), hashed with argon2id, and stored
as a used invitation stores them (flows/accounts.py `save_password`); never the password itself. What
`cchc login set`, the demo and the pages call."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher

from cchc.flows.accounts import save_password
from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.people import UnknownActor, resolve_actor

MIN_PASSWORD = 10


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """argon2id with OWASP's recommended parameters (Password Storage Cheat Sheet: 19 MiB, 2 passes, one
    lane): ~25 ms of one core per login. The library's default (RFC 9106's low-memory profile, 64 MiB × 3
    passes × 4 lanes) costs ~205 ms of CPU and 64 MiB per login: on deadline day 200 people logging in
    within a minute held both cores for 20 s and everyone's pages waited behind them. Guessing online is for
    a login throttle to stop, not for the hash; offline, OWASP's profile is its documented floor. Hashes
    made with other parameters still verify, and are made again with these at the next login."""
    return PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def check_password(password: str) -> str:
    """The password as it is hashed (NFC, so that the same Vietnamese text typed on any keyboard matches),
    or a UserError saying why it is refused."""
    text = unicodedata.normalize("NFC", password)
    if len(text.strip()) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return text


def set_password(
    database_url: str | None, person: str, password: str, by: str | None, at: datetime | None = None
) -> bool:
    """Set a person's dashboard password (its argon2 hash); True when the login is new. Audited, without
    the hash."""
    text = check_password(password)
    when = at or now()
    digest = hasher().hash(text)
    with write_session(engine_for(database_url)) as session:
        try:
            who = resolve_actor(session, person)
        except UnknownActor as exc:
            raise UserError(str(exc)) from None
        actor = actor_for(session, by, task="login")
        return save_password(session, who, digest, actor, when)
