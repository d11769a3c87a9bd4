"""`cchc audit log|verify`: the audit trail; `cchc states`: the state machines as Mermaid diagrams."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from cchc.flows.auditlog import TimelineEntry, describe_change, unit_timeline, verify_chain
from cchc.flows.cli.common import Json, Year, db, friendly
from cchc.flows.display import console, errors, local_time, show
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.states.diagrams import MACHINES, diagram

app = typer.Typer(name="audit", help=tr("The audit trail."), no_args_is_help=True)

commands = typer.Typer()


@app.command(
    "log",
    help=tr("A unit's timeline: every transition, score change, adjustment and publication, oldest first."),
)
@friendly
def audit_log(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    year: Year = None,
    as_json: Json = False,
) -> None:
    entries = unit_timeline(db(), unit, year)
    rows = ((str(e.seq), local_time(e.at), e.actor, f"{e.kind}: {e.trigger}", _move(e), _details(e)) for e in entries)
    columns = ("#", tr("when (Asia/Ho_Chi_Minh)"), tr("who"), tr("what"), tr("from → to"), tr("reason / details"))
    title = (
        tr("Audit trail of {unit} ({year})", unit=unit, year=year) if year else tr("Audit trail of {unit}", unit=unit)
    )
    if show(entries, as_json, columns, rows, title=title) and not entries:
        console.print(tr("no events"))


def _move(e: TimelineEntry) -> str:
    return f"{e.from_state or ''} → {e.to_state}" if e.to_state else ""


def _details(e: TimelineEntry) -> str:
    """The reason and the short facts of an event; the first criteria an appraisal changed."""
    parts = [e.reason] if e.reason else []
    for key in ("item", "points", "index", "class", "rank", "total", "added"):
        if key in e.payload:
            parts.append(f"{key} {e.payload[key]}")
    changed = e.payload.get("changed")
    if isinstance(changed, dict) and changed:
        shown = ", ".join(describe_change(c, v) for c, v in list(changed.items())[:4])
        parts.append(f"{len(changed)} changed: {shown}" + (", …" if len(changed) > 4 else ""))
    return "; ".join(parts)


@app.command(
    "verify",
    help=tr("Recompute the hash chain: an edited, deleted or inserted event is reported; exit 1 if any."),
)
@friendly
def audit_verify() -> None:
    result = verify_chain(db())
    if result.ok:
        console.print(
            tr(
                "audit trail intact: {n} events, head #{seq} {hash}…",
                n=result.events,
                seq=result.head_seq,
                hash=result.head_hash[:16],
            )
        )
        return
    for problem in result.problems:
        errors.print("[red]" + tr("broken:") + "[/red] " + escape(problem), markup=True)
    raise typer.Exit(1)


@commands.command(help=tr("Print a state machine as a Mermaid diagram (generated from the transition table)."))
@friendly
def states(
    which: Annotated[str, typer.Argument(help=tr("One of: {machines}", machines=", ".join(MACHINES)))] = "assessment",
) -> None:
    if which not in MACHINES:
        raise UserError(
            tr("unknown machine {which!r}: choose one of {machines}", which=which, machines=", ".join(MACHINES))
        )
    sys.stdout.write(diagram(which))
