"""`cchc commitments …`: the heads' responsibility commitments (bản cam kết trách nhiệm), drafted, signed, chased."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from cchc.flows import inputs
from cchc.flows.cli.common import As, Json, Year, acting, db, friendly, running_flows
from cchc.flows.commitments import commitments_flow
from cchc.flows.display import console, local_time, show
from cchc.flows.params import CommitmentParams
from cchc.flows.signing import decline, document, record_paper, sign, status
from cchc.models.errors import UserError

app = typer.Typer(
    name="commitments", help="Heads' responsibility commitments (bản cam kết trách nhiệm).", no_args_is_help=True
)


@app.command("prepare")
@friendly
def commitments_prepare(year: Year = None, actor: As = None) -> None:
    """Draft every head's commitment (HTML and Word, kept by SHA-256) and send the signing requests,
    top-down: a head is asked once the superior head has signed. Re-drafts what changed."""
    with running_flows():
        summary = commitments_flow(CommitmentParams(year=year, database_url=db(), actor=acting(actor)))
    console.print(
        f"{summary.total} commitments: {len(summary.drafted)} drafted now, {len(summary.revised)} re-drafted "
        f"(to be signed again), {len(summary.sent)} sent for signing"
    )
    if summary.revised:
        console.print(f"re-drafted: {', '.join(summary.revised)}")


@app.command("sign")
@friendly
def commitments_sign(
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="The unit whose commitment is signed")] = None,
    token: Annotated[str | None, typer.Option(help="The token of the single-use signing link")] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    """Sign as the unit's head (or as a deputy, where the unit has no head: the superior head is told)."""
    done = sign(db(), year, acting(actor), unit=unit, token=token)
    capacity = {"head": "as its head", "acting": "as a deputy acting for its missing head"}.get(done.capacity, "")
    console.print(f"{done.unit}: commitment signed {capacity} (document SHA-256 {done.sha256[:16]}…)")
    if done.notified:
        console.print(f"reported to: {', '.join(done.notified)}")
    if done.sent:
        console.print(f"now sent for signing: {', '.join(done.sent)}")


@app.command("decline")
@friendly
def commitments_decline(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    reason: Annotated[str, typer.Option(help="Why (required)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Decline to sign, with a reason."""
    decline(db(), year, unit, reason, acting(actor))
    console.print(f"{unit}: commitment declined")


@app.command("paper")
@friendly
def commitments_paper(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    scan: Annotated[Path, typer.Option(help="The scanned signed document (PDF or image)")],
    signed_on: Annotated[str, typer.Option(help="The date written on it, e.g. 09/03/2021")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Record a commitment signed on paper, with its scanned file (kept by SHA-256)."""
    done = record_paper(db(), year, unit, scan, inputs.day(signed_on, "--signed-on"), acting(actor))
    console.print(f"{done.unit}: paper signature recorded with {scan.name}")
    if done.sent:
        console.print(f"now sent for signing: {', '.join(done.sent)}")


@app.command("status")
@friendly
def commitments_status(year: Year = None, as_json: Json = False) -> None:
    """Each unit's commitment: state, who signed and how, and who is late."""
    lines = status(db(), year)
    columns = ("level", "unit", "state", "signed by", "as", "when", "due (before)", "")
    rows = (
        (
            str(line.level),
            f"{line.name} ({line.unit})",
            line.state,
            line.signed_by,
            line.capacity,
            local_time(line.signed_at),
            local_time(line.due),
            Text("late", style="red") if line.late else "",
        )
        for line in lines
    )
    if not show(lines, as_json, columns, rows):
        return
    late = [line.unit for line in lines if line.late]
    console.print(
        f"{sum(1 for line in lines if line.state == 'signed')}/{len(lines)} signed"
        + (f"; late: {', '.join(late)}" if late else "")
    )


@app.command("document")
@friendly
def commitments_document(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    out: Annotated[Path, typer.Option(help="Directory to write the .docx and .html into")] = Path("."),
    year: Year = None,
) -> None:
    """Write a unit's current commitment (Word and HTML) to print it."""
    documents = [document(db(), year, unit, suffix) for suffix in (".docx", ".html")]
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in documents:
            (out / name).write_bytes(data)
            console.print(f"wrote {out / name}")
    except OSError as exc:
        raise UserError(f"--out: cannot write into {out} ({exc.strerror or exc})") from None
