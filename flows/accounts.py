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
- The dashboard's sessions are rows (only the SHA-256 of their id): a new password ends every session of
  the person, logout ends its own, and a coordinator ends a person's sessions (`revoke_sessions`, audited).
  Logins go through a throttle kept in the database, per account and per address, and every failed login
  is audited (`login_failed`, never the password): see the two sections at the end.

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
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.formats import local_time
from cchc.models.i18n import tr
from cchc.models.people import Actor, UnknownActor, resolve_actor, system_actor
from cchc.models.tables import Invitation, Login, LoginThrottle, OrgUnit, Person, WebSession, table_of
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
    email: str = ""


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
    sessions: int = 0  # dashboard sessions open now


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def save_password(
    session: Session,
    who: Actor,
    digest: str,
    actor: Actor,
    at: datetime,
    noted: dict[str, object] | None = None,
) -> bool:
    """Write a person's password hash (a new login, or the existing one changed) and its `set_login` event
    (with what `noted` adds, e.g. the operating-system user of a command), in the caller's transaction; True
    when the login is new. Every session of the person ends with the old password, and a lockout of their
    account after failed logins is lifted (a new password was chosen). The one way a password is stored:
    `cchc login set` and a used link both come here."""
    assert who.person_id is not None
    ended = _revoke(session, who.person_id, at, "password")
    _clear_throttle(session, [_account_key(who.person_id)])
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
                payload={"person": who.code, **({"sessions_ended": ended} if ended else {}), **(noted or {})},
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
        person.email,
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


def accounts(
    database_url: str | None, by: str | None, at: datetime | None = None, limits: SessionLimits | None = None
) -> list[Account]:
    """Every active person, by unit: whether they have a login, how many dashboard sessions they have open
    (within `limits`; every one not ended without them), and their last link and what became of it (for a
    coordinator: it shows e-mail addresses)."""
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
        open_now: list[ColumnElement[bool]] = [col(WebSession.revoked_at).is_(None)]
        if limits is not None:
            open_now += [
                col(WebSession.last_seen_at) > when - limits.idle,
                col(WebSession.created_at) > when - limits.longest,
            ]
        sessions: dict[int | None, int] = {
            person_id: int(count)
            for person_id, count in session.execute(
                select(col(WebSession.person_id), func.count()).where(*open_now).group_by(col(WebSession.person_id))
            ).tuples()
        }
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
                    sessions.get(person_id, 0),
                )
            )
        return out


def _state(invitation: Invitation, at: datetime) -> str:
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= at else "open"


# --- the dashboard's sessions ----------------------------------------------------------------------------
# A session is a row (models/tables.py WebSession): the browser's cookie carries a random id, the row only
# its SHA-256, so a session ends for every web process the moment its row is revoked, and a copy of the
# database or of a backup opens none. A request reads its row by primary key; the row's last-seen time is
# written at most once a minute (SESSION_TOUCH), the idle limit is measured from it.

