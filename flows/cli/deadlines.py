"""`cchc sweep`, `cchc extend`: deadlines that act (reminders, escalations, extensions)."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.deadlines import extend as do_extend
from cchc.flows.display import console, local_time, show
from cchc.flows.lookup import cycle_of
from cchc.flows.params import SweepParams
from cchc.flows.runtime import engine_for
from cchc.flows.sweep import sweep_flow
from cchc.models.db import read_session
from cchc.models.i18n import tr

commands = typer.Typer()


@commands.command(
    help=tr(
        "Queue the reminders and escalation steps that are due (each once, however often it runs); the "
        "audit trail records who ran it."
    ),
)
@friendly
def sweep(
    as_of: Annotated[str | None, typer.Option("--as-of", help=tr("Act as of this moment (preview a day)"))] = None,
    year: Year = None,
    as_json: Json = False,
    actor: As = None,
) -> None:
    moment = inputs.moment(as_of, "--as-of") if as_of else None
    with read_session(engine_for(db())) as session:
        cycle_of(session, year)  # a database or a year that is not there is said before any Prefect server starts
    with running_flows():
        summary = sweep_flow(SweepParams(year=year, database_url=db(), at=moment, actor=acting(actor)))
    if not as_json:
        console.print(
            tr(
                "sweep of the {year} cycle as of {when}: {items} open items, {steps} steps due, "
                "{messages} e-mails queued",
                year=summary.year,
                when=local_time(summary.as_of),
                items=summary.items,
                steps=len(summary.lines),
                messages=summary.messages,
            )
        )
    columns = (tr("unit"), tr("phase"), tr("step"), tr("deadline (before)"), tr("to"))
    rows = (
        (line.unit, line.phase, line.step, local_time(line.due_at), ", ".join(line.to) + _fallback(line.fallback))
        for line in summary.lines
    )
    if as_json or summary.lines:
        show(summary, as_json, columns, rows)


def _fallback(fallback: bool) -> str:
    return " " + tr("(no one of the roles: coordinators told)") if fallback else ""


@commands.command(help=tr("Grant a unit a later deadline for one phase (who, why and the new date are audited)."))
@friendly
def extend(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    phase: Annotated[
        str, typer.Option(help=tr("plan, submission, supplement, commitment, remediation or breakthrough"))
    ],
    until: Annotated[str, typer.Option(help=tr("The new deadline: before this moment, e.g. 03/09/2021"))],
    reason: Annotated[str, typer.Option(help=tr("Why (required, audited)"))],
    year: Year = None,
    actor: As = None,
) -> None:
    done = do_extend(db(), year, unit, phase, inputs.moment(until, "--until"), reason, acting(actor))
    console.print(
        tr(
            "{unit}: {phase} now due before {after} (was {before})",
            unit=done.unit,
            phase=done.phase,
            after=local_time(done.after),
            before=local_time(done.before),
        )
    )
