"""Backups: the whole database and the file store in one archive, and back.

`cchc backup FILE.tar.gz` reads every table in one read transaction (a consistent snapshot) and writes
them as JSON lines, with the content-addressed files of the store and a manifest of counts and SHA-256
sums. The archive is written to a temporary file beside the target and renamed at the end: a failed
backup leaves nothing behind. It is independent of the database engine: a SQLite backup restores into
PostgreSQL and the reverse.

`cchc restore FILE.tar.gz` checks every member against the manifest before it writes anything, refuses a
database that already holds data and an archive of another schema version, copies the files into the
store (content-addressed: never overwriting), then writes every table in one transaction, and verifies
the audit chain before it commits. Anything wrong: nothing is written to the database.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, DateTime, Table, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from cchc.config.settings import get_settings
from cchc.flows.inputs import target_file
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.errors import UserError
from cchc.models.migrate import current_revision, head_revision, upgrade
from cchc.models.store import FileStore
from cchc.models.types import Points, UTCDateTime

FORMAT = "cchc-backup/1"
CHUNK = 5_000
_STORE_NAME = "store/"


@dataclass
class BackupSummary:
    path: str
    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0


@dataclass
class RestoreSummary:
    path: str
    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    audit_events: int = 0


def _tables() -> list[Table]:

    return list(SQLModel.metadata.sorted_tables)  # parents before children


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decoder(table: Table) -> dict[str, Any]:
    """Per column, how a JSON value becomes the Python value the column type expects (None: as is)."""
    decoders: dict[str, Any] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, Points):
            decoders[column.name] = Decimal
        elif isinstance(kind, UTCDateTime | DateTime):
            decoders[column.name] = datetime.fromisoformat
        elif isinstance(kind, Date):
            decoders[column.name] = date.fromisoformat
    return decoders


def _snapshot(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(now().timestamp())
    archive.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def _store_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".incoming-"):
            yield path


def backup(database_url: str | None, out: Path) -> BackupSummary:
    """Write the archive of the database and the store to `out` (atomically)."""
    if not out.name.endswith((".tar.gz", ".tgz")):
        raise UserError(f"{out}: a backup is a .tar.gz archive")
    target_file(out)
    engine = engine_for(database_url)  # refuses a database whose schema is not this cchc's
    revision = current_revision(engine)
    summary = BackupSummary(str(out), revision)
    sums: dict[str, str] = {}
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name[:60]}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            with engine.connect() as connection, connection.begin():
                _snapshot(connection)
                for table in _tables():
                    lines = [
                        json.dumps({k: _encode(v) for k, v in row._mapping.items()}, ensure_ascii=False)
                        for row in connection.execute(select(table))
                    ]
                    body = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
                    sums[f"tables/{table.name}.jsonl"] = _add(archive, f"tables/{table.name}.jsonl", body)
                    summary.tables[table.name] = len(lines)
            root = get_settings().store_dir
            for path in _store_files(root):
                name = _STORE_NAME + path.relative_to(root).as_posix()
                data = path.read_bytes()
                sums[name] = _add(archive, name, data)
                summary.files += 1
            manifest = {
                "format": FORMAT,
                "revision": revision,
                "created_at": now().isoformat(),
                "tables": summary.tables,
                "sha256": sums,
            }
            _add(archive, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    summary.bytes = out.stat().st_size
    return summary


def _engine(database_url: str | None) -> Engine:
    return get_engine(database_url or get_settings().database_url)


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every member, each checked against the manifest's SHA-256."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            members: dict[str, bytes] = {}
            for info in archive.getmembers():
                if not info.isfile():
                    raise UserError(f"{path.name}: {info.name!r} is not a regular file; not a cchc backup")
                handle: IO[bytes] | None = archive.extractfile(info)
                assert handle is not None
                members[info.name] = handle.read()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UserError(f"{path.name}: not a readable .tar.gz archive ({exc})") from None
    try:
        manifest = json.loads(members.pop("manifest.json"))
    except (KeyError, ValueError):
        raise UserError(f"{path.name}: has no readable manifest.json; not a cchc backup") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path.name}: not a {FORMAT} archive")
    sums = manifest.get("sha256", {})
    for name in sorted(set(sums) | set(members)):
        if name not in members:
            raise UserError(f"{path.name}: {name} is listed in the manifest but missing")
        if name not in sums or hashlib.sha256(members[name]).hexdigest() != sums[name]:
            raise UserError(f"{path.name}: {name} does not match the manifest: the archive was altered")
    return manifest, members


def restore(database_url: str | None, path: Path) -> RestoreSummary:
    """Restore an archive into an empty database (its schema is created) and the file store."""
    manifest, members = _read_archive(path)
    head = head_revision()
    if manifest["revision"] != head:
        raise UserError(
            f"{path.name}: a backup of schema {manifest['revision']}; this cchc is at {head}: restore it with "
            "the version of cchc that wrote it, then upgrade"
        )
    engine = _engine(database_url)
    upgrade(engine)
    tables = _tables()
    with read_session(engine) as session:
        busy = [t.name for t in tables if session.execute(select(func.count()).select_from(t)).scalar_one()]
    if busy:
        raise UserError(
            f"the database {engine.url.render_as_string()} already holds data ({', '.join(busy[:5])}…): "
            "restore into an empty database"
        )
    summary = RestoreSummary(str(path), head)
    store = FileStore(get_settings().store_dir)
    for name, data in sorted(members.items()):
        if name.startswith(_STORE_NAME):
            stem = Path(name).name
            sha256, _, suffix = stem.partition(".")
            if hashlib.sha256(data).hexdigest() != sha256:
                raise UserError(f"{path.name}: {name} is not named by its SHA-256")
            store.put(data, f".{suffix}" if suffix else "")
            summary.files += 1
    with write_session(engine) as session:
        connection = session.connection()
        for table in tables:
            body = members.get(f"tables/{table.name}.jsonl", b"")
            decoders = _decoder(table)
            rows = []
            for line in body.decode("utf-8").splitlines():
                record = json.loads(line)
                rows.append({k: (decoders[k](v) if v is not None and k in decoders else v) for k, v in record.items()})
            if manifest["tables"].get(table.name, 0) != len(rows):
                raise UserError(f"{path.name}: {table.name} has {len(rows)} rows, the manifest says otherwise")
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start : start + CHUNK])
            summary.tables[table.name] = len(rows)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, tables)
        session.flush()
        verification = verify(session)
        if not verification.ok:
            raise UserError(f"{path.name}: the restored audit trail does not verify: {verification.problems[0]}")
        summary.audit_events = verification.events
    return summary


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """After explicit ids were inserted, each serial column continues after the largest one."""
    for table in tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and len(table.primary_key) == 1):
                sequence = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
                ).scalar()
                if sequence:
                    connection.execute(
                        text(
                            f"SELECT setval(:s, COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                        ),
                        {"s": sequence},
                    )
