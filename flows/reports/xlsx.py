"""The reports as Excel workbooks: numbers stay numbers (two-decimal formats), times the local wall time."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cchc.flows.ranking import GroupReport
from cchc.flows.reports.progress import ProgressReport, overview_rows, progress_lines, rung_text
from cchc.flows.reports.ranking import RankingDocument, group_fields, ranking_title, ranking_values
from cchc.models.cells import put
from cchc.states.assessment import AssessmentState
from cchc.states.labels import STATE_LABELS, task_label

DECIMAL_FORMAT = "0.00"


SIGNED_FORMAT = "+0.00;-0.00;0.00"


SIGNED_INT_FORMAT = "+0;-0;0"


DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")


BOLD = Font(bold=True)


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
    cell = put(sheet, row, column, value)  # unit names, notes: data, never a formula
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
