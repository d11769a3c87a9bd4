"""`cchc self-assessment import|export`, `cchc submit`, `cchc withdraw`: units' self-assessments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows import inputs
from cchc.flows.cli.common import As, Units, Year, acting, db, friendly, report_moves, running_flows, xlsx_target
from cchc.flows.display import console
from cchc.flows.params import ImportParams, SubmitParams
from cchc.flows.selfassessment import import_self_assessment_flow
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.workbooks import export_self_assessment
from cchc.models.errors import UserError
from cchc.models.i18n import tr

app = typer.Typer(name="self-assessment", help=tr("Units' self-assessments."), no_args_is_help=True)

commands = typer.Typer()


@app.command(
    "import",
    help=tr("Import self-scores: everything is checked first; any problem (named by line and column) writes nothing."),
)
@friendly
def sa_import(
    path: Annotated[
        Path, typer.Argument(help=tr("The exported .xlsx, or a CSV: unit,criterion,score,evidence,note[,metric]"))
    ],
    year: Year = None,
    actor: As = None,
) -> None:
    with running_flows():
        summary = import_self_assessment_flow(
            ImportParams(path=str(path), year=year, database_url=db(), actor=acting(actor))
        )
    console.print(
        tr(
            "{path}: {rows} rows for {units} units; {changed} scores changed in {changed_units} units",
            path=summary.path,
            rows=summary.rows,
            units=summary.units,
            changed=summary.changed_rows,
            changed_units=len(summary.changed_units),
        )
    )


@commands.command(help=tr("Submit self-assessments to the authority (refused while a sub-criterion is unscored)."))
@friendly
def submit(
    units: Units = None,
    all_units: Annotated[
        bool, typer.Option("--all", help=tr("Every unit still in self_assess (coordinators)"))
    ] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    codes = inputs.codes(units or [])
    if not codes and not all_units:  # `--unit ""` names no unit: it is not --all
        raise UserError(tr("name the units (--unit CODE) or submit every ready unit with --all"))
    with running_flows():
        summary = submit_flow(SubmitParams(year=year, units=codes, database_url=db(), actor=acting(actor)))
    report_moves(summary, tr("submitted"))


@commands.command(help=tr("Withdraw a submission to edit it (rút lại) — only before appraisal starts."))
@friendly
def withdraw(
    units: Annotated[list[str], typer.Option("--unit", "-u", help=tr("A unit code"))],
    reason: Annotated[str, typer.Option(help=tr("Why (recorded)"))] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    report_moves(
        change_units(db(), year, "withdraw", inputs.codes(units), acting(actor), None, reason=reason), tr("withdrawn")
    )


@app.command(
    "export",
    help=tr("Write the Appendix IV workbook to fill in (codes, maximum, method; scores, evidence, notes)."),
)
@friendly
def sa_export(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("An assessed unit, or a team or commune contributing"))],
    path: Annotated[Path, typer.Argument(help=tr("The .xlsx file to write"))],
    year: Year = None,
) -> None:
    done = export_self_assessment(db(), year, unit, xlsx_target(path))
    console.print(tr("{path}: {rows} sub-criteria of {unit}", path=done.path, rows=done.rows, unit=done.unit))
