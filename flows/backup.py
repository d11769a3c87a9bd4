"""Backups: the whole database and the file store in one archive, and back.

`cchc backup FILE.tar.gz` reads every table in one read transaction (a consistent snapshot) and writes
them as JSON lines, with the content-addressed files of the store and a manifest of counts and SHA-256
sums. The archive is written to a temporary file beside the target and renamed at the end: a failed
backup leaves nothing behind. It is independent of the database engine: a SQLite backup restores into
PostgreSQL and the reverse.

The manifest is signed with the installation's Ed25519 key (models/attest.py): whoever edits an archive
cannot make its manifest agree again, since a recomputed SHA-256 no longer matches the signature.

`cchc restore FILE.tar.gz` reads the archive twice, as a stream, never a member whole in memory: first it
checks every member's name, size (each and in all, `restore_max_bytes`: a small archive that expands to
gigabytes is refused when it passes the bound) and SHA-256 against the signed manifest, and the signature
against the trusted key (this installation's, or `--public-key`); only then does it copy the files into the
store (content-addressed: never overwriting) and write every table in one transaction, hashing again as it
reads, and it verifies the audit chain and replays it against the restored tables before it commits.
Anything wrong: nothing is written to the database.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
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
from cchc.flows.auditcheck import check_tables, signing_key, trusted_key
from cchc.flows.inputs import target_file
from cchc.flows.runtime import engine_for, now
from cchc.models.attest import SignatureError, check, signed
from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.migrate import current_revision, head_revision, upgrade
from cchc.models.store import FileStore
from cchc.models.types import Points, UTCDateTime

FORMAT = "cchc-backup/2"  # /2: the manifest is signed
CHUNK = 5_000
STREAM = 1 << 20  # a member is read a mebibyte at a time
MANIFEST_MAX = 64 << 20
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


def _add_stream(archive: tarfile.TarFile, name: str, handle: IO[bytes]) -> str:
    """Add what a file holds, read a mebibyte at a time, and return its SHA-256."""
    handle.seek(0, os.SEEK_END)
    info = tarfile.TarInfo(name)
    info.size = handle.tell()
    info.mtime = int(now().timestamp())
    handle.seek(0)
    hashing = _Hashing(handle)
    archive.addfile(info, hashing)
    return hashing.hexdigest()


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it (and counts it, refusing more than `limit`)."""

    def __init__(self, handle: IO[bytes], limit: int | None = None, name: str = "") -> None:
        super().__init__()
        self.handle, self.limit, self.name = handle, limit, name
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.handle.read(min(len(buffer), STREAM))
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise UserError(
                tr("{name}: larger than a restore accepts ({limit} bytes)", name=self.name, limit=self.limit)
            )
        self.digest.update(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


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
                    with tempfile.TemporaryFile(dir=out.parent) as body:  # a table is spooled, never held whole
                        count = 0
                        for row in connection.execute(select(table).execution_options(yield_per=CHUNK)):
                            line = json.dumps({k: _encode(v) for k, v in row._mapping.items()}, ensure_ascii=False)
                            body.write(line.encode("utf-8") + b"\n")
                            count += 1
                        name = f"tables/{table.name}.jsonl"
                        sums[name] = _add_stream(archive, name, body)
                        summary.tables[table.name] = count
            root = get_settings().store_dir
            for path in _store_files(root):
                name = _STORE_NAME + path.relative_to(root).as_posix()
                with path.open("rb") as handle:
                    sums[name] = _add_stream(archive, name, handle)
                summary.files += 1
            manifest = signed(
                {
                    "format": FORMAT,
                    "revision": revision,
                    "created_at": now().isoformat(),
                    "tables": summary.tables,
                    "sha256": sums,
                },
                signing_key(),
            )
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


def _members(path: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """The archive's members in order, each as a stream (the archive is read as one gzip stream)."""
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for info in archive:
                if not info.isfile():
                    raise UserError(
                        tr(
                            "{archive}: {name!r} is not a regular file; not a cchc backup",
                            archive=path.name,
                            name=info.name,
                        )
                    )
                handle = archive.extractfile(info)
                assert handle is not None
                yield info, handle
    except FileNotFoundError:
        raise UserError(tr("{path}: no such file", path=path)) from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise UserError(tr("{archive}: not a readable .tar.gz archive ({why})", archive=path.name, why=exc)) from None


def _allowed(name: str, tables: set[str]) -> bool:
    if name == "manifest.json":
        return True
    if name.startswith("tables/") and name.endswith(".jsonl"):
        return name[len("tables/") : -len(".jsonl")] in tables
    if name.startswith(_STORE_NAME):
        parts = name[len(_STORE_NAME) :].split("/")
        return len(parts) == 2 and len(parts[0]) == 2 and parts[1].startswith(parts[0])
    return False


def check_archive(path: Path, public: str | None = None) -> dict[str, Any]:
    """The archive's signed manifest, once every member was read as a stream and found to be named as a
    backup names it, within the size bounds, signed by the trusted key and equal to its SHA-256 in the
    manifest; a UserError naming the first member that is not."""
    limit = get_settings().restore_max_bytes
    tables = {t.name for t in _tables()}
    sums: dict[str, str] = {}
    manifest: dict[str, Any] | None = None
    total = 0
    for info, handle in _members(path):
        if not _allowed(info.name, tables) or info.name in sums:
            raise UserError(
                tr("{archive}: {name!r} is not a member of a cchc backup", archive=path.name, name=info.name)
            )
        total += info.size
        if total > limit:
            raise UserError(
                tr(
                    "{archive}: expands to more than {limit} bytes (restore_max_bytes): refused",
                    archive=path.name,
                    limit=limit,
                )
            )
        if info.name == "manifest.json":
            if info.size > MANIFEST_MAX:
                raise UserError(tr("{archive}: its manifest is too large to be a cchc manifest", archive=path.name))
            try:
                manifest = json.loads(handle.read())
            except ValueError:
                raise UserError(
                    tr("{archive}: has no readable manifest.json; not a cchc backup", archive=path.name)
                ) from None
            continue
        reader = _Hashing(handle, info.size, info.name)
        while reader.read(STREAM):
            pass
        sums[info.name] = reader.hexdigest()
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(tr("{archive}: not a {format} archive (a signed manifest)", archive=path.name, format=FORMAT))
    try:
        check(manifest, trusted_key(public))
    except SignatureError as exc:
        raise UserError(tr("{archive}: the backup cannot be trusted: {why}", archive=path.name, why=str(exc))) from None
    listed = manifest.get("sha256", {})
    for name in sorted(set(listed) | set(sums)):
        if name not in sums:
            raise UserError(tr("{archive}: {name} is listed in the manifest but missing", archive=path.name, name=name))
        if listed.get(name) != sums[name]:
            raise UserError(
                tr(
                    "{archive}: {name} does not match the manifest: the archive was altered",
                    archive=path.name,
                    name=name,
                )
            )
    return manifest


def restore(database_url: str | None, path: Path, public: str | None = None) -> RestoreSummary:
    """Restore an archive into an empty database (its schema is created) and the file store."""
    manifest = check_archive(path, public)
    head = head_revision()
    if manifest["revision"] != head:
        raise UserError(
            f"{path.name}: a backup of schema {manifest['revision']}; this cchc is at {head}: restore it with "
            "the version of cchc that wrote it, then upgrade"
        )
    engine = _engine(database_url)
    upgrade(engine)
    tables = {t.name: t for t in _tables()}
    with read_session(engine) as session:
        busy = [n for n, t in tables.items() if session.execute(select(func.count()).select_from(t)).scalar_one()]
    if busy:
        raise UserError(
            f"the database {engine.url.render_as_string()} already holds data ({', '.join(busy[:5])}…): "
            "restore into an empty database"
        )
    summary = RestoreSummary(str(path), head)
    store = FileStore(get_settings().store_dir)
    listed = manifest["sha256"]
    with write_session(engine) as session:
        connection = session.connection()
        for info, handle in _members(path):  # read again, hashed again: the file may not change in between
            if info.name == "manifest.json":
                continue
            reader = _Hashing(handle, info.size, info.name)
            if info.name.startswith(_STORE_NAME):
                stem = Path(info.name).name
                sha256, _, suffix = stem.partition(".")
                kept = store.put_stream(reader, f".{suffix}" if suffix else "")  # type: ignore[arg-type]
                if kept.sha256 != sha256:
                    raise UserError(f"{path.name}: {info.name} is not named by its SHA-256")
                summary.files += 1
            else:
                table = tables[info.name[len("tables/") : -len(".jsonl")]]
                summary.tables[table.name] = _insert_lines(connection, table, reader)
                if manifest["tables"].get(table.name, 0) != summary.tables[table.name]:
                    raise UserError(
                        f"{path.name}: {table.name} has {summary.tables[table.name]} rows, the manifest says otherwise"
                    )
            if reader.hexdigest() != listed.get(info.name):
                raise UserError(f"{path.name}: {info.name} changed while it was restored: nothing was written")
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, list(tables.values()))
        session.flush()
        verification = verify(session)
        if not verification.ok:
            raise UserError(f"{path.name}: the restored audit trail does not verify: {verification.problems[0]}")
        replayed = check_tables(session)
        if replayed.problems:
            raise UserError(f"{path.name}: the restored tables differ from their audit trail: {replayed.problems[0]}")
        summary.audit_events = verification.events
    return summary


def _insert_lines(connection: Connection, table: Table, reader: _Hashing) -> int:
    """Insert a table's JSON lines, a chunk at a time, as they are read."""
    decoders = _decoder(table)
    count = 0
    rows: list[dict[str, Any]] = []
    for line in io.TextIOWrapper(io.BufferedReader(reader, STREAM), encoding="utf-8"):
        if not line.strip():
            continue
        record = json.loads(line)
        rows.append({k: (decoders[k](v) if v is not None and k in decoders else v) for k, v in record.items()})
        count += 1
        if len(rows) >= CHUNK:
            connection.execute(insert(table), rows)
            rows = []
    if rows:
        connection.execute(insert(table), rows)
    return count


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
