"""Twin databases: a second database on the backend of a test's `db_url`, where the same story is told
(the same factories, in the same order), so that work done in parts in one can be compared with the same
work done in one go in the other."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from databases import new_database
from factories import scalar
from sqlalchemy import text

from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session
from cchc.models.migrate import upgrade


@contextmanager
def twin_database(db_url: str, sqlite_template: Path, directory: Path) -> Iterator[str]:
    """A migrated, empty database beside `db_url` (a SQLite file, or a new PostgreSQL database dropped at
    the end)."""
    if db_url.startswith("sqlite"):
        path = directory / "twin.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    with new_database(db_url, "cchc_twin") as url:
        upgrade(get_engine(url))
        yield url


@contextmanager
def clone_database(url: str, directory: Path) -> Iterator[str]:
    """A copy of a database as it is now: SQLite's backup into a new file, or a new PostgreSQL database made
    from it as a template (dropped at the end)."""
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        path = directory / "clone.db"
        with sqlite3.connect(str(engine.url.database)) as source, sqlite3.connect(path) as target:
            source.backup(target)
        yield f"sqlite:///{path}"
        return
    with new_database(url, "cchc_clone", template=url) as clone:
        yield clone


# What a sweep or an appraisal writes (the set-up also writes things made at random, such as signing links).
STEPS = "SELECT item_kind, item_id, unit_code, phase, due_at, step, fired_at, recipients FROM chase_step"
MAIL = (
    "SELECT dedupe_key, kind, to_email, unit_code, cycle_year, context, status FROM outbox "
    "WHERE kind IN ('reminder', 'escalation')"
)
EVENTS = (
    "SELECT at, actor, kind, trigger, unit_code, from_state, to_state, reason, payload FROM audit_event "
    "WHERE trigger IN ('remind', 'escalate', 'appraise', 'reappraise')"
)
SCORES = "SELECT assessment_id, criterion_id, appraised_points FROM score"
ASSESSMENTS = "SELECT id, state, version, appraisal_version, appraised_at FROM assessment"


def rows(url: str, sql: str) -> Counter[tuple[object, ...]]:
    with read_session(get_engine(url)) as session:
        return Counter(tuple(row) for row in session.execute(text(sql)))


def assert_same_story(parts_url: str, whole_url: str) -> None:
    """The same steps, e-mails, events, scores and states in both, each e-mail queued once, both audit
    trails whole."""
    for sql in (STEPS, MAIL, EVENTS, SCORES, ASSESSMENTS):
        assert rows(parts_url, sql) == rows(whole_url, sql), sql
    for url in (parts_url, whole_url):
        with read_session(get_engine(url)) as session:
            assert verify(session).ok
        queued = scalar(url, "SELECT count(*) FROM outbox")
        assert scalar(url, "SELECT count(DISTINCT dedupe_key) FROM outbox") == queued
