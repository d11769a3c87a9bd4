"""Reports to print and send: the published ranking, and the progress report for leadership (quarterly,
6-monthly, yearly or on demand), each as an Excel workbook or as one self-contained HTML page.

Reading reuses the queries that own the figures (`ranking_report`, `cycle_status`, the sweep's
`chase_items`) and adds two set-based ones (the units' field results; the chasing steps sent). Rendering
is pure: numbers stay exact decimals (numbers with a two-decimal format in the workbook, 94,75 in the
page), times are shown in the configured zone, and the same data give the same page byte for byte.
Writing is atomic: a report is written to a temporary file next to its target, then moved into place.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import Deadlines, cycle_of
from cchc.flows.publication import GroupReport, RankedUnit, RankingReport, ranking_report
from cchc.flows.runtime import UserError, check_target, engine_for, now
from cchc.flows.status import CycleStatus, cycle_status
from cchc.flows.sweep import chase_items
from cchc.models.calendar import ChasePolicy
from cchc.models.charts import Series, bar_chart, grouped_bar_chart
from cchc.models.chasing import days_late, ladder, policy_from
from cchc.models.db import read_session
from cchc.models.formats import local_time, vn_number, vn_signed
from cchc.models.tables import Assessment, ChaseStep, Cycle, FieldResult, OrgUnit, Person, Publication, Result
from cchc.models.text import natural_key
from cchc.notifications.labels import phase_label
from cchc.notifications.render import environment
from cchc.states.assessment import AssessmentState

# Words of the reports. (The state, phase and role names would sit well in notifications/labels.py.)
STATE_LABELS = {
    "plan": "Lập kế hoạch",
    "self_assess": "Đang tự đánh giá",
    "submitted": "Đã báo cáo tự đánh giá",
    "appraised": "Đã thẩm định",
    "supplement_requested": "Đang bổ sung, giải trình",
    "supplemented": "Hoàn tất thẩm định",
    "published": "Đã công bố",
    "awarded": "Đã xét khen thưởng",
}
CYCLE_PHASE_LABELS = {
    "planning": "Lập kế hoạch",
    "self_assessment": "Tự đánh giá, chấm điểm",
    "appraisal": "Thẩm định",
    "published": "Đã công bố kết quả",
    "awards": "Khen thưởng",
    "remediation": "Khắc phục hạn chế",
    "closed": "Đã kết thúc",
}
COMMITMENT_LABELS = {"drafted": "Đang soạn", "sent": "Chờ ký", "signed": "Đã ký", "declined": "Từ chối ký"}
ROLE_LABELS = {
    "focal": "cán bộ đầu mối",
    "head": "thủ trưởng đơn vị",
    "deputy": "cấp phó",
    "signer": "người ký cam kết",
    "superior_head": "thủ trưởng cấp trên",
    "coordinator": "bộ phận điều phối",
    "authority_leadership": "lãnh đạo cơ quan",
}
TASK_LABELS = {"awards": "đề nghị khen thưởng"}  # deadlines no message names (phase_label has the others)

PERIODS = ("q1", "q2", "q3", "q4", "h1", "h2", "year", "now")
PERIOD_LAST_MONTH = {"q1": 3, "q2": 6, "q3": 9, "q4": 12, "h1": 6, "h2": 12, "year": 12}
ROMAN = {"q1": "I", "q2": "II", "q3": "III", "q4": "IV"}
SUFFIXES = (".xlsx", ".html")

DECIMAL_FORMAT = "0.00"
SIGNED_FORMAT = "+0.00;-0.00;0.00"
SIGNED_INT_FORMAT = "+0;-0;0"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
BOLD = Font(bold=True)


def task_label(phase: str) -> str:
    """What a deadline asks for, as a sentence start: "Gửi kế hoạch CCHC của đơn vị"."""
    text = TASK_LABELS.get(phase) or phase_label(phase, "vi")
    return text[:1].upper() + text[1:]


# --- the published ranking: reading -------------------------------------------------------------------


@dataclass
class RankingDocument:
    """A publication as the report shows it: the ranking, each unit's field results, who published."""

    report: RankingReport
    fields: dict[str, dict[str, Decimal | None]]  # unit code → field code → % of the field (None: not applicable)
    publisher: str
    timezone: str

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.report.published_at)


