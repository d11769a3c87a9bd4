"""A unit's page: its state, its self and appraised points per field, its evidence and its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cchc.flows.auditlog import unit_timeline
from cchc.flows.documents import document_files
from cchc.flows.evidence import registry
from cchc.flows.lookup import class_bands, current_publication, cycle_of, unit_assessment
from cchc.flows.web import access, views
from cchc.flows.web.audit import actor_names, payload_text
from cchc.flows.web.dashboard import Dashboard, Forbidden
from cchc.flows.web.grid import link_for
from cchc.flows.web.tables import Cell, Table, cell_text
from cchc.models.db import get_engine, read_session
from cchc.models.formats import vn_number, vn_signed
from cchc.models.org import Role
from cchc.models.people import Actor
from cchc.models.tables import Assessment, Criterion, Cycle, FollowUp, Result, UnitGroup
from cchc.models.types import from_hundredths
from cchc.states.assessment import AssessmentState
from cchc.states.labels import STATE_LABELS, trigger_label

FIELD_TOTALS_SQL = text(  # TOTALS_SQL of flows/publication.py, for one assessment, with what is appraised yet
    "SELECT c.field_code, "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE c.max_points END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.self_points, 0) END), "
    "SUM(CASE WHEN s.not_applicable THEN 0 ELSE COALESCE(s.appraised_points, 0) END), "
    "COUNT(s.appraised_points) "
    "FROM score s JOIN criterion c ON c.id = s.criterion_id "
    "WHERE s.assessment_id = :assessment GROUP BY c.field_code"
)


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


def read_unit(database_url: str | None, year: int | None, code: str, timezone: str) -> UnitPage:
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
    entries = unit_timeline(database_url, code, cycle_year)  # oldest first: the newest last
    with read_session(get_engine(database_url)) as session:
        names = actor_names(session, {e.actor for e in entries})
    for e in entries:
        timeline.rows.append(
            [
                e.seq,
                e.at,
                names.get(e.actor, e.actor),
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


FOLLOW_UP_LABELS = {"remediation": "Kế hoạch khắc phục", "breakthrough": "Đăng ký nội dung đột phá"}
FOLLOW_UP_STATES = {"required": "chưa gửi", "received": "đã nhận", "waived": "được miễn"}


def unit_documents(
    database_url: str | None, year: int, code: str, actor: Actor, timezone: str
) -> tuple[list[tuple[str, str, list[tuple[str, str, str]]]], list[tuple[str, str]]]:
    """The unit's own documents (its plan, its remediation plan, its breakthrough registration) as lines
    with their files, and the ones this person may send from the page (the unit's own people, or a
    coordinator)."""
    with read_session(get_engine(database_url)) as session:
        cycle = cycle_of(session, year)
        assessment, _ = unit_assessment(session, cycle, code)
        follow_ups = session.execute(
            select(col(FollowUp.kind), col(FollowUp.state), col(FollowUp.ref), col(FollowUp.received_at)).where(
                col(FollowUp.assessment_id) == assessment.id
            )
        ).all()
        plan_ref, plan_received, state = assessment.plan_ref, assessment.plan_received_at, assessment.state
        assert assessment.id is not None
        files = document_files(session, assessment.id)

    def links(kind: str, ref: str | None) -> list[tuple[str, str, str]]:
        """The files of a document: (name, where it opens, the start of its SHA-256)."""
        return [
            (f.name, f"/cycles/{year}/units/{code}/documents/{f.sha256}", f.sha256[:16])
            for f in files.get((kind, ref or ""), [])
        ]

    lines = [
        (
            "Kế hoạch CCHC của đơn vị",
            f"{plan_ref} (nhận {cell_text(plan_received, timezone)})" if plan_received else "chưa gửi",
            links("plan", plan_ref),
        )
    ]
    may_send = (
        code in actor.own_units and bool(actor.roles & {Role.head, Role.deputy, Role.focal}) or actor.is_coordinator
    )
    forms: list[tuple[str, str]] = []
    if may_send and state in (AssessmentState.plan, AssessmentState.self_assess):
        forms.append(("plan", "Kế hoạch CCHC của đơn vị"))
    for kind, state, ref, received in follow_ups:
        label = FOLLOW_UP_LABELS.get(kind, kind)
        text = FOLLOW_UP_STATES.get(state, state) + (f": {ref}, {cell_text(received, timezone)}" if ref else "")
        lines.append((label, text, links(kind, ref)))
        if may_send and state != "waived":
            forms.append((kind, label))
    return lines, forms


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    actor = d.require(request)
    if not access.may_view_unit(actor, code):
        raise Forbidden(
            f"{actor.name} ({actor.code}) chỉ xem được trang của đơn vị mình"
            + (f" ({actor.unit_code})" if actor.unit_code else "")
            + f", không xem được trang của {code}."
        )
    view = read_unit(d.database_url, year, code, d.timezone)
    documents, forms = unit_documents(d.database_url, year, code, actor, d.timezone)
    exported = d.export(request, view.tables, f"don-vi-{code}-{year}")
    if exported is not None:
        return exported
    return d.render(
        request,
        "unit.html",
        user=actor,
        year=view.year,
        view=view,
        tables={t.key: t for t in view.tables},
        may_run=access.may_run_flows(actor),
        own_unit=code in actor.own_units,
        documents=documents,
        document_forms=forms,
        upload_types=",".join(d.settings.upload_suffixes),
        job=d.job_of(request, actor),
    )


def link(request: Request) -> Response:
    """The link of the e-mails (`/units/CODE?year=YYYY`): the unit's page."""
    d = Dashboard.of(request)
    code = str(request.path_params["code"])
    year = request.query_params.get("year")
    if year is None or not year.isdigit():
        years = views.cycle_years(d.database_url)
        year = str(years[0]) if years else "0"
    task = request.query_params.get("task", "")
    if task == "contribution":  # a team's or commune's rows are entered on its unit's grid: "Việc của tôi" links it
        return RedirectResponse(f"/?year={year}", 303)
    return RedirectResponse(link_for(task, int(year), code), 303)
