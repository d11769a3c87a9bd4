"""A cycle's calendar as data: year, frameworks per group, evidence window and deadlines (local time)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cchc.models.datafile import DataFileError, Entry, as_bool, as_code, as_int, as_line, read_yaml


class Phase(StrEnum):
    """What a deadline asks for: a calendar's `deadlines:`, and every item the deadline sweep chases."""

    plan = "plan"  # the unit's own PAR plan
    submission = "submission"  # its self-assessment, reported
    supplement = "supplement"  # a supplement asked for at appraisal
    awards = "awards"  # award proposals
    remediation = "remediation"  # a remediation plan owed after publication
    breakthrough = "breakthrough"  # next year's breakthrough work, registered
    commitment = "commitment"  # the head's responsibility commitment, signed
    contribution = "contribution"  # a team's or commune's assigned sub-criteria (its own internal deadline)


class RecipientRole(StrEnum):
    """Whom a reminder or an escalation step goes to (a calendar's `chasing:`)."""

    focal = "focal"
    head = "head"
    deputy = "deputy"
    signer = "signer"  # whoever signs a commitment: its head, or a deputy acting for a missing head
    superior_head = "superior_head"
    coordinator = "coordinator"
    authority_leadership = "authority_leadership"


PHASE_DEADLINES = tuple(p.value for p in Phase if p is not Phase.contribution)
ORDERED_PHASES = ("plan", "submission", "supplement", "awards", "remediation")
# The roles a calendar may name (the sweep itself sends a commitment's "head" steps to its signer).
RECIPIENT_ROLES = tuple(r.value for r in RecipientRole if r is not RecipientRole.signer)


@dataclass(frozen=True)
class EscalationStep:
    """A rung of the escalation ladder: `after_days` past the deadline, tell these roles."""

    number: int
    after_days: int
    to: tuple[str, ...]


@dataclass(frozen=True)
class ChasePolicy:
    """How deadlines are chased: reminders some days before, then the escalation ladder after."""

    reminders: tuple[int, ...] = (7, 3, 1)
    remind: tuple[str, ...] = ("focal", "head")
    escalation: tuple[EscalationStep, ...] = (
        EscalationStep(1, 0, ("focal", "head")),
        EscalationStep(2, 2, ("superior_head", "coordinator")),
        EscalationStep(3, 5, ("authority_leadership",)),
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reminders": list(self.reminders),
            "remind": list(self.remind),
            "escalation": [{"after_days": e.after_days, "to": list(e.to)} for e in self.escalation],
        }


@dataclass(frozen=True)
class CommitmentPolicy:
    """Responsibility commitments of heads (bản cam kết trách nhiệm của người đứng đầu), 000_ item 1."""

    counterpart: str = "Bộ trưởng Bộ Công an"  # whom the authority's own head commits to
    depth: int = 2  # 0 = the authority only, 1 = and its assessed units, 2 = and their teams and communes
    targets: tuple[str, ...] = ()
    block_self_assessment: bool = False  # a unit reports its self-assessment only once its head has signed

    def as_dict(self) -> dict[str, Any]:
        return {
            "counterpart": self.counterpart,
            "depth": self.depth,
            "targets": list(self.targets),
            "block_self_assessment": self.block_self_assessment,
        }


@dataclass(frozen=True)
class Override:
    """A deadline of one phase for a group or a unit, differing from the cycle's."""

    phase: str
    due_at: datetime
    group: str | None = None
    unit: str | None = None
    reason: str = ""