def field_percentages(session: Session, cycle: Cycle, version: int) -> dict[str, dict[str, Decimal | None]]:
    """Each unit's published share of each field in one publication version (one query)."""
    rows = session.execute(
        select(col(OrgUnit.code), col(FieldResult.field_code), col(FieldResult.pct), col(FieldResult.max_points))
        .select_from(FieldResult)
        .join(Publication, col(Publication.id) == col(FieldResult.publication_id))
        .join(
            Result,
            and_(
                col(Result.publication_id) == col(FieldResult.publication_id),
                col(Result.assessment_id) == col(FieldResult.assessment_id),
            ),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Result.unit_id))
        .where(col(Publication.cycle_id) == cycle.id, col(Publication.version) == version)
    ).tuples()
    found: dict[str, dict[str, Decimal | None]] = {}
    for unit, code, pct, maximum in rows:
        found.setdefault(unit, {})[code] = pct if maximum > 0 else None
    return found


def _person_label(session: Session, code: str) -> str:
    """A person as "Full name (code)"; the code alone for the system or someone no longer listed."""
    name = session.execute(select(col(Person.full_name)).where(col(Person.code) == code)).scalar_one_or_none()
    return f"{name} ({code})" if name else code


def read_ranking_document(database_url: str | None, year: int | None, version: int | None = None) -> RankingDocument:
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        report = ranking_report(session, cycle, version)
        return RankingDocument(
            report=report,
            fields=field_percentages(session, cycle, report.version),
            publisher=_person_label(session, report.published_by),
            timezone=get_settings().timezone,
        )


def group_fields(group: GroupReport, fields: dict[str, dict[str, Decimal | None]]) -> list[tuple[str, str]]:
    """The fields of a group's framework in order, as (code, name); for a cycle taken in from paper,
    the fields its results name."""
    if group.field_names:
        return list(group.field_names.items())
    codes = set(group.stats.field_averages) | {c for u in group.units for c in fields.get(u.unit, {})}
    return [(code, "") for code in sorted(codes, key=natural_key)]


# --- the published ranking: the workbook --------------------------------------------------------------

RANKING_COLUMNS = (  # (title, width, number format)
    ("Hạng", 7, "0"),
    ("Mã đơn vị", 12, None),
    ("Tên đơn vị", 42, None),
    ("Chỉ số (%)", 11, DECIMAL_FORMAT),
    ("Xếp loại", 22, None),
    ("Điểm thẩm định", 11, DECIMAL_FORMAT),
    ("Điểm thưởng", 10, DECIMAL_FORMAT),
    ("Điểm trừ", 10, DECIMAL_FORMAT),
    ("Điểm tối đa áp dụng", 12, DECIMAL_FORMAT),
    ("Báo cáo đúng hạn", 10, None),
    ("Chỉ số năm trước (%)", 12, DECIMAL_FORMAT),
    ("Tăng/giảm chỉ số", 11, SIGNED_FORMAT),
    ("Hạng năm trước", 10, "0"),
    ("Tăng/giảm hạng (+ là tăng)", 12, SIGNED_INT_FORMAT),
)
RANKING_HEADER_ROW = 4


def ranking_values(u: RankedUnit) -> list[Any]:
    """A unit's row of the ranking, in RANKING_COLUMNS order, as values (each reader formats them)."""
    return [
        u.rank,
        u.unit,
        u.name,
        u.index,
        u.class_name,
        u.appraised_total,
        u.bonus,
        u.penalty,
        u.applicable_max,
        u.on_time,
        u.prev_index,
        u.index_change,
        u.prev_rank,
        u.rank_change,
    ]


def ranking_title(doc: RankingDocument) -> tuple[str, str]:
    """The report's title and its line about the publication (version, date, who, why)."""
    report = doc.report
    line = (
        f"Công bố lần {report.version} ngày {local_time(doc.published_at, doc.timezone, with_time=False)}, "
        f"người công bố: {doc.publisher}"
    )
    if report.reason:
        line += f"; lý do: {report.reason}"
    return f"Chỉ số cải cách hành chính năm {report.year}", line


def ranking_xlsx(doc: RankingDocument) -> bytes:
    """One sheet per group (ranking, group statistics, class chart) and a sheet of field results."""
    book = Workbook()
    default = book.active
    if default is not None:
        book.remove(default)
    for position, group in enumerate(doc.report.groups, 1):
        _ranking_sheet(book.create_sheet(_sheet_name(position, group.group)), doc, group)
    _fields_sheet(book.create_sheet("Lĩnh vực"), doc)
    return _saved(book)


