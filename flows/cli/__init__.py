"""`cchc`: the command line of the PAR index cycle. Every user error is one line and a non-zero exit."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from cchc.config.settings import get_settings
from cchc.flows.runtime import UserError, check_target, configure_prefect

configure_prefect()  # before anything imports prefect

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Orchestrate the annual PAR index cycle (Chỉ số cải cách hành chính): plan → self-assessment → "
    "appraisal → supplements → publication → awards.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
org_app = typer.Typer(help="The organisation: units, groups, people and roles.", no_args_is_help=True)
cycle_app = typer.Typer(help="A year's cycle: open it, move its phases, see where it stands.", no_args_is_help=True)
sa_app = typer.Typer(help="Units' self-assessments.", no_args_is_help=True)
supplement_app = typer.Typer(help="Supplements and explanations (bổ sung, giải trình).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
results_app = typer.Typer(help="Past years' published results.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(cycle_app, name="cycle")
app.add_typer(sa_app, name="self-assessment")
app.add_typer(supplement_app, name="supplement")
app.add_typer(audit_app, name="audit")
app.add_typer(results_app, name="results")

_state: dict[str, Any] = {"database_url": None, "debug": False}

# Numbers a user types are bounded where they are read, so that no database is asked for a year or a version
# it cannot store (SQLite binds at most 64 bits, PostgreSQL's integer 32).
YEARS = {"min": 1, "max": 9999}
VERSIONS = {"min": 1, "max": 2**31 - 1}
Year = Annotated[int | None, typer.Option("--year", "-y", **YEARS, help="The cycle's year (default: the newest cycle)")]
As = Annotated[str | None, typer.Option("--as", help="Who acts: person code or e-mail (default: CCHC_ACTOR)")]
Units = Annotated[list[str] | None, typer.Option("--unit", "-u", help="A unit code (repeat for several)")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]


def _actor(value: str | None) -> str | None:
    return value or get_settings().actor


def _db() -> str | None:
    return _state["database_url"]


def friendly(fn: F) -> F:
    """Turn every known failure into one clear line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cchc.flows.display import errors

        try:
            _refuse_undecodable({**kwargs, "--database-url": _state["database_url"]})
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the edge where errors become messages
            if _state["debug"]:
                raise
            errors.print(f"[red]error:[/red] {_message(exc)}", markup=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _refuse_undecodable(values: dict[str, Any]) -> None:
    """Refuse a value that is not UTF-8 text (typed in a terminal set to another encoding, Python hands its
    bytes over as lone surrogates) before it reaches a database or the screen, naming what it was given for."""
    for name, value in values.items():
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str) and any("\ud800" <= c <= "\udfff" for c in text):
                raise UserError(
                    f"{name.replace('_', '-')}: {text!r} is not UTF-8 text: set the terminal to UTF-8 and type it again"
                )


def _message(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

    from cchc.models.audit import AuditConflict
    from cchc.models.datafile import DataFileError
    from cchc.models.scoresheet import SheetError
    from cchc.states.machine import TransitionNotAllowed
    from cchc.states.workflow import ConcurrentChange

    known = (UserError, DataFileError, SheetError, TransitionNotAllowed, ConcurrentChange, AuditConflict)
    if isinstance(exc, known):
        return str(exc).replace("[", "\\[")
    if isinstance(exc, IntegrityError):
        return (
            "the database refused a change that conflicts with existing data (run again to see whether it was "
            "done meanwhile)"
        )
    if isinstance(exc, OperationalError | DBAPIError):
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"database problem: {detail[0] if detail else type(exc).__name__}"
    if isinstance(exc, OSError) and exc.strerror:  # a file the system refused: which, and why
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror.lower()}".replace("[", "\\[")
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the details)".replace("[", "\\[")


@app.callback()
def main_options(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar=None, help="Database URL (default: CCHC_DATABASE_URL or ./cchc.db)"),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and Prefect's logs")] = False,
) -> None:
    _state["database_url"] = database_url
    _state["debug"] = debug
    if debug:  # prefect is imported by the command, after this: its logging reads these then
        for name in ("PREFECT_LOGGING_LEVEL", "PREFECT_SERVER_LOGGING_LEVEL", "PREFECT_LOGGING_ROOT_LEVEL"):
            os.environ[name] = "INFO"


@contextlib.contextmanager
def _flows() -> Iterator[None]:
    """Around a command that runs Prefect flows in this process."""
    from cchc.flows.display import errors
    from cchc.flows.progress import bars
    from cchc.flows.runtime import local_flow_runs

    errors.print("[dim]Running through Prefect (the first flow starts a temporary local server)…[/dim]", markup=True)
    with local_flow_runs(), bars():
        yield


# --- set-up ---------------------------------------------------------------------------------------


@app.command()
@friendly
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from cchc.flows.display import console
    from cchc.flows.runtime import open_engine
    from cchc.models.migrate import upgrade

    engine = open_engine(_db())
    revision = upgrade(engine)
    console.print(f"database {engine.url.render_as_string()} is at schema revision {revision}")


@org_app.command("load")
@friendly
def org_load(
    path: Annotated[Path | None, typer.Argument(help="Organisation file (default: config/org/daklak.yaml)")] = None,
    actor: As = None,
) -> None:
    """Load the organisation file: add, update or deactivate units and people (idempotent)."""
    from cchc.flows.display import console
    from cchc.flows.lookup import actor_for
    from cchc.flows.org import read_org, write_org
    from cchc.flows.runtime import engine_for, now
    from cchc.models.db import write_session

    path = path or get_settings().config_dir / "org" / "daklak.yaml"
    org = read_org(path)
    with write_session(engine_for(_db())) as session:
        who = actor_for(session, _actor(actor), task="org-load")
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


# --- the cycle ------------------------------------------------------------------------------------


@cycle_app.command("open")
@friendly
def cycle_open(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS, help="The cycle's year")],
    calendar: Annotated[Path | None, typer.Option(help="Calendar file (default: config/cycles/YEAR.yaml)")] = None,
    from_year: Annotated[
        int | None,
        typer.Option(
            "--from",
            **YEARS,
            help="Carry that year's calendar forward: same units, every date a year later, each group's "
            "framework for the new year where there is one (else last year's)",
        ),
    ] = None,
    actor: As = None,
) -> None:
    """Open a year's cycle: frameworks, deadlines, one assessment per assessed unit (idempotent)."""
    from cchc.flows.cycle import open_cycle_flow
    from cchc.flows.display import console
    from cchc.flows.params import OpenCycleParams

    with _flows():
        summary = open_cycle_flow(
            OpenCycleParams(
                year=year,
                calendar_path=str(calendar) if calendar else None,
                from_year=from_year,
                database_url=_db(),
                actor=_actor(actor),
            )
        )
    verb = "opened" if summary.created else "already open"
    console.print(
        f"cycle {year} {verb}: {summary.assessments} assessments "
        f"({len(summary.assessments_added)} added now), phase {summary.phase}"
    )
    for group, text in summary.frameworks.items():
        console.print(f"  {group}: {text}")


