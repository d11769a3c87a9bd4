"""`cchc sweep`, `cchc extend`, `cchc serve`: deadlines that act (reminders, escalations, extensions, and
the schedules)."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.deadlines import extend as do_extend
from cchc.flows.display import console, local_time, show
from cchc.flows.params import SweepParams
from cchc.flows.serve import schedules
from cchc.flows.sweep import sweep_flow

commands = typer.Typer()


@commands.command()
@friendly
def sweep(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Act as of this moment (preview a day)")] = None,
    year: Year = None,
    as_json: Json = False,
    actor: As = None,
) -> None:
    """Queue the reminders and escalation steps that are due (each once, however often it runs); the audit
    trail records who ran it."""
    moment = inputs.moment(as_of, "--as-of") if as_of else None
    with running_flows():
        summary = sweep_flow(SweepParams(year=year, database_url=db(), at=moment, actor=acting(actor)))
    if not as_json:
        console.print(
            f"sweep of the {summary.year} cycle as of {local_time(summary.as_of)}: {summary.items} open items, "
            f"{len(summary.lines)} steps due, {summary.messages} e-mails queued"
        )
    columns = ("unit", "phase", "step", "deadline (before)", "to")
    rows = (
        (line.unit, line.phase, line.step, local_time(line.due_at), ", ".join(line.to) + _fallback(line.fallback))
        for line in summary.lines
    )
    if as_json or summary.lines:
        show(summary, as_json, columns, rows)


def _fallback(fallback: bool) -> str:
    return " (no one of the roles: coordinators told)" if fallback else ""


@commands.command()
@friendly
def extend(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    phase: Annotated[str, typer.Option(help="plan, submission, supplement, commitment, remediation or breakthrough")],
    until: Annotated[str, typer.Option(help="The new deadline: before this moment, e.g. 03/09/2021")],
    reason: Annotated[str, typer.Option(help="Why (required, audited)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Grant a unit a later deadline for one phase (who, why and the new date are audited)."""
    done = do_extend(db(), year, unit, phase, inputs.moment(until, "--until"), reason, acting(actor))
    console.print(f"{done.unit}: {done.phase} now due before {local_time(done.after)} (was {local_time(done.before)})")


@commands.command()
@friendly
def serve(
    sweep_cron: Annotated[str, typer.Option(help="When the deadline sweep runs (cron, local time)")] = "0 7 * * *",
    flush_every: Annotated[int, typer.Option(min=1, help="Seconds between outbox flushes")] = 300,
) -> None:
    """Run the schedules: the deadline sweep every day and the outbox flush every few minutes. Needs a
    Prefect server (`prefect server start`, then PREFECT_API_URL); see prefect.yaml to deploy instead."""
    schedules(db(), sweep_cron, flush_every)
