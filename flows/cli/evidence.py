"""`cchc evidence add|list`: the evidence registry (tài liệu kiểm chứng) and its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.cli.common import As, Json, Year, acting, db, friendly
from cchc.flows.display import console, print_json
from cchc.flows.evidence import add_file, registry
from cchc.models.i18n import tr

app = typer.Typer(
    name="evidence", help=tr("The evidence registry (tài liệu kiểm chứng) and its files."), no_args_is_help=True
)


@app.command("add", help=tr("Keep a document's file in the registry (by SHA-256; every version kept)."))
@friendly
def evidence_add(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    ref: Annotated[str, typer.Option(help=tr("The document, e.g. '91/KH-CAH ngày 30/6/2021'"))],
    file: Annotated[Path, typer.Option(help=tr("Its file (PDF, Word, Excel, image)"))],
    year: Year = None,
    actor: As = None,
) -> None:
    done = add_file(db(), year, unit, ref, file, acting(actor))
    if done.new:
        console.print(
            tr(
                "{symbol}: file version {version} kept ({sha}…)",
                symbol=done.symbol,
                version=done.version,
                sha=done.sha256[:16],
            )
        )
    else:
        console.print(tr("{symbol}: the same file is already kept ({sha}…)", symbol=done.symbol, sha=done.sha256[:16]))


@app.command("list", help=tr("A unit's cited documents and their files."))
@friendly
def evidence_list(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    year: Year = None,
    as_json: Json = False,
) -> None:
    lines = registry(db(), year, unit)
    if as_json:
        print_json(lines)
        return
    for line in lines:
        files = "; ".join(f"{name} ({sha[:12]}…)" for name, sha, _, _ in line.files) or tr("no file yet")
        console.print(
            tr(
                "{symbol} of {day} {title} — {files}",
                symbol=line.symbol,
                day=f"{line.issued_on:%d/%m/%Y}",
                title=line.title,
                files=files,
            )
        )
    console.print(tr("{n} documents", n=len(lines)))
