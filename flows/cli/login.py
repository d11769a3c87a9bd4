"""`cchc login set|invite` and `cchc dashboard`: the web dashboard's logins, and serving it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cchc.flows.accounts import invite
from cchc.flows.cli.common import As, acting, db, friendly
from cchc.flows.display import console
from cchc.flows.passwords import check_password, set_password
from cchc.flows.web.app import serve
from cchc.flows.web.settings import DashboardSettings

app = typer.Typer(name="login", help="Logins to the web dashboard.", no_args_is_help=True)

commands = typer.Typer()


@commands.command()
@friendly
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (several for many users)")] = 1,
) -> None:
    """Serve the coordinators' web dashboard: the cycle overview, units, the ranking, the audit trail."""
    console.print(f"dashboard on http://{host}:{port}/ (Ctrl+C stops it)", markup=False)
    serve(db(), host, port, workers)


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


@app.command("invite")
@friendly
def login_invite(
    person: Annotated[str | None, typer.Option("--person", "-p", help="One person: their code or e-mail")] = None,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="Everyone of one unit (its code)")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Every active person who has no login yet")] = False,
    actor: As = None,
) -> None:
    """E-mail a single-use link to choose a dashboard password (through the outbox: `cchc notify flush` sends
    it); a newer link replaces an unused older one. Only a coordinator invites."""
    days = DashboardSettings().invitation_days
    done = invite(db(), acting(actor), days=days, person=person, unit=unit, everyone=everyone)
    console.print(
        f"invited {len(done.sent)} {'person' if len(done.sent) == 1 else 'people'}"
        + (f": {', '.join(done.sent)}" if 0 < len(done.sent) <= 20 else "")
        + f"; each link works once, for {days:g} days",
        markup=False,
    )
    for code, why in done.skipped:
        console.print(f"not invited: {code} ({why})", markup=False)