SESSION_TOUCH = timedelta(minutes=1)
SESSIONS_REVOKED = Event.revoke_sessions  # the audit trigger of a coordinator ending a person's sessions
LOGIN_FAILED = Event.login_failed  # the audit trigger of a failed login (a wrong password, or refused while locked)
TYPED = 100  # the longest user name kept as typed (in a throttle's key and the audit trail)


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lasts: `idle` without a request, `longest` after the login."""

    idle: timedelta
    longest: timedelta


@dataclass(frozen=True)
class LiveSession:
    """A session that is good now: whose it is, and when it was last seen (written at most once a minute)."""

    person_id: int
    code: str
    created_at: datetime
    last_seen_at: datetime


_SESSION = (
    select(
        col(WebSession.person_id),
        col(WebSession.created_at),
        col(WebSession.last_seen_at),
        col(WebSession.revoked_at),
        col(Person.code),
        col(Person.active),
    )
    .join(Person, col(Person.id) == col(WebSession.person_id))
    .where(col(WebSession.id) == bindparam("id"))
)  # built once: every request asks


def live_session(session: Session, token: str, at: datetime, limits: SessionLimits) -> LiveSession | None:
    """The session of a cookie's id if it is good at `at`: not revoked, its person active, within the idle and
    absolute limits; else None (one primary-key lookup)."""
    row = session.execute(_SESSION, {"id": token_hash(token)}).first()
    if row is None:
        return None
    person_id, created_at, last_seen_at, revoked_at, code, active = row
    if revoked_at is not None or not active:
        return None
    if at - last_seen_at > limits.idle or at - created_at > limits.longest:
        return None
    return LiveSession(int(person_id), str(code), created_at, last_seen_at)


def touch_session(database_url: str | None, token: str, at: datetime) -> None:
    """The session was seen at `at` (the caller does this at most once a SESSION_TOUCH)."""
    with write_session(engine_for(database_url)) as session:
        session.execute(
            update(WebSession)
            .where(
                col(WebSession.id) == token_hash(token),
                col(WebSession.revoked_at).is_(None),
                col(WebSession.last_seen_at) < at,
            )
            .values(last_seen_at=at)
            .execution_options(synchronize_session=False)
        )


def open_session(session: Session, person_id: int, address: str, user_agent: str, at: datetime) -> str:
    """A new session for a person, in the caller's transaction: the random id for the cookie (only its
    SHA-256 is written)."""
    token = secrets.token_urlsafe(32)
    session.execute(
        insert(WebSession).values(
            id=token_hash(token),
            person_id=person_id,
            created_at=at,
            last_seen_at=at,
            address=address[:64],
            user_agent=user_agent[:300],
        )
    )
    return token


def start_session(database_url: str | None, person_id: int, address: str, user_agent: str, at: datetime) -> str:
    """A new session for a person who has just proved who they are another way (a used invitation link)."""
    with write_session(engine_for(database_url)) as session:
        return open_session(session, person_id, address, user_agent, at)


def end_session(database_url: str | None, token: str, at: datetime) -> None:
    """Logout: the session of this id is revoked, for every web process at once (a copy of the cookie opens
    nothing any more)."""
    with write_session(engine_for(database_url)) as session:
        session.execute(
            update(WebSession)
            .where(col(WebSession.id) == token_hash(token), col(WebSession.revoked_at).is_(None))
            .values(revoked_at=at, revoked_why="logout")
            .execution_options(synchronize_session=False)
        )


def _revoke(session: Session, person_id: int, at: datetime, why: str) -> int:
    """Revoke every open session of a person; how many there were."""
    done = session.execute(
        update(WebSession)
        .where(col(WebSession.person_id) == person_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=at, revoked_why=why)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def revoke_sessions(database_url: str | None, by: str | Actor | None, person: str, at: datetime | None = None) -> int:
    """A coordinator (`by`; or the operator of the machine, an Actor of the command line) ends every dashboard
    session of a person (code or e-mail) at once, e.g. after a lost telephone or a shared computer; audited
    with how many there were. The person logs in again with their password."""
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        if isinstance(by, Actor):
            actor = by
        else:
            actor = actor_for(session, by)
            authorize(Action.invite_people, actor, when)
        try:
            who = resolve_actor(session, person)
        except UnknownActor as exc:
            raise UserError(str(exc)) from None
        assert who.person_id is not None
        ended = _revoke(session, who.person_id, when, "revoked")
        append(
            session,
            [
                EventDraft(
                    kind="org",
                    trigger=SESSIONS_REVOKED,
                    actor=actor.code,
                    at=when,
                    reason=f"dashboard sessions of {who.code} ended ({ended})",
                    payload={"person": who.code, "sessions": ended},
                )
            ],
        )
        return ended


# --- the login throttle ----------------------------------------------------------------------------------
# Failed logins are counted in the database (models/tables.py LoginThrottle), so every web process shares the
# count: per account (`person:ID`; a name that is nobody's counts as `name:TYPED`, so that the answers do not
# tell which names exist) and per address (`address:IP`, a higher bound). An attempt is counted before its
# password is checked and uncounted when it succeeds, so that parallel requests cannot check more passwords
# than the limit between them. Past the limit, every attempt for the key is refused unchecked, the right
# password too, until `locked_until`: 15 minutes the first time, twice as long each time after (up to a day),
# until a login succeeds or the password is set anew.
# Each password checked and wrong is audited (LOGIN_FAILED: the name typed, the person it is, the address, the
# browser, never the password), and so is the first attempt refused during each lockout; the others refused
# during a lockout write nothing (a flood cannot load the audit chain, which every writer shares).

IN_FLIGHT = timedelta(minutes=1)  # how long to wait when the window is full of attempts still being checked
PRUNE_AFTER = timedelta(days=7)  # the count of a name that is nobody's or of an address, forgotten after a quiet week


@dataclass(frozen=True)
class LoginLimits:
    """The throttle's bounds (DashboardSettings): failures per account and per address within `window`, the
    first lockout, and the longest."""

    account_failures: int
    address_failures: int
    window: timedelta
    lockout: timedelta
    longest: timedelta

    def lock_for(self, lockouts: int) -> timedelta:
        """How long the `lockouts`-th lockout lasts: doubling from the first, up to the longest."""
        return min(self.lockout * 2 ** min(max(lockouts - 1, 0), 20), self.longest)


@dataclass(frozen=True)
class LoginAttempt:
    """A login attempt the throttle let through (counted): who it was for, from where."""

    username: str
    address: str
    user_agent: str
    person_code: str | None
    keys: tuple[str, str]  # the account's, the address's


class LoginLocked(UserError):
    """Logins for this account or from this address are refused until `until` (said in local time)."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        shown = (until + timedelta(seconds=59)).replace(second=0, microsecond=0)  # "after 09:16", not 09:15:30
        super().__init__(
            tr(
                "Too many failed logins: logging in is locked until {until} (local time). Try again after that "
                "time; if you have forgotten your password, use “Forgot your password?”.",
                until=local_time(shown, get_settings().timezone),
            )
        )


