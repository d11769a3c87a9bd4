"""`cchc remediation status|submit|require`: remediation plans and next year's breakthrough work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.cli.common import As, Json, Year, acting, db, friendly
from cchc.flows.display import console, local_time, show
from cchc.flows.remediation import read_follow_ups, receive_follow_up, require_again
from cchc.models.i18n import tr

app = typer.Typer(
    name="remediation",
    help=tr("After publication: remediation plans of weak units and next year's breakthrough work."),
    no_args_is_help=True,
)


@app.command("status", help=tr("What each unit owes after publication, why, by when, and what it sent."))
@friendly
def remediation_status(year: Year = None, as_json: Json = False) -> None:
    owed = read_follow_ups(db(), year)
    columns = (tr("kind"), tr("unit"), tr("state"), tr("due (before)"), tr("why"), tr("document"))
    rows = (
        (r.kind, f"{r.name} ({r.unit})", r.state, local_time(r.due_at), "; ".join(r.reasons), r.ref or "") for r in owed
    )
    if not show(owed, as_json, columns, rows):
        return
    for kind in ("remediation", "breakthrough"):
        mine = [r for r in owed if r.kind == kind and r.state != "waived"]
        if mine:
            got = sum(1 for r in mine if r.state == "received")
            console.print(tr("{kind}: {got}/{n} received", kind=kind, got=got, n=len(mine)))


@app.command(
    "submit",
    help=tr("Record a unit's remediation plan or breakthrough registration (the sweep stops chasing it)."),
)
@friendly
def remediation_submit(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    ref: Annotated[str, typer.Option(help=tr("The unit's document, e.g. '12/KH-CAH ngày 05/4/2022'"))],
    kind: Annotated[str, typer.Option(help=tr("remediation (the plan) or breakthrough (next year's work)"))] = (
        "remediation"
    ),
    note: Annotated[str, typer.Option(help=tr("A short summary of the document"))] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    new = receive_follow_up(db(), year, unit, kind, ref, note, acting(actor))
    console.print(
        tr("{unit}: {kind} document {ref} recorded", unit=unit, kind=kind, ref=ref)
        if new
        else tr("{unit}: {kind} document {ref} was already recorded", unit=unit, kind=kind, ref=ref)
    )


@app.command(
    "require",
    help=tr("After a corrected publication: require what the current version requires, waive the rest."),
)
@friendly
def remediation_require(
    year: Year = None,
    rules: Annotated[Path | None, typer.Option(help=tr("Rules file (default: config/remediation.yaml)"))] = None,
    actor: As = None,
) -> None:
    summary = require_again(db(), year, acting(actor), str(rules) if rules else None)
    added = ", ".join(f"{len(u)} {kind}" for kind, u in summary.required.items() if u) or tr("nothing new")
    console.print(
        tr(
            "publication v{version}: {added} required; {updated} updated; {waived} waived",
            version=summary.publication_version,
            added=added,
            updated=len(summary.updated),
            waived=len(summary.waived),
        )
    )
