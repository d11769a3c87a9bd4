"""`cchc commitments …`: the heads' responsibility commitments (bản cam kết trách nhiệm), drafted, signed, chased."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from cchc.config.settings import get_settings
from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.commitments import commitments_flow
from cchc.flows.display import console, local_time, show
from cchc.flows.params import CommitmentParams
from cchc.flows.signing import decline, document, record_paper, renew_link, sign, status
from cchc.models.errors import UserError
from cchc.models.i18n import tr

app = typer.Typer(
    name="commitments", help=tr("Heads' responsibility commitments (bản cam kết trách nhiệm)."), no_args_is_help=True
)


@app.command(
    "prepare",
    help=tr(
        "Draft every head's commitment (HTML and Word, kept by SHA-256) and send the signing requests, "
        "top-down: a head is asked once the superior head has signed. Re-drafts what changed."
    ),
)
@friendly
def commitments_prepare(year: Year = None, actor: As = None) -> None:
    with running_flows():
        summary = commitments_flow(CommitmentParams(year=year, database_url=db(), actor=acting(actor)))
    console.print(
        tr(
            "{total} commitments: {drafted} drafted now, {revised} re-drafted (to be signed again), "
            "{sent} sent for signing",
            total=summary.total,
            drafted=len(summary.drafted),
            revised=len(summary.revised),
            sent=len(summary.sent),
        )
    )
    if summary.revised:
        console.print(tr("re-drafted: {units}", units=", ".join(summary.revised)))


@app.command(
    "sign",
    help=tr("Sign as the unit's head (or as a deputy, where the unit has no head: the superior head is told)."),
)
@friendly
def commitments_sign(
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=tr("The unit whose commitment is signed"))] = None,
    token: Annotated[str | None, typer.Option(help=tr("The token of the single-use signing link"))] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    done = sign(db(), year, acting(actor), unit=unit, token=token)
    sha = done.sha256[:16]
    if done.capacity == "head":
        line = tr("{unit}: commitment signed as its head (document SHA-256 {sha}…)", unit=done.unit, sha=sha)
    elif done.capacity == "acting":
        line = tr(
            "{unit}: commitment signed as a deputy acting for its missing head (document SHA-256 {sha}…)",
            unit=done.unit,
            sha=sha,
        )
    else:
        line = tr("{unit}: commitment signed  (document SHA-256 {sha}…)", unit=done.unit, sha=sha)
    console.print(line)
    if done.notified:
        console.print(tr("reported to: {people}", people=", ".join(done.notified)))
    if done.sent:
        console.print(tr("now sent for signing: {units}", units=", ".join(done.sent)))


@app.command("decline", help=tr("Decline to sign, with a reason."))
@friendly
def commitments_decline(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    reason: Annotated[str, typer.Option(help=tr("Why (required)"))],
    year: Year = None,
    actor: As = None,
) -> None:
    decline(db(), year, unit, reason, acting(actor))
    console.print(tr("{unit}: commitment declined", unit=unit))


@app.command(
    "link",
    help=tr("Send a unit's head a new signing link (the older one stops working), or revoke the link with --revoke."),
)
@friendly
def commitments_link(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    revoke: Annotated[bool, typer.Option("--revoke", help=tr("Revoke the link without sending a new one"))] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    sent = renew_link(db(), year, unit, acting(actor), revoke=revoke)
    if revoke:
        console.print(tr("{unit}: the signing link was revoked; `cchc commitments link` sends a new one", unit=unit))
    else:
        console.print(
            tr(
                "{unit}: a new signing link is queued for {people} (good for {days} days; the older one no longer "
                "works)",
                unit=unit,
                people=", ".join(sent),
                days=get_settings().signing_link_days,
            )
        )


@app.command("paper", help=tr("Record a commitment signed on paper, with its scanned file (kept by SHA-256)."))
@friendly
def commitments_paper(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    scan: Annotated[Path, typer.Option(help=tr("The scanned signed document (PDF or image)"))],
    signed_on: Annotated[str, typer.Option(help=tr("The date written on it, e.g. 09/03/2021"))],
    year: Year = None,
    actor: As = None,
) -> None:
    done = record_paper(db(), year, unit, scan, inputs.day(signed_on, "--signed-on"), acting(actor))
    console.print(tr("{unit}: paper signature recorded with {file}", unit=done.unit, file=scan.name))
    if done.sent:
        console.print(tr("now sent for signing: {units}", units=", ".join(done.sent)))


@app.command("status", help=tr("Each unit's commitment: state, who signed and how, and who is late."))
@friendly
def commitments_status(year: Year = None, as_json: Json = False) -> None:
    lines = status(db(), year)
    columns = (tr("level"), tr("unit"), tr("state"), tr("signed by"), tr("as"), tr("when"), tr("due (before)"), "")
    rows = (
        (
            str(line.level),
            f"{line.name} ({line.unit})",
            line.state,
            line.signed_by,
            line.capacity,
            local_time(line.signed_at),
            local_time(line.due),
            Text(tr("late"), style="red") if line.late else "",
        )
        for line in lines
    )
    if not show(lines, as_json, columns, rows):
        return
    late = [line.unit for line in lines if line.late]
    signed = sum(1 for line in lines if line.state == "signed")
    console.print(
        tr("{signed}/{total} signed; late: {units}", signed=signed, total=len(lines), units=", ".join(late))
        if late
        else tr("{signed}/{total} signed", signed=signed, total=len(lines))
    )


@app.command("document", help=tr("Write a unit's current commitment (Word and HTML) to print it."))
@friendly
def commitments_document(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    out: Annotated[Path, typer.Option(help=tr("Directory to write the .docx and .html into"))] = Path("."),
    year: Year = None,
) -> None:
    documents = [document(db(), year, unit, suffix) for suffix in (".docx", ".html")]
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in documents:
            (out / name).write_bytes(data)
            console.print(tr("wrote {path}", path=out / name))
    except OSError as exc:
        raise UserError(tr("--out: cannot write into {path} ({why})", path=out, why=exc.strerror or exc)) from None
