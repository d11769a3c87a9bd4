"""PostgreSQL connections: a connection that rested in the pool is pinged when taken out and replaced when its
server process has gone; one taken again a moment after it was returned is used without a ping."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cchc.config.settings import Settings
from cchc.models import db
from cchc.models.db import get_engine, read_session

PG_URL = Settings().test_database_url

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (CCHC_TEST_DATABASE_URL)")


def _backend_pid(url: str) -> int:
    with read_session(get_engine(url)) as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_whose_server_process_ended_while_idle_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(pg_url)
    admin = get_engine(PG_URL)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # it has rested long enough
    second = _backend_pid(pg_url)  # no error: the dead connection was found by the ping and replaced
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine(pg_url)
    pings: list[object] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    _backend_pid(pg_url)
    _backend_pid(pg_url)
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    _backend_pid(pg_url)
    assert len(pings) == 1