@cycle_app.command("advance")
@friendly
def cycle_advance(
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail)")] = "",
    actor: As = None,
) -> None:
    """Move the cycle to its next phase (planning → self_assessment → appraisal; awards → remediation → closed)."""
    from cchc.flows.cycle import advance_cycle_flow
    from cchc.flows.display import console
    from cchc.flows.params import AdvanceParams

    with _flows():
        summary = advance_cycle_flow(AdvanceParams(year=year, reason=reason, database_url=_db(), actor=_actor(actor)))
    moved = f"; {summary.units_moved} units moved on" if summary.units_moved else ""
    console.print(f"cycle {year}: {summary.from_phase} → {summary.to_phase}{moved}")
    if summary.follow_ups:
        owed = ", ".join(f"{n} units owe a {kind} document" for kind, n in summary.follow_ups.items() if n)
        console.print(f"  {owed or 'no unit owes a follow-up document'} (`cchc remediation status`)")


@cycle_app.command("status")
@friendly
def cycle_status_cmd(year: Year = None, as_json: Json = False) -> None:
    """Where the cycle stands: phase, deadlines, units per state per group, who is late."""
    from cchc.flows.display import console, local_time, print_json
    from cchc.flows.status import cycle_status

    status = cycle_status(_db(), year)
    if as_json:
        print_json(status.as_json())
        return
    from rich.table import Table

    published = f", published version {status.published_version}" if status.published_version else ""
    console.print(
        f"[bold]{escape(status.title)}[/bold] ({status.year}): phase [bold]{status.phase}[/bold]{published}",
        markup=True,
    )
    console.print("deadlines: " + "; ".join(f"{p} before {local_time(d)}" for p, d in status.deadlines.items()))
    states = list(next(iter(status.counts.values()), {}))
    table = Table(title=f"{status.total} assessments by state", title_justify="left")
    table.add_column("group")
    for s in states:
        table.add_column(s, justify="right")
    for group, counts in status.counts.items():
        table.add_row(status.groups.get(group, group), *[str(counts[s]) if counts[s] else "" for s in states])
    console.print(table)
    if status.commitments:
        by_state = ", ".join(f"{n} {state}" for state, n in sorted(status.commitments.items()))
        console.print(f"heads' commitments: {by_state}; unsigned: {status.unsigned_commitments}")
    if status.overdue:
        console.print(
            f"[red]overdue[/red] (not submitted, deadline passed): {escape(', '.join(status.overdue))}", markup=True
        )
    if status.late:
        console.print(f"submitted late (no timeliness bonus): {', '.join(status.late)}")


@results_app.command("import")
@friendly
def results_import(
    path: Annotated[Path, typer.Argument(help="CSV with unit,index[,class]")],
    year: Annotated[int, typer.Option("--year", "-y", **YEARS)],
    actor: As = None,
) -> None:
    """Take in a past year's published results, to compare this year's index and rank with."""
    from cchc.flows.display import console
    from cchc.flows.history import import_results

    summary = import_results(_db(), year, path, _actor(actor))
    console.print(f"{year}: {summary.units} published results " + ("imported" if summary.created else "already there"))


@results_app.command("compare")
@friendly
def results_compare(
    years: Annotated[
        list[int] | None, typer.Option("--year", "-y", **YEARS, help="A published year (repeat; default: every one)")
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="One unit only")] = None,
    as_json: Json = False,
) -> None:
    """Each unit's published index, rank in group and class, year by year, with the latest change."""
    from rich.table import Table

    from cchc.flows.display import console, print_json
    from cchc.flows.years import compare_years
    from cchc.models.formats import vn_number, vn_signed

    comparison = compare_years(_db(), years, unit)
    if as_json:
        print_json(comparison.as_json())
        return
    table = Table(title="Chỉ số CCHC qua các năm (chỉ số % · hạng trong nhóm · xếp loại)", title_justify="left")
    table.add_column("Đơn vị")
    for year in comparison.years:
        table.add_column(str(year))
    last_two = comparison.years[-2:]
    if len(last_two) == 2:
        table.add_column(f"{last_two[0]} → {last_two[1]}", justify="right")
    for u in comparison.units:
        cells = [
            f"{vn_number(r.index)} · {r.rank} · {r.class_name}" if (r := u.years.get(y)) else "—"
            for y in comparison.years
        ]
        if len(last_two) == 2:
            index_change, places = u.change(last_two[0], last_two[1])
            cells.append("—" if index_change is None else f"{vn_signed(index_change)} · {vn_signed(places, 0)} bậc")
        table.add_row(f"{u.name} ({u.unit})", *cells)
    console.print(table)


# --- self-assessment ------------------------------------------------------------------------------


