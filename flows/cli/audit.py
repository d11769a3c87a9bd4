"""`cchc audit log|verify`: the audit trail; `cchc states`: the state machines as Mermaid diagrams."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cchc.flows.auditcheck import public_key_line, verify_all, write_checkpoint
from cchc.flows.auditlog import TimelineEntry, describe_change, unit_timeline
from cchc.flows.cli.common import Json, Year, db, friendly
from cchc.flows.display import console, errors, local_time, show
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.states.diagrams import MACHINES, diagram

app = typer.Typer(name="audit", help=tr("The audit trail."), no_args_is_help=True)

commands = typer.Typer()


@app.command(
    "log",
    help=tr("A unit's timeline: every transition, score change, adjustment and publication, oldest first."),
)
@friendly
def audit_log(
    unit: Annotated[str, typer.Option("--unit", "-u", help=tr("The unit's code"))],
    year: Year = None,
    as_json: Json = False,
) -> None:
    entries = unit_timeline(db(), unit, year)
    rows = ((str(e.seq), local_time(e.at), e.actor, f"{e.kind}: {e.trigger}", _move(e), _details(e)) for e in entries)
    columns = ("#", tr("when (Asia/Ho_Chi_Minh)"), tr("who"), tr("what"), tr("from → to"), tr("reason / details"))
    title = (
        tr("Audit trail of {unit} ({year})", unit=unit, year=year) if year else tr("Audit trail of {unit}", unit=unit)
    )
    if show(entries, as_json, columns, rows, title=title) and not entries:
        console.print(tr("no events"))


def _move(e: TimelineEntry) -> str:
    return f"{e.from_state or ''} → {e.to_state}" if e.to_state else ""


def _details(e: TimelineEntry) -> str:
    """The reason and the short facts of an event; the first criteria an appraisal changed."""
    parts = [e.reason] if e.reason else []
    for key in ("item", "points", "index", "class", "rank", "total", "added"):
        if key in e.payload:
            parts.append(f"{key} {e.payload[key]}")
    changed = e.payload.get("changed")
    if isinstance(changed, dict) and changed:
        shown = ", ".join(describe_change(c, v) for c, v in list(changed.items())[:4])
        parts.append(f"{len(changed)} changed: {shown}" + (", …" if len(changed) > 4 else ""))
    return "; ".join(parts)


@app.command(
    "verify",
    help=tr(
        "Recompute the hash chain, replay the events against the tables (states, scores, bonuses, published "
        "results) and check the head against signed checkpoints; every difference is reported; exit 1 if any."
    ),
)
@friendly
def audit_verify(
    against: Annotated[
        str | None,
        typer.Option(
            "--against", help=tr("A checkpoint file (cchc audit checkpoint) or a 64-digit head hash kept outside")
        ),
    ] = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help=tr("The signer's public key (ed25519:…, or a file holding it)"))
    ] = None,
) -> None:
    report = verify_all(db(), against, public_key)
    if report.ok:
        t = report.tables
        console.print(
            tr(
                "audit trail intact: {n} events, head #{seq} {hash}",
                n=report.chain.events,
                seq=report.chain.head_seq,
                hash=report.chain.head_hash,
            )
        )
        console.print(
            tr(
                "the tables agree with the trail: {a} assessments, {s} frozen score sets, {j} bonuses and penalties, "
                "{p} publications, {r} other records",
                a=t.assessments,
                s=t.scores,
                j=t.adjustments,
                p=t.publications,
                r=t.records,
            )
        )
        if report.checkpoints:
            console.print(tr("the head holds every checkpoint: {names}", names=", ".join(report.checkpoints)))
        return
    for problem in report.problems:
        errors.print("[red]" + tr("broken:") + "[/red] " + escape(problem), markup=True)
    raise typer.Exit(1)


@app.command(
    "checkpoint",
    help=tr(
        "Sign the trail's head with this installation's key and keep it beside the store (also written at each "
        "publication); print it in full, to keep outside the database."
    ),
)
@friendly
def audit_checkpoint(
    out: Annotated[Path | None, typer.Option("--out", help=tr("Also write the checkpoint to this file"))] = None,
    reason: Annotated[str, typer.Option("--reason", help=tr("Why it is taken (kept in the checkpoint)"))] = "",
) -> None:
    checkpoint = write_checkpoint(db(), reason)
    body = json.dumps(checkpoint.document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if out is not None:
        try:
            out.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise UserError(tr("--out: cannot write {path} ({why})", path=out, why=exc.strerror)) from None
    sys.stdout.write(body)
    console.print(tr("checkpoint of event #{seq} kept in {path}", seq=checkpoint.document["seq"], path=checkpoint.path))


@app.command(
    "key", help=tr("Print this installation's public key, with which an inspector verifies checkpoints and backups.")
)
@friendly
def audit_key() -> None:
    sys.stdout.write(public_key_line() + "\n")


@commands.command(help=tr("Print a state machine as a Mermaid diagram (generated from the transition table)."))
@friendly
def states(
    which: Annotated[str, typer.Argument(help=tr("One of: {machines}", machines=", ".join(MACHINES)))] = "assessment",
) -> None:
    if which not in MACHINES:
        raise UserError(
            tr("unknown machine {which!r}: choose one of {machines}", which=which, machines=", ".join(MACHINES))
        )
    sys.stdout.write(diagram(which))
