"""Engines and transactions. Engines are made by a function, never at import time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session
from sqlmodel import create_engine

from cchc.config.settings import get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # A writing transaction takes the write lock up front (BEGIN IMMEDIATE), so two writers queue
    # instead of failing half-way when the reader of a snapshot tries to upgrade it.
    mode = "IMMEDIATE" if conn.get_execution_options().get("cchc_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The engine for a database URL (the configured one by default); one per URL per process."""
    url = url or get_settings().database_url
    kwargs: dict[str, Any] = {"echo": get_settings().echo_sql}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, only where it can matter: a connection that rested in the pool for
    PING_AFTER_IDLE_S or more is pinged when taken out, and replaced (with every connection older than it)
    when the server has gone away. SQLAlchemy's `pool_pre_ping` pings at every checkout: on deadline day a
    served page takes a connection several times a second, and one round trip in six of an autosave was
    that ping. This is SQLAlchemy's documented checkout-event recipe with a time condition."""
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["cchc.idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("cchc.idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"the database server went away: {exc}") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; rolled back at the end."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One writing transaction: everything in it is committed together, or nothing is."""
    bind = engine.execution_options(cchc_write=True)
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