def _account_key(person_id: int) -> str:
    return f"person:{person_id}"


def _typed(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip()[:TYPED]


def begin_login(
    database_url: str | None, username: str, address: str, user_agent: str, at: datetime, limits: LoginLimits
) -> LoginAttempt:
    """Let a login attempt through the throttle (counted, before its password is checked), or LoginLocked
    when its account or its address is locked out (the first refusal of a lockout is audited)."""
    engine = engine_for(database_url)
    name = _typed(username)
    with read_session(engine) as session:
        found = session.execute(
            select(col(Person.id), col(Person.code))
            .where(or_(col(Person.code) == name, func.lower(col(Person.email)) == name.lower()))
            .order_by(col(Person.active).desc(), col(Person.id))
            .limit(1)
        ).first()
        account = _account_key(int(found[0])) if found else f"name:{name.casefold()}"
        attempt = LoginAttempt(
            name,
            address[:64],
            user_agent[:300],
            str(found[1]) if found else None,
            (account, f"address:{address}"[:200]),
        )
        rows = list(session.execute(select(LoginThrottle).where(col(LoginThrottle.key).in_(attempt.keys))).scalars())
        until = _locked(rows, at)
        unnoted = any(r.locked_until is not None and r.locked_until > at and not r.refusal_noted for r in rows)
    if until is not None:  # refused without writing, but for the first refusal of the lockout
        if unnoted:
            _note_refusal(database_url, attempt, at, until)
        raise LoginLocked(until)
    with write_session(engine) as session:
        rows = _rows(session, attempt.keys, at)
        until = _locked(rows, at)
        if until is None:
            for row, limit in zip(rows, (limits.account_failures, limits.address_failures), strict=True):
                if at - row.window_start >= limits.window:
                    row.failures, row.window_start = 0, at
                if row.failures >= limit:  # attempts in flight fill the window: a moment, not a lockout
                    until = max(until or at, min(row.window_start + limits.window, at + IN_FLIGHT))
        if until is None:
            for row in rows:
                row.failures += 1
                row.updated_at = at
    if until is not None:
        raise LoginLocked(until)
    return attempt


def login_failed(database_url: str | None, attempt: LoginAttempt, at: datetime, limits: LoginLimits) -> datetime | None:
    """The password of a counted attempt was wrong: audited; when its account or address has now failed its
    limit, logins for it are locked, and until when is returned."""
    locked: datetime | None = None
    with write_session(engine_for(database_url)) as session:
        rows = _rows(session, attempt.keys, at)
        for row, limit in zip(rows, (limits.account_failures, limits.address_failures), strict=True):
            if row.failures >= limit and (row.locked_until is None or row.locked_until <= at):
                row.lockouts += 1
                row.locked_until = at + limits.lock_for(row.lockouts)
                row.failures, row.window_start, row.refusal_noted = 0, at, False
                locked = max(locked or row.locked_until, row.locked_until)
            row.updated_at = at
        session.execute(
            delete(LoginThrottle)
            .where(
                col(LoginThrottle.updated_at) < at - PRUNE_AFTER,
                ~col(LoginThrottle.key).startswith("person:"),
                or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) < at),
            )
            .execution_options(synchronize_session=False)
        )
        _audit_failure(session, attempt, at, "wrong password", locked)
    return locked


