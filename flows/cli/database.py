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
from cchc.models.i18n import tr
from cchc.models.migrate import upgrade

commands = typer.Typer()


@commands.command(help=tr("Create or upgrade the database schema (Alembic migrations)."))
@friendly
def init() -> None:
    engine = open_engine(db())
    revision = upgrade(engine)
    console.print(
        tr("database {url} is at schema revision {revision}", url=engine.url.render_as_string(), revision=revision)
    )


@commands.command(
    "backup",
    help=tr("Back up the database and the file store into one archive (a consistent snapshot)."),
)
@friendly
def backup_cmd(out: Annotated[Path, typer.Argument(help=tr("The archive to write (.tar.gz)"))]) -> None:
    summary = backup(db(), out)
    rows = sum(summary.tables.values())
    console.print(
        tr(
            "{path}: {rows} rows of {tables} tables and {files} stored files ({size} MiB), schema {revision}",
            path=out,
            rows=rows,
            tables=len(summary.tables),
            files=summary.files,
            size=f"{summary.bytes / 1_048_576:.1f}",
            revision=summary.revision,
        )
    )


@commands.command(
    "restore",
    help=tr("Restore a backup into an empty database and the file store; the audit chain is verified."),
)
@friendly
def restore_cmd(
    archive: Annotated[Path, typer.Argument(help=tr("An archive written by `cchc backup`"))],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key", help=tr("The public key of the installation that signed it (default: this one's)")
        ),
    ] = None,
) -> None:
    summary = restore(db(), archive, public_key)
    console.print(
        tr(
            "restored {rows} rows and {files} stored files from {path}; audit chain of {events} events verified",
            rows=sum(summary.tables.values()),
            files=summary.files,
            path=archive,
            events=summary.audit_events,
        )
    )
