"""`cchc`: the command line of the PAR index cycle. Every user error is one line and a non-zero exit.

The root only registers the commands: each command group lives in its own module of this package (the
table below says which), with the commands of the same step of the cycle, and a module is imported when
one of its commands runs, so that `cchc cycle status` does not load what `cchc appraise` needs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cchc.flows.cli.common import state
from cchc.flows.runtime import configure_prefect
from cchc.models.i18n import tr

configure_prefect()  # before anything imports prefect (the command modules do; nothing above does)

# Command name → (module of cchc.flows.cli, attribute): "app" is the module's command group, "commands" the
# Typer holding its top-level commands. In the order of the cycle; `cchc --help` lists them so.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("database", "commands"),
    "org": ("org", "app"),
    "results": ("results", "app"),
    "cycle": ("cycle", "app"),
    "commitments": ("commitments", "app"),
    "plan": ("plan", "app"),
    "contributors": ("contributors", "app"),
    "self-assessment": ("selfassessment", "app"),
    "evidence": ("evidence", "app"),
    "submit": ("selfassessment", "commands"),
    "withdraw": ("selfassessment", "commands"),
    "sweep": ("deadlines", "commands"),
    "extend": ("deadlines", "commands"),
    "notify": ("notify", "app"),
    "serve": ("serve", "commands"),
    "appraisal": ("appraisal", "app"),
    "appraise": ("appraisal", "commands"),
    "supplement": ("supplement", "app"),
    "adjust": ("appraisal", "commands"),
    "publish": ("publication", "commands"),
    "reopen": ("publication", "commands"),
    "ranking": ("publication", "commands"),
    "awards": ("awards", "commands"),
    "award-decision": ("awards", "commands"),
    "remediation": ("remediation", "app"),
    "report": ("report", "app"),
    "audit": ("audit", "app"),
    "states": ("audit", "commands"),
    "backup": ("database", "commands"),
    "restore": ("database", "commands"),
    "login": ("login", "app"),
    "dashboard": ("login", "commands"),
    "demo": ("demo", "commands"),
}


def load(name: str) -> Any:
    """The click command of `name`, from its module (imported now if it was not yet)."""
    module, attribute = COMMANDS[name]
    group = typer.main.get_group(getattr(importlib.import_module(f"{__name__}.{module}"), attribute))
    return group if attribute == "app" else group.commands[name]


class _Commands(MutableMapping[str, Any]):
    """Name → command, each loaded the first time it is asked for; the names alone load nothing."""

    def __init__(self, loaded: Mapping[str, Any]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))


class CommandTable(TyperGroup):
    """The root group: its commands come from COMMANDS, each module imported on first use (Typer has no lazy
    groups; this is click's documented way of loading subcommands lazily)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    cls=CommandTable,
    help=tr(
        "Orchestrate the annual PAR index cycle (Chỉ số cải cách hành chính): plan → self-assessment → "
        "appraisal → supplements → publication → awards."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main_options(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar=None, help=tr("Database URL (default: CCHC_DATABASE_URL or ./cchc.db)")),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help=tr("Show tracebacks and Prefect's logs"))] = False,
) -> None:
    state["database_url"] = database_url
    state["debug"] = debug
    if debug:  # prefect is imported by the command, after this: its logging reads these then
        for name in ("PREFECT_LOGGING_LEVEL", "PREFECT_SERVER_LOGGING_LEVEL", "PREFECT_LOGGING_ROOT_LEVEL"):
            os.environ[name] = "INFO"


def main() -> None:
    """Entry point of the `cchc` script."""
    app()


__all__ = ["app", "main"]
