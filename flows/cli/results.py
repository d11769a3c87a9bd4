"""`cchc results import|compare`: past years' published results, and the units year by year."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.cli.common import YEARS, As, Json, acting, db, friendly
from cchc.flows.display import console, show
from cchc.flows.history import import_results
from cchc.flows.years import UnitYears, compare_years
from cchc.models.formats import vn_number, vn_signed
from cchc.models.i18n import tr

app = typer.Typer(name="results", help=tr("Past years' published results."), no_args_is_help=True)


@app.command("import", help=tr("Take in a past year's published results, to compare this year's index and rank with."))
@friendly
def results_import(
    path: Annotated[Path, typer.Argument(help=tr("CSV with unit,index[,class]"))],
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    actor: As = None,
) -> None:
    summary = import_results(db(), year, path, acting(actor))
    console.print(
        tr("{year}: {n} published results imported", year=year, n=summary.units)
        if summary.created
        else tr("{year}: {n} published results already there", year=year, n=summary.units)
    )


@app.command(
    "compare",
    help=tr("Each unit's published index, rank in group and class, year by year, with the latest change."),
)
@friendly
def results_compare(
    years: Annotated[
        list[int] | None,
        typer.Option("--year", "-y", **YEARS, help=tr("A published year (repeat; default: every one)")),
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=tr("One unit only"))] = None,
    as_json: Json = False,
) -> None:
    comparison = compare_years(db(), years, unit)
    last_two = comparison.years[-2:]
    change = [f"{last_two[0]} → {last_two[1]}"] if len(last_two) == 2 else []
    columns = [tr("Unit"), *(str(year) for year in comparison.years), *change]

    def row(u: UnitYears) -> list[str]:
        cells = [
            f"{vn_number(r.index)} · {r.rank} · {r.class_name}" if (r := u.years.get(y)) else "—"
            for y in comparison.years
        ]
        if change:
            index_change, places = u.change(last_two[0], last_two[1])
            cells.append(
                "—"
                if index_change is None
                else tr("{index} · {places} places", index=vn_signed(index_change), places=vn_signed(places, 0))
            )
        return [f"{u.name} ({u.unit})", *cells]

    title = tr("PAR index year by year (index % · rank in group · class)")
    show(comparison.as_json(), as_json, columns, map(row, comparison.units), title=title, right=change)
