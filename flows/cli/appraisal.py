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

app = typer.Typer(name="appraisal", help="The appraisal workbook.", no_args_is_help=True)

commands = typer.Typer()


@commands.command()
@friendly
def appraise(
    units: Units = None,
    scores: Annotated[
        Path | None, typer.Option(help="The appraiser's own scores: CSV unit,criterion,score,note")
    ] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    """Appraise submitted units and re-appraise changed ones. Running it again with the same inputs changes
    nothing; changed inputs give a new appraisal version with its diff in the audit trail."""
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
        console.print(f"appraised: {', '.join(summary.appraised)}")
    if summary.reappraised:
        console.print(f"re-appraised (new version): {', '.join(summary.reappraised)}")
    if summary.unchanged:
        console.print(f"unchanged: {len(summary.unchanged)} units")
    console.print(f"{summary.changed_scores} scores written")
    for refusal in summary.refused:
        errors.print(f"[red]refused:[/red] {escape(refusal)}", markup=True)
    if summary.refused:
        raise typer.Exit(1)


@commands.command()
@friendly
def adjust(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    item: Annotated[str, typer.Option(help="Bonus or penalty item code of the framework (e.g. B1, B2, P1, P2)")],
    reason: Annotated[str, typer.Option(help="Why (required)")],
    revoke: Annotated[bool, typer.Option(help="Take the item back")] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    """Grant (or revoke) a bonus or penalty of ±2 points to a unit, with its reason."""
    summary = do_adjust(db(), year, unit, item, reason, acting(actor), None, revoke=revoke)
    console.print(summary.message)


@app.command("export")
@friendly
def appraisal_export(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    path: Annotated[Path, typer.Argument(help="The .xlsx file to write")],
    year: Year = None,
) -> None:
    """Write a submitted unit's appraisal workbook: its scores and evidence, what the rules give and why;
    fill in your own scores and comments and take them in with `cchc appraise --scores FILE.xlsx`."""
    done = export_appraisal(db(), year, unit, xlsx_target(path))
    console.print(f"{done.path}: {done.rows} sub-criteria of {done.unit}")
