"""What each page shows, read through the functions that own the figures, as titled tables.

Every read is set-based: a page of a cycle of 10,000 units runs a fixed number of queries (one per table
it reads), never one per unit. The dashboard checked the database's schema when it started, so its own
reads take the engine as it is (`get_engine`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, cast, func, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows import commitments as commitment_flows
from cchc.flows.auditlog import describe_change, unit_timeline
from cchc.flows.evidence import registry
from cchc.flows.lookup import current_publication, cycle_of, unit_assessment
from cchc.flows.publication import class_bands
from cchc.flows.reports import (
    COMMITMENT_LABELS,
    CYCLE_PHASE_LABELS,
    RANKING_COLUMNS,
    STATE_LABELS,
    Chased,
    group_fields,
    ranking_title,
    ranking_values,
    read_ranking_document,
    rung_text,
    task_label,
)
from cchc.flows.status import cycle_status
from cchc.flows.sweep import ChaseItem, chase_items
from cchc.flows.web.tables import Cell, Table, cell_text
from cchc.models.calendar import ChasePolicy
from cchc.models.charts import Series, bar_chart, grouped_bar_chart
from cchc.models.chasing import days_late, days_left, policy_from
from cchc.models.db import get_engine, read_session
from cchc.models.formats import vn_number, vn_signed
from cchc.models.tables import Assessment, AuditEvent, ChaseStep, Criterion, Cycle, Result, UnitGroup
from cchc.models.types import from_hundredths
from cchc.notifications import outbox
from cchc.states.assessment import AssessmentState

Level = tuple[int, int]  # reminders sent, the highest rung of the escalation ladder reached (0: none)

SHOWN = 200  # rows of a long table shown on a page (its export has them all)
PAGE_SIZE = 50  # audit events per page
OUTBOX_LABELS = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "dead": "Không gửi được"}
TRIGGER_LABELS = {
    "begin_self_assessment": "Bắt đầu tự đánh giá",
    "submit": "Báo cáo tự đánh giá",
    "withdraw": "Rút lại báo cáo",
    "appraise": "Thẩm định",
    "reappraise": "Thẩm định lại",
    "request_supplement": "Yêu cầu bổ sung, giải trình",
    "submit_supplement": "Nộp bổ sung",
    "skip_supplement": "Không cần bổ sung",
    "close_supplement": "Đóng yêu cầu bổ sung",
    "publish": "Công bố kết quả",
    "reopen": "Mở lại kết quả",
    "award": "Khen thưởng",
    "remind": "Nhắc hạn",
    "escalate": "Đôn đốc quá hạn",
    "sweep": "Chạy rà soát hạn",
    "sign": "Ký cam kết",
    "send": "Gửi cam kết để ký",
    "decline": "Từ chối ký cam kết",
    "record_paper": "Ghi nhận cam kết ký giấy",
    "revise": "Soạn lại cam kết",
    "draft": "Soạn cam kết",
    "adjust": "Cộng điểm thưởng, trừ điểm",
    "revoke_adjustment": "Thu hồi điểm thưởng, điểm trừ",
    "extend": "Gia hạn",
    "open": "Mở kỳ đánh giá",
    "begin_appraisal": "Bắt đầu thẩm định",
    "begin_awards": "Bắt đầu xét khen thưởng",
    "begin_remediation": "Bắt đầu khắc phục hạn chế",
    "close": "Kết thúc kỳ đánh giá",
    "self_assessment_import": "Nhập kết quả tự đánh giá",
    "plan_received": "Nhận kế hoạch CCHC của đơn vị",
    "assign": "Giao tiêu chí cho đơn vị cung cấp",
    "supplied": "Đơn vị cung cấp đã nộp",
    "add_file": "Lưu tệp tài liệu kiểm chứng",
    "propose_award": "Đề xuất khen thưởng",
    "decide_award": "Quyết định khen thưởng",
    "require": "Yêu cầu khắc phục, đăng ký đột phá",
    "waive": "Miễn yêu cầu khắc phục",
    "receive": "Nhận văn bản khắc phục, đột phá",
    "import_results": "Nhập kết quả năm trước",
    "org_load": "Cập nhật tổ chức",
    "set_login": "Đặt mật khẩu đăng nhập",
}
FIELD_TOTALS_SQL = text(  # TOTALS_SQL of flows/publication.py, for one assessment, with what is appraised yet
    "SELECT c.field_code, "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE c.max_points END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.self_points, 0) END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.appraised_points, 0) END), "
    "COUNT(s.appraised_points) "
    "FROM score s JOIN criterion c ON c.id = s.criterion_id "
    "WHERE s.assessment_id = :assessment GROUP BY c.field_code"
)


def trigger_label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger)


def cycle_years(database_url: str | None) -> list[int]:
    """The years of the cycles run here, newest first (for the year menu)."""
    with read_session(get_engine(database_url)) as session:
        return list(
            session.execute(
                select(col(Cycle.year)).where(col(Cycle.imported).is_(False)).order_by(col(Cycle.year).desc())
            ).scalars()
        )


# --- the overview ---------------------------------------------------------------------------------


@dataclass
class Overview:
    year: int
    title: str
    phase: str
    as_of: datetime
    figures: list[tuple[str, str]]
    oldest_pending: datetime | None
    chart: str | None
    tables: list[Table]


def overview(database_url: str | None, year: int | None, at: datetime, *, every_row: bool = False) -> Overview:
    """Where a cycle stands at `at`: units per state per group (`cycle_status`), deadlines ahead, every open
    item past its deadline (the sweep's `chase_items`) with how far it was escalated (one aggregate of
    `chase_step`), unsigned commitments, the outbox. A fixed number of queries, whatever the cycle's size.
    The rows of a long table past those a page shows are built only for an export (`every_row`)."""
    status = cycle_status(database_url, year, at)
    with read_session(get_engine(database_url)) as session:
        cycle = cycle_of(session, status.year)
        policy = policy_from(json.loads(cycle.chase_policy or "{}"))
        items = sorted(
            (i for i in chase_items(session, cycle) if i.due_at <= at), key=lambda i: (i.due_at, i.unit_code, i.phase)
        )
        shown = items if every_row else items[:SHOWN]
        levels = chase_levels(session, cycle.id or 0, at, None if every_row else {i.item_id for i in shown})
        mail = outbox.status(session)
    rungs = len(policy.escalation)
    states = [s.value for s in AssessmentState]
    groups = list(status.counts)
    by_state = Table(
        "states",
        "Số đơn vị theo trạng thái, từng nhóm",
        ["Nhóm", *(STATE_LABELS.get(s, s) for s in states), "Tổng"],
    )
    for group in groups:
        counts = status.counts[group]
        by_state.rows.append(
            [status.groups.get(group, group), *(counts.get(s, 0) for s in states), sum(counts.values())]
        )
    if len(groups) > 1:
        by_state.rows.append(
            ["Tổng cộng", *(sum(status.counts[g].get(s, 0) for g in groups) for s in states), status.total]
        )
    deadlines = Table("deadlines", "Hạn sắp tới", ["Việc phải làm", "Hạn (trước)", "Còn lại (ngày)"])
    for phase, due in status.deadlines.items():
        if due > at:
            deadlines.rows.append([task_label(phase), due, days_left(due, at)])
    overdue = Table(
        "overdue",
        "Việc quá hạn và mức đôn đốc",
        ["Mã đơn vị", "Tên đơn vị", "Việc phải làm", "Hạn (trước)", "Số ngày quá hạn", "Bậc đôn đốc", "Đôn đốc"],
        unit_column=0,
        limit=SHOWN,
    )
    rung_texts: dict[tuple[bool, int], str] = {}  # the same few texts for thousands of items
    tasks = {phase: task_label(phase) for phase in {i.phase for i in shown}}
    for item in shown:
        reminders, step = levels.get((item.kind, item.item_id, item.phase, item.due_at), (0, 0))
        chased = (reminders > 0, step)
        if chased not in rung_texts:
            rung_texts[chased] = rung_text(_chased(item, policy, reminders, step) if reminders or step else None, rungs)
        overdue.add(
            [
                item.unit_code,
                item.unit_name,
                tasks[item.phase],
                item.due_at,
                days_late(item.due_at, at),
                step,
                rung_texts[chased],
            ],
            item.unit_code if item.kind == "assessment" or item.kind == "follow_up" else None,
        )
    overdue.total = len(items)
    unsigned = Table(
        "commitments",
        "Cam kết trách nhiệm chưa ký",
        ["Cấp", "Mã đơn vị", "Tên đơn vị", "Trạng thái", "Hạn (trước)", "Quá hạn"],
        unit_column=1,
        limit=SHOWN,
    )
    if status.unsigned_commitments:
        lines = [line for line in commitment_flows.status(database_url, status.year, at) if line.state != "signed"]
        unsigned.total = len(lines)
        for line in lines if every_row else lines[:SHOWN]:
            unsigned.add(
                [line.level, line.unit, line.name, COMMITMENT_LABELS.get(line.state, line.state), line.due, line.late],
                line.unit if line.level == 1 else None,
            )
    mailbox = Table("outbox", "Hộp thư đi", ["Trạng thái", "Số thư"])
    for state in ("pending", "sending", "sent", "dead"):
        mailbox.rows.append([OUTBOX_LABELS[state], mail.counts.get(state, 0)])
    dead = Table(
        "dead",
        "Thư không gửi được",
        ["Mã thư", "Loại thư", "Người nhận", "Mã đơn vị", "Số lần gửi", "Lỗi", "Tạo lúc"],
        limit=SHOWN,
    )
    for d in mail.dead:
        dead.rows.append(
            [d["id"], d["kind"], d["to"], d["unit"], d["attempts"], d["error"], datetime.fromisoformat(d["created_at"])]
        )
    chart = (
        grouped_bar_chart(
            "Số đơn vị theo trạng thái, từng nhóm",
            [STATE_LABELS.get(s, s) for s in states],
            [Series(status.groups.get(g, g), tuple(status.counts[g].get(s, 0) for s in states)) for g in groups],
            axis_label="Số đơn vị",
            places=0,
        )
        if groups
        else None
    )
    figures = [
        ("Giai đoạn hiện nay", CYCLE_PHASE_LABELS.get(status.phase, status.phase)),
        ("Số đơn vị được đánh giá", str(status.total)),
        ("Chưa báo cáo tự đánh giá, đã quá hạn", str(len(status.overdue))),
        ("Báo cáo tự đánh giá muộn", str(len(status.late))),
        ("Việc quá hạn (mọi loại)", str(len(items))),
        ("Bản cam kết trách nhiệm đã ký", str(status.commitments.get("signed", 0))),
        ("Bản cam kết trách nhiệm chưa ký", str(status.unsigned_commitments)),
        ("Thư chờ gửi", str(mail.counts.get("pending", 0) + mail.counts.get("sending", 0))),
        ("Thư không gửi được", str(mail.counts.get("dead", 0))),
        ("Kết quả đã công bố", f"lần {status.published_version}" if status.published_version else "chưa công bố"),
    ]
    return Overview(
        year=status.year,
        title=status.title,
        phase=CYCLE_PHASE_LABELS.get(status.phase, status.phase),
        as_of=at,
        figures=figures,
        oldest_pending=mail.oldest_pending,
        chart=chart,
        tables=[by_state, deadlines, overdue, unsigned, mailbox, dead],
    )


def chase_levels(
    session: Session, cycle_id: int, as_of: datetime, item_ids: Collection[int] | None = None
) -> dict[tuple[str, int, str, datetime], Level]:
    """How far the sweep chased each item by `as_of` (only the items of `item_ids`, if given): reminders sent
    and the highest rung reached. One aggregate over `chase_step`, keyed like the sweep's steps: kind, item,
    phase, deadline."""
    step = col(ChaseStep.step)
    escalation = step.like("escalate-%")
    rows = session.execute(
        select(
            col(ChaseStep.item_kind),
            col(ChaseStep.item_id),
            col(ChaseStep.phase),
            col(ChaseStep.due_at),
            func.sum(case((step.like("remind-%"), 1), else_=0)),
            func.max(case((escalation, cast(func.substr(step, len("escalate-") + 1), Integer)), else_=0)),
        )
        .where(
            col(ChaseStep.cycle_id) == cycle_id,
            col(ChaseStep.fired_at) <= as_of,
            *([col(ChaseStep.item_id).in_(sorted(item_ids))] if item_ids is not None else []),
        )
        .group_by(col(ChaseStep.item_kind), col(ChaseStep.item_id), col(ChaseStep.phase), col(ChaseStep.due_at))
    ).tuples()
    return {(kind, item, phase, due): (int(n or 0), int(top or 0)) for kind, item, phase, due, n, top in rows}


def _chased(item: ChaseItem, policy: ChasePolicy, reminders: int, step: int) -> Chased:
    """How far an item was chased, as the progress report tells it (its rung's roles and days from the policy)."""
    rung = next((e for e in policy.escalation if e.number == step), None)
    return Chased(
        unit=item.unit_code,
        name=item.unit_name,
        kind=item.kind,
        item_id=item.item_id,
        phase=item.phase,
        due_at=item.due_at,
        reminders=reminders,
        step=step,
        to=rung.to if rung else (),
        after_days=rung.after_days if rung else None,
    )


# --- a unit ---------------------------------------------------------------------------------------


@dataclass
class UnitPage:
    year: int
    code: str
    name: str
    state: str
    facts: list[tuple[str, str]]
    tables: list[Table]

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def unit_page(database_url: str | None, year: int | None, code: str, timezone: str) -> UnitPage:
    """A unit's state, its self and appraised points per field, its evidence and its timeline."""
    with read_session(get_engine(database_url)) as session:
        cycle = cycle_of(session, year)
        assessment, unit = unit_assessment(session, cycle, code)
        group = session.get(UnitGroup, assessment.group_code)
        fields = _field_table(session, assessment)
        facts = _unit_facts(session, cycle, assessment, group.name if group else assessment.group_code, timezone)
        cycle_year, name, state = cycle.year, unit.name, assessment.state
    evidence = Table(
        "evidence", "Tài liệu kiểm chứng", ["Ký hiệu", "Ngày ban hành", "Trích yếu", "Trích dẫn bởi", "Tệp đã lưu"]
    )
    for line in registry(database_url, cycle_year, code):
        files = "; ".join(f"{name} ({sha[:12]}…)" for name, sha, _, _ in line.files)
        evidence.rows.append([line.symbol, line.issued_on, line.title, line.cited_by, files or "chưa có tệp"])
    timeline = Table(
        "timeline",
        "Diễn biến (nhật ký kiểm toán)",
        [
            "Số",
            "Thời điểm",
            "Người thực hiện",
            "Sự kiện",
            "Mã sự kiện",
            "Từ trạng thái",
            "Đến trạng thái",
            "Lý do",
            "Chi tiết",
        ],
    )
    for e in unit_timeline(database_url, code, cycle_year):  # oldest first: the newest last
        timeline.rows.append(
            [
                e.seq,
                e.at,
                e.actor,
                trigger_label(e.trigger),
                e.trigger,
                STATE_LABELS.get(e.from_state or "", e.from_state),
                STATE_LABELS.get(e.to_state or "", e.to_state),
                e.reason,
                payload_text(e.payload),
            ]
        )
    return UnitPage(cycle_year, code, name, state, facts, [fields, evidence, timeline])


def _field_table(session: Session, assessment: Assessment) -> Table:
    names = dict(
        session.execute(
            select(col(Criterion.code), col(Criterion.name))
            .where(col(Criterion.framework_id) == assessment.framework_id, col(Criterion.level) == "field")
            .order_by(col(Criterion.position))
        )
        .tuples()
        .all()
    )
    sums = {
        row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
        for row in session.execute(FIELD_TOTALS_SQL, {"assessment": assessment.id})
    }
    table = Table(
        "fields",
        "Điểm theo lĩnh vực: tự chấm và thẩm định",
        ["Lĩnh vực", "Tên lĩnh vực", "Điểm tối đa áp dụng", "Tự chấm", "Thẩm định", "Chênh lệch (thẩm định − tự chấm)"],
    )
    totals = [0, 0, 0, 0]
    for code in [*names, *sorted(set(sums) - set(names))]:
        maximum, self_points, appraised, counted = sums.get(code, (0, 0, 0, 0))
        totals = [totals[0] + maximum, totals[1] + self_points, totals[2] + appraised, totals[3] + counted]
        table.rows.append(_field_row(code, names.get(code, ""), maximum, self_points, appraised, counted))
    table.rows.append(_field_row("Tổng", "", *totals))
    return table


def _field_row(code: str, name: str, maximum: int, self_points: int, appraised: int, counted: int) -> list[Cell]:
    shown = from_hundredths(appraised) if counted else None
    return [
        code,
        name,
        from_hundredths(maximum),
        from_hundredths(self_points),
        shown,
        vn_signed(shown - from_hundredths(self_points)) if shown is not None else None,
    ]


def _unit_facts(
    session: Session, cycle: Cycle, assessment: Assessment, group: str, timezone: str
) -> list[tuple[str, str]]:
    def when(value: datetime | None) -> str:
        return cell_text(value, timezone)

    facts = [("Nhóm", group), ("Trạng thái", STATE_LABELS.get(assessment.state, assessment.state))]
    facts.append(
        (
            "Kế hoạch CCHC của đơn vị",
            f"{assessment.plan_ref} (nhận {when(assessment.plan_received_at)})"
            if assessment.plan_received_at
            else "chưa nhận",
        )
    )
    facts.append(("Báo cáo tự đánh giá", when(assessment.submitted_at) if assessment.submitted_at else "chưa báo cáo"))
    if assessment.appraisal_version:
        facts.append(("Thẩm định", f"lần {assessment.appraisal_version}, {when(assessment.appraised_at)}"))
    if assessment.state == AssessmentState.supplement_requested:
        criteria = f" (tiêu chí {assessment.supplement_criteria})" if assessment.supplement_criteria else ""
        facts.append(
            (
                "Yêu cầu bổ sung",
                f"{assessment.supplement_note}{criteria}, hạn trước {when(assessment.supplement_due_at)}",
            )
        )
    publication = current_publication(session, cycle)
    if publication is not None:
        result = session.execute(
            select(col(Result.index_pct), col(Result.class_code), col(Result.rank)).where(
                col(Result.publication_id) == publication.id, col(Result.assessment_id) == assessment.id
            )
        ).first()
        if result is not None:
            names = {b.code: b.name for b in class_bands(session, cycle).get(assessment.group_code, ())}
            facts.append(
                (
                    f"Kết quả công bố lần {publication.version}",
                    f"{vn_number(result[0])} % — {names.get(result[1], result[1])} — hạng {result[2]} trong nhóm",
                )
            )
    return facts


def payload_text(payload: dict[str, Any]) -> str:
    """An event's details in one line: the criteria an appraisal changed, and the short facts."""
    parts: list[str] = []
    for key, value in payload.items():
        if key == "changed" and isinstance(value, dict):
            changes = [describe_change(code, v, _points) for code, v in list(value.items())[:6]]
            more = ", …" if len(value) > 6 else ""
            parts.append(f"{len(value)} tiêu chí thay đổi" + (f": {', '.join(changes)}{more}" if changes else ""))
        elif isinstance(value, str | int | float | bool) or value is None:
            parts.append(f"{key}: {value}")
        elif isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            parts.append(f"{key}: {', '.join(str(v) for v in value[:8])}" + (", …" if len(value) > 8 else ""))
    return "; ".join(parts)


def _points(value: Any) -> str:
    try:
        return vn_number(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


# --- the audit trail ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    unit: str = ""
    actor: str = ""
    trigger: str = ""
    start: date | None = None  # from this day (local time)
    end: date | None = None  # to this day, inclusive

    def conditions(self, timezone: str) -> list[ColumnElement[bool]]:
        zone = ZoneInfo(timezone)
        found: list[ColumnElement[bool]] = []
        if self.unit:
            found.append(col(AuditEvent.unit_code) == self.unit)
        if self.actor:
            found.append(col(AuditEvent.actor) == self.actor)
        if self.trigger:
            found.append(col(AuditEvent.trigger) == self.trigger)
        if self.start:
            found.append(col(AuditEvent.at) >= datetime.combine(self.start, time(0, 0), zone))
        if self.end:
            found.append(col(AuditEvent.at) < datetime.combine(self.end + timedelta(days=1), time(0, 0), zone))
        return found


@dataclass
class AuditPage:
    table: Table
    total: int
    page: int
    pages: int


def audit_events(
    database_url: str | None, wanted: AuditFilter, timezone: str, page: int = 1, page_size: int | None = PAGE_SIZE
) -> AuditPage:
    """The events that match, newest first: one page of them (or all, for an export) and how many match."""
    conditions = wanted.conditions(timezone)
    with read_session(get_engine(database_url)) as session:
        total = int(session.execute(select(func.count()).select_from(AuditEvent).where(*conditions)).scalar_one())
        pages = max(1, -(-total // page_size)) if page_size else 1
        page = min(max(1, page), pages)
        query = select(AuditEvent).where(*conditions).order_by(col(AuditEvent.seq).desc())
        if page_size:
            query = query.offset((page - 1) * page_size).limit(page_size)
        table = Table(
            "events",
            "Sự kiện trong nhật ký kiểm toán",
            [
                "Số",
                "Thời điểm",
                "Người thực hiện",
                "Sự kiện",
                "Mã sự kiện",
                "Năm",
                "Mã đơn vị",
                "Từ trạng thái",
                "Đến trạng thái",
                "Lý do",
                "Chi tiết",
            ],
            unit_column=6,
        )
        for e in session.execute(query).scalars():
            table.add(
                [
                    e.seq,
                    e.at,
                    e.actor,
                    trigger_label(e.trigger),
                    e.trigger,
                    str(e.cycle_year) if e.cycle_year else None,
                    e.unit_code,
                    STATE_LABELS.get(e.from_state or "", e.from_state),
                    STATE_LABELS.get(e.to_state or "", e.to_state),
                    e.reason,
                    payload_text(json.loads(e.payload)),
                ],
                e.unit_code if e.cycle_year else None,
                year=e.cycle_year,
            )
    return AuditPage(table, total, page, pages)


def audit_triggers(database_url: str | None) -> list[str]:
    with read_session(get_engine(database_url)) as session:
        return sorted(session.execute(select(col(AuditEvent.trigger)).distinct()).scalars())


# --- the published ranking ------------------------------------------------------------------------


@dataclass
class GroupView:
    code: str
    name: str
    figures: list[tuple[str, str]]
    charts: list[str]
    tables: list[Table]


@dataclass
class RankingView:
    year: int
    version: int
    line: str
    digest: str
    groups: list[GroupView]

    @property
    def tables(self) -> list[Table]:
        return [t for g in self.groups for t in g.tables]


def ranking_view(database_url: str | None, year: int | None, version: int | None) -> RankingView:
    """A publication (the current one by default): each group's ranking, classes, statistics and charts."""
    doc = read_ranking_document(database_url, year, version)
    report = doc.report
    groups: list[GroupView] = []
    for group in report.groups:
        stats = group.stats
        fields = group_fields(group, doc.fields)
        best = next((u for u in group.units if u.unit == stats.best_unit), None)
        figures = [
            ("Số đơn vị", str(stats.count)),
            ("Chỉ số trung bình của nhóm", f"{vn_number(stats.average)} %"),
            ("Dẫn đầu", f"{stats.best_unit} — {best.name if best else ''} ({vn_number(stats.best_index)} %)"),
        ]
        if fields:
            figures.append(("Lĩnh vực có chỉ số trung bình trên 90 %", f"{stats.fields_over_90}/{len(fields)}"))
        classes = Table(f"classes-{group.group}", f"Xếp loại — {group.name}", ["Xếp loại", "Số đơn vị"])
        for code, n in stats.by_class.items():
            classes.rows.append([group.class_names.get(code, code), n])
        ranking = Table(
            f"ranking-{group.group}",
            f"Xếp hạng — {group.name}",
            [title for title, _, _ in RANKING_COLUMNS] + [f"LV {code} (%)" for code, _ in fields],
            unit_column=1,
        )
        for u in group.units:
            pcts = doc.fields.get(u.unit, {})
            values = ranking_values(u)
            values[11] = vn_signed(u.index_change) if u.index_change is not None else None
            values[13] = vn_signed(u.rank_change, 0) if u.rank_change is not None else None
            ranking.add([*values, *(pcts.get(code) for code, _ in fields)], u.unit)
        averages = Table(
            f"fields-{group.group}",
            f"Chỉ số trung bình từng lĩnh vực — {group.name}",
            ["Lĩnh vực", "Tên", "Trung bình (%)"],
        )
        for code, name in fields:
            averages.rows.append([code, name, stats.field_averages.get(code)])
        class_names = [group.class_names.get(code, code) for code in stats.by_class]
        charts = [
            bar_chart(
                f"Xếp loại — {group.name}", class_names, list(stats.by_class.values()), axis_label="Số đơn vị", places=0
            )
        ]
        if fields:
            charts.append(
                bar_chart(
                    f"Chỉ số trung bình từng lĩnh vực — {group.name}",
                    [f"LV {code}" for code, _ in fields],
                    [stats.field_averages.get(code) for code, _ in fields],
                    axis_label="%",
                    maximum=100,
                    unit=" %",
                )
            )
        groups.append(GroupView(group.group, group.name, figures, charts, [classes, ranking, averages]))
    title, line = ranking_title(doc)
    return RankingView(report.year, report.version, f"{title}. {line}", report.digest, groups)
