"""`cchc evidence add|list`: the evidence registry (tài liệu kiểm chứng) and its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.flows.cli.common import As, Json, Year, acting, db, friendly
from cchc.flows.display import console, print_json
from cchc.flows.evidence import add_file, registry

app = typer.Typer(
    name="evidence", help="The evidence registry (tài liệu kiểm chứng) and its files.", no_args_is_help=True
)


@app.command("add")
@friendly
def evidence_add(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    ref: Annotated[str, typer.Option(help="The document, e.g. '91/KH-CAH ngày 30/6/2021'")],
    file: Annotated[Path, typer.Option(help="Its file (PDF, Word, Excel, image)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Keep a document's file in the registry (by SHA-256; every version kept)."""
    done = add_file(db(), year, unit, ref, file, acting(actor))
    if done.new:
        console.print(f"{done.symbol}: file version {done.version} kept ({done.sha256[:16]}…)")
    else:
        console.print(f"{done.symbol}: the same file is already kept ({done.sha256[:16]}…)")


@app.command("list")
@friendly
def evidence_list(unit: Annotated[str, typer.Option("--unit", "-u")], year: Year = None, as_json: Json = False) -> None:
    """A unit's cited documents and their files."""
    lines = registry(db(), year, unit)
    if as_json:
        print_json(lines)
        return
    for line in lines:
        files = "; ".join(f"{name} ({sha[:12]}…)" for name, sha, _, _ in line.files) or "no file yet"
        console.print(f"{line.symbol} ngày {line.issued_on:%d/%m/%Y} {line.title} — {files}")
    console.print(f"{len(lines)} documents")