def _sheet_name(position: int, code: str) -> str:
    """A sheet name Excel accepts (31 characters, none of []:*?/\\), unique by the group's position."""
    safe = "".join("-" if ch in "[]:*?/\\" else ch for ch in code.upper())
    return f"Nhóm {position} - {safe}"[:31]


def _title(sheet: Any, lines: Sequence[str], span: int) -> None:
    """The title lines across the table, and the sheet set to print landscape, one page wide."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    for row, text in enumerate(lines, 1):
        sheet.cell(row=row, column=1, value=text).font = Font(bold=row == 1, size=13 if row == 1 else 11)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)


def _header(sheet: Any, row: int, columns: Sequence[tuple[str, int, str | None]]) -> None:
    sheet.row_dimensions[row].height = 45  # three lines of a wrapped title
    for index, (title, width, _) in enumerate(columns, 1):
        cell = sheet.cell(row=row, column=index, value=title)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        sheet.column_dimensions[get_column_letter(index)].width = width


def _put(sheet: Any, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    cell = sheet.cell(row=row, column=column, value=value)
    if number_format and value is not None and not isinstance(value, str):
        cell.number_format = number_format
    return cell


def _row(sheet: Any, row: int, values: Sequence[Any], columns: Sequence[tuple[str, int, str | None]]) -> None:
    for index, (value, (_, _, number_format)) in enumerate(zip(values, columns, strict=True), 1):
        _put(sheet, row, index, value, number_format)


def _bar_chart(title: str, axis: str, data: Any, categories: Any, *, from_rows: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = axis
    chart.x_axis.delete = False  # openpyxl 3.1 otherwise hides both axes in Excel
    chart.y_axis.delete = False
    chart.add_data(data, titles_from_data=True, from_rows=from_rows)
    chart.set_categories(categories)
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False)
    chart.dataLabels.showPercent = False
    chart.height, chart.width = 7.5, 16
    return chart


def _ranking_sheet(sheet: Any, doc: RankingDocument, group: GroupReport) -> None:
    title, line = ranking_title(doc)
    _title(sheet, [f"{title} — {group.name}", line], len(RANKING_COLUMNS))
    _header(sheet, RANKING_HEADER_ROW, RANKING_COLUMNS)
    sheet.freeze_panes = sheet.cell(row=RANKING_HEADER_ROW + 1, column=4)
    row = RANKING_HEADER_ROW
    for u in group.units:
        row += 1
        values = ranking_values(u)
        values[9] = "Có" if u.on_time else "Không"
        _row(sheet, row, tuple(values), RANKING_COLUMNS)
    stats = group.stats
    row += 2
    sheet.cell(row=row, column=2, value="Thống kê nhóm").font = BOLD
    row += 1
    _put(sheet, row, 2, "Số đơn vị")
    _put(sheet, row, 4, stats.count, "0")
    row += 1
    header = row
    for column, text in ((2, "Xếp loại"), (4, "Số đơn vị")):
        cell = _put(sheet, row, column, text)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for code, count in stats.by_class.items():
        row += 1
        _put(sheet, row, 2, group.class_names.get(code, code))
        _put(sheet, row, 4, count, "0")
    classes_end = row
    row += 1
    _put(sheet, row, 2, "Chỉ số trung bình (%)")
    _put(sheet, row, 4, stats.average, DECIMAL_FORMAT)
    row += 1
    best = next((u for u in group.units if u.unit == stats.best_unit), None)
    _put(sheet, row, 2, "Đơn vị dẫn đầu")
    _put(sheet, row, 3, f"{stats.best_unit} — {best.name}" if best else stats.best_unit)
    _put(sheet, row, 4, stats.best_index, DECIMAL_FORMAT)
    row += 1
    _put(sheet, row, 2, "Lĩnh vực có chỉ số trung bình trên 90 %")
    _put(sheet, row, 3, f"{stats.fields_over_90}/{len(stats.field_averages)} lĩnh vực")
    _put(sheet, row, 4, stats.fields_over_90, "0")
    chart = _bar_chart(
        f"Xếp loại — {group.name}",
        "Số đơn vị",
        Reference(sheet, min_col=4, min_row=header, max_row=classes_end),
        Reference(sheet, min_col=2, min_row=header + 1, max_row=classes_end),
    )
    chart.legend = None
    sheet.add_chart(chart, f"F{header}")


def _fields_sheet(sheet: Any, doc: RankingDocument) -> None:
    title, line = ranking_title(doc)
    _title(sheet, [f"{title} — chỉ số từng lĩnh vực (%)", line], 10)
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 42
    row = 3
    for group in doc.report.groups:
        fields = group_fields(group, doc.fields)
        row += 1
        sheet.cell(row=row, column=1, value=f"{group.name} ({group.stats.count} đơn vị)").font = BOLD
        row += 1
        header = row
        columns: list[tuple[str, int, str | None]] = [("Mã đơn vị", 12, None), ("Tên đơn vị", 42, None)]
        columns += [(f"Lĩnh vực {code}", 11, DECIMAL_FORMAT) for code, _ in fields]
        _header(sheet, header, columns)
        if not fields:
            row += 1
            sheet.cell(row=row, column=1, value="Kết quả công bố không có số liệu từng lĩnh vực.")
            row += 1
            continue
        for u in group.units:
            row += 1
            pcts = doc.fields.get(u.unit, {})
            _row(sheet, row, [u.unit, u.name, *(pcts.get(code) for code, _ in fields)], columns)
        row += 1
        average_row = row
        averages = [group.stats.field_averages.get(code) for code, _ in fields]
        _row(sheet, row, ["", "Trung bình nhóm", *averages], columns)
        for column in range(1, len(columns) + 1):
            sheet.cell(row=row, column=column).font = BOLD
        row += 1
        for code, name in fields:
            if name:
                row += 1
                _put(sheet, row, 2, f"Lĩnh vực {code}: {name}")
        chart = _bar_chart(
            f"Chỉ số trung bình từng lĩnh vực — {group.name}",
            "%",
            Reference(sheet, min_col=2, max_col=len(columns), min_row=average_row),
            Reference(sheet, min_col=3, max_col=len(columns), min_row=header),
            from_rows=True,
        )
        chart.legend = None
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.y_axis.number_format = "0"
        sheet.add_chart(chart, f"{get_column_letter(len(columns) + 2)}{header}")
        row += 2


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the published ranking: the page -----------------------------------------------------------------


def ranking_html(doc: RankingDocument) -> str:
    """The ranking as one HTML page with its charts inline (SVG): the same publication, the same bytes."""
    title, line = ranking_title(doc)
    groups = [_group_view(doc, group) for group in doc.report.groups]
    return (
        environment(doc.timezone)
        .get_template("reports/ranking.html")
        .render(title=title, line=line, groups=groups, digest=doc.report.digest)
    )


def _group_view(doc: RankingDocument, group: GroupReport) -> dict[str, Any]:
    stats = group.stats
    fields = group_fields(group, doc.fields)
    averages = [stats.field_averages.get(code) for code, _ in fields]
    field_labels = [f"LV {code}" for code, _ in fields]
    best = next((u for u in group.units if u.unit == stats.best_unit), None)
    units = []
    for u in group.units:
        pcts = [doc.fields.get(u.unit, {}).get(code) for code, _ in fields]
        adjustment = u.bonus - u.penalty
        units.append(
            {
                "rank": u.rank,
                "code": u.unit,
                "name": u.name,
                "index": vn_number(u.index),
                "class_name": u.class_name,
                "appraised": vn_number(u.appraised_total),
                "bonus": vn_number(u.bonus),
                "penalty": vn_number(u.penalty),
                "adjustment": vn_signed(adjustment) if adjustment else "",
                "maximum": vn_number(u.applicable_max),
                "on_time": "Có" if u.on_time else "Không",
                "prev_index": vn_number(u.prev_index),
                "index_change": vn_signed(u.index_change),
                "prev_rank": "—" if u.prev_rank is None else str(u.prev_rank),
                "rank_change": vn_signed(u.rank_change, 0),
                "fields": [vn_number(p) for p in pcts],
                "chart": Markup(
                    grouped_bar_chart(
                        f"{u.unit}: từng lĩnh vực so với trung bình nhóm (%)",
                        field_labels,
                        [Series(u.unit, tuple(pcts)), Series("Trung bình nhóm", tuple(averages))],
                        axis_label="%",
                        maximum=100,
                        unit=" %",
                    )
                )
                if fields
                else None,
            }
        )
    class_names = [group.class_names.get(code, code) for code in stats.by_class]
    return {
        "name": group.name,
        "count": stats.count,
        "average": vn_number(stats.average),
        "best": f"{stats.best_unit} — {best.name}" if best else stats.best_unit,
        "best_index": vn_number(stats.best_index),
        "fields_over_90": f"{stats.fields_over_90}/{len(stats.field_averages)}",
        "classes": list(zip(class_names, stats.by_class.values(), strict=True)),
        "class_chart": Markup(
            bar_chart(
                f"Xếp loại — {group.name}",
                class_names,
                list(stats.by_class.values()),
                axis_label="Số đơn vị",
                places=0,
            )
        ),
        "fields": [{"code": code, "name": name} for code, name in fields],
        "averages": [vn_number(a) for a in averages],
        "field_chart": Markup(
            bar_chart(
                f"Chỉ số trung bình từng lĩnh vực — {group.name}",
                field_labels,
                averages,
                axis_label="%",
                maximum=100,
                unit=" %",
            )
        )
        if fields
        else None,
        "units": units,
    }


# --- the progress report: reading --------------------------------------------------------------------


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


# --- the progress report: the workbook ---------------------------------------------------------------

OVERDUE_COLUMNS = (
    ("STT", 6, "0"),
    ("Mã đơn vị", 12, None),
    ("Tên đơn vị", 40, None),
    ("Việc phải làm", 44, None),
    ("Hạn (trước)", 17, DATETIME_FORMAT),
    ("Số ngày quá hạn", 10, "0"),
    ("Số lần nhắc trước hạn", 10, "0"),
    ("Bậc đôn đốc cao nhất", 10, "0"),
    ("Đôn đốc", 48, None),
    ("Ngày đôn đốc", 17, DATETIME_FORMAT),
)
LATE_COLUMNS = (
    ("STT", 6, "0"),
    ("Mã đơn vị", 12, None),
    ("Tên đơn vị", 40, None),
    ("Hạn (trước)", 17, DATETIME_FORMAT),
    ("Ngày báo cáo", 17, DATETIME_FORMAT),
    ("Số ngày muộn", 10, "0"),
)
ESCALATION_COLUMNS = (
    ("STT", 6, "0"),
    ("Mã đơn vị", 12, None),
    ("Tên đơn vị", 40, None),
    ("Việc phải làm", 44, None),
    ("Hạn (trước)", 17, DATETIME_FORMAT),
    ("Bậc đôn đốc cao nhất", 10, "0"),
    ("Đôn đốc", 48, None),
    ("Ngày đôn đốc", 17, DATETIME_FORMAT),
    ("Số người nhận", 9, "0"),
    ("Số lần nhắc trước hạn", 10, "0"),
    ("Đến nay", 16, None),
)


def _local(value: datetime | None, timezone: str) -> datetime | None:
    """An instant as the local wall time a spreadsheet shows (spreadsheets have no time zones)."""
    return None if value is None else value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


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


def progress_xlsx(report: ProgressReport) -> bytes:
    """Sheets: Tổng quan (figures, deadlines, units per state per group with a chart), Đơn vị chậm
    (what is overdue and how far it was chased; who reported late), Đôn đốc (every escalation)."""
    book = Workbook()
    overview = book.active
    assert overview is not None
    overview.title = "Tổng quan"
    _overview_sheet(overview, report)
    _overdue_sheet(book.create_sheet("Đơn vị chậm"), report)
    _escalation_sheet(book.create_sheet("Đôn đốc"), report)
    return _saved(book)


def _overview_sheet(sheet: Any, report: ProgressReport) -> None:
    status = report.status
    states = [s.value for s in AssessmentState]
    span = len(states) + 2
    _title(sheet, [report.title, *progress_lines(report)], span)
    sheet.column_dimensions["A"].width = 44
    row = 3
    for label, value in overview_rows(report):
        row += 1
        _put(sheet, row, 1, label)
        _put(sheet, row, 2, value, "0")
    row += 2
    sheet.cell(row=row, column=1, value="Các mốc thời hạn").font = BOLD
    row += 1
    for column, text in enumerate(("Việc phải làm", "Hạn (trước)", "Đã qua hạn"), 1):
        cell = _put(sheet, row, column, text)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for phase, due in status.deadlines.items():
        row += 1
        _put(sheet, row, 1, task_label(phase))
        _put(sheet, row, 2, _local(due, report.timezone), DATETIME_FORMAT)
        _put(sheet, row, 3, "Đã qua" if due <= report.as_of else "Chưa đến")
    row += 2
    sheet.cell(row=row, column=1, value="Số đơn vị theo trạng thái").font = BOLD
    row += 1
    header = row
    for column, text in enumerate(["Nhóm", *(STATE_LABELS.get(s, s) for s in states), "Tổng"], 1):
        cell = _put(sheet, row, column, text)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        if column > 1:
            sheet.column_dimensions[get_column_letter(column)].width = 17 if column == 2 else 13
    sheet.row_dimensions[header].height = 45
    for group, by_state in status.counts.items():
        row += 1
        _put(sheet, row, 1, status.groups.get(group, group))
        for column, state in enumerate(states, 2):
            _put(sheet, row, column, by_state.get(state, 0), "0")
        _put(sheet, row, span, sum(by_state.values()), "0")
    last_group = row
    row += 1
    _put(sheet, row, 1, "Cộng").font = BOLD
    for column, state in enumerate(states, 2):
        _put(sheet, row, column, sum(c.get(state, 0) for c in status.counts.values()), "0").font = BOLD
    _put(sheet, row, span, status.total, "0").font = BOLD
    if last_group > header:
        chart = _bar_chart(
            "Số đơn vị theo trạng thái, từng nhóm",
            "Số đơn vị",
            Reference(sheet, min_col=1, max_col=len(states) + 1, min_row=header + 1, max_row=last_group),
            Reference(sheet, min_col=2, max_col=len(states) + 1, min_row=header),
            from_rows=True,
        )
        chart.width = 24
        sheet.add_chart(chart, f"A{row + 3}")


def _overdue_sheet(sheet: Any, report: ProgressReport) -> None:
    _title(sheet, [report.title, *progress_lines(report), "Việc quá hạn và mức đôn đốc"], len(OVERDUE_COLUMNS))
    _header(sheet, 5, OVERDUE_COLUMNS)
    row = 5
    for number, item in enumerate(report.overdue, 1):
        row += 1
        chased = item.chased
        values = (
            number,
            item.unit,
            item.name,
            task_label(item.phase),
            _local(item.due_at, report.timezone),
            item.days_late,
            chased.reminders if chased else 0,
            chased.step if chased else 0,
            rung_text(chased, report.rungs),
            _local(chased.step_at if chased else None, report.timezone),
        )
        _row(sheet, row, values, OVERDUE_COLUMNS)
    if not report.overdue:
        row += 1
        sheet.cell(row=row, column=2, value="Không có việc quá hạn.")
    row += 2
    sheet.cell(row=row, column=2, value="Báo cáo tự đánh giá muộn").font = BOLD
    row += 1
    header = row
    for index, (title, _, _) in enumerate(LATE_COLUMNS, 1):
        cell = sheet.cell(row=header, column=index, value=title)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for number, late in enumerate(report.late, 1):
        row += 1
        late_values = (
            number,
            late.unit,
            late.name,
            _local(late.due_at, report.timezone),
            _local(late.submitted_at, report.timezone),
            late.days_late,
        )
        _row(sheet, row, late_values, LATE_COLUMNS)
    if not report.late:
        row += 1
        sheet.cell(row=row, column=2, value="Không có đơn vị báo cáo muộn.")


def _escalation_sheet(sheet: Any, report: ProgressReport) -> None:
    _title(sheet, [report.title, *progress_lines(report), "Việc đã phải đôn đốc sau hạn"], len(ESCALATION_COLUMNS))
    _header(sheet, 5, ESCALATION_COLUMNS)
    row = 5
    for number, (chased, still_open) in enumerate(report.escalated, 1):
        row += 1
        values = (
            number,
            chased.unit,
            chased.name,
            task_label(chased.phase),
            _local(chased.due_at, report.timezone),
            chased.step,
            rung_text(chased, report.rungs),
            _local(chased.step_at, report.timezone),
            chased.recipients,
            chased.reminders,
            "Chưa hoàn thành" if still_open else "Đã hoàn thành",
        )
        _row(sheet, row, values, ESCALATION_COLUMNS)
    if not report.escalated:
        sheet.cell(row=row + 1, column=2, value="Chưa có việc nào phải đôn đốc sau hạn.")


# --- the progress report: the page -------------------------------------------------------------------


def progress_html(report: ProgressReport) -> str:
    """The progress report as one HTML page, with a chart of units per state per group (inline SVG)."""
    status = report.status
    tz = report.timezone
    states = [s.value for s in AssessmentState]
    groups = list(status.counts)
    chart = grouped_bar_chart(
        "Số đơn vị theo trạng thái, từng nhóm",
        [STATE_LABELS.get(s, s) for s in states],
        [Series(status.groups.get(g, g), tuple(status.counts[g].get(s, 0) for s in states)) for g in groups],
        axis_label="Số đơn vị",
        places=0,
    )
    view = {
        "title": report.title,
        "lines": progress_lines(report),
        "overview": [(label, str(value)) for label, value in overview_rows(report)],
        "deadlines": [
            (task_label(phase), local_time(due, tz), "Đã qua" if due <= report.as_of else "Chưa đến")
            for phase, due in status.deadlines.items()
        ],
        "states": [STATE_LABELS.get(s, s) for s in states],
        "counts": [
            (status.groups.get(g, g), [status.counts[g].get(s, 0) for s in states], sum(status.counts[g].values()))
            for g in groups
        ],
        "totals": ([sum(status.counts[g].get(s, 0) for g in groups) for s in states], status.total),
        "chart": Markup(chart) if groups else None,
        "overdue": [
            {
                "unit": o.unit,
                "name": o.name,
                "task": task_label(o.phase),
                "due": local_time(o.due_at, tz),
                "days_late": o.days_late,
                "reminders": o.chased.reminders if o.chased else 0,
                "step": o.chased.step if o.chased else 0,
                "rung": rung_text(o.chased, report.rungs),
                "step_at": local_time(o.chased.step_at if o.chased else None, tz),
            }
            for o in report.overdue
        ],
        "late": [
            {
                "unit": late.unit,
                "name": late.name,
                "due": local_time(late.due_at, tz),
                "submitted": local_time(late.submitted_at, tz),
                "days_late": late.days_late,
            }
            for late in report.late
        ],
        "escalated": [
            {
                "unit": c.unit,
                "name": c.name,
                "task": task_label(c.phase),
                "due": local_time(c.due_at, tz),
                "step": c.step,
                "rung": rung_text(c, report.rungs),
                "step_at": local_time(c.step_at, tz),
                "recipients": c.recipients,
                "reminders": c.reminders,
                "state": "Chưa hoàn thành" if still_open else "Đã hoàn thành",
            }
            for c, still_open in report.escalated
        ],
        "commitments": [(COMMITMENT_LABELS.get(state, state), n) for state, n in sorted(status.commitments.items())],
    }
    return environment(tz).get_template("reports/progress.html").render(**view)


# --- writing -----------------------------------------------------------------------------------------


@dataclass
class Written:
    path: Path
    summary: str


def report_format(path: Path) -> str:
    """The format the file's suffix asks for (xlsx or html), or a UserError naming the file, before any work."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"{path}: a report is written as .xlsx (Excel) or .html (a web page); give another name")
    check_target(path)
    return suffix[1:]


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same directory, then renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_ranking(database_url: str | None, year: int | None, version: int | None, path: Path) -> Written:
    kind = report_format(path)
    doc = read_ranking_document(database_url, year, version)
    data = ranking_xlsx(doc) if kind == "xlsx" else ranking_html(doc).encode("utf-8")
    write_atomically(path, data)
    units = sum(g.stats.count for g in doc.report.groups)
    return Written(
        path,
        f"Chỉ số CCHC năm {doc.report.year}, công bố lần {doc.report.version}: "
        f"{len(doc.report.groups)} nhóm, {units} đơn vị",
    )


def write_progress(
    database_url: str | None, year: int | None, period: str, path: Path, at: datetime | None = None
) -> Written:
    kind = report_format(path)
    report = read_progress(database_url, year, period, at)
    data = progress_xlsx(report) if kind == "xlsx" else progress_html(report).encode("utf-8")
    write_atomically(path, data)
    return Written(
        path,
        f"{report.title} (đến {report.as_of_text}): {len(report.overdue)} việc quá hạn, "
        f"{len(report.escalated)} việc đã đôn đốc sau hạn, {len(report.late)} đơn vị báo cáo muộn",
    )
