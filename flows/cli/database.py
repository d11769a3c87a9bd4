"""`cchc init`, `cchc backup`, `cchc restore`: the database's schema, and one archive of the database and
the file store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.backup import backup, restore
from cchc.flows.cli.common import db, friendly
from cchc.flows.display import console
from cchc.flows.runtime import open_engine
from cchc.models.migrate import upgrade

commands = typer.Typer()


@commands.command()
@friendly
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    engine = open_engine(db())
    revision = upgrade(engine)
    console.print(f"database {engine.url.render_as_string()} is at schema revision {revision}")


@commands.command("backup")
@friendly
def backup_cmd(out: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz)")]) -> None:
    """Back up the database and the file store into one archive (a consistent snapshot)."""
    summary = backup(db(), out)
    rows = sum(summary.tables.values())
    console.print(
        f"{out}: {rows} rows of {len(summary.tables)} tables and {summary.files} stored files "
        f"({summary.bytes / 1_048_576:.1f} MiB), schema {summary.revision}"
    )


@commands.command("restore")
@friendly
def restore_cmd(archive: Annotated[Path, typer.Argument(help="An archive written by `cchc backup`")]) -> None:
    """Restore a backup into an empty database and the file store; the audit chain is verified."""
    summary = restore(db(), archive)
    console.print(
        f"restored {sum(summary.tables.values())} rows and {summary.files} stored files from {archive}; "
        f"audit chain of {summary.audit_events} events verified"
    )
