"""`cchc demo`: the whole sample cycle."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.cli.common import db, friendly
from cchc.flows.demo import run_demo
from cchc.flows.runtime import local_flow_runs
from cchc.models.i18n import tr

commands = typer.Typer()


@commands.command(
    help=tr("Run a whole cycle of the sample organisation through the Prefect flows, on a fresh SQLite file."),
)
@friendly
def demo(
    database_url: Annotated[
        str, typer.Option(help=tr("Where the demo cycle is written (recreated)"))
    ] = "sqlite:///./cchc-demo.db",
) -> None:
    with local_flow_runs():
        run_demo(db() or database_url)
