"""The home page and a cycle's overview: units per state per group, deadlines ahead, what is overdue and
how far it was chased, unsigned commitments, the outbox."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cchc.flows import signing
from cchc.flows.lookup import cycle_of
from cchc.flows.reports.progress import Chased, rung_text
from cchc.flows.status import cycle_status
from cchc.flows.sweep import ChaseItem, chase_items
from cchc.flows.web import access, views
from cchc.flows.web.dashboard import Dashboard
from cchc.flows.web.tables import Table
from cchc.flows.web.views import SHOWN
from cchc.models.calendar import ChasePolicy
from cchc.models.charts import Series, grouped_bar_chart
from cchc.models.chasing import days_late, days_left, policy_from
from cchc.models.db import get_engine, read_session
from cchc.models.tables import ChaseStep
from cchc.notifications import outbox
from cchc.states.assessment import AssessmentState
from cchc.states.labels import COMMITMENT_LABELS, CYCLE_PHASE_LABELS, MESSAGE_LABELS, STATE_LABELS, task_label

Level = tuple[int, int]  # reminders sent, the highest rung of the escalation ladder reached (0: none)


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


def read_overview(database_url: str | None, year: int | None, at: datetime, *, every_row: bool = False) -> Overview:
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
        lines = [line for line in signing.status(database_url, status.year, at) if line.state != "signed"]
        unsigned.total = len(lines)
        for line in lines if every_row else lines[:SHOWN]:
            unsigned.add(
                [line.level, line.unit, line.name, COMMITMENT_LABELS.get(line.state, line.state), line.due, line.late],
                line.unit if line.level == 1 else None,
            )
    mailbox = Table("outbox", "Hộp thư đi", ["Trạng thái", "Số thư"])
    for state in ("pending", "sending", "sent", "dead"):
        mailbox.rows.append([MESSAGE_LABELS[state], mail.counts.get(state, 0)])
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


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    year = int(request.path_params["year"])
    actor = d.require(request)
    if not access.sees_all(actor):  # a unit's people: their own unit's page
        return RedirectResponse(f"/cycles/{year}/units/{actor.unit_code}", 303)
    view = read_overview(d.database_url, year, d.clock(), every_row="format" in request.query_params)
    exported = d.export(request, view.tables, f"tong-quan-{view.year}")
    if exported is not None:
        return exported
    return d.render(
        request,
        "overview.html",
        user=actor,
        year=view.year,
        years=views.cycle_years(d.database_url),
        view=view,
        chart=Markup(view.chart) if view.chart else None,
        tables={t.key: t for t in view.tables},
        may_sweep=access.may_sweep(actor),
        may_run=access.may_run_flows(actor),
        job=d.job_of(request, actor),
    )
