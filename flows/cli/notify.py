"""`cchc notify flush|status`: the e-mail outbox."""

from __future__ import annotations

import typer
from rich.markup import escape

from cchc.flows.cli.common import Json, db, friendly, running_flows
from cchc.flows.display import console, errors, local_time, print_json
from cchc.flows.notify import flush_flow, outbox_status
from cchc.flows.params import FlushParams

app = typer.Typer(name="notify", help="E-mail notifications: the outbox.", no_args_is_help=True)


@app.command("status")
@friendly
def notify_status(as_json: Json = False) -> None:
    """Messages by status, the oldest waiting one, and the dead-letter list (refused for good)."""
    status = outbox_status(db())
    if as_json:
        print_json(
            {
                "counts": status.counts,
                "dead": status.dead,
                "oldest_pending": status.oldest_pending.isoformat() if status.oldest_pending else None,
            }
        )
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(status.counts.items())) or "empty"
    console.print(
        f"outbox: {counts}"
        + (f"; oldest waiting since {local_time(status.oldest_pending)}" if status.oldest_pending else "")
    )
    for dead in status.dead:
        console.print(
            "[red]dead[/red] "
            + escape(f"#{dead['id']} {dead['kind']} to {dead['to']} ({dead['unit']}), {dead['attempts']} attempts: ")
            + escape(str(dead["error"])),
            markup=True,
        )


@app.command("flush")
@friendly
def notify_flush() -> None:
    """Send every message that is due now (failures wait for their retry; 5xx go to the dead letters)."""
    with running_flows():
        summary = flush_flow(FlushParams(database_url=db()))
    console.print(f"sent {summary.sent}, to retry later {summary.retry}, dead {summary.dead}")
    for error in summary.errors:
        errors.print(f"  {error}")
    if summary.retry and not summary.sent:
        raise typer.Exit(1)
