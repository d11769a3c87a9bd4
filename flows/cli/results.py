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

app = typer.Typer(name="results", help="Past years' published results.", no_args_is_help=True)


@app.command("import")
@friendly
def results_import(
    path: Annotated[Path, typer.Argument(help="CSV with unit,index[,class]")],
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    actor: As = None,
) -> None:
    """Take in a past year's published results, to compare this year's index and rank with."""
    summary = import_results(db(), year, path, acting(actor))
    console.print(f"{year}: {summary.units} published results " + ("imported" if summary.created else "already there"))


@app.command("compare")
@friendly
def results_compare(
    years: Annotated[
        list[int] | None, typer.Option("--year", "-y", **YEARS, help="A published year (repeat; default: every one)")
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="One unit only")] = None,
    as_json: Json = False,
) -> None:
    """Each unit's published index, rank in group and class, year by year, with the latest change."""
    comparison = compare_years(db(), years, unit)
    last_two = comparison.years[-2:]
    change = [f"{last_two[0]} → {last_two[1]}"] if len(last_two) == 2 else []
    columns = ["Đơn vị", *(str(year) for year in comparison.years), *change]

    def row(u: UnitYears) -> list[str]:
        cells = [
            f"{vn_number(r.index)} · {r.rank} · {r.class_name}" if (r := u.years.get(y)) else "—"
            for y in comparison.years
        ]
        if change:
            index_change, places = u.change(last_two[0], last_two[1])
            cells.append("—" if index_change is None else f"{vn_signed(index_change)} · {vn_signed(places, 0)} bậc")
        return [f"{u.name} ({u.unit})", *cells]

    title = "Chỉ số CCHC qua các năm (chỉ số % · hạng trong nhóm · xếp loại)"
    show(comparison.as_json(), as_json, columns, map(row, comparison.units), title=title, right=change)
