"""`cchc contributors assign|status`: teams and communes that supply a unit's sub-criteria."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly
from cchc.flows.contributors import assign, status
from cchc.flows.display import console, local_time, show
from cchc.models.i18n import tr

app = typer.Typer(
    name="contributors", help=tr("Teams and communes that supply a unit's sub-criteria."), no_args_is_help=True
)


@app.command(
    "assign",
    help=tr("Assign sub-criteria to a team or commune with an internal deadline (the sweep chases it)."),
)
@friendly
def contributors_assign(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    contributor: Annotated[str, typer.Option(help=tr("A team or commune of the unit"))],
    criteria: Annotated[str, typer.Option(help=tr("Sub-criteria, comma-separated"))],
    due: Annotated[str, typer.Option(help=tr("The internal deadline, before the unit's own, e.g. 20/08/2021"))],
    year: Year = None,
    actor: As = None,
) -> None:
    line = assign(db(), year, unit, contributor, inputs.codes(criteria), inputs.moment(due, "--due"), acting(actor))
    console.print(
        tr(
            "{contributor} supplies {criteria} of {unit} before {due}",
            contributor=line.contributor,
            criteria=", ".join(line.criteria),
            unit=line.unit,
            due=local_time(line.due),
        )
    )


@app.command("status", help=tr("What each team or commune was assigned, what it supplied, who is late."))
@friendly
def contributors_status(
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=tr("The unit's code"))] = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    lines = status(db(), year, unit)
    columns = (tr("unit"), tr("contributor"), tr("sub-criteria"), tr("supplied"), tr("due (before)"), tr("state"), "")
    rows = (
        (
            line.unit,
            f"{line.contributor_name} ({line.contributor})",
            ", ".join(line.criteria),
            f"{line.supplied}/{len(line.criteria)}",
            local_time(line.due),
            line.state,
            Text(tr("late"), style="red") if line.late else "",
        )
        for line in lines
    )
    show(lines, as_json, columns, rows)