def log_in(database_url: str | None, attempt: LoginAttempt, person_id: int, at: datetime) -> str:
    """The password of a counted attempt was right: its account's count and lockouts start again, its
    address's count forgets the attempt, and a new session is opened; the id for the cookie."""
    with write_session(engine_for(database_url)) as session:
        account, address = attempt.keys
        _clear_throttle(session, [account, _account_key(person_id)])
        session.execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.key) == address, col(LoginThrottle.failures) > 0)
            .values(failures=col(LoginThrottle.failures) - 1, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        return open_session(session, person_id, attempt.address, attempt.user_agent, at)


def proven(database_url: str | None, attempt: LoginAttempt, person_id: int) -> None:
    """The password of a counted attempt from the command line was right: its account's count starts again
    (no session is opened: a command is not a login)."""
    with write_session(engine_for(database_url)) as session:
        _clear_throttle(session, [attempt.keys[0], _account_key(person_id)])


def _rows(session: Session, keys: Sequence[str], at: datetime) -> list[LoginThrottle]:
    """The throttle's rows of `keys`, in that order, made if missing and locked until the commit."""
    table = table_of(LoginThrottle)
    fresh = [
        {"key": k, "failures": 0, "window_start": at, "lockouts": 0, "refusal_noted": False, "updated_at": at}
        for k in keys
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(fresh).on_conflict_do_nothing(index_elements=["key"]))
    else:
        session.execute(sqlite.insert(table).values(fresh).on_conflict_do_nothing(index_elements=["key"]))
    found = {
        r.key: r
        for r in session.execute(
            select(LoginThrottle)
            .where(col(LoginThrottle.key).in_(keys))
            .order_by(col(LoginThrottle.key))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    }
    return [found[k] for k in keys]


def _locked(rows: Iterable[LoginThrottle], at: datetime) -> datetime | None:
    """Until when the latest lockout of these rows lasts, if one is on at `at`."""
    ends = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > at]
    return max(ends) if ends else None


def _clear_throttle(session: Session, keys: Sequence[str]) -> None:
    session.execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.key).in_(keys))
        .values(failures=0, lockouts=0, locked_until=None, refusal_noted=False)
        .execution_options(synchronize_session=False)
    )


def _note_refusal(database_url: str | None, attempt: LoginAttempt, at: datetime, until: datetime) -> None:
    """Audit the first attempt refused during a lockout (once: the row remembers it)."""
    with write_session(engine_for(database_url)) as session:
        noted = session.execute(
            update(LoginThrottle)
            .where(
                col(LoginThrottle.key).in_(attempt.keys),
                col(LoginThrottle.locked_until) > at,
                col(LoginThrottle.refusal_noted).is_(False),
            )
            .values(refusal_noted=True)
            .execution_options(synchronize_session=False)
        )
        if getattr(noted, "rowcount", 0):
            _audit_failure(session, attempt, at, "refused while locked", until)


def _audit_failure(session: Session, attempt: LoginAttempt, at: datetime, why: str, locked: datetime | None) -> None:
    """The event of a failed login: the name typed, whose it is, the address and the browser; never the
    password."""
    tried = attempt.username or "(empty)"
    lock = f"; logins locked until {locked.isoformat()}" if locked is not None else ""
    append(
        session,
        [
            EventDraft(
                kind="org",
                trigger=LOGIN_FAILED,
                actor=f"web:{attempt.address or '?'}",
                at=at,
                reason=f"failed login as {tried!r} from {attempt.address or '?'}: {why}{lock}",
                payload={
                    "username": attempt.username,
                    "person": attempt.person_code,
                    "address": attempt.address,
                    "user_agent": attempt.user_agent,
                    "outcome": why,
                    **({"locked_until": locked.isoformat()} if locked is not None else {}),
                },
            )
        ],
    )
