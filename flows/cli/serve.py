"""`cchc serve`: the schedules (the deadline sweep, the outbox flush). A module of its own, so that Prefect's
deployment machinery (~0.5 s to import) is loaded only for this command, not for `cchc sweep` (flows/cli's
COMMANDS loads a command's module on first use)."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.cli.common import db, friendly
from cchc.flows.serve import schedules
from cchc.models.i18n import tr

commands = typer.Typer()


@commands.command(
    help=tr(
        "Run the schedules: the deadline sweep every day and the outbox flush every few minutes. Needs a "
        "Prefect server (`prefect server start`, then PREFECT_API_URL); see prefect.yaml to deploy "
        "instead."
    ),
)
@friendly
def serve(
    sweep_cron: Annotated[str, typer.Option(help=tr("When the deadline sweep runs (cron, local time)"))] = "0 7 * * *",
    flush_every: Annotated[int, typer.Option(min=1, help=tr("Seconds between outbox flushes"))] = 300,
) -> None:
    schedules(db(), sweep_cron, flush_every)
