"""A cycle's calendar as data: year, frameworks per group, evidence window and deadlines (local time)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from models.datafile import DataFileError, Entry, as_code, as_int, read_yaml

PHASE_DEADLINES = ("plan", "submission", "supplement", "awards", "remediation")


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
        local = value if value.tzinfo else value.replace(tzinfo=tz)
        return local.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tz).astimezone(UTC)
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            pass
    return datetime.combine(parse_local_date(text), time(0, 0), tz).astimezone(UTC)


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
    sha256: str = ""
    path: str = ""


def parse_calendar(data: Any, tz: ZoneInfo, *, path: str = "<cycle>", sha256: str = "") -> CycleCalendar:
    problems: list[str] = []
    top = Entry(
        data,
        "",
        problems,
        ("year", "authority", "title", "plan_ref", "evidence_window", "frameworks", "deadlines"),
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
        ordered = [deadlines[p] for p in PHASE_DEADLINES if p in deadlines]
        if ordered != sorted(ordered):
            entry.problem("deadlines should follow the order plan, submission, supplement, awards, remediation")
    calendar = CycleCalendar(
        year=top.get("year", as_int, default=0),
        authority=top.get("authority", as_code, default=""),
        title=top.line("title"),
        plan_ref=top.line("plan_ref", required=False),
        evidence_from=evidence_from,
        evidence_to=evidence_to,
        frameworks=frameworks,
        deadlines=deadlines,
        sha256=sha256,
        path=path,
    )
    if problems:
        raise DataFileError(path, problems)
    return calendar


def load_calendar(path: Path, tz: ZoneInfo) -> CycleCalendar:
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return parse_calendar(read_yaml(path), tz, path=str(path), sha256=digest)


def calendar_path(config_dir: Path, year: int) -> Path:
    return config_dir / "cycles" / f"{year}.yaml"
