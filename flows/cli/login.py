"""`cchc login set|invite` and `cchc dashboard`: the web dashboard's logins, and serving it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cchc.flows.accounts import invite, revoke_sessions
from cchc.flows.cli.common import As, acting, db, friendly, operator
from cchc.flows.display import console
from cchc.flows.passwords import check_password, set_password
from cchc.flows.web.app import serve
from cchc.flows.web.settings import DashboardSettings
from cchc.models.i18n import tr, trn

app = typer.Typer(name="login", help=tr("Logins to the web dashboard."), no_args_is_help=True)

commands = typer.Typer()


@commands.command(
    help=tr("Serve the coordinators' web dashboard: the cycle overview, units, the ranking, the audit trail."),
)
@friendly
def dashboard(
    host: Annotated[str, typer.Option(help=tr("Address to listen on (loopback by default)"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help=tr("Port to listen on"))] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help=tr("Server processes (several for many users)"))] = 1,
) -> None:
    console.print(tr("dashboard on http://{host}:{port}/ (Ctrl+C stops it)", host=host, port=port), markup=False)
    serve(db(), host, port, workers)


@app.command(
    "set",
    help=tr("Set a person's dashboard password: read from standard input, or asked for (hidden) on a terminal."),
)
@friendly
def login_set(
    person: Annotated[str, typer.Option("--person", "-p", help=tr("The person's code or e-mail"))],
    actor: As = None,
) -> None:
    if sys.stdin.isatty():
        password = typer.prompt(tr("Password"), hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password(password, [person])  # before the database is opened; set_password checks it whole
    new = set_password(db(), person, password, acting(actor), operator=operator())
    console.print(
        tr("{person}: dashboard password set", person=person)
        if new
        else tr("{person}: dashboard password changed", person=person)
    )


@app.command(
    "invite",
    help=tr(
        "E-mail a single-use link to choose a dashboard password (through the outbox: `cchc notify flush` "
        "sends it); a newer link replaces an unused older one. Only a coordinator invites."
    ),
)
@friendly
def login_invite(
    person: Annotated[str | None, typer.Option("--person", "-p", help=tr("One person: their code or e-mail"))] = None,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=tr("Everyone of one unit (its code)"))] = None,
    everyone: Annotated[bool, typer.Option("--all", help=tr("Every active person who has no login yet"))] = False,
    actor: As = None,
) -> None:
    days = DashboardSettings().invitation_days
    done = invite(db(), acting(actor), days=days, person=person, unit=unit, everyone=everyone)
    console.print(
        trn("invited {n} person", "invited {n} people", len(done.sent))
        + (f": {', '.join(done.sent)}" if 0 < len(done.sent) <= 20 else "")
        + tr("; each link works once, for {days} days", days=f"{days:g}"),
        markup=False,
    )
    for code, why in done.skipped:
        console.print(tr("not invited: {person} ({why})", person=code, why=why), markup=False)


@app.command(
    "revoke",
    help=tr(
        "End every dashboard session of a person at once, in every web process (a lost telephone, a shared "
        "computer); audited. Only a coordinator, or the operator without --as."
    ),
)
@friendly
def login_revoke(
    person: Annotated[str, typer.Option("--person", "-p", help=tr("The person's code or e-mail"))],
    actor: As = None,
) -> None:
    by = acting(actor)
    ended = revoke_sessions(db(), by if by is not None else operator().actor(), person)
    console.print(
        trn("{person}: {n} session ended", "{person}: {n} sessions ended", ended, person=person), markup=False
    )
