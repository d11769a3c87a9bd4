"""`cchc awards` and `cchc award-decision`: award proposals from the published results, the authority's decisions."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.awards import awards_flow, decide_award
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.display import console, show
from cchc.flows.params import AwardsParams
from cchc.models.i18n import tr

commands = typer.Typer()


@commands.command(
    help=tr("Propose awards from the published results (never from self-scores) and apply the head rule."),
)
@friendly
def awards(year: Year = None, as_json: Json = False, actor: As = None) -> None:
    with running_flows():
        summary = awards_flow(AwardsParams(year=year, database_url=db(), actor=acting(actor)))
    title = tr(
        "Awards {year} (from the results published as version {version})",
        year=summary.year,
        version=summary.publication_version,
    )
    columns = (tr("Group"), tr("Unit"), tr("Rule"), tr("Proposal"), tr("Head"))
    rows = ((a.group, f"{a.name} ({a.unit})", a.rule, a.outcome, a.person or "") for a in summary.awards)
    if show(summary, as_json, columns, rows, title=title):
        console.print(tr("{n} new proposals recorded", n=summary.added))


@commands.command(
    "award-decision",
    help=tr("Record the authority's decision on an award proposal; audited, and the unit is told."),
)
@friendly
def award_decision(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    rule: Annotated[str, typer.Option(help=tr("The proposal's rule, as `cchc awards` lists it"))],
    decision: Annotated[str, typer.Option(help=tr("approved or rejected"))],
    ref: Annotated[str, typer.Option(help=tr("The decision's number and date, e.g. '125/QĐ-CAT ngày 30/9/2021'"))],
    note: Annotated[str, typer.Option(help=tr("Why (required when rejected)"))] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    changed = decide_award(db(), year, unit, rule, decision, ref, note, acting(actor))
    console.print(
        tr("{unit} {rule}: {decision} by {ref}", unit=unit, rule=rule, decision=decision, ref=ref)
        if changed
        else tr(
            "{unit} {rule}: {decision} by {ref} (already recorded)", unit=unit, rule=rule, decision=decision, ref=ref
        )
    )
