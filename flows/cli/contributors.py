"""`cchc contributors assign|status`: teams and communes that supply a unit's sub-criteria."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly
from cchc.flows.contributors import assign, status
from cchc.flows.display import console, local_time, show

app = typer.Typer(
    name="contributors", help="Teams and communes that supply a unit's sub-criteria.", no_args_is_help=True
)


@app.command("assign")
@friendly
def contributors_assign(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    contributor: Annotated[str, typer.Option(help="A team or commune of the unit")],
    criteria: Annotated[str, typer.Option(help="Sub-criteria, comma-separated")],
    due: Annotated[str, typer.Option(help="The internal deadline, before the unit's own, e.g. 20/08/2021")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Assign sub-criteria to a team or commune with an internal deadline (the sweep chases it)."""
    line = assign(db(), year, unit, contributor, inputs.codes(criteria), inputs.moment(due, "--due"), acting(actor))
    console.print(
        f"{line.contributor} supplies {', '.join(line.criteria)} of {line.unit} before {local_time(line.due)}"
    )


@app.command("status")
@friendly
def contributors_status(
    unit: Annotated[str | None, typer.Option("--unit", "-u")] = None, year: Year = None, as_json: Json = False
) -> None:
    """What each team or commune was assigned, what it supplied, who is late."""
    lines = status(db(), year, unit)
    columns = ("unit", "contributor", "sub-criteria", "supplied", "due (before)", "state", "")
    rows = (
        (
            line.unit,
            f"{line.contributor_name} ({line.contributor})",
            ", ".join(line.criteria),
            f"{line.supplied}/{len(line.criteria)}",
            local_time(line.due),
            line.state,
            Text("late", style="red") if line.late else "",
        )
        for line in lines
    )
    show(lines, as_json, columns, rows)
