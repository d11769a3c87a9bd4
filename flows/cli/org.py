"""`cchc org load`: the organisation (units, groups, people and roles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cchc.config.settings import get_settings
from cchc.flows.cli.common import As, acting, db, friendly
from cchc.flows.display import console
from cchc.flows.lookup import actor_for
from cchc.flows.org import read_org, write_org
from cchc.flows.runtime import engine_for, now
from cchc.models.db import write_session
from cchc.models.i18n import tr

app = typer.Typer(name="org", help=tr("The organisation: units, groups, people and roles."), no_args_is_help=True)


@app.command("load", help=tr("Load the organisation file: add, update or deactivate units and people (idempotent)."))
@friendly
def org_load(
    path: Annotated[Path | None, typer.Argument(help=tr("Organisation file (default: config/org/daklak.yaml)"))] = None,
    actor: As = None,
) -> None:
    path = path or get_settings().config_dir / "org" / "daklak.yaml"
    org = read_org(path)
    with write_session(engine_for(db())) as session:
        who = actor_for(session, acting(actor), task="org-load")
        summary = write_org(session, org, who, now(), str(path))
    groups = ", ".join(f"{g.code} {sum(1 for u in org.units if u.group == g.code)}" for g in org.groups)
    console.print(
        tr(
            "{name}: {units} units ({groups} assessed), {people} people",
            name=org.name,
            units=summary.units,
            groups=groups,
            people=summary.people,
        )
    )
    if summary.changed:
        console.print(
            tr(
                "added {units_added} units and {people_added} people; changed {units_changed} units and "
                "{people_changed} people; deactivated {units_deactivated} units and {people_deactivated} people",
                units_added=len(summary.units_added),
                people_added=len(summary.people_added),
                units_changed=len(summary.units_changed),
                people_changed=len(summary.people_changed),
                units_deactivated=len(summary.units_deactivated),
                people_deactivated=len(summary.people_deactivated),
            )
        )
    else:
        console.print(tr("the database already matched the file: nothing changed"))
