"""PostgreSQL databases made for a test and dropped after it: empty, or a copy of another one (made from
it as a template, which must have no connection open)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cchc.models.db import get_engine


def _run(server_url: str, *statements: str) -> None:
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        admin.dispose()


def create_database(server_url: str, prefix: str, template: str | None = None) -> str:
    """A new database on the server of `server_url` (a copy of the database of `template`'s URL if given);
    its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if template is None:
        _run(server_url, f'CREATE DATABASE "{name}"')
    else:
        get_engine(template).dispose()
        source = make_url(template).database
        # a connection an earlier test left open (a web job's thread, say) would make the copy fail
        _run(
            server_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{source}' "
            "AND pid <> pg_backend_pid()",
            f'CREATE DATABASE "{name}" TEMPLATE "{source}"',
        )
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    get_engine(url).dispose()
    _run(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@contextmanager
def new_database(server_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    url = create_database(server_url, prefix, template)
    try:
        yield url
    finally:
        drop_database(url)
