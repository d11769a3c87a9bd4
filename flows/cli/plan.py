"""`cchc plan register`: a unit's own plan received."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.cli.common import As, Year, acting, db, friendly
from cchc.flows.deadlines import register_plan
from cchc.flows.display import console

app = typer.Typer(name="plan", help="Units' own plans.", no_args_is_help=True)


@app.command("register")
@friendly
def plan_register(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    ref: Annotated[str, typer.Option(help="The plan's number and date, e.g. '91/KH-CAH ngày 30/6/2021'")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Record that a unit sent its own plan (the sweep stops chasing it)."""
    new = register_plan(db(), year, unit, ref, acting(actor))
    console.print(f"{unit}: plan {ref} " + ("recorded" if new else "was already recorded"))
