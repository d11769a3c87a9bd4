"""The progress report for leadership (quarterly, 6-monthly, yearly or on demand): where the cycle stands
at the end of the period, what is overdue and how far it was chased, who reported late."""

from __future__ import annotations

import json
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import Deadlines, cycle_of
from cchc.flows.runtime import engine_for, now
from cchc.flows.status import CycleStatus, cycle_status
from cchc.flows.sweep import chase_items
from cchc.models.calendar import ChasePolicy
from cchc.models.chasing import days_late, ladder, policy_from
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.formats import local_time
from cchc.models.tables import Assessment, ChaseStep, Cycle, OrgUnit
from cchc.states.labels import CYCLE_PHASE_LABELS, ROLE_LABELS

PERIODS = ("q1", "q2", "q3", "q4", "h1", "h2", "year", "now")


PERIOD_LAST_MONTH = {"q1": 3, "q2": 6, "q3": 9, "q4": 12, "h1": 6, "h2": 12, "year": 12}


ROMAN = {"q1": "I", "q2": "II", "q3": "III", "q4": "IV"}


def check_period(text: str) -> str:
    period = text.strip().lower()
    if period not in PERIODS:
        raise UserError(f"--period: {text!r} is not a period (one of {', '.join(PERIODS)})")
    return period


def period_title(period: str, year: int) -> str:
    """The report's title: "Báo cáo quý III/2021", "Báo cáo 6 tháng đầu năm 2021", "Báo cáo đột xuất"…"""
    if period in ROMAN:
        return f"Báo cáo quý {ROMAN[period]}/{year}"
    if period == "h1":
        return f"Báo cáo 6 tháng đầu năm {year}"
    if period == "h2":
        return f"Báo cáo 6 tháng cuối năm {year}"
    if period == "year":
        return f"Báo cáo năm {year}"
    return "Báo cáo đột xuất"


def period_end(period: str, year: int, tz: ZoneInfo) -> datetime | None:
    """The last second of a period of a year in local time (30/09/2021 23:59:59 for q3); None for "now"."""
    month = PERIOD_LAST_MONTH.get(period)
    if month is None:
        return None
    return datetime(year, month, monthrange(year, month)[1], 23, 59, 59, tzinfo=tz)


@dataclass
class Chased:
    """What the deadline sweep sent for one item and one deadline, up to the report's moment."""

    unit: str
    name: str
    kind: str  # assessment | commitment | contribution | follow_up
    item_id: int
    phase: str
    due_at: datetime
    reminders: int = 0
    step: int = 0  # the highest rung of the escalation ladder reached (0: none yet)
    step_at: datetime | None = None
    recipients: int = 0  # how many people the highest rung went to
    to: tuple[str, ...] = ()  # the roles of the highest rung
    after_days: int | None = None


@dataclass
class OverdueItem:
    """Something a unit owes whose deadline had passed at the report's moment, and how far it was chased."""

    unit: str
    name: str
    phase: str
    due_at: datetime
    days_late: int
    chased: Chased | None


@dataclass
class LateUnit:
    """A unit that reported its self-assessment after its deadline."""

    unit: str
    name: str
    due_at: datetime | None
    submitted_at: datetime | None
    days_late: int


@dataclass
class ProgressReport:
    period: str
    title: str
    as_of: datetime
    period_end: datetime | None  # the as-of moment is the end of the period when it has passed
    status: CycleStatus
    rungs: int  # steps of the escalation ladder
    overdue: list[OverdueItem] = field(default_factory=list)
    late: list[LateUnit] = field(default_factory=list)
    escalated: list[tuple[Chased, bool]] = field(default_factory=list)  # (item, still open today)
    timezone: str = "Asia/Ho_Chi_Minh"

    @property
    def full_period(self) -> bool:
        return self.period_end is not None and self.as_of == self.period_end

    @property
    def as_of_text(self) -> str:
        if self.full_period:
            return f"hết ngày {local_time(self.as_of, self.timezone, with_time=False)}"
        return local_time(self.as_of, self.timezone)


def _chased(session: Session, cycle: Cycle, policy: ChasePolicy, as_of: datetime) -> dict[tuple[Any, ...], Chased]:
    """Every item the sweep chased by `as_of`, per (kind, item, phase, deadline): one query."""
    found: dict[tuple[Any, ...], Chased] = {}
    rows = session.execute(
        select(
            col(ChaseStep.item_kind),
            col(ChaseStep.item_id),
            col(ChaseStep.phase),
            col(ChaseStep.due_at),
            col(ChaseStep.step),
            col(ChaseStep.fired_at),
            col(ChaseStep.recipients),
            col(ChaseStep.unit_code),
            col(OrgUnit.name),
        )
        .outerjoin(OrgUnit, col(OrgUnit.code) == col(ChaseStep.unit_code))
        .where(col(ChaseStep.cycle_id) == cycle.id, col(ChaseStep.fired_at) <= as_of)
        .order_by(col(ChaseStep.fired_at), col(ChaseStep.id))
    ).tuples()
    for kind, item_id, phase, due, key, fired, recipients, unit, name in rows:
        record = found.setdefault((kind, item_id, phase, due), Chased(unit, name or unit, kind, item_id, phase, due))
        step = next((s for s in ladder(policy, due) if s.key == key), None)
        if step is None:  # a step of a ladder the policy no longer has: its key still says which rung
            kind_of, _, number = key.partition("-")
            if kind_of != "escalate":
                record.reminders += 1
            elif number.isdigit() and int(number) > record.step:
                record.step, record.step_at, record.recipients, record.to = int(number), fired, recipients, ()
            continue
        if step.kind == "reminder":
            record.reminders += 1
        elif step.number > record.step:
            record.step, record.step_at, record.recipients = step.number, fired, recipients
            record.to, record.after_days = step.to, step.days
    return found


