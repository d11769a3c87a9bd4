"""Accounts for a province: a coordinator invites people to the dashboard by e-mail, and anyone may ask for
a new password ("forgot password"). Both are a single-use link, /invite/TOKEN, to choose a password.

- A coordinator invites one person, everyone of one unit (its own members, not its teams' or communes'), or
  every active person who has no login yet (Action.invite_people). A reset is asked for by code or e-mail,
  and is sent only to an active person, at most once every few minutes.
- A link expires after `days` (CCHC_INVITATION_DAYS, 7) and works once. A newer link for the same person
  and purpose revokes the older ones: their `revoked_at` is set (they are kept for the record, never
  deleted), and choosing a password revokes every other open link of that person.
- Choosing the password writes the login as `cchc login set` does (`save_password`, with its `set_login`
  event), marks the link used, and audits it (`invitation_used`); sending audits `invitation_sent`.

Keeping the link out of clear text. Only the token's SHA-256 is stored (`invitation.token_hash`). The
e-mail goes through the transactional outbox, whose context is stored in the database too; there the link
is sealed (Fernet) under the outbox key, a file outside the database (notifications/sealing.py), and the
flush opens it only when it composes the message. Why this way:
- the link cannot be rebuilt at send time from anything stored (the token is random and only its hash is
  kept), so what opens it must travel with the message; sealing it keeps what the outbox gives every other
  message: written in the invitation's own transaction, retried while the SMTP server is down, sent once.
  Sending at once, without the outbox, would lose those; storing the link as the commitments' signing
  links still are (flows/commitments.py, a known finding) would give every copy of the database (a backup,
  a dump, a read-only account) the power to set anyone's password;
- the key is not the dashboard's session key (flows/web/settings.py): the flush runs in processes that never
  load the dashboard (`cchc notify flush`, `cchc serve`), and the layers forbid flows.notify →
  flows.web. A key of its own also means that rotating the session key (which ends every session) does not
  kill the links on their way, nor the reverse.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.people import Actor, UnknownActor, resolve_actor, system_actor
from cchc.models.tables import Invitation, Login, OrgUnit, Person
from cchc.notifications.outbox import Queued, queue
from cchc.notifications.sealing import outbox_key, seal
from cchc.states.permissions import Action, authorize

PURPOSES = ("invite", "reset")
RESET_EVERY = timedelta(minutes=5)  # one person is sent a reset at most this often (a mailbox is not flooded)
CHUNK = 5000  # ids per IN list


class LinkRefused(UserError):
    """A link that does not open (unknown, used, revoked or expired, or its person no longer active), in one
    Vietnamese sentence; `gone` when it existed (410), else 404."""

    def __init__(self, sentence: str, gone: bool) -> None:
        super().__init__(sentence)
        self.gone = gone


@dataclass(frozen=True)
class Invited:
    """Who was sent a link, and who was not (code, why)."""

    purpose: str
    sent: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Link:
    """Who an open link is for."""

    invitation_id: int
    person_id: int
    code: str
    name: str
    unit_code: str
    unit_name: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class Account:
    """A line of the people page: a person, whether they have a login, and their last link."""

    unit_code: str
    unit_name: str
    code: str
    name: str
    email: str
    has_login: bool
    last_purpose: str | None = None
    last_sent_at: datetime | None = None
    last_state: str | None = None  # open | used | expired | revoked


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def save_password(session: Session, who: Actor, digest: str, actor: Actor, at: datetime) -> bool:
    """Write a person's password hash (a new login, or the existing one changed) and its `set_login` event,
    in the caller's transaction; True when the login is new. The one way a password is stored: `cchc login
    set` and a used link both come here."""
    assert who.person_id is not None
    existing = session.execute(select(col(Login.id)).where(col(Login.person_id) == who.person_id)).scalar()
    if existing is None:
        session.execute(
            insert(Login).values(person_id=who.person_id, password_hash=digest, created_at=at, updated_at=at)
        )
    else:
        session.execute(update(Login).where(col(Login.id) == existing).values(password_hash=digest, updated_at=at))
    append(
        session,
        [
            EventDraft(
                kind="org",
                trigger=Event.set_login,
                actor=actor.code,
                at=at,
                reason=f"dashboard password {'set' if existing is None else 'changed'} for {who.code}",
                payload={"person": who.code},
            )
        ],
    )
    return existing is None


# --- sending links ---------------------------------------------------------------------------------------


def invite(
    database_url: str | None,
    by: str | None,
    *,
    days: float,
    person: str | None = None,
    unit: str | None = None,
    everyone: bool = False,
    at: datetime | None = None,
) -> Invited:
    """A coordinator (`by`) sends an invitation to one person (code or e-mail), to everyone of a unit, or to
    every active person with no login yet; one transaction, set-based."""
    if sum((person is not None, unit is not None, everyone)) != 1:
        raise UserError("name one person (--person), one unit (--unit), or everyone who has no login (--all)")
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        actor = actor_for(session, by)
        authorize(Action.invite_people, actor, when)
        people = _people(session, person=person, unit=unit, everyone=everyone)
        return _send(session, people, "invite", actor, days, when)


def request_reset(database_url: str | None, username: str, *, days: float, at: datetime | None = None) -> bool:
    """ "Forgot password": a reset link to the active person whose code or e-mail is `username`; False when
    there is nobody (or they were sent one a moment ago). The caller answers the same either way."""
    when = at or now()
    ident = username.strip()
    if not ident:
        return False
    with write_session(engine_for(database_url)) as session:
        try:
            who = resolve_actor(session, ident)
        except UnknownActor:
            return False
        recent = session.execute(
            select(func.count())
            .select_from(Invitation)
            .where(
                col(Invitation.person_id) == who.person_id,
                col(Invitation.purpose) == "reset",
                col(Invitation.created_at) > when - RESET_EVERY,
            )
        ).scalar_one()
        if recent:
            return False
        people = _people(session, person=who.code)
        return bool(_send(session, people, "reset", system_actor("password-reset"), days, when).sent)


@dataclass(frozen=True)
class _Someone:
    person_id: int
    code: str
    name: str
    email: str
    unit_code: str
    unit_name: str


def _people(
    session: Session, *, person: str | None = None, unit: str | None = None, everyone: bool = False
) -> list[_Someone]:
    """The active people a link goes to, in code order."""
    query = (
        select(
            col(Person.id),
            col(Person.code),
            col(Person.full_name),
            col(Person.email),
            col(OrgUnit.code),
            col(OrgUnit.name),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Person.unit_id))
        .where(col(Person.active).is_(True))
        .order_by(col(Person.code))
    )
    if person is not None:
        ident = person.strip()
        query = query.where(or_(col(Person.code) == ident, func.lower(col(Person.email)) == ident.lower()))
    elif unit is not None:
        code = unit.strip()
        if session.execute(select(col(OrgUnit.id)).where(col(OrgUnit.code) == code)).scalar() is None:
            raise UserError(f"no unit with the code {code!r}")
        query = query.where(col(OrgUnit.code) == code)
    elif everyone:
        query = query.where(~select(col(Login.id)).where(col(Login.person_id) == col(Person.id)).exists())
    found = [_Someone(cast(int, row[0]), *row[1:]) for row in session.execute(query).tuples()]
    if person is not None and not found:
        raise UserError(f"nobody active with the code or e-mail {person.strip()!r} (see the organisation file)")
    return found


def _send(
    session: Session, people: Sequence[_Someone], purpose: str, actor: Actor, days: float, at: datetime
) -> Invited:
    """New links for `people` (revoking their older open ones of the same purpose), each queued as a sealed
    e-mail, and their events."""
    assert purpose in PURPOSES
    settings = get_settings()
    skipped = tuple((p.code, "no e-mail address") for p in people if not p.email.strip())
    people = [p for p in people if p.email.strip()]
    if not people:
        return Invited(purpose, (), skipped)
    expires = at + timedelta(days=days)
    for chunk in _chunks([p.person_id for p in people]):
        session.execute(
            update(Invitation)
            .where(
                col(Invitation.person_id).in_(chunk),
                col(Invitation.purpose) == purpose,
                col(Invitation.used_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
            .values(revoked_at=at)
            .execution_options(synchronize_session=False)
        )
    tokens = [secrets.token_urlsafe(32) for _ in people]
    hashes = [token_hash(t) for t in tokens]
    session.execute(
        insert(Invitation),
        [
            {
                "person_id": p.person_id,
                "purpose": purpose,
                "token_hash": h,
                "created_at": at,
                "created_by": actor.code,
                "expires_at": expires,
            }
            for p, h in zip(people, hashes, strict=True)
        ],
    )
    key = outbox_key(settings, create=True)
    base = settings.public_url.rstrip("/")
    authority = _authority_name(session)
    queue(
        session,
        (
            Queued(
                dedupe_key=f"invitation:{h[:40]}",
                kind="invitation",
                to_email=p.email,
                to_name=p.name,
                lang=settings.mail_lang,
                unit_code=p.unit_code,
                context={
                    "purpose": purpose,
                    "unit_name": p.unit_name,
                    "unit_code": p.unit_code,
                    "due": expires.isoformat(),
                    "authority": authority,
                    **seal({"link": f"{base}/invite/{t}"}, key),
                },
            )
            for p, t, h in zip(people, tokens, hashes, strict=True)
        ),
        at,
    )
    what = "dashboard invitation" if purpose == "invite" else "password reset link"
    append(
        session,
        [
            EventDraft(
                kind="org",
                trigger=Event.invitation_sent,
                actor=actor.code,
                at=at,
                unit_code=p.unit_code,
                reason=f"{what} sent to {p.code}, valid until {expires.isoformat()}",
                payload={"person": p.code, "purpose": purpose, "expires_at": expires.isoformat()},
            )
            for p in people
        ],
    )
    return Invited(purpose, tuple(p.code for p in people), skipped)


def _authority_name(session: Session) -> str:
    name = session.execute(
        select(col(OrgUnit.name)).where(col(OrgUnit.parent_id).is_(None)).order_by(col(OrgUnit.id)).limit(1)
    ).scalar()
    return name or ""


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- using a link ----------------------------------------------------------------------------------------


def link_of(session: Session, token: str, at: datetime) -> Link:
    """The open link of `token`, or LinkRefused saying why it does not open (looking does not use it)."""
    row = session.execute(
        select(Invitation, Person, OrgUnit)
        .join(Person, col(Person.id) == col(Invitation.person_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Person.unit_id))
        .where(col(Invitation.token_hash) == token_hash(token))
    ).first()
    if row is None:
        raise LinkRefused(
            "Liên kết này không đúng: hãy mở lại đúng liên kết trong thư, hoặc đề nghị gửi thư mới.", False
        )
    invitation, person, unit = row
    if invitation.used_at is not None:
        raise LinkRefused("Liên kết này đã được dùng; mỗi liên kết chỉ dùng được một lần.", True)
    if invitation.revoked_at is not None:
        raise LinkRefused("Liên kết này đã được thay bằng một liên kết mới hơn: hãy dùng thư gửi sau cùng.", True)
    if invitation.expires_at <= at:
        raise LinkRefused("Liên kết này đã hết hạn: hãy đề nghị bộ phận điều phối gửi thư mới.", True)
    if not person.active:
        raise LinkRefused("Tài khoản của liên kết này không còn hoạt động.", True)
    assert invitation.id is not None and person.id is not None
    return Link(
        invitation.id,
        person.id,
        person.code,
        person.full_name,
        unit.code,
        unit.name,
        invitation.purpose,
        invitation.expires_at,
    )


def open_link(database_url: str | None, token: str, at: datetime) -> Link:
    """Who an open link is for (for the page that asks for the password)."""
    with read_session(engine_for(database_url)) as session:
        return link_of(session, token, at)


def redeem(database_url: str | None, token: str, digest: str, at: datetime | None = None) -> Link:
    """Use a link: the person's password becomes `digest` (an argon2 hash made by the dashboard), the link is
    used and every other open link of the person revoked, in one transaction; LinkRefused (nothing written)
    when it does not open."""
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        link = link_of(session, token, when)
        used = session.execute(
            update(Invitation)
            .where(
                col(Invitation.id) == link.invitation_id,
                col(Invitation.used_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
            .values(used_at=when)
            .execution_options(synchronize_session=False)
        )
        if getattr(used, "rowcount", 0) != 1:  # used a moment ago, by another request
            raise LinkRefused("Liên kết này đã được dùng; mỗi liên kết chỉ dùng được một lần.", True)
        session.execute(
            update(Invitation)
            .where(
                col(Invitation.person_id) == link.person_id,
                col(Invitation.id) != link.invitation_id,
                col(Invitation.used_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
            .values(revoked_at=when)
            .execution_options(synchronize_session=False)
        )
        who = resolve_actor(session, link.code)
        save_password(session, who, digest, who, when)
        append(
            session,
            [
                EventDraft(
                    kind="org",
                    trigger=Event.invitation_used,
                    actor=who.code,
                    at=when,
                    unit_code=link.unit_code,
                    reason=f"{'invitation' if link.purpose == 'invite' else 'password reset link'} used by {who.code}",
                    payload={"person": who.code, "purpose": link.purpose, "invitation": link.invitation_id},
                )
            ],
        )
        return link


# --- the people page -------------------------------------------------------------------------------------


def accounts(database_url: str | None, by: str | None, at: datetime | None = None) -> list[Account]:
    """Every active person, by unit: whether they have a login, and their last link and what became of it
    (for a coordinator: it shows e-mail addresses)."""
    when = at or now()
    with read_session(engine_for(database_url)) as session:
        authorize(Action.invite_people, actor_for(session, by), when)
        people = session.execute(
            select(
                col(Person.id),
                col(OrgUnit.code),
                col(OrgUnit.name),
                col(Person.code),
                col(Person.full_name),
                col(Person.email),
            )
            .join(OrgUnit, col(OrgUnit.id) == col(Person.unit_id))
            .where(col(Person.active).is_(True))
            .order_by(col(OrgUnit.code), col(Person.code))
        ).tuples()
        logins = set(session.execute(select(col(Login.person_id))).scalars())
        latest = select(func.max(col(Invitation.id)).label("id")).group_by(col(Invitation.person_id)).subquery("latest")
        last: dict[int | None, Invitation] = {
            row.person_id: row
            for row in session.execute(select(Invitation).join(latest, latest.c.id == col(Invitation.id))).scalars()
        }
        out = []
        for person_id, unit_code, unit_name, code, name, email in people:
            inv = last.get(person_id)
            out.append(
                Account(
                    unit_code,
                    unit_name,
                    code,
                    name,
                    email,
                    person_id in logins,
                    inv.purpose if inv else None,
                    inv.created_at if inv else None,
                    _state(inv, when) if inv else None,
                )
            )
        return out


def _state(invitation: Invitation, at: datetime) -> str:
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= at else "open"
