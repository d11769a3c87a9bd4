"""`cchc supplement request|submit|skip|close`: supplements and explanations (bổ sung, giải trình)."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows import inputs
from cchc.flows.cli.common import As, Units, Year, acting, db, friendly, report_moves
from cchc.flows.submission import change_units
from cchc.models.i18n import tr

app = typer.Typer(
    name="supplement", help=tr("Supplements and explanations (bổ sung, giải trình)."), no_args_is_help=True
)


@app.command(
    "request",
    help=tr(
        "Ask a unit for more evidence or an explanation; only the named sub-criteria re-open. The unit's "
        "focal officer and head are told by e-mail."
    ),
)
@friendly
def supplement_request(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help=tr("The unit's code"))],
    note: Annotated[str, typer.Option(help=tr("What is asked for (required)"))],
    criteria: Annotated[str, typer.Option(help=tr("Sub-criteria concerned, comma-separated"))] = "",
    due: Annotated[str | None, typer.Option(help=tr("Deadline, e.g. 08/09/2021 (default: the cycle's)"))] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    codes = inputs.codes(criteria)
    report_moves(
        change_units(
            db(),
            year,
            "request_supplement",
            inputs.codes(unit),
            acting(actor),
            None,
            reason=note,
            criteria=codes,
            due=inputs.moment(due, "--due") if due else None,
        ),
        tr("supplement requested from"),
    )


@app.command(
    "submit",
    help=tr("The unit has supplied what was asked (import the new evidence first); it goes back to appraisal."),
)
@friendly
def supplement_submit(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help=tr("The unit's code"))],
    note: Annotated[str, typer.Option(help=tr("The explanation (giải trình)"))] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    report_moves(
        change_units(db(), year, "submit_supplement", inputs.codes(unit), acting(actor), None, reason=note),
        tr("supplement received from"),
    )


@app.command(
    "skip",
    help=tr("Go on without a supplement for appraised units where none was requested (all of them by default)."),
)
@friendly
def supplement_skip(units: Units = None, year: Year = None, actor: As = None) -> None:
    report_moves(
        change_units(
            db(), year, "skip_supplement", inputs.codes(units or []), acting(actor), None, states=["appraised"]
        ),
        tr("no supplement needed"),
    )


@app.command("close", help=tr("Go on without a requested supplement (e.g. its deadline passed); the appraisal stands."))
@friendly
def supplement_close(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help=tr("The unit's code"))],
    reason: Annotated[str, typer.Option(help=tr("Why the authority goes on without it (required)"))],
    year: Year = None,
    actor: As = None,
) -> None:
    report_moves(
        change_units(db(), year, "close_supplement", inputs.codes(unit), acting(actor), None, reason=reason),
        tr("closed without supplement"),
    )
