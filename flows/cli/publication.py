"""`cchc publish`, `cchc reopen` and `cchc ranking`: publishing the results, correcting them, reading a ranking."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from cchc.flows import inputs
from cchc.flows.cli.common import VERSIONS, As, Json, Year, acting, db, friendly, report_moves, running_flows
from cchc.flows.display import console, errors, print_json, print_ranking
from cchc.flows.params import PublishParams
from cchc.flows.publication import publish_flow
from cchc.flows.ranking import read_ranking
from cchc.flows.submission import change_units
from cchc.models.i18n import tr

commands = typer.Typer()


@commands.command(help=tr("Publish the results: index, class and rank in group; a correction publishes a new version."))
@friendly
def publish(
    reason: Annotated[str, typer.Option(help=tr("Why a new version is published (required for a correction)"))] = "",
    year: Year = None,
    as_json: Json = False,
    actor: As = None,
) -> None:
    with running_flows():
        summary = publish_flow(PublishParams(year=year, reason=reason, database_url=db(), actor=acting(actor)))
    report = read_ranking(db(), summary.year)
    if as_json:
        print_json(report.as_json())
        return
    if not summary.new_version:
        console.print(
            "[dim]"
            + escape(tr("nothing changed since version {n}: it stays the published one", n=summary.version))
            + "[/dim]",
            markup=True,
        )
    print_ranking(report)
    if summary.checkpoint:
        console.print(tr("signed checkpoint of the audit trail kept in {path}", path=summary.checkpoint))
    elif summary.checkpoint_problem:
        errors.print(tr("the results are published, but {why}", why=summary.checkpoint_problem))


@commands.command(help=tr("Reopen a published result for correction (the authority's leadership only; audited)."))
@friendly
def reopen(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help=tr("The unit's code"))],
    reason: Annotated[str, typer.Option(help=tr("Why the published result is corrected (required)"))],
    year: Year = None,
    actor: As = None,
) -> None:
    report_moves(
        change_units(db(), year, "reopen", inputs.codes(unit), acting(actor), None, reason=reason), tr("reopened")
    )


@commands.command(help=tr("Show a published ranking (superseded versions stay readable)."))
@friendly
def ranking(
    year: Year = None,
    version: Annotated[
        int | None, typer.Option(**VERSIONS, help=tr("A superseded version (default: the current one)"))
    ] = None,
    as_json: Json = False,
) -> None:
    report = read_ranking(db(), year, version)
    print_json(report.as_json()) if as_json else print_ranking(report)
