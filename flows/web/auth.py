"""Dashboard logins: one argon2id password hash per person (the `login` table), never the password.

`set_password` (flows/passwords.py) is what `cchc login set` calls; `authenticate` is what the login form
calls. A person who is
no longer active cannot log in, whatever their password.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.passwords import MIN_PASSWORD, check_password, hasher, set_password
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.people import Actor, UnknownActor, resolve_actor
from cchc.models.tables import Login


@dataclass(frozen=True)
class LoggedIn:
    """Who logged in, and when their password was last set (a session ends when it changes)."""

    actor: Actor
    password_set_at: datetime


_LOGIN = select(col(Login.id), col(Login.password_hash), col(Login.updated_at)).where(
    col(Login.person_id) == bindparam("person_id")
)  # built once: every page asks


def login_of(session: Session, actor: Actor) -> tuple[int, str, datetime] | None:
    """A person's login row (id, hash, updated_at), if they have one."""
    row = session.execute(_LOGIN, {"person_id": actor.person_id}).first()
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
    if hasher().check_needs_rehash(digest):  # the parameters changed since: hash it again with today's
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


__all__ = ["MIN_PASSWORD", "LoggedIn", "authenticate", "check_password", "hasher", "login_of", "set_password"]
