"""Exporting the Appendix IV workbooks: a unit's (or a contributor's) self-assessment to fill in, and a
submitted unit's appraisal sheet. They come back through the same imports as the CSV tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.lookup import Deadlines, cycle_of, stored_framework, unit_assessment
from cchc.flows.runtime import engine_for
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.formats import local_time
from cchc.models.scoring import appraise_sub
from cchc.models.tables import Assessment, Contribution, Criterion, Cycle, OrgUnit, Score
from cchc.models.workbook import RowValues, SheetSpec, appraisal_workbook, self_assessment_workbook
from cchc.states.assessment import AssessmentState

S = AssessmentState
APPRAISABLE = (S.submitted, S.appraised, S.supplement_requested, S.supplemented, S.published, S.awarded)


@dataclass
class Exported:
    path: Path
    unit: str
    rows: int


def _values(session: Session, assessment: Assessment) -> dict[str, RowValues]:
    rows = session.execute(
        select(Score, Criterion.code)  # type: ignore[call-overload]
        .join(Criterion, col(Criterion.id) == col(Score.criterion_id))
        .where(col(Score.assessment_id) == assessment.id)
    ).all()
    return {
        code: RowValues(
            score=s.self_points,
            metric=s.metric,
            not_applicable=s.not_applicable,
            evidence=s.evidence,
            note=s.note,
            explanation=s.explanation,
            supplied_by=s.supplied_by,
            appraiser_score=s.appraiser_points,
            appraiser_note=s.appraisal_note,
        )
        for s, code in rows
    }


def _subtitle(session: Session, cycle: Cycle, assessment: Assessment, unit_id: int, framework: str) -> str:
    due = Deadlines(session, cycle, "submission").due(unit_id, assessment.group_code)
    window = (
        f"{cycle.evidence_from:%d/%m/%Y} – {cycle.evidence_to:%d/%m/%Y}"
        if cycle.evidence_from and cycle.evidence_to
        else "theo kế hoạch"
    )
    return (
        f"Bộ tiêu chí {framework}. Hạn báo cáo: trước {local_time(due)}. Tài liệu kiểm chứng ghi số, ký hiệu và "
        f"ngày (ví dụ 91/KH-CAH ngày 30/6/2021), ban hành trong khoảng {window}. Chỉ điền vào các ô màu vàng; "
        "tiêu chí không áp dụng: ghi x và nêu lý do ở cột Ghi chú."
    )


def export_self_assessment(database_url: str | None, year: int | None, unit: str, path: Path) -> Exported:
    """The self-assessment workbook of an assessed unit, or of a team or commune (just its sub-criteria)."""
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        contribution = _contribution(session, cycle, unit)
        if contribution is not None:
            assessment = session.get(Assessment, contribution.assessment_id)
            assert assessment is not None
            owner = session.get(OrgUnit, assessment.unit_id)
            member = session.get(OrgUnit, contribution.unit_id)
            assert owner is not None and member is not None
            codes: frozenset[str] | None = frozenset(c for c in contribution.criteria.split(",") if c)
            name = f"{member.name} — {owner.name}"
        else:
            assessment, owner = unit_assessment(session, cycle, unit)
            codes, name = None, owner.name
        framework = stored_framework(session, assessment.framework_id or 0)
        spec = SheetSpec(
            unit_code=owner.code,
            unit_name=name,
            year=cycle.year,
            framework=framework,
            codes=codes,
            values=_values(session, assessment),
            subtitle=_subtitle(session, cycle, assessment, owner.id or 0, f"{framework.code} v{framework.version}"),
        )
        data = self_assessment_workbook(spec)
    path.write_bytes(data)
    return Exported(path, unit, len(codes) if codes is not None else len(framework.subcriteria))


def _contribution(session: Session, cycle: Cycle, unit: str) -> Contribution | None:
    return session.execute(
        select(Contribution)
        .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
        .where(col(Contribution.cycle_id) == cycle.id, col(OrgUnit.code) == unit)
    ).scalar_one_or_none()


def export_appraisal(database_url: str | None, year: int | None, unit: str, path: Path) -> Exported:
    """A submitted unit's appraisal workbook: its self-assessment, what the rules give and why (no
    evidence → 0 is shown), and the cells where the appraiser writes their own score and comment."""
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        assessment, owner = unit_assessment(session, cycle, unit)
        if assessment.state not in APPRAISABLE:
            raise UserError(f"{unit} is in state {assessment.state!r}: it has not reported its self-assessment yet")
        framework = stored_framework(session, assessment.framework_id or 0)
        values = _values(session, assessment)
        for sub in framework.subcriteria:
            row = values.get(sub.code)
            if row is None:
                continue
            proposed = appraise_sub(
                sub,
                self_points=row.score,
                not_applicable=row.not_applicable,
                evidence=row.evidence,
                metric=row.metric,
                appraiser_points=row.appraiser_score,
            )
            row.proposed, row.rule = proposed.points, proposed.rule
        spec = SheetSpec(
            unit_code=owner.code,
            unit_name=owner.name,
            year=cycle.year,
            framework=framework,
            values=values,
            subtitle=(
                f"Bộ tiêu chí {framework.code} v{framework.version}. Cột 'Điểm theo quy tắc' là điểm hệ thống tính "
                "(không có tài liệu kiểm chứng: 0 điểm). Thẩm định viên ghi điểm của mình và nhận xét vào các ô màu "
                "vàng khi khác; để trống là giữ điểm theo quy tắc."
            ),
        )
        data = appraisal_workbook(spec)
    path.write_bytes(data)
    return Exported(path, unit, len(framework.subcriteria))
