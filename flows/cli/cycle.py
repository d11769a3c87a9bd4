"""`cchc cycle open|advance|status`: a year's cycle, its phases and where it stands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cchc.flows.cli.common import YEARS, As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
from cchc.flows.display import console, local_time, print_json, print_table
from cchc.flows.params import AdvanceParams, OpenCycleParams
from cchc.flows.status import cycle_status

app = typer.Typer(
    name="cycle", help="A year's cycle: open it, move its phases, see where it stands.", no_args_is_help=True
)


@app.command("open")
@friendly
def cycle_open(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS, help="The cycle's year")],
    calendar: Annotated[Path | None, typer.Option(help="Calendar file (default: config/cycles/YEAR.yaml)")] = None,
    from_year: Annotated[
        int | None,
        typer.Option(
            "--from",
            **YEARS,
            help="Carry that year's calendar forward: same units, every date a year later, each group's "
            "framework for the new year where there is one (else last year's)",
        ),
    ] = None,
    actor: As = None,
) -> None:
    """Open a year's cycle: frameworks, deadlines, one assessment per assessed unit (idempotent)."""
    with running_flows():
        summary = open_cycle_flow(
            OpenCycleParams(
                year=year,
                calendar_path=str(calendar) if calendar else None,
                from_year=from_year,
                database_url=db(),
                actor=acting(actor),
            )
        )
    verb = "opened" if summary.created else "already open"
    console.print(
        f"cycle {year} {verb}: {summary.assessments} assessments "
        f"({len(summary.assessments_added)} added now), phase {summary.phase}"
    )
    for group, text in summary.frameworks.items():
        console.print(f"  {group}: {text}")


@app.command("advance")
@friendly
def cycle_advance(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail)")] = "",
    actor: As = None,
) -> None:
    """Move the cycle to its next phase (planning → self_assessment → appraisal; awards → remediation → closed)."""
    with running_flows():
        summary = advance_cycle_flow(AdvanceParams(year=year, reason=reason, database_url=db(), actor=acting(actor)))
    moved = f"; {summary.units_moved} units moved on" if summary.units_moved else ""
    console.print(f"cycle {year}: {summary.from_phase} → {summary.to_phase}{moved}")
    if summary.follow_ups:
        owed = ", ".join(f"{n} units owe a {kind} document" for kind, n in summary.follow_ups.items() if n)
        console.print(f"  {owed or 'no unit owes a follow-up document'} (`cchc remediation status`)")


@app.command("status")
@friendly
def cycle_status_cmd(year: Year = None, as_json: Json = False) -> None:
    """Where the cycle stands: phase, deadlines, units per state per group, who is late."""
    status = cycle_status(db(), year)
    if as_json:
        print_json(status.as_json())
        return
    published = f", published version {status.published_version}" if status.published_version else ""
    console.print(
        f"[bold]{escape(status.title)}[/bold] ({status.year}): phase [bold]{status.phase}[/bold]{published}",
        markup=True,
    )
    console.print("deadlines: " + "; ".join(f"{p} before {local_time(d)}" for p, d in status.deadlines.items()))
    states = list(next(iter(status.counts.values()), {}))
    rows = (
        (status.groups.get(group, group), *[str(counts[s]) if counts[s] else "" for s in states])
        for group, counts in status.counts.items()
    )
    print_table(["group", *states], rows, title=f"{status.total} assessments by state", right=states)
    if status.commitments:
        by_state = ", ".join(f"{n} {state}" for state, n in sorted(status.commitments.items()))
        console.print(f"heads' commitments: {by_state}; unsigned: {status.unsigned_commitments}")
    if status.overdue:
        console.print(
            f"[red]overdue[/red] (not submitted, deadline passed): {escape(', '.join(status.overdue))}", markup=True
        )
    if status.late:
        console.print(f"submitted late (no timeliness bonus): {', '.join(status.late)}")
