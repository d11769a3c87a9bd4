"""`cchc awards` and `cchc award-decision`: award proposals from the published results, the authority's decisions."""

from __future__ import annotations

from typing import Annotated

import typer

from cchc.flows.awards import awards_flow, decide_award
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.display import console, show
from cchc.flows.params import AwardsParams

commands = typer.Typer()


@commands.command()
@friendly
def awards(year: Year = None, as_json: Json = False, actor: As = None) -> None:
    """Propose awards from the published results (never from self-scores) and apply the head rule."""
    with running_flows():
        summary = awards_flow(AwardsParams(year=year, database_url=db(), actor=acting(actor)))
    title = f"Khen thưởng {summary.year} (từ kết quả công bố lần {summary.publication_version})"
    columns = ("Nhóm", "Đơn vị", "Quy tắc", "Đề xuất", "Người đứng đầu")
    rows = ((a.group, f"{a.name} ({a.unit})", a.rule, a.outcome, a.person or "") for a in summary.awards)
    if show(summary, as_json, columns, rows, title=title):
        console.print(f"{summary.added} new proposals recorded")


@commands.command("award-decision")
@friendly
def award_decision(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    rule: Annotated[str, typer.Option(help="The proposal's rule, as `cchc awards` lists it")],
    decision: Annotated[str, typer.Option(help="approved or rejected")],
    ref: Annotated[str, typer.Option(help="The decision's number and date, e.g. '125/QĐ-CAT ngày 30/9/2021'")],
    note: Annotated[str, typer.Option(help="Why (required when rejected)")] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    """Record the authority's decision on an award proposal; audited, and the unit is told."""
    changed = decide_award(db(), year, unit, rule, decision, ref, note, acting(actor))
    console.print(f"{unit} {rule}: {decision} by {ref}" + ("" if changed else " (already recorded)"))
