"""What every command shares: the global options, the options that recur (year, who acts, units, JSON),
how a failure becomes one line, and the context of a command that runs Prefect flows."""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import pwd
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from cchc.config.settings import get_settings
from cchc.flows import inputs
from cchc.flows.accounts import begin_login, login_failed, proven
from cchc.flows.display import bars, console, errors
from cchc.flows.errors import describe
from cchc.flows.passwords import Operator
from cchc.flows.runtime import engine_for, local_flow_runs, now, prefect_server
from cchc.flows.web.auth import authenticate, login_of
from cchc.flows.web.settings import DashboardSettings
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.people import UnknownActor, resolve_actor

F = TypeVar("F", bound=Callable[..., Any])

state: dict[str, Any] = {"database_url": None, "debug": False}

# Numbers a user types are bounded where they are read, so that no database is asked for a year or a version
# it cannot store (SQLite binds at most 64 bits, PostgreSQL's integer 32).
YEARS = {"min": 1, "max": 9999}
VERSIONS = {"min": 1, "max": 2**31 - 1}
Year = Annotated[
    int | None, typer.Option("--year", "-y", **YEARS, help=tr("The cycle's year (default: the newest cycle)"))
]
As = Annotated[str | None, typer.Option("--as", help=tr("Who acts: person code or e-mail (default: CCHC_ACTOR)"))]
Units = Annotated[
    list[str] | None, typer.Option("--unit", "-u", help=tr("A unit code (repeat, or separate by commas, for several)"))
]
Json = Annotated[bool, typer.Option("--json", help=tr("Print JSON instead of tables"))]


def acting(value: str | None) -> str | None:
    """Who acts: --as, else CCHC_ACTOR. A person who has a dashboard password proves it here as on the
    login page (a shell on the server is not the Director): typed when asked on a terminal, or given to a
    script in CCHC_PASSWORD; wrong passwords are throttled and audited like the page's. A person without a
    password is acted for by the operator, and the operating-system account is what the trail then names."""
    ident = value or get_settings().actor
    if ident is not None and ident not in _PROVEN:
        _prove(ident)
        _PROVEN.add(ident)
    return ident


_PROVEN: set[str] = set()  # the people this process has already proven to be


def _prove(ident: str) -> None:
    url = db()
    with read_session(engine_for(url)) as session:
        try:
            actor = resolve_actor(session, ident)
        except UnknownActor:
            return  # the command names the problem itself
        if actor.person_id is None or login_of(session, actor) is None:
            return
    secret = get_settings().password
    if secret is not None:
        password = secret.get_secret_value()
    elif sys.stdin.isatty():
        password = getpass.getpass(tr("Dashboard password of {who}: ", who=actor.label()))
    else:
        raise UserError(
            tr(
                "{who} has a dashboard password: to act as them from the command line, type it when asked (on a "
                "terminal) or give it in CCHC_PASSWORD",
                who=actor.label(),
            )
        )
    limits = DashboardSettings().login_limits
    at = now()
    attempt = begin_login(url, ident, f"cli:{operator().user}", "cchc command line", at, limits)
    if authenticate(url, ident, password) is None:
        login_failed(url, attempt, at, limits)
        raise UserError(tr("wrong password for {who}: nothing was done", who=actor.label()))
    proven(url, attempt, actor.person_id)


def db() -> str | None:
    return state["database_url"]


def friendly(fn: F) -> F:
    """Turn every known failure into one clear line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_undecodable({**kwargs, "--database-url": state["database_url"]})
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the edge where errors become messages
            if state["debug"]:
                raise
            message = describe(exc, details="chạy lại với --debug để xem chi tiết")
            errors.print("[red]" + tr("error:") + "[/red] " + escape(message), markup=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _refuse_undecodable(values: dict[str, Any]) -> None:
    """Refuse a value that is not UTF-8 text (typed in a terminal set to another encoding, Python hands its
    bytes over as lone surrogates) before it reaches a database or the screen, naming what it was given for."""
    for name, value in values.items():
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str) and any("\ud800" <= c <= "\udfff" for c in text):
                raise UserError(
                    tr(
                        "{name}: {text!r} is not UTF-8 text: set the terminal to UTF-8 and type it again",
                        name=name.replace("_", "-"),
                        text=text,
                    )
                )


@contextlib.contextmanager
def running_flows() -> Iterator[None]:
    """Around a command that runs Prefect flows in this process: on the configured Prefect server when
    there is one (CCHC_PREFECT_API_URL or PREFECT_API_URL), else on a temporary one."""
    url = prefect_server()
    if url:
        said = tr("Running through Prefect, on the server at {url}…", url=url)
    else:
        said = tr("Running through Prefect (the first flow starts a temporary local server)…")
    errors.print("[dim]" + escape(said) + "[/dim]", markup=True)
    with local_flow_runs(), bars():
        yield


def report_moves(summary: Any, done: str) -> None:
    """What a move of several units did: the units moved, those late, and every refusal (then exit 1)."""
    if summary.moved:
        console.print(f"{done}: {', '.join(summary.moved)}")
    late = getattr(summary, "late", [])
    if late:
        console.print(
            "[yellow]"
            + tr("after the deadline")
            + "[/yellow] "
            + escape(tr("(no timeliness bonus): {units}", units=", ".join(late))),
            markup=True,
        )
    for refusal in summary.refused:
        errors.print("[red]" + tr("refused:") + "[/red] " + escape(refusal), markup=True)
    if summary.refused:
        raise typer.Exit(1)
    if not summary.moved:
        console.print(tr("nothing to do"))


def xlsx_target(path: Path) -> Path:
    """A workbook to write: a name ending in .xlsx, in a directory that exists."""
    if path.suffix.lower() != ".xlsx":
        raise UserError(tr("{path}: the workbook is written as .xlsx (give a name ending in .xlsx)", path=path))
    return inputs.target_file(path)


def operator() -> Operator:
    """Who runs this command on the machine: the process's operating-system account (by its uid, not a
    variable of the environment), and the login name of its terminal when someone became that account."""
    user = pwd.getpwuid(os.getuid()).pw_name
    try:
        login: str | None = os.getlogin()
    except OSError:  # no controlling terminal (a pipe, a service)
        login = None
    return Operator(user, login)
