"""`cchc login set` and `cchc dashboard`: the web dashboard's logins, and serving it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cchc.flows.cli.common import As, acting, db, friendly
from cchc.flows.display import console
from cchc.flows.web.app import serve
from cchc.flows.web.auth import check_password, set_password

app = typer.Typer(name="login", help="Logins to the web dashboard.", no_args_is_help=True)

commands = typer.Typer()


@commands.command()
@friendly
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on")] = 8000,
) -> None:
    """Serve the coordinators' web dashboard: the cycle overview, units, the ranking, the audit trail."""
    console.print(f"dashboard on http://{host}:{port}/ (Ctrl+C stops it)", markup=False)
    serve(db(), host, port)


@app.command("set")
@friendly
def login_set(
    person: Annotated[str, typer.Option("--person", "-p", help="The person's code or e-mail")],
    actor: As = None,
) -> None:
    """Set a person's dashboard password: read from standard input, or asked for (hidden) on a terminal."""
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password(password)
    new = set_password(db(), person, password, acting(actor))
    console.print(f"{person}: dashboard password {'set' if new else 'changed'}")