def read_progress(
    database_url: str | None, year: int | None, period: str, at: datetime | None = None
) -> ProgressReport:
    """Where the cycle stood at the end of a period (or now): its status, what was overdue and how far
    it had been escalated, who reported late. A period that has not ended yet is reported up to now."""
    period = check_period(period)
    timezone = get_settings().timezone
    moment = at or now()
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        end = period_end(period, cycle.year, ZoneInfo(timezone))
        as_of = end if end is not None and end <= moment else moment
        policy = policy_from(json.loads(cycle.chase_policy or "{}"))
        chased = _chased(session, cycle, policy, as_of)
        items = [i for i in chase_items(session, cycle) if i.due_at <= as_of]
        units = {
            code: (uid, name, group, submitted_at)
            for uid, code, name, group, submitted_at in session.execute(
                select(
                    col(OrgUnit.id),
                    col(OrgUnit.code),
                    col(OrgUnit.name),
                    col(Assessment.group_code),
                    col(Assessment.submitted_at),
                )
                .join(Assessment, col(Assessment.unit_id) == col(OrgUnit.id))
                .where(col(Assessment.cycle_id) == cycle.id)
            ).tuples()
        }
        submission = Deadlines(session, cycle, "submission")
        year_of = cycle.year
    status = cycle_status(database_url, year_of, as_of)
    report = ProgressReport(
        period=period,
        title=period_title(period, year_of),
        as_of=as_of,
        period_end=end,
        status=status,
        rungs=len(policy.escalation),
        timezone=timezone,
    )
    report.overdue = sorted(
        (
            OverdueItem(
                i.unit_code,
                i.unit_name,
                i.phase,
                i.due_at,
                days_late(i.due_at, as_of),
                chased.get((i.kind, i.item_id, i.phase, i.due_at)),
            )
            for i in items
        ),
        key=lambda o: (o.due_at, o.unit, o.phase),
    )
    for code in status.late:
        uid, name, group, submitted_at = units[code]
        due = submission.due(uid or 0, group)
        late_by = days_late(due, submitted_at) if due and submitted_at else 0
        report.late.append(LateUnit(code, name, due, submitted_at, late_by))
    still_open = {(i.kind, i.item_id, i.phase) for i in items}
    report.escalated = sorted(
        ((c, (c.kind, c.item_id, c.phase) in still_open) for c in chased.values() if c.step > 0),
        key=lambda e: (not e[1], -e[0].step, e[0].unit, e[0].phase, e[0].due_at),
    )
    return report


def rung_text(chased: Chased | None, rungs: int) -> str:
    """How far an item was chased: "Bậc 2/3 (quá hạn 2 ngày): thủ trưởng cấp trên, bộ phận điều phối"."""
    if chased is None or chased.step == 0:
        return "Đã nhắc trước hạn" if chased is not None and chased.reminders else "Chưa đôn đốc"
    text = f"Bậc {chased.step}/{max(rungs, chased.step)}"
    if chased.after_days:
        text += f" (quá hạn {chased.after_days} ngày)"
    elif chased.after_days == 0:
        text += " (ngày đến hạn)"
    if chased.to:
        text += ": " + ", ".join(ROLE_LABELS.get(role, role) for role in chased.to)
    return text


def progress_lines(report: ProgressReport) -> list[str]:
    """What the title says more: which cycle, and up to when."""
    return [f"Tiến độ: {report.status.title}", f"Số liệu tính đến {report.as_of_text} (giờ Việt Nam)"]


def overview_rows(report: ProgressReport) -> list[tuple[str, str | int]]:
    """The overview's figures, label and value."""
    status = report.status
    signed = status.commitments.get("signed", 0)
    return [
        ("Giai đoạn hiện nay", CYCLE_PHASE_LABELS.get(status.phase, status.phase)),
        ("Số đơn vị được đánh giá", status.total),
        ("Chưa báo cáo tự đánh giá, đã quá hạn", len(status.overdue)),
        ("Báo cáo tự đánh giá muộn", len(status.late)),
        ("Việc quá hạn (mọi loại)", len(report.overdue)),
        ("Việc đã phải đôn đốc sau hạn", len(report.escalated)),
        ("Bản cam kết trách nhiệm đã ký", signed),
        ("Bản cam kết trách nhiệm chưa ký", status.unsigned_commitments),
        (
            "Kết quả đã công bố",
            f"lần {status.published_version}" if status.published_version else "chưa công bố",
        ),
    ]