@sa_app.command("import")
@friendly
def sa_import(
    path: Annotated[
        Path, typer.Argument(help="The exported .xlsx, or a CSV: unit,criterion,score,evidence,note[,metric]")
    ],
    year: Year = None,
    actor: As = None,
) -> None:
    """Import self-scores: everything is checked first; any problem (named by line and column) writes nothing."""
    from cchc.flows.display import console
    from cchc.flows.params import ImportParams
    from cchc.flows.selfassessment import import_self_assessment_flow

    with _flows():
        summary = import_self_assessment_flow(
            ImportParams(path=str(path), year=year, database_url=_db(), actor=_actor(actor))
        )
    console.print(
        f"{summary.path}: {summary.rows} rows for {summary.units} units; {summary.changed_rows} "
        f"scores changed in {len(summary.changed_units)} units"
    )


def _report_moves(summary: Any, done: str) -> None:
    from cchc.flows.display import console, errors

    if summary.moved:
        console.print(f"{done}: {', '.join(summary.moved)}")
    late = getattr(summary, "late", [])
    if late:
        console.print(
            f"[yellow]after the deadline[/yellow] (no timeliness bonus): {escape(', '.join(late))}", markup=True
        )
    for refusal in summary.refused:
        errors.print(f"[red]refused:[/red] {escape(refusal)}", markup=True)
    if summary.refused:
        raise typer.Exit(1)
    if not summary.moved:
        console.print("nothing to do")


