"""Passwords of the dashboard: checked (NFC, at least 10 characters, not easy to guess), hashed with argon2id,
and stored as a used invitation stores them (flows/accounts.py `save_password`); never the password itself.
What `cchc login set`, the demo and the pages call.

The one policy, `check_password`, for the command line and every form that sets a password: at least
`MIN_PASSWORD` characters, none of the person's own code, e-mail address or name, and not easy to guess as
zxcvbn estimates it (Dropbox's estimator, its Python port pinned in pyproject.toml: some 30,000 of the most
common passwords of public breaches, English words and names, keyboard patterns, sequences, repetitions,
dates and l33t spellings, plus the person's own details and `LOCAL_WORDS`, the Vietnamese and local words
its lists lack). A password must score at least `MIN_SCORE` (3 of 4: some 10^8 guesses or more), so
`0000000000`, `1234567890` and `matkhau123` are refused, and a few words of one's own are taken."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col
from zxcvbn import zxcvbn

from cchc.flows.accounts import save_password
from cchc.flows.lookup import actor_for
from cchc.flows.runtime import engine_for, now
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.people import Actor, UnknownActor, resolve_actor
from cchc.models.tables import Person

MIN_PASSWORD = 10
MIN_SCORE = 3  # zxcvbn's score (0..4): 3 is "safely unguessable", ≥ 10^8 guesses (some protection offline too)
ESTIMATED = 72  # zxcvbn refuses longer input (its running time grows with the length): the first 72 are judged
# What zxcvbn's English lists lack: Vietnamese words that people make passwords of (typed without and with
# their accents), and this service's own names. A password made of one of these and a few digits is refused.
LOCAL_WORDS = (
    "matkhau",
    "mật khẩu",
    "matkhaumoi",
    "doimatkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "yeuanh",
    "xinchao",
    "vietnam",
    "việt nam",
    "hanoi",
    "saigon",
    "hochiminh",
    "congan",
    "công an",
    "bocongan",
    "cand",
    "cahc",
    "cchc",
    "caicachhanhchinh",
    "chisocchc",
    "daklak",
    "đắk lắk",
    "buonmathuot",
    "quantri",
    "quantrivien",
    "bangdieukhien",
)
_ESTIMATOR = threading.Lock()  # zxcvbn keeps the user inputs of a call in a module global: one call at a time


class WeakPassword(UserError):
    """A password the policy refuses, in one sentence; `reason` is short, common or personal."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """argon2id with OWASP's recommended parameters (Password Storage Cheat Sheet: 19 MiB, 2 passes, one
    lane): ~25 ms of one core per login. The library's default (RFC 9106's low-memory profile, 64 MiB × 3
    passes × 4 lanes) costs ~205 ms of CPU and 64 MiB per login: on deadline day 200 people logging in
    within a minute held both cores for 20 s and everyone's pages waited behind them. Guessing online is for
    a login throttle to stop, not for the hash; offline, OWASP's profile is its documented floor. Hashes
    made with other parameters still verify, and are made again with these at the next login."""
    return PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def check_password(password: str, person: Iterable[str] = ()) -> str:
    """The password as it is hashed (NFC, so that the same Vietnamese text typed on any keyboard matches),
    or a WeakPassword saying why it is refused: too short, holding one of `person` (the person's code, e-mail
    address, name), or easy to guess."""
    text = unicodedata.normalize("NFC", password)
    if len(text.strip()) < MIN_PASSWORD:
        raise WeakPassword("short", tr("the password must have at least {n} characters", n=MIN_PASSWORD))
    forbidden, hints = _own_words(person)
    folded = (_letters(text), _letters(_unaccented(text)))
    if any(word in form for word in forbidden for form in folded):
        raise WeakPassword(
            "personal", tr("the password must not contain the person's own code, e-mail address or name")
        )
    with _ESTIMATOR:
        score = int(zxcvbn(text[:ESTIMATED], user_inputs=[*hints, *LOCAL_WORDS])["score"])
    if score < MIN_SCORE:
        raise WeakPassword(
            "common",
            tr(
                "the password is too easy to guess: a common password, a word with a few digits, a sequence or a "
                "repetition (such as 1234567890 or 0000000000); choose a longer one, e.g. a few words of your own "
                "with a number"
            ),
        )
    return text


def _letters(text: str) -> str:
    """Text as the own-words rule compares it: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFC", text).casefold())


def _own_words(person: Iterable[str]) -> tuple[list[str], list[str]]:
    """What a person's password may not hold (their code, e-mail address, the address's part before the @,
    their whole name, each of 4 characters or more), and the words zxcvbn is told of besides (each word of
    the name), every one lower case, with and without its accents."""
    forbidden: list[str] = []
    hints: list[str] = []
    for value in (v.strip() for v in person):
        whole = [value, value.split("@", 1)[0]] if "@" in value else [value]
        for part in (*whole, *value.split()):
            for form in (part, _unaccented(part)):
                word = _letters(form)
                if len(word) >= 4 and part in whole and word not in forbidden:
                    forbidden.append(word)
                if word and word not in hints:
                    hints.append(word)
    return forbidden, hints


def _unaccented(text: str) -> str:
    """Vietnamese without its marks ("Lực" → "Luc", "Đắk" → "Dak"), as many type a password."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D")


def identifiers(session: Session, who: Actor) -> list[str]:
    """What identifies a person (code, e-mail address, name), for `check_password`."""
    email = session.execute(select(col(Person.email)).where(col(Person.id) == who.person_id)).scalar()
    return [who.code, email or "", who.name]


@dataclass(frozen=True)
class Operator:
    """Who ran a command on this machine: the operating-system account of the process, and the login name of
    its terminal when that differs (someone who became root with sudo or su)."""

    user: str
    login: str | None = None

    def actor(self) -> Actor:
        """The operator acting for nobody of the organisation (no `--as`): `os:USER` in the audit trail."""
        return Actor(code=f"os:{self.user}", name=f"operating-system user {self.user}")

    def noted(self) -> dict[str, object]:
        return {"os_user": self.user, **({"os_login": self.login} if self.login and self.login != self.user else {})}


def set_password(
    database_url: str | None,
    person: str,
    password: str,
    by: str | None,
    at: datetime | None = None,
    *,
    operator: Operator | None = None,
) -> bool:
    """Set a person's dashboard password (its argon2 hash); True when the login is new. Audited, without the
    hash: by `by` (a person's code or e-mail), else by the `operator` of the command line (`os:USER`), else
    by the system (the demo, the tests); the operator is noted either way. Every session of the person ends."""
    when = at or now()
    engine = engine_for(database_url)
    with read_session(engine) as session:
        who = _person(session, person)
        own = identifiers(session, who)
    text = check_password(password, own)
    digest = hasher().hash(text)
    with write_session(engine) as session:
        who = _person(session, person)
        if by is None and operator is not None:
            actor = operator.actor()
        else:
            actor = actor_for(session, by, task="login")
        return save_password(session, who, digest, actor, when, operator.noted() if operator else None)


def _person(session: Session, ident: str) -> Actor:
    try:
        return resolve_actor(session, ident)
    except UnknownActor as exc:
        raise UserError(str(exc)) from None
