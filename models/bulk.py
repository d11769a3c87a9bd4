"""Bulk writes of many rows in the caller's transaction: executemany on SQLite, COPY on PostgreSQL.

Values are passed as plain tuples of database values (points as integer hundredths), so no per-row
ORM or type processing happens on the hot paths (import, appraisal, publication).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

from sqlalchemy.orm import Session

CHUNK = 20_000
FEW = 64  # up to this many rows, PostgreSQL gets plain statements: COPY and a temp table cost more round trips


def _few(rows: Iterable[Sequence[Any]]) -> tuple[list[Sequence[Any]], Iterable[Sequence[Any]] | None]:
    """The rows when there are at most FEW of them (a page's save), else None and the rows, still streamed."""
    iterator = iter(rows)
    head = list(islice(iterator, FEW + 1))
    if len(head) <= FEW:
        return head, None
    return head, chain(head, iterator)


def _chunks(rows: Iterable[Sequence[Any]], size: int = CHUNK) -> Iterable[list[Sequence[Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in `columns` order); returns how many."""
    count = 0
    connection = session.connection()
    if _is_postgres(session):
        few, many = _few(rows)
        if many is None:
            if few:
                placeholders = ", ".join("%s" for _ in columns)
                connection.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", [tuple(row) for row in few]
                )
            return len(few)
        rows = many
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    for chunk in _chunks(rows):
        connection.exec_driver_sql(sql, _sqlite_rows(chunk))
        count += len(chunk)
    return count


def sqlite_instant(value: datetime) -> str:
    """An aware instant as SQLite stores `UTCDateTime` (naive UTC text), so raw writes compare right."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_rows(chunk: list[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """Rows with their aware datetimes written the way the ORM writes them on SQLite. Only the columns
    that hold an instant are touched (the first row tells which may: an instant or a None)."""
    if not chunk:
        return chunk
    maybe = [i for i, v in enumerate(chunk[0]) if v is None or isinstance(v, datetime)]
    instants = [i for i in maybe if any(isinstance(row[i], datetime) for row in chunk)]
    if not instants:
        return chunk
    seen: dict[datetime, str] = {}  # rows of one write mostly share their instants
    converted = []
    for row in chunk:
        values = list(row)
        for i in instants:
            value = values[i]
            if isinstance(value, datetime):
                text = seen.get(value)
                if text is None:
                    text = seen[value] = sqlite_instant(value)
                values[i] = text
        converted.append(tuple(values))
    return converted


def update_rows(
    session: Session, table: str, keys: Sequence[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Update `columns` of the rows found by `keys`; each row is (*keys, *columns). Returns how many."""
    connection = session.connection()
    count = 0
    if _is_postgres(session):
        few, many = _few(rows)
        if many is None:
            if few:
                sets = ", ".join(f"{c} = %s" for c in columns)
                where = " AND ".join(f"{k} = %s" for k in keys)
                reordered = [(*row[len(keys) :], *row[: len(keys)]) for row in few]
                connection.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {where}", reordered)
            return len(few)
        rows = many
        temp = f"_upd_{table}_{uuid.uuid4().hex[:12]}"
        all_columns = [*keys, *columns]
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(all_columns)} FROM {table} WITH NO DATA"
        )
        count = insert_rows(session, temp, all_columns, rows)
        if count:
            assignments = ", ".join(f"{c} = u.{c}" for c in columns)
            matches = " AND ".join(f"t.{k} = u.{k}" for k in keys)
            connection.exec_driver_sql(f"UPDATE {table} AS t SET {assignments} FROM {temp} AS u WHERE {matches}")
        connection.exec_driver_sql(f"DROP TABLE {temp}")
        return count
    sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {' AND '.join(f'{k} = ?' for k in keys)}"
    for chunk in _chunks(rows):
        reordered = [(*row[len(keys) :], *row[: len(keys)]) for row in _sqlite_rows(chunk)]
        connection.exec_driver_sql(sql, reordered)
        count += len(chunk)
    return count


@contextmanager
def staged_update(
    session: Session, table: str, keys: Sequence[str], columns: Sequence[str]
) -> Iterator[Callable[[Iterable[Sequence[Any]]], int]]:
    """Updates that arrive in parts (a pass over 910,000 scores, 500 units at a time): `add(rows)` takes each
    part, rows as in `update_rows`. On PostgreSQL every part is copied into one temporary table and `table` is
    updated from it once, when the block ends without an error (one join over the table, where an update per
    part joined it twenty times); on SQLite each part is written at once."""
    if not _is_postgres(session):
        yield lambda rows: update_rows(session, table, keys, columns, rows)
        return
    connection = session.connection()
    all_columns = [*keys, *columns]
    temp = f"_stage_{table}_{uuid.uuid4().hex[:12]}"
    made = False
    count = 0

    def add(rows: Iterable[Sequence[Any]]) -> int:
        nonlocal made, count
        if not made:
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(all_columns)} FROM {table} WITH NO DATA"
            )
            made = True
        added = insert_rows(session, temp, all_columns, rows)
        count += added
        return added

    yield add
    if made:
        if count:
            connection.exec_driver_sql(f"ANALYZE {temp}")  # the planner's estimate of an unanalyzed table is a guess
            assignments = ", ".join(f"{c} = u.{c}" for c in columns)
            matches = " AND ".join(f"t.{k} = u.{k}" for k in keys)
            connection.exec_driver_sql(f"UPDATE {table} AS t SET {assignments} FROM {temp} AS u WHERE {matches}")
        connection.exec_driver_sql(f"DROP TABLE {temp}")


@contextmanager
def bulk_work() -> Iterator[None]:
    """Around a pass over hundreds of thousands of rows: the cyclic garbage collector is paused (the rows
    make no reference cycles, but their millions of short-lived objects would trigger it again and
    again: ~15 % of an import's time). Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze(session: Session, *tables: str) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk write: without them it assumes empty tables
    and joins row by row (autovacuum may be off, and runs a minute later at best). SQLite plans well
    from its indexes alone."""
    if _is_postgres(session):
        session.connection().exec_driver_sql(f"ANALYZE {', '.join(tables)}")
