"""`cchc notify flush|status`: the e-mail outbox."""

from __future__ import annotations

import typer
from rich.markup import escape

from cchc.flows.cli.common import Json, db, friendly, running_flows
from cchc.flows.display import console, errors, local_time, print_json
from cchc.flows.notify import flush_flow, outbox_status
from cchc.flows.params import FlushParams
from cchc.models.i18n import tr, trn
from cchc.notifications.outbox import Leased

app = typer.Typer(name="notify", help=tr("E-mail notifications: the outbox."), no_args_is_help=True)


@app.command(
    "status",
    help=tr("Messages by status, the oldest waiting one, and the dead-letter list (refused for good)."),
)
@friendly
def notify_status(as_json: Json = False) -> None:
    status = outbox_status(db())
    if as_json:
        print_json(
            {
                "counts": status.counts,
                "dead": status.dead,
                "oldest_pending": status.oldest_pending.isoformat() if status.oldest_pending else None,
                "leased": {
                    "count": status.leased.count,
                    "until": status.leased.until.isoformat() if status.leased.until else None,
                },
            }
        )
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(status.counts.items())) or tr("empty")
    console.print(
        tr("outbox: {counts}", counts=counts)
        + (tr("; oldest waiting since {when}", when=local_time(status.oldest_pending)) if status.oldest_pending else "")
    )
    _say_leased(status.leased)
    for dead in status.dead:
        console.print(
            "[red]"
            + tr("dead")
            + "[/red] "
            + escape(
                tr(
                    "#{id} {kind} to {to} ({unit}), {attempts} attempts: ",
                    id=dead["id"],
                    kind=dead["kind"],
                    to=dead["to"],
                    unit=dead["unit"],
                    attempts=dead["attempts"],
                )
            )
            + escape(str(dead["error"])),
            markup=True,
        )


@app.command(
    "flush",
    help=tr("Send every message that is due now (failures wait for their retry; 5xx go to the dead letters)."),
)
@friendly
def notify_flush() -> None:
    with running_flows():
        summary = flush_flow(FlushParams(database_url=db()))
    console.print(
        tr(
            "sent {sent}, to retry later {retry}, dead {dead}",
            sent=summary.sent,
            retry=summary.retry,
            dead=summary.dead,
        )
    )
    _say_leased(summary.leased)
    for error in summary.errors:
        errors.print(f"  {error}")
    if summary.retry and not summary.sent:
        raise typer.Exit(1)


def _say_leased(leased: Leased) -> None:
    """The messages a flush that stopped (killed) still holds: not lost, taken again once its lease ends."""
    if leased.count and leased.until:
        console.print(
            "[yellow]"
            + escape(
                trn(
                    "{n} message is still leased by a flush that stopped before recording it (or by one still "
                    "running): the first flush after {when} retries it",
                    "{n} messages are still leased by a flush that stopped before recording them (or by one still "
                    "running): the first flush after {when} retries them",
                    leased.count,
                    when=local_time(leased.until),
                )
            )
            + "[/yellow]",
            markup=True,
        )
