"""`cchc report ranking|progress`: the reports for leadership (xlsx or html)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.cli.common import VERSIONS, Year, db, friendly
from cchc.flows.display import console
from cchc.flows.reports import write_progress, write_ranking
from cchc.models.i18n import tr

app = typer.Typer(
    name="report",
    help=tr("Reports to print and send: the published ranking, the progress report for leadership."),
    no_args_is_help=True,
)

ReportFile = Annotated[
    Path, typer.Argument(help=tr("The file to write: .xlsx (Excel) or .html (one page, charts included)"))
]


@app.command(
    "ranking",
    help=tr("Write the published ranking: each group's ranking, statistics, field results and charts."),
)
@friendly
def report_ranking(
    out: ReportFile,
    year: Year = None,
    version: Annotated[
        int | None, typer.Option(**VERSIONS, help=tr("A superseded version (default: the current one)"))
    ] = None,
) -> None:
    written = write_ranking(db(), year, version, out)
    console.print(
        tr("wrote {path}: {summary}", path=written.path, summary=written.summary), soft_wrap=True, markup=False
    )


@app.command(
    "progress",
    help=tr("Write the progress report for leadership: where the cycle stands, who is late, what was escalated."),
)
@friendly
def report_progress(
    out: ReportFile,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            "-p",
            help=tr(
                "q1, q2, q3, q4, h1 (6 tháng đầu năm), h2, year: as of the end of that period of the cycle's "
                "year (up to now while it lasts); now: on demand (báo cáo đột xuất)"
            ),
        ),
    ],
    year: Year = None,
) -> None:
    written = write_progress(db(), year, period, out)
    console.print(
        tr("wrote {path}: {summary}", path=written.path, summary=written.summary), soft_wrap=True, markup=False
    )
