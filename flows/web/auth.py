"""Dashboard logins: one argon2id password hash per person (the `login` table), never the password.

`set_password` is what `cchc login set` calls; `authenticate` is what the login form calls. A person who is
no longer active cannot log in, whatever their password.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.errors import UserError
from cchc.models.people import Actor, UnknownActor, resolve_actor
from cchc.models.tables import Login

MIN_PASSWORD = 10


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters (RFC 9106 low-memory profile)."""
    return PasswordHasher()


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
        assert who.person_id is not None
        existing = session.execute(select(col(Login.id)).where(col(Login.person_id) == who.person_id)).scalar()
        if existing is None:
            session.execute(
                insert(Login).values(person_id=who.person_id, password_hash=digest, created_at=when, updated_at=when)
            )
        else:
            session.execute(
                update(Login).where(col(Login.id) == existing).values(password_hash=digest, updated_at=when)
            )
        append(
            session,
            [
                EventDraft(
                    kind="org",
                    trigger=Event.set_login,
                    actor=actor.code,
                    at=when,
                    reason=f"dashboard password {'set' if existing is None else 'changed'} for {who.code}",
                    payload={"person": who.code},
                )
            ],
        )
        return existing is None


@dataclass(frozen=True)
class LoggedIn:
    """Who logged in, and when their password was last set (a session ends when it changes)."""

    actor: Actor
    password_set_at: datetime


def login_of(session: Session, actor: Actor) -> tuple[int, str, datetime] | None:
    """A person's login row (id, hash, updated_at), if they have one."""
    row = session.execute(
        select(col(Login.id), col(Login.password_hash), col(Login.updated_at)).where(
            col(Login.person_id) == actor.person_id
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), row[2])


def authenticate(database_url: str | None, username: str, password: str) -> LoggedIn | None:
    """The person whose code or e-mail is `username`, if the password is theirs; None otherwise (the same
    work is done for an unknown name, so that the answer's time does not tell which names exist)."""
    text = unicodedata.normalize("NFC", password)
    engine = get_engine(database_url)  # the dashboard checked the schema when it started
    with read_session(engine) as session:
        try:
            actor = resolve_actor(session, username) if username.strip() else None
        except UnknownActor:
            actor = None
        row = login_of(session, actor) if actor is not None else None
    if actor is None or row is None:
        _verify(_dummy_hash(), text)
        return None
    login_id, digest, updated_at = row
    if not _verify(digest, text):
        return None
    if hasher().check_needs_rehash(digest):  # parameters got stronger since: keep the stronger hash
        with write_session(engine) as session:
            session.execute(
                update(Login)
                .where(col(Login.id) == login_id, col(Login.password_hash) == digest)
                .values(password_hash=hasher().hash(text))
            )
    return LoggedIn(actor, updated_at)


def _verify(digest: str, password: str) -> bool:
    try:
        return hasher().verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not a password of anyone")