def parse_local_date(value: Any) -> date:
    """A calendar date written 2021-08-31 or 31/08/2021."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (write 31/08/2021 or 2021-08-31)")


def parse_local_instant(value: Any, tz: ZoneInfo) -> datetime:
    """A deadline as a UTC instant. A date alone means before that day begins ("trước ngày 31/8")."""
    if isinstance(value, datetime):
        return _utc(value if value.tzinfo else value.replace(tzinfo=tz))
    if isinstance(value, date):
        return _utc(datetime.combine(value, time(0, 0), tz))
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"):
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
        return _utc(local)
    return _utc(datetime.combine(parse_local_date(text), time(0, 0), tz))


class OutOfRange(ValueError):
    """A moment outside the years cycles run in: the chasing ladder and the reports count days on from a
    deadline, and nothing must overflow (Python's dates end with the year 9999)."""


EARLIEST, LATEST = 1900, 2999


def _utc(local: datetime) -> datetime:
    """A moment in UTC, or OutOfRange when it falls outside the years 1900 to 2999."""
    if not EARLIEST <= local.year <= LATEST:
        raise OutOfRange(f"{local:%d/%m/%Y %H:%M} is outside the years {EARLIEST} to {LATEST}")
    return local.astimezone(UTC)


@dataclass(frozen=True)
class CycleCalendar:
    year: int
    authority: str
    title: str
    plan_ref: str
    evidence_from: date | None
    evidence_to: date | None
    frameworks: dict[str, str]  # group code → framework code
    deadlines: dict[str, datetime]  # phase → UTC instant
    chase: ChasePolicy = ChasePolicy()
    overrides: tuple[Override, ...] = ()
    commitments: CommitmentPolicy = CommitmentPolicy()
    sha256: str = ""
    path: str = ""


def parse_calendar(data: Any, tz: ZoneInfo, *, path: str = "<cycle>", sha256: str = "") -> CycleCalendar:
    problems: list[str] = []
    top = Entry(
        data,
        "",
        problems,
        (
            "year",
            "authority",
            "title",
            "plan_ref",
            "evidence_window",
            "frameworks",
            "deadlines",
            "chasing",
            "overrides",
            "commitments",
        ),
    )
    if not top.ok:
        raise DataFileError(path, problems)
    evidence_from = evidence_to = None
    if "evidence_window" in top.data:
        window = Entry(top.data["evidence_window"], "evidence_window", problems, ("from", "to"))
        evidence_from = window.get("from", parse_local_date, default=None)
        evidence_to = window.get("to", parse_local_date, default=None)
        if evidence_from and evidence_to and evidence_from > evidence_to:
            window.problem(f"'from' {evidence_from:%d/%m/%Y} is after 'to' {evidence_to:%d/%m/%Y}")
    frameworks: dict[str, str] = {}
    raw_frameworks = top.data.get("frameworks")
    if not isinstance(raw_frameworks, dict) or not raw_frameworks:
        top.problem("'frameworks' should map each group code to a framework code")
    else:
        for group, code in raw_frameworks.items():
            try:
                frameworks[as_code(group)] = as_code(code)
            except ValueError as exc:
                problems.append(f"frameworks › {group}: {exc}")
    deadlines: dict[str, datetime] = {}
    if "deadlines" in top.data:
        entry = Entry(top.data["deadlines"], "deadlines", problems, PHASE_DEADLINES)
        for phase in PHASE_DEADLINES:
            due = entry.get(phase, lambda v: parse_local_instant(v, tz), required=False, default=None)
            if due is not None:
                deadlines[phase] = due
        ordered = [deadlines[p] for p in ORDERED_PHASES if p in deadlines]
        if ordered != sorted(ordered):
            entry.problem("deadlines should follow the order plan, submission, supplement, awards, remediation")
    chase = parse_chase(top.data["chasing"], problems) if "chasing" in top.data else ChasePolicy()
    overrides = [_override(raw, i, tz, problems) for i, raw in enumerate(top.items("overrides", required=False), 1)]
    commitments = parse_commitments(top.data["commitments"], problems) if "commitments" in top.data else None
    calendar = CycleCalendar(
        year=top.get("year", as_int, default=0),
        authority=top.get("authority", as_code, default=""),
        title=top.line("title"),
        plan_ref=top.line("plan_ref", required=False),
        evidence_from=evidence_from,
        evidence_to=evidence_to,
        frameworks=frameworks,
        deadlines=deadlines,
        chase=chase,
        overrides=tuple(o for o in overrides if o is not None),
        commitments=commitments or CommitmentPolicy(),
        sha256=sha256,
        path=path,
    )
    if problems:
        raise DataFileError(path, problems)
    return calendar


def _days(value: Any) -> int:
    days = as_int(value)
    if days < 0:
        raise ValueError(f"{value} should be 0 or more days")
    return days


def _roles(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("should be a non-empty list of roles")
    roles = tuple(as_code(v) for v in value)
    unknown = [r for r in roles if r not in RECIPIENT_ROLES]
    if unknown:
        raise ValueError(f"unknown recipient {unknown[0]!r} (expected one of {', '.join(RECIPIENT_ROLES)})")
    return roles


def parse_chase(data: Any, problems: list[str]) -> ChasePolicy:
    """The `chasing:` part of a calendar: reminder days before, roles reminded, the escalation ladder."""
    entry = Entry(data, "chasing", problems, ("reminders", "remind", "escalation"))
    default = ChasePolicy()
    reminders = default.reminders
    if "reminders" in entry.data:
        raw = entry.data["reminders"]
        try:
            if not isinstance(raw, list):
                raise ValueError("should be a list of days, e.g. [7, 3, 1]")
            reminders = tuple(sorted({_days(v) for v in raw}, reverse=True))
            if 0 in reminders:
                raise ValueError("a reminder is sent at least 1 day before; the day itself is escalation step 1")
        except ValueError as exc:
            entry.problem(f"'reminders': {exc}")
    remind = entry.get("remind", _roles, required=False, default=default.remind)
    escalation = default.escalation
    if "escalation" in entry.data:
        steps = []
        for i, raw in enumerate(entry.items("escalation"), 1):
            step = Entry(raw, f"chasing › escalation #{i}", problems, ("after_days", "to"))
            steps.append(
                EscalationStep(i, step.get("after_days", _days, default=0), step.get("to", _roles, default=()))
            )
        if [s.after_days for s in steps] != sorted({s.after_days for s in steps}):
            entry.problem("the escalation steps should come later and later (after_days increasing)")
        escalation = tuple(steps)
    return ChasePolicy(reminders=reminders, remind=remind, escalation=escalation)


def parse_commitments(data: Any, problems: list[str]) -> CommitmentPolicy:
    """The `commitments:` part of a calendar."""
    entry = Entry(data, "commitments", problems, ("counterpart", "depth", "targets", "block_self_assessment"))
    default = CommitmentPolicy()
    depth = entry.get("depth", as_int, required=False, default=default.depth)
    if not 0 <= depth <= 8:
        entry.problem(f"'depth' {depth} should be between 0 (the authority only) and 8")
    targets = tuple(as_line(t) for t in entry.items("targets", required=False) if isinstance(t, str))
    block = entry.get("block_self_assessment", as_bool, required=False, default=False)
    counterpart = entry.line("counterpart", required=False, default=default.counterpart)
    return CommitmentPolicy(counterpart, depth, targets, block)


def _override(raw: Any, i: int, tz: ZoneInfo, problems: list[str]) -> Override | None:
    entry = Entry(raw, f"overrides #{i}", problems, ("phase", "group", "unit", "before", "reason"))
    phase = entry.get("phase", as_code, default="")
    if phase and phase not in PHASE_DEADLINES:
        entry.problem(f"unknown phase {phase!r} (expected one of {', '.join(PHASE_DEADLINES)})")
    group = entry.get("group", as_code, required=False, default=None)
    unit = entry.get("unit", as_code, required=False, default=None)
    if (group is None) == (unit is None):
        entry.problem("give either 'group' or 'unit'")
    due = entry.get("before", lambda v: parse_local_instant(v, tz), default=None)
    if not entry.ok or due is None:
        return None
    return Override(phase=phase, due_at=due, group=group, unit=unit, reason=entry.text("reason", required=False))


def load_calendar(path: Path, tz: ZoneInfo) -> CycleCalendar:
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return parse_calendar(read_yaml(path), tz, path=str(path), sha256=digest)


def calendar_path(config_dir: Path, year: int) -> Path:
    return config_dir / "cycles" / f"{year}.yaml"


_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _later(day: int, month: int, year: int) -> tuple[int, int, int]:
    """The same day and month in another year (29/02 becomes 28/02 where there is none)."""
    try:
        date(year, month, day)
    except ValueError:
        day = min(day, 28)
    return day, month, year


def shift_years(value: Any, years: int) -> Any:
    """A calendar value (a date, or text with dates like 31/08/2021 or 2021-08-31) `years` later; other
    values unchanged."""
    if isinstance(value, datetime | date):
        d, m, y = _later(value.day, value.month, value.year + years)
        return value.replace(year=y, month=m, day=d)
    if not isinstance(value, str):
        return value

    def dmy(match: re.Match[str]) -> str:
        d, m, y = _later(int(match[1]), int(match[2]), int(match[3]) + years)
        return f"{d:02d}/{m:02d}/{y}"

    def iso(match: re.Match[str]) -> str:
        d, m, y = _later(int(match[3]), int(match[2]), int(match[1]) + years)
        return f"{y}-{m:02d}-{d:02d}"

    return _ISO_DATE.sub(iso, _DAY_MONTH_YEAR.sub(dmy, value))


def carried_forward(data: Any, from_year: int, year: int, framework_exists: Callable[[str], bool]) -> Any:
    """Next year's calendar document from last year's: every date moved by the years between, the year
    named in the title and the commitment targets updated, each group's framework replaced by the one
    for the new year when it exists (cah-2021 → cah-2022) and kept otherwise; last year's plan
    reference and per-unit overrides (extensions) are dropped, they were that year's."""
    if not isinstance(data, dict):
        return data  # parse_calendar names the problem
    years = year - from_year
    out = dict(data)
    out["year"] = year
    out.pop("plan_ref", None)
    out.pop("overrides", None)
    if isinstance(out.get("title"), str):
        out["title"] = out["title"].replace(str(from_year), str(year))
    for key in ("evidence_window", "deadlines"):
        if isinstance(out.get(key), dict):
            out[key] = {k: shift_years(v, years) for k, v in out[key].items()}
    if isinstance(out.get("frameworks"), dict):
        frameworks = {}
        for group, code in out["frameworks"].items():
            text = str(code)
            renamed = text.replace(str(from_year), str(year))
            frameworks[group] = renamed if renamed != text and framework_exists(renamed) else text
        out["frameworks"] = frameworks
    commitments = out.get("commitments")
    if isinstance(commitments, dict) and isinstance(commitments.get("targets"), list):
        out["commitments"] = {
            **commitments,
            "targets": [
                t.replace(str(from_year), str(year)) if isinstance(t, str) else t for t in commitments["targets"]
            ],
        }
    return out
