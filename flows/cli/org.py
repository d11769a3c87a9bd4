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

app = typer.Typer(name="org", help="The organisation: units, groups, people and roles.", no_args_is_help=True)


@app.command("load")
@friendly
def org_load(
    path: Annotated[Path | None, typer.Argument(help="Organisation file (default: config/org/daklak.yaml)")] = None,
    actor: As = None,
) -> None:
    """Load the organisation file: add, update or deactivate units and people (idempotent)."""
    path = path or get_settings().config_dir / "org" / "daklak.yaml"
    org = read_org(path)
    with write_session(engine_for(db())) as session:
        who = actor_for(session, acting(actor), task="org-load")
        summary = write_org(session, org, who, now(), str(path))
    groups = ", ".join(f"{g.code} {sum(1 for u in org.units if u.group == g.code)}" for g in org.groups)
    console.print(f"{org.name}: {summary.units} units ({groups} assessed), {summary.people} people")
    if summary.changed:
        console.print(
            f"added {len(summary.units_added)} units and {len(summary.people_added)} people; changed "
            f"{len(summary.units_changed)} units and {len(summary.people_changed)} people; deactivated "
            f"{len(summary.units_deactivated)} units and {len(summary.people_deactivated)} people"
        )
    else:
        console.print("the database already matched the file: nothing changed")