@app.command()
@friendly
def submit(
    units: Units = None,
    all_units: Annotated[bool, typer.Option("--all", help="Every unit still in self_assess (coordinators)")] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    """Submit self-assessments to the authority (refused while a sub-criterion is unscored)."""
    from cchc.flows.params import SubmitParams
    from cchc.flows.selfassessment import submit_flow

    if not units and not all_units:
        raise UserError("name the units (--unit CODE) or submit every ready unit with --all")
    with _flows():
        summary = submit_flow(SubmitParams(year=year, units=units or [], database_url=_db(), actor=_actor(actor)))
    _report_moves(summary, "submitted")


@app.command()
@friendly
def withdraw(
    units: Annotated[list[str], typer.Option("--unit", "-u", help="A unit code")],
    reason: Annotated[str, typer.Option(help="Why (recorded)")] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    """Withdraw a submission to edit it (rút lại) — only before appraisal starts."""
    from cchc.flows.selfassessment import change_units

    _report_moves(change_units(_db(), year, "withdraw", units, _actor(actor), None, reason=reason), "withdrawn")


@supplement_app.command("request")
@friendly
def supplement_request(
    unit: Annotated[list[str], typer.Option("--unit", "-u")],
    note: Annotated[str, typer.Option(help="What is asked for (required)")],
    criteria: Annotated[str, typer.Option(help="Sub-criteria concerned, comma-separated")] = "",
    due: Annotated[str | None, typer.Option(help="Deadline, e.g. 08/09/2021 (default: the cycle's)")] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    """Ask a unit for more evidence or an explanation; only the named sub-criteria re-open. The unit's
    focal officer and head are told by e-mail."""
    from cchc.flows.selfassessment import change_units

    codes = [c.strip() for c in criteria.split(",") if c.strip()]
    _report_moves(
        change_units(
            _db(),
            year,
            "request_supplement",
            unit,
            _actor(actor),
            None,
            reason=note,
            criteria=codes,
            due=_moment(due, "--due") if due else None,
        ),
        "supplement requested from",
    )


@supplement_app.command("submit")
@friendly
def supplement_submit(
    unit: Annotated[list[str], typer.Option("--unit", "-u")],
    note: Annotated[str, typer.Option(help="The explanation (giải trình)")] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    """The unit has supplied what was asked (import the new evidence first); it goes back to appraisal."""
    from cchc.flows.selfassessment import change_units

    _report_moves(
        change_units(_db(), year, "submit_supplement", unit, _actor(actor), None, reason=note),
        "supplement received from",
    )


@supplement_app.command("skip")
@friendly
def supplement_skip(units: Units = None, year: Year = None, actor: As = None) -> None:
    """Go on without a supplement for appraised units where none was requested (all of them by default)."""
    from cchc.flows.selfassessment import change_units

    _report_moves(
        change_units(_db(), year, "skip_supplement", units or [], _actor(actor), None, states=["appraised"]),
        "no supplement needed",
    )


@supplement_app.command("close")
@friendly
def supplement_close(
    unit: Annotated[list[str], typer.Option("--unit", "-u")],
    reason: Annotated[str, typer.Option(help="Why the authority goes on without it (required)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Go on without a requested supplement (e.g. its deadline passed); the appraisal stands."""
    from cchc.flows.selfassessment import change_units

    _report_moves(
        change_units(_db(), year, "close_supplement", unit, _actor(actor), None, reason=reason),
        "closed without supplement",
    )


@app.command()
@friendly
def appraise(
    units: Units = None,
    scores: Annotated[
        Path | None, typer.Option(help="The appraiser's own scores: CSV unit,criterion,score,note")
    ] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    """Appraise submitted units and re-appraise changed ones. Running it again with the same inputs changes
    nothing; changed inputs give a new appraisal version with its diff in the audit trail."""
    from cchc.flows.appraisal import appraise_flow
    from cchc.flows.display import console, errors
    from cchc.flows.params import AppraiseParams

    with _flows():
        summary = appraise_flow(
            AppraiseParams(
                year=year,
                units=units or [],
                scores_path=str(scores) if scores else None,
                database_url=_db(),
                actor=_actor(actor),
            )
        )
    if summary.appraised:
        console.print(f"appraised: {', '.join(summary.appraised)}")
    if summary.reappraised:
        console.print(f"re-appraised (new version): {', '.join(summary.reappraised)}")
    if summary.unchanged:
        console.print(f"unchanged: {len(summary.unchanged)} units")
    console.print(f"{summary.changed_scores} scores written")
    for refusal in summary.refused:
        errors.print(f"[red]refused:[/red] {escape(refusal)}", markup=True)
    if summary.refused:
        raise typer.Exit(1)


@app.command()
@friendly
def adjust(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    item: Annotated[str, typer.Option(help="Bonus or penalty item code of the framework (e.g. B1, B2, P1, P2)")],
    reason: Annotated[str, typer.Option(help="Why (required)")],
    revoke: Annotated[bool, typer.Option(help="Take the item back")] = False,
    year: Year = None,
    actor: As = None,
) -> None:
    """Grant (or revoke) a bonus or penalty of ±2 points to a unit, with its reason."""
    from cchc.flows.appraisal import adjust as do_adjust
    from cchc.flows.display import console

    summary = do_adjust(_db(), year, unit, item, reason, _actor(actor), None, revoke=revoke)
    console.print(summary.message)


@app.command()
@friendly
def publish(
    reason: Annotated[str, typer.Option(help="Why a new version is published (required for a correction)")] = "",
    year: Year = None,
    as_json: Json = False,
    actor: As = None,
) -> None:
    """Publish the results: index, class and rank in group; a correction publishes a new version."""
    from cchc.flows.display import console, print_json, print_ranking
    from cchc.flows.params import PublishParams
    from cchc.flows.publication import publish_flow, read_ranking

    with _flows():
        summary = publish_flow(PublishParams(year=year, reason=reason, database_url=_db(), actor=_actor(actor)))
    report = read_ranking(_db(), summary.year)
    if as_json:
        print_json(report.as_json())
        return
    if not summary.new_version:
        console.print(
            f"[dim]nothing changed since version {summary.version}: it stays the published one[/dim]", markup=True
        )
    print_ranking(report)


@app.command()
@friendly
def reopen(
    unit: Annotated[list[str], typer.Option("--unit", "-u")],
    reason: Annotated[str, typer.Option(help="Why the published result is corrected (required)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Reopen a published result for correction (the authority's leadership only; audited)."""
    from cchc.flows.selfassessment import change_units

    _report_moves(change_units(_db(), year, "reopen", unit, _actor(actor), None, reason=reason), "reopened")


@app.command()
@friendly
def ranking(
    year: Year = None,
    version: Annotated[
        int | None, typer.Option(**VERSIONS, help="A superseded version (default: the current one)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Show a published ranking (superseded versions stay readable)."""
    from cchc.flows.display import print_json, print_ranking
    from cchc.flows.publication import read_ranking

    report = read_ranking(_db(), year, version)
    print_json(report.as_json()) if as_json else print_ranking(report)


@app.command()
@friendly
def awards(year: Year = None, as_json: Json = False, actor: As = None) -> None:
    """Propose awards from the published results (never from self-scores) and apply the head rule."""
    from rich.table import Table

    from cchc.flows.awards import awards_flow
    from cchc.flows.display import console, print_json
    from cchc.flows.params import AwardsParams

    with _flows():
        summary = awards_flow(AwardsParams(year=year, database_url=_db(), actor=_actor(actor)))
    if as_json:
        from dataclasses import asdict

        print_json(asdict(summary))
        return
    table = Table(
        title=f"Khen thưởng {summary.year} (từ kết quả công bố lần {summary.publication_version})",
        title_justify="left",
    )
    for column in ("Nhóm", "Đơn vị", "Quy tắc", "Đề xuất", "Người đứng đầu"):
        table.add_column(column)
    for a in summary.awards:
        table.add_row(a.group, f"{a.name} ({a.unit})", a.rule, a.outcome, a.person or "")
    console.print(table)
    console.print(f"{summary.added} new proposals recorded")


@app.command("award-decision")
@friendly
def award_decision(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    rule: Annotated[str, typer.Option(help="The proposal's rule, as `cchc awards` lists it")],
    decision: Annotated[str, typer.Option(help="approved or rejected")],
    ref: Annotated[str, typer.Option(help="The decision's number and date, e.g. '125/QĐ-CAT ngày 30/9/2021'")],
    note: Annotated[str, typer.Option(help="Why (required when rejected)")] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    """Record the authority's decision on an award proposal; audited, and the unit is told."""
    from cchc.flows.awards import decide_award
    from cchc.flows.display import console

    changed = decide_award(_db(), year, unit, rule, decision, ref, note, _actor(actor))
    console.print(f"{unit} {rule}: {decision} by {ref}" + ("" if changed else " (already recorded)"))


# --- remediation ----------------------------------------------------------------------------------

remediation_app = typer.Typer(
    help="After publication: remediation plans of weak units and next year's breakthrough work.", no_args_is_help=True
)
app.add_typer(remediation_app, name="remediation")


@remediation_app.command("status")
@friendly
def remediation_status(year: Year = None, as_json: Json = False) -> None:
    """What each unit owes after publication, why, by when, and what it sent."""
    from dataclasses import asdict

    from rich.table import Table

    from cchc.flows.display import console, local_time, print_json
    from cchc.flows.remediation import read_follow_ups

    rows = read_follow_ups(_db(), year)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title_justify="left")
    for column in ("kind", "unit", "state", "due (before)", "why", "document"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.kind, f"{r.name} ({r.unit})", r.state, local_time(r.due_at), "; ".join(r.reasons), r.ref or "")
    console.print(table)
    for kind in ("remediation", "breakthrough"):
        mine = [r for r in rows if r.kind == kind and r.state != "waived"]
        if mine:
            got = sum(1 for r in mine if r.state == "received")
            console.print(f"{kind}: {got}/{len(mine)} received")


@remediation_app.command("submit")
@friendly
def remediation_submit(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    ref: Annotated[str, typer.Option(help="The unit's document, e.g. '12/KH-CAH ngày 05/4/2022'")],
    kind: Annotated[str, typer.Option(help="remediation (the plan) or breakthrough (next year's work)")] = (
        "remediation"
    ),
    note: Annotated[str, typer.Option(help="A short summary of the document")] = "",
    year: Year = None,
    actor: As = None,
) -> None:
    """Record a unit's remediation plan or breakthrough registration (the sweep stops chasing it)."""
    from cchc.flows.display import console
    from cchc.flows.remediation import receive_follow_up

    new = receive_follow_up(_db(), year, unit, kind, ref, note, _actor(actor))
    console.print(f"{unit}: {kind} document {ref} " + ("recorded" if new else "was already recorded"))


@remediation_app.command("require")
@friendly
def remediation_require(
    year: Year = None,
    rules: Annotated[Path | None, typer.Option(help="Rules file (default: config/remediation.yaml)")] = None,
    actor: As = None,
) -> None:
    """After a corrected publication: require what the current version requires, waive the rest."""
    from cchc.flows.display import console
    from cchc.flows.remediation import require_again

    summary = require_again(_db(), year, _actor(actor), str(rules) if rules else None)
    added = ", ".join(f"{len(u)} {kind}" for kind, u in summary.required.items() if u) or "nothing new"
    console.print(
        f"publication v{summary.publication_version}: {added} required; "
        f"{len(summary.updated)} updated; {len(summary.waived)} waived"
    )


# --- backups --------------------------------------------------------------------------------------


@app.command("backup")
@friendly
def backup_cmd(out: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz)")]) -> None:
    """Back up the database and the file store into one archive (a consistent snapshot)."""
    from cchc.flows.backup import backup
    from cchc.flows.display import console

    summary = backup(_db(), out)
    rows = sum(summary.tables.values())
    console.print(
        f"{out}: {rows} rows of {len(summary.tables)} tables and {summary.files} stored files "
        f"({summary.bytes / 1_048_576:.1f} MiB), schema {summary.revision}"
    )


@app.command("restore")
@friendly
def restore_cmd(archive: Annotated[Path, typer.Argument(help="An archive written by `cchc backup`")]) -> None:
    """Restore a backup into an empty database and the file store; the audit chain is verified."""
    from cchc.flows.backup import restore
    from cchc.flows.display import console

    summary = restore(_db(), archive)
    console.print(
        f"restored {sum(summary.tables.values())} rows and {summary.files} stored files from {archive}; "
        f"audit chain of {summary.audit_events} events verified"
    )


# --- audit ----------------------------------------------------------------------------------------


@audit_app.command("log")
@friendly
def audit_log(
    unit: Annotated[str, typer.Option("--unit", "-u", help="The unit's code")],
    year: Year = None,
    as_json: Json = False,
) -> None:
    """A unit's timeline: every transition, score change, adjustment and publication, oldest first."""
    from rich.table import Table

    from cchc.flows.auditlog import describe_change, unit_timeline
    from cchc.flows.display import console, local_time, print_json

    entries = unit_timeline(_db(), unit, year)
    if as_json:
        from dataclasses import asdict

        print_json([{**asdict(e), "at": e.at.isoformat()} for e in entries])
        return
    table = Table(title=f"Audit trail of {unit}" + (f" ({year})" if year else ""), title_justify="left")
    for column in ("#", "when (Asia/Ho_Chi_Minh)", "who", "what", "from → to", "reason / details"):
        table.add_column(column)
    for e in entries:
        move = f"{e.from_state or ''} → {e.to_state}" if e.to_state else ""
        parts = [e.reason] if e.reason else []
        for key in ("item", "points", "index", "class", "rank", "total", "added"):
            if key in e.payload:
                parts.append(f"{key} {e.payload[key]}")
        changed = e.payload.get("changed")
        if isinstance(changed, dict) and changed:
            parts.append(
                f"{len(changed)} changed: " + ", ".join(describe_change(c, v) for c, v in list(changed.items())[:4])
            )
            if len(changed) > 4:
                parts[-1] += ", …"
        details = "; ".join(parts)
        table.add_row(str(e.seq), local_time(e.at), e.actor, f"{e.kind}: {e.trigger}", move, details)
    console.print(table)
    if not entries:
        console.print("no events")


@audit_app.command("verify")
@friendly
def audit_verify() -> None:
    """Recompute the hash chain: an edited, deleted or inserted event is reported; exit 1 if any."""
    from cchc.flows.auditlog import verify_chain
    from cchc.flows.display import console, errors

    result = verify_chain(_db())
    if result.ok:
        console.print(f"audit trail intact: {result.events} events, head #{result.head_seq} {result.head_hash[:16]}…")
        return
    for problem in result.problems:
        errors.print(f"[red]broken:[/red] {escape(problem)}", markup=True)
    raise typer.Exit(1)


@app.command()
@friendly
def states(which: Annotated[str, typer.Argument(help="assessment or cycle")] = "assessment") -> None:
    """Print a state machine as a Mermaid diagram (generated from the transition table)."""
    from cchc.states.assessment import assessment_machine
    from cchc.states.cycle import cycle_machine

    machines = {"assessment": (assessment_machine, "Assessment of a unit"), "cycle": (cycle_machine, "Cycle")}
    if which not in machines:
        raise UserError(f"unknown machine {which!r}: choose assessment or cycle")
    factory, title = machines[which]
    sys.stdout.write(factory().mermaid(title))


@app.command()
@friendly
def demo(
    database_url: Annotated[
        str, typer.Option(help="Where the demo cycle is written (recreated)")
    ] = "sqlite:///./cchc-demo.db",
) -> None:
    """Run a whole cycle of the sample organisation through the Prefect flows, on a fresh SQLite file."""
    from cchc.flows.demo import run_demo
    from cchc.flows.runtime import local_flow_runs

    with local_flow_runs():
        run_demo(_db() or database_url)


# --- deadlines and notifications ------------------------------------------------------------------

notify_app = typer.Typer(help="E-mail notifications: the outbox.", no_args_is_help=True)
plan_app = typer.Typer(help="Units' own plans.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
app.add_typer(plan_app, name="plan")


def _moment(text: str, option: str) -> datetime:
    """A moment typed by a user: 31/08/2021, 31/08/2021 08:00, 2021-08-31 08:00 (local) or ISO with offset."""
    from zoneinfo import ZoneInfo

    from cchc.models.calendar import OutOfRange, parse_local_instant

    try:
        parsed: datetime | None = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = None
    try:  # an ISO moment with its offset, else a local one; either in UTC, within the years cycles run in
        aware = parsed is not None and parsed.tzinfo is not None
        return parse_local_instant(parsed if aware else text.strip(), ZoneInfo(get_settings().timezone))
    except OutOfRange as exc:
        raise UserError(f"{option}: {exc}") from None
    except ValueError:
        raise UserError(f"{option}: {text!r} is not a date or time (write 31/08/2021 or 31/08/2021 08:00)") from None


@app.command()
@friendly
def sweep(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Act as of this moment (preview a day)")] = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    """Queue the reminders and escalation steps that are due (each once, however often it runs)."""
    from cchc.flows.display import console, local_time, print_json
    from cchc.flows.params import SweepParams
    from cchc.flows.sweep import sweep_flow

    moment = _moment(as_of, "--as-of") if as_of else None
    with _flows():
        summary = sweep_flow(SweepParams(year=year, database_url=_db(), at=moment))
    if as_json:
        from dataclasses import asdict

        print_json(
            {
                **{k: v for k, v in asdict(summary).items() if k != "lines"},
                "lines": [asdict(line) for line in summary.lines],
            }
        )
        return
    from rich.table import Table

    console.print(
        f"sweep of the {summary.year} cycle as of {local_time(summary.as_of)}: {summary.items} open items, "
        f"{len(summary.lines)} steps due, {summary.messages} e-mails queued"
    )
    if summary.lines:
        table = Table(title_justify="left")
        for column in ("unit", "phase", "step", "deadline (before)", "to"):
            table.add_column(column)
        for line in summary.lines:
            to = ", ".join(line.to) + (" (no one of the roles: coordinators told)" if line.fallback else "")
            table.add_row(line.unit, line.phase, line.step, local_time(line.due_at), to)
        console.print(table)


@app.command()
@friendly
def extend(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    phase: Annotated[str, typer.Option(help="plan, submission, supplement, commitment, remediation or breakthrough")],
    until: Annotated[str, typer.Option(help="The new deadline: before this moment, e.g. 03/09/2021")],
    reason: Annotated[str, typer.Option(help="Why (required, audited)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Grant a unit a later deadline for one phase (who, why and the new date are audited)."""
    from cchc.flows.deadlines import extend as do_extend
    from cchc.flows.display import console, local_time

    done = do_extend(_db(), year, unit, phase, _moment(until, "--until"), reason, _actor(actor))
    console.print(f"{done.unit}: {done.phase} now due before {local_time(done.after)} (was {local_time(done.before)})")


@plan_app.command("register")
@friendly
def plan_register(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    ref: Annotated[str, typer.Option(help="The plan's number and date, e.g. '91/KH-CAH ngày 30/6/2021'")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Record that a unit sent its own plan (the sweep stops chasing it)."""
    from cchc.flows.deadlines import register_plan
    from cchc.flows.display import console

    new = register_plan(_db(), year, unit, ref, _actor(actor))
    console.print(f"{unit}: plan {ref} " + ("recorded" if new else "was already recorded"))


@notify_app.command("status")
@friendly
def notify_status(as_json: Json = False) -> None:
    """Messages by status, the oldest waiting one, and the dead-letter list (refused for good)."""
    from cchc.flows.display import console, local_time, print_json
    from cchc.flows.notify import outbox_status

    status = outbox_status(_db())
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


@notify_app.command("flush")
@friendly
def notify_flush() -> None:
    """Send every message that is due now (failures wait for their retry; 5xx go to the dead letters)."""
    from cchc.flows.display import console, errors
    from cchc.flows.notify import flush_flow
    from cchc.flows.params import FlushParams

    with _flows():
        summary = flush_flow(FlushParams(database_url=_db()))
    console.print(f"sent {summary.sent}, to retry later {summary.retry}, dead {summary.dead}")
    for error in summary.errors:
        errors.print(f"  {error}")
    if summary.retry and not summary.sent:
        raise typer.Exit(1)


@app.command()
@friendly
def serve(
    sweep_cron: Annotated[str, typer.Option(help="When the deadline sweep runs (cron, local time)")] = "0 7 * * *",
    flush_every: Annotated[int, typer.Option(min=1, help="Seconds between outbox flushes")] = 300,
) -> None:
    """Run the schedules: the deadline sweep every day and the outbox flush every few minutes. Needs a
    Prefect server (`prefect server start`, then PREFECT_API_URL); see prefect.yaml to deploy instead."""
    from cchc.flows.runtime import schedules

    schedules(_db(), sweep_cron, flush_every)


# --- heads' commitments ---------------------------------------------------------------------------

commitments_app = typer.Typer(help="Heads' responsibility commitments (bản cam kết trách nhiệm).", no_args_is_help=True)


# --- the dashboard --------------------------------------------------------------------------------

login_app = typer.Typer(help="Logins to the web dashboard.", no_args_is_help=True)
app.add_typer(login_app, name="login")


@app.command()
@friendly
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on")] = 8000,
) -> None:
    """Serve the coordinators' web dashboard: the cycle overview, units, the ranking, the audit trail."""
    from cchc.flows.display import console
    from cchc.flows.web.app import serve

    console.print(f"dashboard on http://{host}:{port}/ (Ctrl+C stops it)", markup=False)
    serve(_db(), host, port)


@login_app.command("set")
@friendly
def login_set(
    person: Annotated[str, typer.Option("--person", "-p", help="The person's code or e-mail")],
    actor: As = None,
) -> None:
    """Set a person's dashboard password: read from standard input, or asked for (hidden) on a terminal."""
    from cchc.flows.display import console
    from cchc.flows.web.auth import check_password, set_password

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password(password)
    new = set_password(_db(), person, password, _actor(actor))
    console.print(f"{person}: dashboard password {'set' if new else 'changed'}")


app.add_typer(commitments_app, name="commitments")


@commitments_app.command("prepare")
@friendly
def commitments_prepare(year: Year = None, actor: As = None) -> None:
    """Draft every head's commitment (HTML and Word, kept by SHA-256) and send the signing requests,
    top-down: a head is asked once the superior head has signed. Re-drafts what changed."""
    from cchc.flows.commitments import commitments_flow
    from cchc.flows.display import console
    from cchc.flows.params import CommitmentParams

    with _flows():
        summary = commitments_flow(CommitmentParams(year=year, database_url=_db(), actor=_actor(actor)))
    console.print(
        f"{summary.total} commitments: {len(summary.drafted)} drafted now, {len(summary.revised)} re-drafted "
        f"(to be signed again), {len(summary.sent)} sent for signing"
    )
    if summary.revised:
        console.print(f"re-drafted: {', '.join(summary.revised)}")


@commitments_app.command("sign")
@friendly
def commitments_sign(
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="The unit whose commitment is signed")] = None,
    token: Annotated[str | None, typer.Option(help="The token of the single-use signing link")] = None,
    year: Year = None,
    actor: As = None,
) -> None:
    """Sign as the unit's head (or as a deputy, where the unit has no head: the superior head is told)."""
    from cchc.flows.commitments import sign
    from cchc.flows.display import console

    done = sign(_db(), year, _actor(actor), unit=unit, token=token)
    capacity = {"head": "as its head", "acting": "as a deputy acting for its missing head"}.get(done.capacity, "")
    console.print(f"{done.unit}: commitment signed {capacity} (document SHA-256 {done.sha256[:16]}…)")
    if done.notified:
        console.print(f"reported to: {', '.join(done.notified)}")
    if done.sent:
        console.print(f"now sent for signing: {', '.join(done.sent)}")


@commitments_app.command("decline")
@friendly
def commitments_decline(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    reason: Annotated[str, typer.Option(help="Why (required)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Decline to sign, with a reason."""
    from cchc.flows.commitments import decline
    from cchc.flows.display import console

    decline(_db(), year, unit, reason, _actor(actor))
    console.print(f"{unit}: commitment declined")


@commitments_app.command("paper")
@friendly
def commitments_paper(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    scan: Annotated[Path, typer.Option(help="The scanned signed document (PDF or image)")],
    signed_on: Annotated[str, typer.Option(help="The date written on it, e.g. 09/03/2021")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Record a commitment signed on paper, with its scanned file (kept by SHA-256)."""
    from cchc.flows.commitments import record_paper
    from cchc.flows.display import console
    from cchc.models.calendar import parse_local_date

    try:
        day = parse_local_date(signed_on)
    except ValueError as exc:
        raise UserError(f"--signed-on: {exc}") from None
    done = record_paper(_db(), year, unit, scan, day, _actor(actor))
    console.print(f"{done.unit}: paper signature recorded with {scan.name}")
    if done.sent:
        console.print(f"now sent for signing: {', '.join(done.sent)}")


@commitments_app.command("status")
@friendly
def commitments_status(year: Year = None, as_json: Json = False) -> None:
    """Each unit's commitment: state, who signed and how, and who is late."""
    from dataclasses import asdict

    from rich.table import Table
    from rich.text import Text

    from cchc.flows.commitments import status
    from cchc.flows.display import console, local_time, print_json

    lines = status(_db(), year)
    if as_json:
        print_json([asdict(line) for line in lines])
        return
    table = Table(title_justify="left")
    for column in ("level", "unit", "state", "signed by", "as", "when", "due (before)", ""):
        table.add_column(column)
    for line in lines:
        table.add_row(
            str(line.level),
            f"{line.name} ({line.unit})",
            line.state,
            line.signed_by,
            line.capacity,
            local_time(line.signed_at),
            local_time(line.due),
            Text("late", style="red") if line.late else "",
        )
    console.print(table)
    late = [line.unit for line in lines if line.late]
    console.print(
        f"{sum(1 for line in lines if line.state == 'signed')}/{len(lines)} signed"
        + (f"; late: {', '.join(late)}" if late else "")
    )


@commitments_app.command("document")
@friendly
def commitments_document(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    out: Annotated[Path, typer.Option(help="Directory to write the .docx and .html into")] = Path("."),
    year: Year = None,
) -> None:
    """Write a unit's current commitment (Word and HTML) to print it."""
    from cchc.flows.commitments import document
    from cchc.flows.display import console

    documents = [document(_db(), year, unit, suffix) for suffix in (".docx", ".html")]
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in documents:
            (out / name).write_bytes(data)
            console.print(f"wrote {out / name}")
    except OSError as exc:
        raise UserError(f"--out: cannot write into {out} ({exc.strerror or exc})") from None


# --- workbooks, evidence, contributors ------------------------------------------------------------

appraisal_app = typer.Typer(help="The appraisal workbook.", no_args_is_help=True)
evidence_app = typer.Typer(help="The evidence registry (tài liệu kiểm chứng) and its files.", no_args_is_help=True)
contributors_app = typer.Typer(help="Teams and communes that supply a unit's sub-criteria.", no_args_is_help=True)
app.add_typer(appraisal_app, name="appraisal")
app.add_typer(evidence_app, name="evidence")
app.add_typer(contributors_app, name="contributors")


@sa_app.command("export")
@friendly
def sa_export(
    unit: Annotated[str, typer.Option("--unit", "-u", help="An assessed unit, or a team or commune contributing")],
    path: Annotated[Path, typer.Argument(help="The .xlsx file to write")],
    year: Year = None,
) -> None:
    """Write the Appendix IV workbook to fill in (codes, maximum, method; scores, evidence, notes)."""
    from cchc.flows.display import console
    from cchc.flows.workbooks import export_self_assessment

    done = export_self_assessment(_db(), year, unit, _xlsx(path))
    console.print(f"{done.path}: {done.rows} sub-criteria of {done.unit}")


def _xlsx(path: Path) -> Path:
    if path.suffix.lower() != ".xlsx":
        raise UserError(f"{path}: the workbook is written as .xlsx (give a name ending in .xlsx)")
    check_target(path)
    return path


@appraisal_app.command("export")
@friendly
def appraisal_export(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    path: Annotated[Path, typer.Argument(help="The .xlsx file to write")],
    year: Year = None,
) -> None:
    """Write a submitted unit's appraisal workbook: its scores and evidence, what the rules give and why;
    fill in your own scores and comments and take them in with `cchc appraise --scores FILE.xlsx`."""
    from cchc.flows.display import console
    from cchc.flows.workbooks import export_appraisal

    done = export_appraisal(_db(), year, unit, _xlsx(path))
    console.print(f"{done.path}: {done.rows} sub-criteria of {done.unit}")


@evidence_app.command("add")
@friendly
def evidence_add(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    ref: Annotated[str, typer.Option(help="The document, e.g. '91/KH-CAH ngày 30/6/2021'")],
    file: Annotated[Path, typer.Option(help="Its file (PDF, Word, Excel, image)")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Keep a document's file in the registry (by SHA-256; every version kept)."""
    from cchc.flows.display import console
    from cchc.flows.evidence import add_file

    done = add_file(_db(), year, unit, ref, file, _actor(actor))
    if done.new:
        console.print(f"{done.symbol}: file version {done.version} kept ({done.sha256[:16]}…)")
    else:
        console.print(f"{done.symbol}: the same file is already kept ({done.sha256[:16]}…)")


@evidence_app.command("list")
@friendly
def evidence_list(unit: Annotated[str, typer.Option("--unit", "-u")], year: Year = None, as_json: Json = False) -> None:
    """A unit's cited documents and their files."""
    from dataclasses import asdict

    from cchc.flows.display import console, print_json
    from cchc.flows.evidence import registry

    lines = registry(_db(), year, unit)
    if as_json:
        print_json([asdict(line) for line in lines])
        return
    for line in lines:
        files = "; ".join(f"{name} ({sha[:12]}…)" for name, sha, _, _ in line.files) or "no file yet"
        console.print(f"{line.symbol} ngày {line.issued_on:%d/%m/%Y} {line.title} — {files}")
    console.print(f"{len(lines)} documents")


@contributors_app.command("assign")
@friendly
def contributors_assign(
    unit: Annotated[str, typer.Option("--unit", "-u")],
    contributor: Annotated[str, typer.Option(help="A team or commune of the unit")],
    criteria: Annotated[str, typer.Option(help="Sub-criteria, comma-separated")],
    due: Annotated[str, typer.Option(help="The internal deadline, before the unit's own, e.g. 20/08/2021")],
    year: Year = None,
    actor: As = None,
) -> None:
    """Assign sub-criteria to a team or commune with an internal deadline (the sweep chases it)."""
    from cchc.flows.contributors import assign
    from cchc.flows.display import console, local_time

    line = assign(_db(), year, unit, contributor, criteria.split(","), _moment(due, "--due"), _actor(actor))
    console.print(
        f"{line.contributor} supplies {', '.join(line.criteria)} of {line.unit} before {local_time(line.due)}"
    )


@contributors_app.command("status")
@friendly
def contributors_status(
    unit: Annotated[str | None, typer.Option("--unit", "-u")] = None, year: Year = None, as_json: Json = False
) -> None:
    """What each team or commune was assigned, what it supplied, who is late."""
    from dataclasses import asdict

    from rich.table import Table
    from rich.text import Text

    from cchc.flows.contributors import status
    from cchc.flows.display import console, local_time, print_json

    lines = status(_db(), year, unit)
    if as_json:
        print_json([asdict(line) for line in lines])
        return
    table = Table(title_justify="left")
    for column in ("unit", "contributor", "sub-criteria", "supplied", "due (before)", "state", ""):
        table.add_column(column)
    for line in lines:
        table.add_row(
            line.unit,
            f"{line.contributor_name} ({line.contributor})",
            ", ".join(line.criteria),
            f"{line.supplied}/{len(line.criteria)}",
            local_time(line.due),
            line.state,
            Text("late", style="red") if line.late else "",
        )
    console.print(table)


# --- reports --------------------------------------------------------------------------------------

report_app = typer.Typer(
    help="Reports to print and send: the published ranking, the progress report for leadership.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

ReportFile = Annotated[
    Path, typer.Argument(help="The file to write: .xlsx (Excel) or .html (one page, charts included)")
]


@report_app.command("ranking")
@friendly
def report_ranking(
    out: ReportFile,
    year: Year = None,
    version: Annotated[
        int | None, typer.Option(**VERSIONS, help="A superseded version (default: the current one)")
    ] = None,
) -> None:
    """Write the published ranking: each group's ranking, statistics, field results and charts."""
    from cchc.flows.display import console
    from cchc.flows.reports import write_ranking

    written = write_ranking(_db(), year, version, out)
    console.print(f"wrote {written.path}: {written.summary}", soft_wrap=True, markup=False)


@report_app.command("progress")
@friendly
def report_progress(
    out: ReportFile,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            "-p",
            help="q1, q2, q3, q4, h1 (6 tháng đầu năm), h2, year: as of the end of that period of the cycle's "
            "year (up to now while it lasts); now: on demand (báo cáo đột xuất)",
        ),
    ],
    year: Year = None,
) -> None:
    """Write the progress report for leadership: where the cycle stands, who is late, what was escalated."""
    from cchc.flows.display import console
    from cchc.flows.reports import write_progress

    written = write_progress(_db(), year, period, out)
    console.print(f"wrote {written.path}: {written.summary}", soft_wrap=True, markup=False)


def main() -> None:
    """Entry point of the `cchc` script."""
    app()


__all__ = ["app", "main", "datetime"]
