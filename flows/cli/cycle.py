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
from cchc.models.i18n import tr

app = typer.Typer(
    name="cycle", help=tr("A year's cycle: open it, move its phases, see where it stands."), no_args_is_help=True
)


@app.command(
    "open",
    help=tr("Open a year's cycle: frameworks, deadlines, one assessment per assessed unit (idempotent)."),
)
@friendly
def cycle_open(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS, help=tr("The cycle's year"))],
    calendar: Annotated[Path | None, typer.Option(help=tr("Calendar file (default: config/cycles/YEAR.yaml)"))] = None,
    from_year: Annotated[
        int | None,
        typer.Option(
            "--from",
            **YEARS,
            help=tr(
                "Carry that year's calendar forward: same units, every date a year later, each group's "
                "framework for the new year where there is one (else last year's)"
            ),
        ),
    ] = None,
    actor: As = None,
) -> None:
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
    values = {
        "year": year,
        "n": summary.assessments,
        "added": len(summary.assessments_added),
        "phase": summary.phase,
    }
    console.print(
        tr("cycle {year} opened: {n} assessments ({added} added now), phase {phase}", **values)
        if summary.created
        else tr("cycle {year} already open: {n} assessments ({added} added now), phase {phase}", **values)
    )
    for group, text in summary.frameworks.items():
        console.print(f"  {group}: {text}")


@app.command(
    "advance",
    help=tr(
        "Move the cycle to its next phase (planning → self_assessment → appraisal; awards → remediation → closed)."
    ),
)
@friendly
def cycle_advance(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    reason: Annotated[str, typer.Option(help=tr("Why (recorded in the audit trail)"))] = "",
    actor: As = None,
) -> None:
    with running_flows():
        summary = advance_cycle_flow(AdvanceParams(year=year, reason=reason, database_url=db(), actor=acting(actor)))
    moved = tr("; {n} units moved on", n=summary.units_moved) if summary.units_moved else ""
    console.print(
        tr("cycle {year}: {before} → {after}", year=year, before=summary.from_phase, after=summary.to_phase) + moved
    )
    if summary.follow_ups:
        owed = ", ".join(
            tr("{n} units owe a {kind} document", n=n, kind=kind) for kind, n in summary.follow_ups.items() if n
        )
        console.print("  " + (owed or tr("no unit owes a follow-up document")) + " (`cchc remediation status`)")


@app.command("status", help=tr("Where the cycle stands: phase, deadlines, units per state per group, who is late."))
@friendly
def cycle_status_cmd(year: Year = None, as_json: Json = False) -> None:
    status = cycle_status(db(), year)
    if as_json:
        print_json(status.as_json())
        return
    published = tr(", published version {n}", n=status.published_version) if status.published_version else ""
    console.print(
        f"[bold]{escape(status.title)}[/bold] ({status.year}): "
        + tr("phase")
        + f" [bold]{status.phase}[/bold]{published}",
        markup=True,
    )
    console.print(
        tr("deadlines: ")
        + "; ".join(tr("{phase} before {due}", phase=p, due=local_time(d)) for p, d in status.deadlines.items())
    )
    states = list(next(iter(status.counts.values()), {}))
    rows = (
        (status.groups.get(group, group), *[str(counts[s]) if counts[s] else "" for s in states])
        for group, counts in status.counts.items()
    )
    title = tr("{n} assessments by state", n=status.total)
    print_table([tr("group"), *states], rows, title=title, right=states)
    if status.commitments:
        by_state = ", ".join(f"{n} {state}" for state, n in sorted(status.commitments.items()))
        console.print(tr("heads' commitments: {states}; unsigned: {n}", states=by_state, n=status.unsigned_commitments))
    if status.overdue:
        console.print(
            "[red]"
            + tr("overdue")
            + "[/red] "
            + escape(tr("(not submitted, deadline passed): {units}", units=", ".join(status.overdue))),
            markup=True,
        )
    if status.late:
        console.print(tr("submitted late (no timeliness bonus): {units}", units=", ".join(status.late)))
