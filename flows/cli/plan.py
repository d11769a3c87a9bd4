"""`cchc plan register`: a unit's own plan received."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.cli.common import As, Year, acting, db, friendly
from cchc.flows.deadlines import register_plan
from cchc.flows.display import console
from cchc.models.i18n import tr

app = typer.Typer(name="plan", help=tr("Units' own plans."), no_args_is_help=True)


@app.command("register", help=tr("Record that a unit sent its own plan (the sweep stops chasing it)."))
@friendly
def plan_register(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    ref: Annotated[str, typer.Option(help=tr("The plan's number and date, e.g. '91/KH-CAH ngày 30/6/2021'"))],
    year: Year = None,
    actor: As = None,
) -> None:
    new = register_plan(db(), year, unit, ref, acting(actor))
    console.print(
        tr("{unit}: plan {ref} recorded", unit=unit, ref=ref)
        if new
        else tr("{unit}: plan {ref} was already recorded", unit=unit, ref=ref)
    )
