"""`cchc appraise`, `cchc adjust`, `cchc appraisal export`: appraisal, bonus and penalty items, the
appraiser's workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cchc.flows import inputs
from cchc.flows.appraisal import adjust as do_adjust
from cchc.flows.appraisal import appraise_flow
from cchc.flows.cli.common import As, Units, Year, acting, db, friendly, running_flows, xlsx_target
from cchc.flows.display import console, errors
from cchc.flows.params import AppraiseParams
from cchc.flows.workbooks import export_appraisal
from cchc.models.i18n import tr

app = typer.Typer(name="appraisal", help=tr("The appraisal workbook."), no_args_is_help=True)

commands = typer.Typer()


@commands.command(
    help=tr(
        "Appraise submitted units and re-appraise changed ones. Running it again with the same inputs "
        "changes nothing; changed inputs give a new appraisal version with its diff in the audit trail."
    ),
)
@friendly
def appraise(
    units: Units = None,
    scores: Annotated[
        Path | None, typer.Option(help=tr("The appraiser's own scores: CSV unit,criterion,score,note"))
    ] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    with running_flows():
        summary = appraise_flow(
            AppraiseParams(
                year=year,
                units=inputs.codes(units or []),
                scores_path=str(scores) if scores else None,
                database_url=db(),
                actor=acting(actor),
            )
        )
    if summary.appraised:
        console.print(tr("appraised: {units}", units=", ".join(summary.appraised)))
    if summary.reappraised:
        console.print(tr("re-appraised (new version): {units}", units=", ".join(summary.reappraised)))
    if summary.unchanged:
        console.print(tr("unchanged: {n} units", n=len(summary.unchanged)))
    console.print(tr("{n} scores written", n=summary.changed_scores))
    for refusal in summary.refused:
        errors.print("[red]" + tr("refused:") + "[/red] " + escape(refusal), markup=True)
    if summary.refused:
        raise typer.Exit(1)


@commands.command(help=tr("Grant (or revoke) a bonus or penalty of ±2 points to a unit, with its reason."))
@friendly
def adjust(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    item: Annotated[str, typer.Option(help=tr("Bonus or penalty item code of the framework (e.g. B1, B2, P1, P2)"))],
    reason: Annotated[str, typer.Option(help=tr("Why (required)"))],
    revoke: Annotated[bool, typer.Option(help=tr("Take the item back"))] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    summary = do_adjust(db(), year, unit, item, reason, acting(actor), None, revoke=revoke)
    console.print(summary.message)


@app.command(
    "export",
    help=tr(
        "Write a submitted unit's appraisal workbook: its scores and evidence, what the rules give and "
        "why; fill in your own scores and comments and take them in with `cchc appraise --scores "
        "FILE.xlsx`."
    ),
)
@friendly
def appraisal_export(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    path: Annotated[Path, typer.Argument(help=tr("The .xlsx file to write"))],
    year: Year = None,
) -> None:
    done = export_appraisal(db(), year, unit, xlsx_target(path))
    console.print(tr("{path}: {rows} sub-criteria of {unit}", path=done.path, rows=done.rows, unit=done.unit))
